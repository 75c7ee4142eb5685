"""The mail system end to end, over the real protocols (issue 5, section 3).

Run by molecule/mail/verify.yml against the converged containers; the
environment (MAILTEST_*) says where they are. Order matters only where a test
says so: the users first get their own passwords, as on their first visit to
the webmail.
"""

from __future__ import annotations

import imaplib
import os
import secrets
import smtplib
import subprocess
import time

import pytest
from conftest import directory_modify, from_webmail_host
from mailtest import (
    Lab,
    ManageSieve,
    NamedPOP3SSL,
    NamedSMTP,
    address,
    change_password,
    ensure_own_password,
    imap_login,
    imap_login_refusal,
    ldap_bind,
    message_with_attachment,
    new_password,
    quoted,
    simple_message,
    subjects,
    submission,
    wait_for_subject,
)

MIB = 1024**2
KIB = 1024
SENDER, RECEIVER, NEWCOMER, MANAGER, SMALL_QUOTA = "nvan", "ttbinh", "lvcuong", "pmduc", "hvphuc"
UNIT_SEND_AS, UNIT_READ_ONLY, LEFT = "phongcds.sotttt", "ttcns.sotttt", "vtem"
# The passwords the newcomer chose, in order (the tests below build on each other).
NEWCOMER_OWN: list[str] = []


@pytest.fixture(scope="session")
def password(lab: Lab, initial: dict[str, str]) -> dict[str, str]:
    """The users who need to work change their initial password first (Điều 8.1.a)."""
    return {
        local: ensure_own_password(lab, local, initial[address(local)])
        for local in (SENDER, RECEIVER, MANAGER, SMALL_QUOTA)
    }


@pytest.fixture(scope="session")
def newcomer_password(lab: Lab, initial: dict[str, str]) -> str:
    """A password the newcomer has not changed yet: the handed-over one, or - when
    an earlier verify already changed it - a new one set by the operators with
    pwdReset, as the lost-password procedure does (Điều 8.2.đ)."""
    handed_over = initial[address(NEWCOMER)]
    connection = ldap_bind(lab, NEWCOMER, handed_over)
    if connection is not None:
        connection.unbind()
        return handed_over
    reset = "Reset#" + secrets.token_hex(6)
    directory_modify(
        f"dn: uid={NEWCOMER},ou=people,dc=soctrang,dc=gov,dc=vn\nchangetype: modify\n"
        f"replace: userPassword\nuserPassword: {reset}\n-\nreplace: pwdReset\npwdReset: TRUE\n"
    )
    return reset


def mail1(*command: str) -> str:
    """A command on the mail server, as the operators run it."""
    container = os.environ["MAILTEST_MAIL_CONTAINER"]
    return subprocess.run(["podman", "exec", container, *command], check=True, capture_output=True, text=True).stdout


# ---------------------------------------------------------------- logins (Điều 8)
def test_new_account_is_refused_with_the_must_change_message(lab: Lab, newcomer_password: str) -> None:
    refusal = imap_login_refusal(lab, address(NEWCOMER), newcomer_password)
    assert "phải được đổi" in refusal and "mail.soctrang.gov.vn" in refusal, refusal


def test_wrong_password_of_a_new_account_is_a_plain_failure(lab: Lab) -> None:
    refusal = imap_login_refusal(lab, address(NEWCOMER), "Wrong#Passw0rd")
    assert "AUTHENTICATIONFAILED" in refusal, refusal


def test_new_account_may_log_in_from_the_webmail_host(lab: Lab, newcomer_password: str) -> None:
    # The directory container plays the webmail host of dovecot_webmail_networks.
    script = (
        "import imaplib, ssl, sys\n"
        "context = ssl.create_default_context(cafile=sys.argv[2])\n"
        "imap = imaplib.IMAP4_SSL(sys.argv[1], 993, ssl_context=context)\n"
        "imap.login(sys.argv[3], sys.argv[4])\n"
        "print(imap.select('INBOX')[0])\n"
    )
    result = from_webmail_host(lab, script, address(NEWCOMER), newcomer_password)
    assert result.returncode == 0 and "OK" in result.stdout, result.stderr


