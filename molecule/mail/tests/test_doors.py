"""Every door refuses what the directory refuses (issue 9, sections 1 and 2).

Each service a person logs in to - IMAP, POP3, ManageSieve, submission on 587
and 465, LDAP - is tried with each state of a mailbox: a wrong password, a
disabled mailbox, a locked one, one whose password must still be changed. The
services that can carry a reason (IMAP, POP3, ManageSieve) must give the
Vietnamese one; the others refuse plainly. Every attempt is a real login over
TLS from the controller, as a mail client makes it.
"""

from __future__ import annotations

import secrets
import smtplib
from email.headerregistry import Address
from email.message import EmailMessage

import pytest
from conftest import from_webmail_host, operators_playbook, unlock
from mailtest import (
    DOORS,
    Lab,
    address,
    ensure_own_password,
    ldap_bind,
    login_attempt,
    message_with_attachment,
    simple_message,
    submission,
)

MIB = 1024**2

ACTIVE, DISABLED, LOCKED, MUST_CHANGE = "nvan", "dvtam", "btkhanh", "lvmanh"
COLLEAGUE, MANAGER, UNIT_SEND_AS = "ttbinh", "pmduc", "phongcds.sotttt"
RETIRED = "vtem"  # marked absent and removed by side_effect.yml before verify
REASON_DOORS = ("imap", "pop3", "managesieve")
MUST_CHANGE_REASON, LOCKED_REASON, DISABLED_REASON = "phải được đổi", "bị khóa", "tạm ngưng"


def wrong_password() -> str:
    # Compliant, so that nothing but its being wrong can refuse it.
    return "Sai#Mat-Khau-" + secrets.token_hex(4)


def assert_refused(lab: Lab, door: str, local: str, password: str, reason: str | None = None) -> str:
    accepted, said = login_attempt(lab, door, address(local), password)
    assert not accepted, f"{door} let {address(local)} in: {said}"
    if reason is not None and door in REASON_DOORS:
        assert reason in said, f"{door} refused {address(local)} without saying why: {said}"
    return said


@pytest.fixture(scope="module")
def active_password(lab: Lab, initial: dict[str, str]) -> str:
    return ensure_own_password(lab, ACTIVE, initial[address(ACTIVE)])


@pytest.fixture(scope="module")
def locked_password(lab: Lab, initial: dict[str, str]) -> str:
    """btkhanh with an own password (not must-change), then locked by five wrong
    passwords as a guesser would; unlocked by the operators at the end."""
    unlock(LOCKED)
    own = ensure_own_password(lab, LOCKED, initial[address(LOCKED)])
    for _ in range(5):
        assert ldap_bind(lab, LOCKED, wrong_password()) is None
    yield own
    unlock(LOCKED)


# ---------------------------------------------------------------- a wrong password
@pytest.mark.parametrize("door", DOORS)
def test_a_wrong_password_of_an_active_mailbox_is_refused(lab: Lab, door: str, active_password: str) -> None:
    unlock(ACTIVE)  # six doors, and the lockout counts them all
    said = assert_refused(lab, door, ACTIVE, wrong_password())
    assert "khóa" not in said and "phải được đổi" not in said, said  # no reason to give a guesser


@pytest.mark.parametrize("door", DOORS)
def test_a_wrong_password_of_a_must_change_mailbox_is_refused(lab: Lab, door: str) -> None:
    unlock(MUST_CHANGE)
    said = assert_refused(lab, door, MUST_CHANGE, wrong_password())
    assert MUST_CHANGE_REASON not in said, said


def test_the_right_password_still_works_at_every_door(lab: Lab, active_password: str) -> None:
    unlock(ACTIVE)
    for door in DOORS:
        accepted, said = login_attempt(lab, door, address(ACTIVE), active_password)
        assert accepted, f"{door}: {said}"


# ---------------------------------------------------------------- disabled by the operators
# With the right password: the defect of issue 9 took any password, so a
# refusal of the right one proves both.
@pytest.mark.parametrize("door", DOORS)
def test_a_disabled_mailbox_cannot_log_in(lab: Lab, door: str, initial: dict[str, str]) -> None:
    assert_refused(lab, door, DISABLED, initial[address(DISABLED)], DISABLED_REASON)


# ---------------------------------------------------------------- locked by ppolicy
@pytest.mark.parametrize("door", DOORS)
def test_a_locked_mailbox_cannot_log_in_even_with_its_password(lab: Lab, door: str, locked_password: str) -> None:
    # The attack this prevents: lock a person out, then send in their name.
    assert_refused(lab, door, LOCKED, locked_password, LOCKED_REASON)


def test_after_the_operators_unlock_it_the_mailbox_logs_in(lab: Lab, locked_password: str) -> None:
    run = operators_playbook("unlock-mailbox.yml", f"person={address(LOCKED)}")
    assert run.returncode == 0 and f"{address(LOCKED)} may log in again" in run.stdout, run.stdout[-3000:]
    for door in DOORS:
        accepted, said = login_attempt(lab, door, address(LOCKED), locked_password)
        assert accepted, f"{door}: {said}"


def test_the_operators_cannot_unlock_a_disabled_mailbox() -> None:
    run = operators_playbook("unlock-mailbox.yml", f"person={address(DISABLED)}")
    said = run.stdout + run.stderr  # the failure goes to stderr
    assert run.returncode != 0 and "set the person's state to present" in said, said[-3000:]


