"""The authentication cache saves a login its Argon2 verification and nothing else
(issue 9, section 3; README "The cost of a login").

Dovecot remembers a password slapd verified; these tests try to make that
memory say yes where the directory says no: after a lock, after a password
change, after the operators disable the mailbox. And a wrong password must
still reach slapd, whose lockout counts it, though a correct one was
remembered. Each test first logs in at IMAP and at submission, so both doors'
caches hold the password (each service has its own passdbs, so its own
entries), then changes something behind Dovecot's back, in the directory
only, with no flush: the next login must already see it.
"""

from __future__ import annotations

import imaplib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import PEOPLE_BASE, directory_modify, from_webmail_host, operators_playbook, unlock
from mailtest import (
    Lab,
    NamedIMAP4SSL,
    address,
    change_password,
    ensure_own_password,
    imap_login,
    ldap_bind,
    login_attempt,
)
from test_doors import LOCKED_REASON, wrong_password

HOLDER = "dthoa"  # only these tests use her
CACHED_DOORS = ("imap", "submission")
DN = f"uid={HOLDER},{PEOPLE_BASE}"


def remember(lab: Lab, password: str) -> None:
    for door in CACHED_DOORS:
        accepted, said = login_attempt(lab, door, address(HOLDER), password)
        assert accepted, f"{door}: {said}"


