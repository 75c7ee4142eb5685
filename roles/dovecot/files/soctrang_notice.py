"""What the mail system's own programs share: notices to users, password ages.

One file, installed beside the programs that import it, in
/usr/local/lib/soctrang-mail/ on the mail stores (roles/dovecot: the password
and quota warnings) and on the directory servers (roles/slapd: the password
expiry job, which uses only the directory part). A program there finds it
because Python puts the program's own directory, symbolic links resolved,
first on the import path.

- Notices: a message from the system to one mailbox, built from the subject
  and body the role rendered into the program's settings file (every figure in
  them comes from the policy variables), delivered straight into the INBOX by
  dovecot-lda with the quota not enforced, so a warning is never refused.
- Settings: the programs' JSON files, checked before use and by the role's
  `validate:` (`<program> --check-config <file>`).
- The directory: which accounts have a password whose age counts (Điều 8.2.c),
  and the GeneralizedTime slapd writes in pwdChangedTime.

Only the standard library at import time: python3-ldap is imported where a
search needs it, so the unit tests run without it.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

# Active people whose password has a change date and is not already marked to be
# changed: the accounts whose password age the expiry job and the warnings count.
EXPIRY_FILTER = "(&(objectClass=socMailbox)(socMailboxState=active)(pwdChangedTime=*)(!(pwdReset=TRUE)))"
GENERALIZED_TIME_FORMATS = ("%Y%m%d%H%M%SZ", "%Y%m%d%H%M%S.%fZ")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_]\w*)\}")


class ConfigError(ValueError):
    """A settings file that cannot be used; the message names the file and the key."""


# ---------------------------------------------------------------- the directory
@dataclass(frozen=True)
class Account:
    dn: str
    mail: str
    changed: datetime


def parse_generalized_time(value: str) -> datetime:
    """slapd writes pwdChangedTime as YYYYmmddHHMMSSZ (sometimes with fractions)."""
    for time_format in GENERALIZED_TIME_FORMATS:
        try:
            return datetime.strptime(value, time_format).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise ValueError(f"not a GeneralizedTime slapd writes: {value!r}")


def expiry_filter(address: str | None = None, match: Iterable[str] = ("mail",)) -> str:
    """EXPIRY_FILTER; with `address`, only the entry one of the `match` attributes equals."""
    if not address:
        return EXPIRY_FILTER
    from ldap.filter import escape_filter_chars  # noqa: PLC0415 - python3-ldap exists on the hosts only

    attributes = list(match)
    if not attributes:
        raise ValueError("expiry_filter: name at least one attribute to match the address with")
    tests = "".join(f"({attribute}={escape_filter_chars(address)})" for attribute in attributes)
    return f"(&{EXPIRY_FILTER}{tests if len(attributes) == 1 else f'(|{tests})'})"


def account_of(dn: str, attributes: Mapping[str, list[bytes]]) -> Account:
    """An entry of the search below; `mail` is "" when the entry has none."""
    mail = (attributes.get("mail") or [b""])[0].decode()
    changed = parse_generalized_time(attributes["pwdChangedTime"][0].decode())
    return Account(dn=dn, mail=mail, changed=changed)


def read_expiry_accounts(
    connection: object, base: str, address: str | None = None, match: Iterable[str] = ("mail",)
) -> list[Account]:
    """Every account of EXPIRY_FILTER under `base` (one search), referrals left out."""
    import ldap  # noqa: PLC0415 - see expiry_filter

    search = expiry_filter(address, match)
    results = connection.search_ext_s(base, ldap.SCOPE_SUBTREE, search, ["mail", "pwdChangedTime"])
    return [account_of(dn, attributes) for dn, attributes in results if dn]


# ---------------------------------------------------------------- settings
_TYPE_NAMES = {str: "a string", int: "a number", bool: "true or false", list: "a list", dict: "a mapping"}


def _lookup(config: Mapping[str, object], dotted: str) -> tuple[bool, object]:
    value: object = config
    for key in dotted.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return False, None
        value = value[key]
    return True, value


def _is_a(value: object, kind: type) -> bool:
    # JSON's true is a Python int too: a number must not be a boolean.
    if kind is int and isinstance(value, bool):
        return False
    return isinstance(value, kind)


def check_settings(config: object, schema: Mapping[str, type], source: str) -> dict:
    """`config` when every dotted key of `schema` holds a value of its type; else ConfigError naming them all."""
    if not isinstance(config, dict):
        raise ConfigError(f"{source}: the settings must be a JSON object, not {type(config).__name__}")
    problems = []
    for dotted, kind in schema.items():
        found, value = _lookup(config, dotted)
        if not found:
            problems.append(f"{dotted} is missing")
        elif not _is_a(value, kind):
            problems.append(f"{dotted} must be {_TYPE_NAMES.get(kind, kind.__name__)}, not {value!r}")
    if problems:
        raise ConfigError(f"{source}: " + "; ".join(problems))
    return config


def read_settings(path: str, schema: Mapping[str, type]) -> dict:
    """The JSON settings file at `path`, checked against `schema` (see check_settings)."""
    try:
        with open(path, encoding="utf-8") as settings:
            text = settings.read()
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read: {error.strerror or error}") from error
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}: not JSON: {error}") from error
    return check_settings(config, schema, path)


# ---------------------------------------------------------------- notices
# The keys every notice program's settings hold (the rest is the program's own).
NOTICE_SCHEMA: dict[str, type] = {
    "delivery.lda": str,
    "delivery.sender_name": str,
    "delivery.sender": str,
    "delivery.domain": str,
    "notice.subject": str,
    "notice.body": str,
}


def placeholders(text: str) -> set[str]:
    """The names written as {name} in a text."""
    return set(_PLACEHOLDER.findall(text))


def fill(text: str, fields: Mapping[str, object]) -> str:
    """`text` with each {name} of `fields` replaced; any other brace is left as written."""
    return _PLACEHOLDER.sub(
        lambda found: str(fields[found.group(1)]) if found.group(1) in fields else found.group(0), text
    )


@dataclass(frozen=True)
class Notice:
    """How a program writes to users: sender, delivery, and its subject and body with {fields}."""

    lda: str
    sender_name: str
    sender: str
    domain: str
    subject: str
    body: str

    def message(self, recipient: str, fields: Mapping[str, object]) -> EmailMessage:
        message = EmailMessage()
        message["From"] = Address(self.sender_name, addr_spec=self.sender)
        message["To"] = recipient
        message["Subject"] = fill(self.subject, fields)
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = make_msgid(domain=self.domain)
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(fill(self.body, fields))
        return message

    def deliver(self, recipient: str, fields: Mapping[str, object]) -> int:
        """Put the notice into the recipient's INBOX; dovecot-lda's exit status (0: delivered)."""
        delivery = subprocess.run(  # noqa: S603 - argv of fixed settings and a directory address, no shell
            [self.lda, "-d", recipient, "-f", self.sender, "-o", "quota_enforce=no"],
            input=self.message(recipient, fields).as_bytes(),
            check=False,
        )
        return delivery.returncode


def notice_of(config: Mapping[str, object], fields: Iterable[str], source: str) -> Notice:
    """The Notice of checked settings; ConfigError when its texts use a {field} the program never fills."""
    delivery, notice = config["delivery"], config["notice"]
    known = set(fields)
    for part in ("subject", "body"):
        unknown = placeholders(notice[part]) - known
        if unknown:
            raise ConfigError(
                f"{source}: notice.{part} uses {', '.join('{' + name + '}' for name in sorted(unknown))}, "
                f"which this program does not fill (it fills {', '.join('{' + name + '}' for name in sorted(known))})"
            )
    return Notice(
        lda=delivery["lda"],
        sender_name=delivery["sender_name"],
        sender=delivery["sender"],
        domain=delivery["domain"],
        subject=notice["subject"],
        body=notice["body"],
    )
