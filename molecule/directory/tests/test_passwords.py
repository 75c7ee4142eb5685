"""The password policy of Điều 8, judged by slapd itself: how passwords are
stored, the change forced after creation or reset, ppm's quality and personal
information checks, the history, what a user may not change, the lockout, the
disabled and locked accounts, unique addresses, and the daily expiry job. Users
act over LDAPS from the controller; root, as the operators, over ldapi."""

from __future__ import annotations

import ldap3
import pytest
from conftest import (
    DOMAIN,
    FIRST_OWN,
    INITIAL,
    SECOND_OWN,
    THIRD_OWN,
    Entries,
    nguyen,
    person,
    root_modify,
    root_reset_password,
)
from ldap3 import MODIFY_REPLACE
from ldap3.core.results import (
    RESULT_CONSTRAINT_VIOLATION,
    RESULT_INSUFFICIENT_ACCESS_RIGHTS,
    RESULT_INVALID_CREDENTIALS,
    RESULT_SUCCESS,
)
from mailtest import (
    Directory,
    change_own_password,
    directory_bind,
    directory_session,
    ldap_read,
    on_directory_host,
    result_code,
    root_read,
)

EXPIRY_JOB = "/usr/local/sbin/soctrang-password-expiry"


def lockme() -> dict[str, list[str]]:
    return person("lockme", "Lâm Ốc Mễ", surname="Lâm", given="Mễ", ascii_name="Lam Oc Me")


def disabled_one() -> dict[str, list[str]]:
    return person("disabledone", "Đinh Sơn", surname="Đinh", given="Sơn", ascii_name="Dinh Son", state="disabled")


def bind_code(directory: Directory, dn: str, password: str) -> int:
    connection = directory_bind(directory, dn, password)
    if connection.bound:
        connection.unbind()
    return result_code(connection)


def read_code(directory: Directory, dn: str, password: str) -> int:
    """Bind, then read the own entry: the result code of the read."""
    with directory_session(directory, dn, password) as user:
        user.search(dn, "(objectClass=*)", ldap3.BASE)
        return result_code(user)


# ---------------------------------------------------------------- storage
def test_a_cleartext_password_is_stored_as_argon2id(directory: Directory, entries: Entries) -> None:
    dn = entries.add(nguyen())
    stored = root_read(directory, dn, ["userPassword"]).get("userPassword", [""])[0]
    assert stored.startswith("{ARGON2}$argon2id$"), stored[:24]


def test_a_service_secret_is_stored_as_ssha512_and_binds(
    directory: Directory, service_password: dict[str, str]
) -> None:
    # Generated secrets: one SHA-512 (pw-sha2), not a second Argon2 at every login.
    dn = directory.service_dn("dovecot")
    stored = root_read(directory, dn, ["userPassword"]).get("userPassword", [""])[0]
    assert stored.startswith("{SSHA512}"), stored[:12]
    with directory_session(directory, dn, service_password["dovecot"]):
        pass
    assert bind_code(directory, dn, service_password["dovecot"] + "x") == RESULT_INVALID_CREDENTIALS


# ---------------------------------------------------------------- change after creation
def test_must_change_user_binds_but_may_do_nothing_else(directory: Directory, entries: Entries) -> None:
    dn = entries.add(nguyen())
    assert read_code(directory, dn, INITIAL) != RESULT_SUCCESS


@pytest.mark.parametrize(
    "refused",
    [
        pytest.param("abcdefgh1", id="no upper case, no special"),
        pytest.param("Ab1!xy", id="shorter than 8"),
        pytest.param("Nguyen@2026x", id="own name, ASCII-folded"),
        pytest.param("Dcnguyen#2026", id="own uid"),
    ],
)
def test_ppolicy_refuses(directory: Directory, entries: Entries, refused: str) -> None:
    dn = entries.add(nguyen())
    assert change_own_password(directory, dn, INITIAL, refused) == RESULT_CONSTRAINT_VIOLATION


def test_the_user_sets_a_compliant_password_and_may_then_read(directory: Directory, entries: Entries) -> None:
    dn = entries.add(nguyen())
    assert change_own_password(directory, dn, INITIAL, FIRST_OWN) == RESULT_SUCCESS
    with directory_session(directory, dn, FIRST_OWN) as user:
        state = ldap_read(user, dn, ["pwdReset", "mail"])
    assert "pwdReset" not in state, state
    assert "mail" in state, state


def test_control_without_the_folded_name_ppm_lets_the_own_name_through(directory: Directory, entries: Entries) -> None:
    # Why socNameAscii is in every entry: ppm compares the raw values only.
    dn = entries.add(nguyen("dcnguyen9", ascii_name=None))
    assert change_own_password(directory, dn, INITIAL, "Nguyen@2026x") == RESULT_SUCCESS


def test_a_password_from_the_history_is_refused(directory: Directory, entries: Entries) -> None:
    dn = entries.add(nguyen())
    assert change_own_password(directory, dn, INITIAL, FIRST_OWN) == RESULT_SUCCESS
    assert change_own_password(directory, dn, FIRST_OWN, SECOND_OWN) == RESULT_SUCCESS, "a second change"
    assert change_own_password(directory, dn, SECOND_OWN, FIRST_OWN) == RESULT_CONSTRAINT_VIOLATION


# ---------------------------------------------------------------- what a user may not do
@pytest.fixture
def user_with_own_password(directory: Directory, entries: Entries) -> str:
    dn = entries.add(nguyen())
    assert change_own_password(directory, dn, INITIAL, FIRST_OWN) == RESULT_SUCCESS
    return dn


