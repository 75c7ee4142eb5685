"""Message size limits derived from the attachment limit of Điều 7.

Điều 7 promises every user attachments of up to 50 MB. What a mail server
limits is the size of the whole message on the wire, where an attachment is
base64-encoded (4 bytes for every 3) and cut into lines of 76 characters, each
ending in CRLF (RFC 2045 §6.8). A 50 MiB attachment is therefore about
68.4 MiB on the wire, before the headers and the text of the message.

Every component that limits sizes (Postfix `message_size_limit`, Dovecot
`quota_mail_size` for LMTP and IMAP APPEND, Dovecot submission, the webmail)
must use the one figure computed here, so that no layer silently refuses what
another accepted.

Each filter is documented in its own file beside this one (size_bytes.yml,
encoded_size.yml, message_size_limit.yml), which ansible-doc reads.
"""

from __future__ import annotations

import math
import re

from ansible.errors import AnsibleFilterError

BASE64_LINE_LENGTH = 76  # RFC 2045 §6.8: encoded lines are at most 76 characters
CRLF_BYTES = 2
DEFAULT_HEADROOM = "1MiB"

_UNIT_FACTORS = {
    "": 1,
    "B": 1,
    "KIB": 1024,
    "MIB": 1024**2,
    "GIB": 1024**3,
    "TIB": 1024**4,
}
_SIZE_PATTERN = re.compile(r"^\s*(\d+)\s*([A-Za-z]*)\s*$")


def size_bytes(size: object) -> int:
    """Return `size` in bytes (the public filter)."""
    return _size_bytes(size, "soctrang.mail.size_bytes")


def _size_bytes(size: object, filter_name: str) -> int:
    """Return `size` in bytes; accept an int or '<digits><binary unit>'."""
    if isinstance(size, bool):
        raise AnsibleFilterError(f"{filter_name}: expected a size such as 50MiB, got the boolean {size!r}")
    if isinstance(size, int):
        if size < 0:
            raise AnsibleFilterError(f"{filter_name}: a size cannot be negative, got {size!r}")
        return size
    if not isinstance(size, str):
        raise AnsibleFilterError(f"{filter_name}: expected a size such as 50MiB, got {type(size).__name__} {size!r}")
    match = _SIZE_PATTERN.match(size)
    unit = match.group(2).upper() if match else None
    if match is None or unit not in _UNIT_FACTORS:
        # Decimal units (MB, GB) are refused on purpose: the regulation's "MB"
        # is read as MiB everywhere in this repository, and a silent 5% gap
        # between two layers is exactly what these filters exist to prevent.
        raise AnsibleFilterError(
            f"{filter_name}: {size!r} is not a size; write a number of bytes or a number "
            "followed by B, KiB, MiB, GiB or TiB (for example 50MiB)"
        )
    return int(match.group(1)) * _UNIT_FACTORS[unit]


def encoded_size(size: object) -> int:
    """Bytes that `size` bytes of binary data take as base64 with CRLF line ends."""
    raw_bytes = _size_bytes(size, "soctrang.mail.encoded_size")
    base64_chars = 4 * math.ceil(raw_bytes / 3)
    lines = math.ceil(base64_chars / BASE64_LINE_LENGTH)
    return base64_chars + lines * CRLF_BYTES


def message_size_limit(attachment_limit: object, headroom: object = DEFAULT_HEADROOM) -> int:
    """The message size that an attachment of `attachment_limit` fits in."""
    attachment_bytes = _size_bytes(attachment_limit, "soctrang.mail.message_size_limit")
    headroom_bytes = _size_bytes(headroom, "soctrang.mail.message_size_limit")
    if attachment_bytes == 0:
        raise AnsibleFilterError("soctrang.mail.message_size_limit: the attachment limit must be above 0")
    one_more_mib = encoded_size(attachment_bytes + 1024**2) - encoded_size(attachment_bytes)
    if headroom_bytes >= one_more_mib:
        raise AnsibleFilterError(
            f"soctrang.mail.message_size_limit: headroom {headroom!r} ({headroom_bytes} bytes) would let an "
            f"attachment of a whole MiB more than {attachment_limit!r} through; keep it below "
            f"{one_more_mib} bytes"
        )
    return encoded_size(attachment_bytes) + headroom_bytes


class FilterModule:
    """Size filters of the mail system (Điều 7)."""

    def filters(self) -> dict[str, object]:
        return {
            "size_bytes": size_bytes,
            "encoded_size": encoded_size,
            "message_size_limit": message_size_limit,
        }
