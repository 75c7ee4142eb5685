"""The message size limit of Điều 7, reached through the registered filters."""

from __future__ import annotations

import base64
import os
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.soctrang.mail.plugins.filter.mail_sizes import FilterModule

MIB = 1024**2


FILTERS = FilterModule().filters()
size_bytes = FILTERS["size_bytes"]
encoded_size = FILTERS["encoded_size"]
message_size_limit = FILTERS["message_size_limit"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2GiB", 2 * 1024**3),
        ("50MiB", 50 * MIB),
        ("512KiB", 512 * 1024),
        ("100B", 100),
        ("52428800", 52428800),
        (52428800, 52428800),
        (" 50 mib ", 50 * MIB),
    ],
)
def test_size_bytes_reads_binary_units(text: object, expected: int) -> None:
    assert size_bytes(text) == expected


@pytest.mark.parametrize("bad", ["50MB", "50 GB", "fifty", "", "-1", "1.5GiB", None, True, -5, ["50MiB"]])
def test_size_bytes_refuses_what_is_not_a_binary_size(bad: object) -> None:
    with pytest.raises(AnsibleFilterError, match=r"soctrang\.mail\.size_bytes"):
        size_bytes(bad)


@pytest.mark.parametrize("raw_length", [0, 1, 2, 3, 56, 57, 58, 1000, 4096, 100_003])
def test_encoded_size_matches_what_the_email_package_writes(raw_length: int) -> None:
    # base64.encodebytes writes 76-character lines, as MIME does; with CRLF
    # line ends that is exactly what travels over SMTP.
    encoded = base64.encodebytes(os.urandom(raw_length)).replace(b"\n", b"\r\n")
    assert encoded_size(raw_length) == len(encoded)


def test_fifty_mib_attachment_is_about_68_4_mib_on_the_wire() -> None:
    assert encoded_size("50MiB") == 71_744_676
    assert round(encoded_size("50MiB") / MIB, 1) == 68.4


def test_default_limit_is_the_encoded_attachment_plus_one_mib() -> None:
    assert message_size_limit("50MiB") == 71_744_676 + MIB == 72_793_252


def test_limit_accepts_49_mib_and_refuses_51_mib_as_whole_messages() -> None:
    # The end-to-end test sends these through Postfix; here the arithmetic:
    # a real MIME message with the attachment (headers and text included).
    limit = message_size_limit("50MiB")

    def wire_size(attachment_bytes: int) -> int:
        message = EmailMessage()
        message["From"] = "a@soctrang.gov.vn"
        message["To"] = "b@soctrang.gov.vn"
        message["Subject"] = "Tệp đính kèm"
        message.set_content("Văn bản kèm theo.")
        message.add_attachment(
            b"\0" * attachment_bytes,
            maintype="application",
            subtype="pdf",
            filename="a.pdf",
        )
        return len(message.as_bytes(policy=SMTP))

    assert wire_size(49 * MIB) < limit
    assert wire_size(50 * MIB) < limit
    assert wire_size(51 * MIB) > limit


@pytest.mark.parametrize("headroom", ["2MiB", 1_437_000])
def test_headroom_that_would_let_another_mib_through_is_refused(
    headroom: object,
) -> None:
    with pytest.raises(AnsibleFilterError, match="headroom"):
        message_size_limit("50MiB", headroom)


def test_headroom_is_configurable() -> None:
    assert message_size_limit("50MiB", "512KiB") == 71_744_676 + 512 * 1024


def test_zero_attachment_limit_is_refused() -> None:
    with pytest.raises(AnsibleFilterError, match="above 0"):
        message_size_limit("0")


def test_filters_are_registered_under_their_documented_names() -> None:
    assert set(FILTERS) == {
        "size_bytes",
        "encoded_size",
        "message_size_limit",
    }