def test_after_changing_the_password_through_ldap_the_user_logs_in(lab: Lab, newcomer_password: str) -> None:
    own = new_password(NEWCOMER) + "-" + secrets.token_hex(3)  # never one of the last five
    change_password(lab, NEWCOMER, newcomer_password, own)
    NEWCOMER_OWN.append(own)
    imap = imap_login(lab, address(NEWCOMER), own)
    try:
        assert any("Chào mừng" in subject for subject in subjects(imap)), "no welcome message"
    finally:
        imap.logout()


def test_expired_password_is_refused_with_the_change_message(lab: Lab) -> None:
    # The directory's daily job (Điều 8.2.c), told that the maximum age is 0 days
    # and limited to the newcomer, marks the password as it does at 180 days.
    assert NEWCOMER_OWN, "runs after the newcomer has an own password"
    job = subprocess.run(
        [
            "podman", "exec", os.environ["MAILTEST_LDAP_CONTAINER"], "/usr/local/sbin/soctrang-password-expiry",
            "--base", "ou=people,dc=soctrang,dc=gov,dc=vn", "--max-age-days", "0", "--address", address(NEWCOMER),
        ],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert f"marked {address(NEWCOMER)}" in job.stdout, job.stdout
    refusal = imap_login_refusal(lab, address(NEWCOMER), NEWCOMER_OWN[-1])
    assert "hết hạn" in refusal and "mail.soctrang.gov.vn" in refusal, refusal
    renewed = new_password(NEWCOMER) + "-" + secrets.token_hex(3)
    change_password(lab, NEWCOMER, NEWCOMER_OWN[-1], renewed)
    NEWCOMER_OWN.append(renewed)
    imap_login(lab, address(NEWCOMER), renewed).logout()


def test_password_warning_arrives_before_the_password_is_due(lab: Lab, password: dict[str, str]) -> None:
    # The mail store's daily job (Điều 8.2.c), told that passwords last one day
    # and that the warning comes on the last day, warns the receiver by e-mail.
    assert mail1("systemctl", "is-enabled", "soctrang-password-warning.timer").strip() == "enabled"
    output = mail1(
        "/usr/local/sbin/soctrang-password-warning",
        "--max-age-days", "1", "--warn-days", "1", "--address", address(RECEIVER),
    )  # fmt: skip
    assert f"warned {address(RECEIVER)}: 1 days left" in output, output
    wait_for_subject(lab, address(RECEIVER), password[RECEIVER], "Nhắc đổi mật khẩu: còn 1 ngày")


def test_cleartext_login_is_not_offered(lab: Lab) -> None:
    imap = imaplib.IMAP4(lab.mail_address, lab.imap_port, timeout=30)
    try:
        assert "LOGINDISABLED" in imap.capabilities
    finally:
        imap.shutdown()


# ---------------------------------------------------------------- delivery
def test_message_from_one_user_to_another_is_read_over_imap(lab: Lab, password: dict[str, str]) -> None:
    subject = f"Công văn số {time.time_ns()}"
    with submission(lab, address(SENDER), password[SENDER]) as smtp:
        smtp.send_message(simple_message(address(SENDER), address(RECEIVER), subject))
    wait_for_subject(lab, address(RECEIVER), password[RECEIVER], subject)


def test_every_new_mailbox_has_the_welcome_message(lab: Lab, password: dict[str, str]) -> None:
    imap = imap_login(lab, address(RECEIVER), password[RECEIVER])
    try:
        assert any("Chào mừng" in subject for subject in subjects(imap))
        imap.select("INBOX", readonly=True)
        _, found = imap.search("UTF-8", "BODY", f"{address(RECEIVER)}".encode())
        assert found[0], "the welcome message does not name the address"
    finally:
        imap.logout()


def test_49_mib_attachment_is_accepted_and_delivered(lab: Lab, password: dict[str, str]) -> None:
    subject = f"Tệp 49 MiB {time.time_ns()}"
    with submission(lab, address(SENDER), password[SENDER]) as smtp:
        smtp.send_message(message_with_attachment(address(SENDER), address(RECEIVER), subject, 49 * MIB))
    wait_for_subject(lab, address(RECEIVER), password[RECEIVER], subject, seconds=120)


def test_51_mib_attachment_is_refused_at_smtp(lab: Lab, password: dict[str, str]) -> None:
    message = message_with_attachment(address(SENDER), address(RECEIVER), "Tệp 51 MiB", 51 * MIB)
    with submission(lab, address(SENDER), password[SENDER]) as smtp, pytest.raises(smtplib.SMTPException) as refusal:
        smtp.send_message(message)
    assert "552" in str(refusal.value) or getattr(refusal.value, "smtp_code", 0) == 552, refusal.value


# ---------------------------------------------------------------- quota (Điều 7)
def test_small_quota_refuses_at_rcpt_and_warns_at_80_percent(lab: Lab, password: dict[str, str]) -> None:
    recipient = address(SMALL_QUOTA)
    # Start empty, so that the test can run again on the same containers.
    mail1("doveadm", "expunge", "-u", recipient, "mailbox", "*", "all")
    mail1("doveadm", "quota", "recalc", "-u", recipient)
    refused = None
    with submission(lab, address(SENDER), password[SENDER]) as smtp:
        # 250 KiB of a 300 KiB quota: past the 80% warning.
        smtp.send_message(message_with_attachment(address(SENDER), recipient, "Quota 1", 180 * KIB))
        for attempt in range(2, 8):
            try:
                smtp.send_message(message_with_attachment(address(SENDER), recipient, f"Quota {attempt}", 60 * KIB))
            except smtplib.SMTPRecipientsRefused as refusal:
                refused = refusal.recipients[recipient]
                break
            time.sleep(1)
    assert refused is not None, "the mailbox never refused mail"
    code, text = refused
    assert code == 552 and b"5.2.2" in text, refused
    wait_for_subject(lab, recipient, password[SMALL_QUOTA], "Cảnh báo: hộp thư đã dùng 80% dung lượng")
    report = mail1("doveadm", "-f", "flow", "quota", "get", "-u", recipient)
    assert "Limit=300" in report and "Type=STORAGE" in report, report


# ---------------------------------------------------------------- Điều 9.3: Sieve
def test_sieve_redirect_is_refused_and_vacation_allowed(lab: Lab, password: dict[str, str]) -> None:
    sieve = ManageSieve(lab)
    try:
        sieve.login(address(SENDER), password[SENDER])
        status, text = sieve.put_script(
            "forward", 'require "variables";\nset "to" "someone@gmail.com";\nredirect "${to}";\n'
        )
        assert status == "NO" and "redirect" in text, text
        status, text = sieve.put_script("vacation", 'require "vacation";\nvacation :days 1 "Tôi đang nghỉ phép.";\n')
        assert status == "OK", text
        status, text = sieve.put_script("notify", 'require "enotify";\nnotify "mailto:someone@gmail.com";\n')
        assert status == "NO", text
        # A literal address passes Pigeonhole's upload check; delivery refuses it.
        status, text = sieve.put_script("literal", f'redirect "{address(RECEIVER)}";\n')
        assert status == "OK", text
        assert sieve.set_active("literal")[0] == "OK"
    finally:
        sieve.logout()
    subject = f"Không được chuyển tiếp {time.time_ns()}"
    with submission(lab, address(MANAGER), password[MANAGER]) as smtp:
        smtp.send_message(simple_message(address(MANAGER), address(SENDER), subject))
    wait_for_subject(lab, address(SENDER), password[SENDER], subject)  # kept, not forwarded
    time.sleep(3)
    imap = imap_login(lab, address(RECEIVER), password[RECEIVER])
    try:
        assert not any(subject in found for found in subjects(imap)), "the message was forwarded"
    finally:
        imap.logout()
    sieve = ManageSieve(lab)
    try:
        sieve.login(address(SENDER), password[SENDER])
        assert sieve.set_active("")[0] == "OK"
    finally:
        sieve.logout()


# ---------------------------------------------------------------- no open relay, no forgery
def test_unauthenticated_relay_is_refused(lab: Lab) -> None:
    with NamedSMTP(lab, lab.smtp_port) as smtp:
        smtp.ehlo()
        smtp.starttls(context=lab.tls())
        smtp.ehlo()
        smtp.mail("someone@example.org")
        code, text = smtp.rcpt("victim@example.net")
    assert code == 554 and b"Relay access denied" in text, (code, text)


def test_mail_from_outside_cannot_forge_our_users(lab: Lab) -> None:
    with NamedSMTP(lab, lab.smtp_port) as smtp:
        smtp.ehlo()
        smtp.mail(address(SENDER))
        code, text = smtp.rcpt(address(RECEIVER))
    assert code == 554 and b"5.7.1" in text and b"log in" in text, (code, text)


def test_sending_as_someone_else_is_refused(lab: Lab, password: dict[str, str]) -> None:
    with submission(lab, address(SENDER), password[SENDER]) as smtp:
        smtp.ehlo()
        code, _ = smtp.mail(address(RECEIVER))
        if code == 250:
            code, text = smtp.rcpt(address(MANAGER))
        assert code == 553, (code, text)


def test_submission_requires_login(lab: Lab) -> None:
    with NamedSMTP(lab, lab.submission_port) as smtp:
        smtp.ehlo()
        smtp.starttls(context=lab.tls())
        smtp.ehlo()
        smtp.mail("someone@example.org")
        code, _ = smtp.rcpt(address(RECEIVER))
    assert code in (530, 554), code


# ---------------------------------------------------------------- Điều 12: unit mailboxes
def test_unit_manager_reads_the_unit_mailbox_with_own_credentials(lab: Lab, password: dict[str, str]) -> None:
    subject = f"Gửi phòng Chuyển đổi số {time.time_ns()}"
    with submission(lab, address(SENDER), password[SENDER]) as smtp:
        smtp.send_message(simple_message(address(SENDER), address(UNIT_SEND_AS), subject))
    shared = f"shared/{address(UNIT_SEND_AS)}/INBOX"
    wait_for_subject(lab, address(MANAGER), password[MANAGER], subject, mailbox=shared)
    imap = imap_login(lab, address(MANAGER), password[MANAGER])
    try:
        _, listed = imap.list("shared/", "*")
        assert any(address(UNIT_READ_ONLY).encode() in line for line in listed), listed
    finally:
        imap.logout()
    outsider = imap_login(lab, address(RECEIVER), password[RECEIVER])
    try:
        status, _ = outsider.select(quoted(shared), readonly=True)
        assert status == "NO"
    finally:
        outsider.logout()


def test_manager_sends_as_the_unit_only_where_allowed(lab: Lab, password: dict[str, str]) -> None:
    with submission(lab, address(MANAGER), password[MANAGER]) as smtp:
        smtp.send_message(simple_message(address(UNIT_SEND_AS), address(RECEIVER), "Phòng CĐS trả lời"))
        smtp.ehlo()
        code, _ = smtp.mail(address(UNIT_READ_ONLY))
        if code == 250:
            code, _ = smtp.rcpt(address(RECEIVER))
        assert code == 553


# ---------------------------------------------------------------- removal (side_effect.yml did it)
def test_removed_mailbox_was_archived_and_restores(lab: Lab, password: dict[str, str]) -> None:
    listing = mail1("sh", "-c", "cat /var/backups/soctrang-mail-archive/vtem@soctrang.gov.vn-*.tar.gz.json")
    assert '"messages":' in listing and '"sha256":' in listing, listing
    assert "vtem" not in mail1("ls", "/var/vmail/soctrang.gov.vn")
    wait_for_subject(lab, address(RECEIVER), password[RECEIVER], "Chào mừng", mailbox="Lưu trữ/vtem/INBOX")


def test_mail_to_the_removed_address_is_refused_permanently(lab: Lab) -> None:
    with NamedSMTP(lab, lab.smtp_port) as smtp:
        smtp.ehlo()
        smtp.mail("someone@example.org")
        code, text = smtp.rcpt(address(LEFT))
    assert code == 550 and b"5.1.6" in text, (code, text)


def test_removed_entry_is_gone_from_the_directory(lab: Lab, password: dict[str, str]) -> None:
    connection = ldap_bind(lab, RECEIVER, password[RECEIVER])
    assert connection is not None
    try:
        connection.search("dc=soctrang,dc=gov,dc=vn", f"(mail={address(LEFT)})", attributes=["mail"])
        assert connection.entries == []
        connection.search("dc=soctrang,dc=gov,dc=vn", f"(mail={address(SENDER)})", attributes=["mail"])
        assert len(connection.entries) == 1  # the search itself works
    finally:
        connection.unbind()


# ---------------------------------------------------------------- last: lockout (Điều 9)
def test_pop3_login_over_tls(lab: Lab, password: dict[str, str]) -> None:
    pop = NamedPOP3SSL(lab, lab.pop3s_port)
    try:
        pop.user(address(RECEIVER))
        pop.pass_(password[RECEIVER])
        count, _ = pop.stat()
        assert count > 0
    finally:
        pop.quit()


def test_locked_account_is_told_so(lab: Lab) -> None:
    # Five wrong passwords lock the account (ppolicy); the right one is then
    # refused with the lockout message, not a bare "authentication failed".
    for _ in range(6):
        assert ldap_bind(lab, NEWCOMER, "Wrong#Passw0rd-1") is None
    refusal = imap_login_refusal(lab, address(NEWCOMER), "Wrong#Passw0rd-1")
    assert "khóa" in refusal, refusal


# ---------------------------------------------------------------- Điều 9.4: reporting suspicious mail
REPORTS = "/var/vmail/soctrang.gov.vn/abuse/Maildir"  # the scenario reports to abuse@ (vars/main.yml)


def test_a_message_moved_into_junk_is_reported_once_with_the_original(lab: Lab, password: dict[str, str]) -> None:
    # As any IMAP client moves it (the webmail's button does the same move).
    number = str(time.time_ns())
    subject = f"Thư nghi ngờ {number}"
    with submission(lab, address(SENDER), password[SENDER]) as smtp:
        smtp.send_message(simple_message(address(SENDER), address(RECEIVER), subject))
    wait_for_subject(lab, address(RECEIVER), password[RECEIVER], subject)
    imaplib.Commands.setdefault("MOVE", ("SELECTED",))
    imap = imap_login(lab, address(RECEIVER), password[RECEIVER])
    try:
        imap.select("INBOX")
        _, found = imap.uid("SEARCH", "SUBJECT", number)
        uids = found[0].split()
        assert len(uids) == 1, found
        status, said = imap.uid("MOVE", uids[0].decode(), "Junk")
        assert status == "OK", said
    finally:
        imap.logout()
    assert any(subject in found for found in junk_subjects(lab, password[RECEIVER]))
    deadline = time.monotonic() + 60
    while not (reports := reports_about(number)) and time.monotonic() < deadline:
        time.sleep(1)
    time.sleep(3)  # a second report would come as fast as the first
    reports = reports_about(number)
    assert len(reports) == 1, f"{len(reports)} reports of '{subject}' reached abuse@"
    report = mail1("cat", reports[0])
    assert "Feedback-Type: abuse" in report and "message/rfc822" in report, report[:2000]
    assert f"From: {address(SENDER)}" in report or address(SENDER) in report, report[:2000]


def junk_subjects(lab: Lab, receiver_password: str) -> list[str]:
    imap = imap_login(lab, address(RECEIVER), receiver_password)
    try:
        return subjects(imap, "Junk")
    finally:
        imap.logout()


def reports_about(number: str) -> list[str]:
    """The messages in abuse@'s Maildir that carry this number of a subject (the
    original's, attached; the Vietnamese words of it may be encoded)."""
    listing = mail1("sh", "-c", f"grep -rl -- '{number}' {REPORTS}/new {REPORTS}/cur 2>/dev/null || true")
    return [line for line in listing.splitlines() if line]