# ---------------------------------------------------------------- must change the password
@pytest.mark.parametrize("door", DOORS)
def test_a_must_change_mailbox_is_refused_with_the_reason(lab: Lab, door: str, initial: dict[str, str]) -> None:
    unlock(MUST_CHANGE)
    said = assert_refused(lab, door, MUST_CHANGE, initial[address(MUST_CHANGE)], MUST_CHANGE_REASON)
    if door == "ldap":
        # ppolicy's own rule: the bind succeeds, and the connection may only
        # change its password.
        assert said.startswith("bind accepted, read refused"), said


def test_a_must_change_mailbox_cannot_submit_even_from_the_webmail_host(lab: Lab, initial: dict[str, str]) -> None:
    # The directory container plays the webmail host (dovecot_webmail_networks):
    # IMAP lets the user in there to change the password; submission does not.
    script = (
        "import smtplib, ssl, sys\n"
        "context = ssl.create_default_context(cafile=sys.argv[2])\n"
        "smtp = smtplib.SMTP(sys.argv[1], 587, timeout=60)\n"
        "smtp.starttls(context=context)\n"
        "try:\n"
        "    smtp.login(sys.argv[3], sys.argv[4])\n"
        "except smtplib.SMTPAuthenticationError as refusal:\n"
        "    print('refused', refusal.smtp_code)\n"
        "else:\n"
        "    print('accepted')\n"
    )
    result = from_webmail_host(lab, script, address(MUST_CHANGE), initial[address(MUST_CHANGE)])
    assert result.stdout.strip() == "refused 535", (result.stdout, result.stderr)


# ---------------------------------------------------------------- senders
@pytest.mark.parametrize("sender", [DISABLED, RETIRED])
def test_nobody_may_send_as_a_disabled_or_retired_address(lab: Lab, active_password: str, sender: str) -> None:
    unlock(ACTIVE)
    with submission(lab, address(ACTIVE), active_password) as smtp:
        code, text = smtp.mail(address(sender))
        if code == 250:
            code, text = smtp.rcpt(address("ttbinh"))
    assert code in (550, 553), (code, text)


def refusal_of(lab: Lab, login: str, password: str, envelope: str, message: EmailMessage) -> tuple[int, str] | None:
    """Submit as `login` with this envelope sender: None if accepted, else (code, text)."""
    unlock(login)
    with submission(lab, address(login), password) as smtp:
        try:
            smtp.sendmail(envelope, [address(COLLEAGUE)], message.as_bytes())
        except smtplib.SMTPDataError as refusal:
            return refusal.smtp_code, refusal.smtp_error.decode("utf-8", "replace")
    return None


@pytest.mark.parametrize("header", ["From", "Sender"])
def test_a_header_sender_of_someone_else_is_refused(lab: Lab, active_password: str, header: str) -> None:
    message = simple_message(address(ACTIVE), address(COLLEAGUE), f"Giả mạo {header}")
    del message[header]
    message[header] = address(COLLEAGUE)
    refused = refusal_of(lab, ACTIVE, active_password, address(ACTIVE), message)
    assert refused is not None, f"a {header}: of {address(COLLEAGUE)} went out under {address(ACTIVE)}'s login"
    code, text = refused
    assert 500 <= code < 600 and f"{header} header rejected: not owned by user {address(ACTIVE)}" in text, refused


def test_an_empty_envelope_does_not_open_the_header(lab: Lab, active_password: str) -> None:
    message = simple_message(address(COLLEAGUE), address(COLLEAGUE), "Phong bì rỗng")
    refused = refusal_of(lab, ACTIVE, active_password, "", message)
    assert refused is not None and 500 <= refused[0] < 600, refused


def test_the_own_address_with_a_vietnamese_display_name_passes(lab: Lab, active_password: str) -> None:
    message = simple_message(address(ACTIVE), address(COLLEAGUE), "Tên hiển thị")
    del message["From"]
    message["From"] = Address("Nguyễn Văn An", addr_spec=address(ACTIVE).upper())
    assert refusal_of(lab, ACTIVE, active_password, address(ACTIVE), message) is None


def test_a_manager_sends_as_the_unit_but_not_as_a_colleague(lab: Lab, initial: dict[str, str]) -> None:
    own = ensure_own_password(lab, MANAGER, initial[address(MANAGER)])
    as_unit = simple_message(address(UNIT_SEND_AS), address(COLLEAGUE), "Phòng CĐS gửi")
    assert refusal_of(lab, MANAGER, own, address(UNIT_SEND_AS), as_unit) is None
    forged = simple_message(address(COLLEAGUE), address(COLLEAGUE), "Mạo danh đồng nghiệp")
    assert refusal_of(lab, MANAGER, own, address(UNIT_SEND_AS), forged) is not None


def test_a_large_message_is_checked_too(lab: Lab, active_password: str) -> None:
    # Rspamd skips messages above its max_message: the role sets it to the MTA's limit.
    message = message_with_attachment(address(COLLEAGUE), address(COLLEAGUE), "Giả mạo 49 MiB", 49 * MIB)
    refused = refusal_of(lab, ACTIVE, active_password, address(ACTIVE), message)
    assert refused is not None and "From header rejected" in refused[1], refused


def test_a_message_sent_after_the_refusals_still_goes(lab: Lab, active_password: str) -> None:
    unlock(ACTIVE)
    with submission(lab, address(ACTIVE), active_password) as smtp:
        refused = smtp.send_message(simple_message(address(ACTIVE), address("ttbinh"), "Sau các lần từ chối"))
    assert refused == {}