def failure_count() -> int:
    """The wrong passwords slapd has counted for the holder (ppolicy's pwdFailureTime)."""
    search = subprocess.run(
        ["podman", "exec", os.environ["MAILTEST_LDAP_CONTAINER"], "ldapsearch", "-LLL", "-Q", "-Y", "EXTERNAL",
         "-H", "ldapi:///", "-b", DN, "-s", "base", "(objectClass=*)", "pwdFailureTime"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return search.stdout.count("pwdFailureTime:")


@pytest.fixture(scope="module")
def holder_password(lab: Lab, initial: dict[str, str]) -> str:
    unlock(HOLDER)
    own = ensure_own_password(lab, HOLDER, initial[address(HOLDER)])
    yield own
    # The password change test leaves another password: the operators put the
    # test password back (outside the history rule), so that verify can run again.
    directory_modify(f"dn: {DN}\nchangetype: modify\nreplace: userPassword\nuserPassword: {own}\n", relax=True)
    directory_modify(f"dn: {DN}\nchangetype: modify\nreplace: pwdReset\n", relax=True)
    unlock(HOLDER)


def test_a_wrong_password_after_a_remembered_one_reaches_the_directory(lab: Lab, holder_password: str) -> None:
    unlock(HOLDER)
    remember(lab, holder_password)
    # Dovecot answers a wrong password from the cache only within the very second
    # in which slapd verified the right one (README): the guesses come after it.
    time.sleep(1.1)
    for counted, door in enumerate([*CACHED_DOORS, "imap"], start=1):
        accepted, said = login_attempt(lab, door, address(HOLDER), wrong_password())
        assert not accepted, f"{door} took a wrong password: {said}"
        assert failure_count() == counted, f"slapd did not count the wrong password given at {door}"
    unlock(HOLDER)
    remember(lab, holder_password)  # and the right one still logs in


def test_a_remembered_password_does_not_log_in_while_the_account_is_locked(lab: Lab, holder_password: str) -> None:
    unlock(HOLDER)
    remember(lab, holder_password)
    for _ in range(5):  # ppolicy's lockout, by a guesser over LDAP
        assert ldap_bind(lab, HOLDER, wrong_password()) is None
    for door in CACHED_DOORS:
        accepted, said = login_attempt(lab, door, address(HOLDER), holder_password)
        assert not accepted, f"{door} let a locked account in from its cache: {said}"
        if door == "imap":
            assert LOCKED_REASON in said, said
    # The operators see it, and the client addresses slowed by the failures.
    run = operators_playbook("blocked-logins.yml")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert f"{address(HOLDER)} since " in run.stdout and " penalised: " in run.stdout, run.stdout[-3000:]
    unlock(HOLDER)
    remember(lab, holder_password)


def test_a_remembered_password_does_not_log_in_once_the_mailbox_is_disabled(lab: Lab, holder_password: str) -> None:
    unlock(HOLDER)
    remember(lab, holder_password)
    # What a provisioning run writes for a disabled mailbox, directly: no flush.
    directory_modify(f"dn: {DN}\nchangetype: modify\nreplace: socMailboxState\nsocMailboxState: disabled\n")
    try:
        for door in CACHED_DOORS:
            accepted, said = login_attempt(lab, door, address(HOLDER), holder_password)
            assert not accepted, f"{door} let a disabled mailbox in from its cache: {said}"
    finally:
        directory_modify(f"dn: {DN}\nchangetype: modify\nreplace: socMailboxState\nsocMailboxState: active\n")
    remember(lab, holder_password)


def test_a_provisioning_run_ends_the_open_sessions_of_who_may_not_log_in(lab: Lab, holder_password: str) -> None:
    """The mail store's module, as the site playbook runs it, with a desired state in
    which the holder is no longer active: her open IMAP session is ended."""
    unlock(HOLDER)
    session = imap_login(lab, address(HOLDER), holder_password)
    state = {"accounts": [{"mail": address("nvan"), "kind": "person", "state": "active"},
                          {"mail": address(HOLDER), "kind": "person", "state": "disabled"}]}  # fmt: skip
    result = run_mail_store_module(state)
    assert result["sessions_ended"] == [address(HOLDER)], result
    with pytest.raises((OSError, EOFError, session.abort)):
        session.noop()
        session.noop()
    assert run_mail_store_module(state)["changed"] is False  # nobody left to end


def run_mail_store_module(state: dict) -> dict:
    arguments = {
        "accounts_json": json.dumps(state),
        "vmail_dir": "/var/vmail",
        "lmtp_socket": "/var/spool/postfix/private/dovecot-lmtp",
        "sender": address("postmaster"),
        "welcome_subject": "-",
        "welcome_body": "-",
        "manager_rights": ["lookup", "read"],
    }
    ansible = Path(sys.executable).with_name("ansible")
    run = subprocess.run(
        [str(ansible), "-i", os.environ["MOLECULE_INVENTORY_FILE"], os.environ["MAILTEST_MAIL_CONTAINER"],
         "-m", "soctrang.mail.dovecot_mailboxes", "-a", json.dumps(arguments), "-o"],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads(run.stdout.split("=>", 1)[1])


def test_a_changed_password_counts_at_once(lab: Lab, holder_password: str) -> None:
    # Last: the holder's password changes here (the fixture puts it back).
    unlock(HOLDER)
    remember(lab, holder_password)
    changed = holder_password + "-Moi"
    change_password(lab, HOLDER, holder_password, changed)
    for door in CACHED_DOORS:
        accepted, said = login_attempt(lab, door, address(HOLDER), holder_password)
        assert not accepted, f"{door} still took the old password from its cache: {said}"
    unlock(HOLDER)
    remember(lab, changed)


# ---------------------------------------------------------------- whose address the penalty counts
NAME_THE_CLIENT = (
    "import imaplib, ssl, sys\n"
    "imaplib.Commands['ID'] = ('NONAUTH', 'AUTH')\n"
    "context = ssl.create_default_context(cafile=sys.argv[2])\n"
    "imap = imaplib.IMAP4_SSL(sys.argv[1], 993, ssl_context=context)\n"
    "imap._simple_command('ID', '(\"x-originating-ip\" \"' + sys.argv[3] + '\")')\n"
    "try:\n"
    "    imap.login(sys.argv[4], sys.argv[5])\n"
    "except imaplib.IMAP4.error:\n"
    "    print('refused')\n"
)


def penalised_addresses() -> str:
    return subprocess.run(
        ["podman", "exec", os.environ["MAILTEST_MAIL_CONTAINER"], "doveadm", "penalty"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def test_the_webmail_host_names_its_users_address_to_the_penalty(lab: Lab) -> None:
    # A guesser behind the webmail is slowed at their own address, not the webmail's.
    user_address = "192.0.2.77"
    result = from_webmail_host(lab, NAME_THE_CLIENT, user_address, address("nobody.here"), wrong_password())
    assert result.stdout.strip() == "refused", (result.stdout, result.stderr)
    assert user_address in penalised_addresses()


def test_a_client_elsewhere_cannot_name_another_address(lab: Lab) -> None:
    claimed = "192.0.2.88"
    imap = NamedIMAP4SSL(lab, lab.imaps_port)
    try:
        imap.xatom("ID", f'("x-originating-ip" "{claimed}")')
        with pytest.raises(imaplib.IMAP4.error):
            imap.login(address("nobody.here"), wrong_password())
    finally:
        imap.shutdown()
    assert claimed not in penalised_addresses()