def test_a_user_cannot_set_another_users_password(
    directory: Directory, entries: Entries, user_with_own_password: str
) -> None:
    other = entries.add(lockme())
    with directory_session(directory, user_with_own_password, FIRST_OWN) as user:
        user.extend.standard.modify_password(other, None, "Other-User#2026")
        assert result_code(user) == RESULT_INSUFFICIENT_ACCESS_RIGHTS, user.result


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        pytest.param("socMailQuota", "999999999999", id="his quota"),
        pytest.param("mail", f"boss@{DOMAIN}", id="his address"),
    ],
)
def test_a_user_cannot_raise_his_quota_or_change_his_address(
    directory: Directory, user_with_own_password: str, attribute: str, value: str
) -> None:
    with directory_session(directory, user_with_own_password, FIRST_OWN) as user:
        user.modify(user_with_own_password, {attribute: [(MODIFY_REPLACE, [value])]})
        assert result_code(user) == RESULT_INSUFFICIENT_ACCESS_RIGHTS, user.result


def test_a_user_cannot_read_even_his_own_password_hash(directory: Directory, user_with_own_password: str) -> None:
    with directory_session(directory, user_with_own_password, FIRST_OWN) as user:
        assert "userPassword" not in ldap_read(user, user_with_own_password, ["userPassword"])


def test_an_administrators_reset_sets_pwdreset_again(directory: Directory, user_with_own_password: str) -> None:
    root_reset_password(directory, user_with_own_password, INITIAL)
    assert root_read(directory, user_with_own_password, ["pwdReset"]).get("pwdReset") == ["TRUE"]


# ---------------------------------------------------------------- refused binds
def test_after_5_failures_even_the_right_password_is_refused(directory: Directory, entries: Entries) -> None:
    dn = entries.add(lockme())
    for _attempt in range(5):
        bind_code(directory, dn, "Wrong-Guess#1")
    assert bind_code(directory, dn, INITIAL) == RESULT_INVALID_CREDENTIALS


def test_a_disabled_mailbox_cannot_bind(directory: Directory, entries: Entries) -> None:
    dn = entries.add(disabled_one())
    assert bind_code(directory, dn, INITIAL) == RESULT_INVALID_CREDENTIALS


def test_an_administratively_locked_account_cannot_bind(directory: Directory, entries: Entries) -> None:
    dn = entries.add(person("adminlocked", "Âu Lạc", surname="Âu", given="Lạc", ascii_name="Au Lac"))
    locked = root_modify(
        directory, f"dn: {dn}\nchangetype: modify\nadd: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z\n"
    )
    assert locked == RESULT_SUCCESS
    assert bind_code(directory, dn, INITIAL) == RESULT_INVALID_CREDENTIALS


# ---------------------------------------------------------------- unique addresses
def test_an_address_in_use_cannot_be_given_to_a_second_entry(entries: Entries) -> None:
    entries.add(nguyen())
    _, code = entries.try_add(nguyen("dcnguyen8") | {"mail": [f"dcnguyen@{DOMAIN}"]})
    assert code == RESULT_CONSTRAINT_VIOLATION


def test_an_alias_cannot_be_given_to_a_second_mailbox(directory: Directory, entries: Entries) -> None:
    # slapo-unique compares each attribute with itself only; that an alias is
    # never another mailbox's address is the ledger's guarantee (one namespace).
    first, second = entries.add(lockme()), entries.add(disabled_one())
    alias = f"old.address@{DOMAIN}"
    assert root_modify(directory, f"dn: {first}\nchangetype: modify\nadd: socMailAlias\nsocMailAlias: {alias}\n") == 0
    again = root_modify(directory, f"dn: {second}\nchangetype: modify\nadd: socMailAlias\nsocMailAlias: {alias}\n")
    assert again == RESULT_CONSTRAINT_VIOLATION


# ---------------------------------------------------------------- expiry (Điều 8.2.c)
def test_the_daily_password_expiry_job_is_enabled(directory: Directory) -> None:
    timer = on_directory_host(directory, "systemctl", "is-enabled", "soctrang-password-expiry.timer")
    assert timer.stdout.strip() == "enabled", timer.stdout + timer.stderr


def test_the_expiry_job_marks_an_old_password_and_the_user_changes_it(directory: Directory, entries: Entries) -> None:
    """The job as the timer runs it, limited to one test account; told a maximum
    age of 0 days, it finds the password as it would after 180."""
    dn = entries.add(nguyen())
    assert change_own_password(directory, dn, INITIAL, THIRD_OWN) == RESULT_SUCCESS

    def expiry_job(*arguments: str) -> str:
        job = on_directory_host(
            directory, EXPIRY_JOB, "--base", directory.people, "--address", f"dcnguyen@{DOMAIN}", *arguments
        )
        assert job.returncode == 0, job.stdout + job.stderr
        return job.stdout

    young = expiry_job("--max-age-days", "180")
    assert "must be changed by" in young, "a password changed today: the job says by when"
    assert f"marked dcnguyen@{DOMAIN}" not in young, young

    dry = expiry_job("--max-age-days", "0", "--check")
    assert "would mark" in dry, dry
    assert "pwdReset" not in root_read(directory, dn, ["pwdReset"]), "--check changed the entry"

    due = expiry_job("--max-age-days", "0")
    assert root_read(directory, dn, ["pwdReset"]).get("pwdReset") == ["TRUE"], due

    assert read_code(directory, dn, THIRD_OWN) != RESULT_SUCCESS, "after expiry the user may only change the password"
    assert change_own_password(directory, dn, THIRD_OWN, "Khanh-Hoa#2028q") == RESULT_SUCCESS, "and can"
    assert "pwdReset" not in root_read(directory, dn, ["pwdReset"]), "the change clears the mark"
