"""Provisioning against the real directory server, as the regulation asks: the
entries converge wrote, the initial passwords and their hand-over, a changed
directory under --check and then applied, a run with nothing left to do, and a
lost password reset with playbooks/reset-password.yml.

The tests build on each other in the order written (see conftest.py); each
phase's run is a fixture that needs the run before it."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import (
    SCENARIO,
    address,
    assert_must_change,
    handed_over,
    handover_files,
    is_private,
    log_in,
    operators_playbook,
    person_dn,
    provision,
    read_entry,
)
from ldap3.core.results import RESULT_INVALID_CREDENTIALS, RESULT_SUCCESS
from mailtest import Directory, change_own_password

AFTER = SCENARIO / "inventory-after"
# The password dcnguyen chooses (policy-compliant; lab containers only).
NEW_PASSWORD = "Qz7#mWk2!vTp"


# ---------------------------------------------------------------- what converge made (inventory-before)
def test_a_person_entry_holds_the_desired_attributes(directory: Directory, mail_store: tuple[str, str]) -> None:
    entry = read_entry(directory, mail_store, "dcnguyen")
    wanted = {
        "dn": person_dn(directory, "dcnguyen"),
        "cn": "Dương Chí Nguyên",
        "sn": "Dương",
        "givenName": "Nguyên",
        "displayName": "Dương Chí Nguyên",
        "socNameAscii": "Duong Chi Nguyen",
        # The address book: the agency (a person of the agency itself: no ou) and the position.
        "o": "Sở Thông tin và Truyền thông",
        "ou": None,
        "title": "Giám đốc",
        # The single sign-on's unit address: the agency's mailbox.
        "socUnitMail": address("sotttt"),
        "mail": address("dcnguyen"),
        "socOwnerId": "stttt-0001",
        "socMailboxState": "active",
        "socMailQuota": "2147483648",
        "socMailSendAsManagers": "FALSE",
        # Must change the initial password.
        "pwdReset": "TRUE",
    }
    assert {name: entry.get(name) for name in wanted} == wanted
    assert "pwdAccountLockedTime" not in entry, entry
    assert "socMailbox" in entry["objectClass"], entry


def test_the_address_book_shows_the_unit_the_agency_and_the_position(
    directory: Directory, mail_store: tuple[str, str]
) -> None:
    entry = read_entry(directory, mail_store, "dcnguyen1")
    assert (entry.get("o"), entry.get("ou"), entry.get("title"), entry.get("socUnitMail")) == (
        "Sở Thông tin và Truyền thông",
        "Phòng Chuyển đổi số",
        "Chuyên viên",
        address("phongcds.sotttt"),
    ), entry


def test_a_unit_mailbox_carries_no_unit_address(directory: Directory, mail_store: tuple[str, str]) -> None:
    """socUnitMail is a person's: a unit's own address is its mail."""
    entry = read_entry(directory, mail_store, "phongcds.sotttt")
    assert entry.get("mail") == address("phongcds.sotttt"), entry
    assert entry.get("socUnitMail") is None, entry


def test_a_unit_mailbox_lives_in_ou_units_and_names_its_managers_by_dn(
    directory: Directory, mail_store: tuple[str, str]
) -> None:
    entry = read_entry(directory, mail_store, "ttcns.sotttt")
    assert entry["dn"] == f"uid=ttcns.sotttt,ou=units,{directory.suffix}"
    assert "givenName" not in entry, entry
    assert entry.get("socMailSendAsManagers") == "TRUE", entry
    assert sorted(entry.get("socMailManager", [])) == [person_dn(directory, "httung"), person_dn(directory, "ttsaruol")]
    assert entry.get("pwdReset") == "TRUE", entry


def test_the_quota_override_of_the_directory_is_in_bytes(directory: Directory, mail_store: tuple[str, str]) -> None:
    assert read_entry(directory, mail_store, "vtnanh").get("socMailQuota") == "4294967296"  # quota: 4GiB


def test_every_mailbox_was_handed_a_distinct_initial_password_only_in_vault_files(secrets: Path) -> None:
    passwords, files = handed_over(secrets), handover_files(secrets)
    assert len(passwords) == 23
    assert len(set(passwords.values())) == 23, "two mailboxes share an initial password"
    assert all(is_private(path) for path in files), [path.name for path in files if not is_private(path)]
    vaulted = [
        path for path in files if path.read_text(encoding="utf-8").startswith("$ANSIBLE_VAULT;1.2;AES256;handover")
    ]
    assert vaulted == files, sorted(set(files) - set(vaulted))


def test_the_initial_password_binds_but_only_to_change_it(directory: Directory, secrets: Path) -> None:
    login = log_in(directory, person_dn(directory, "dcnguyen"), handed_over(secrets)[address("dcnguyen")])
    assert_must_change(login)
    assert "modify password" in login.read_said, login


@pytest.fixture(scope="module")
def dcnguyen_own_password(directory: Directory, secrets: Path) -> str:
    """dcnguyen changes the initial password himself, with the password-modify operation."""
    initial = handed_over(secrets)[address("dcnguyen")]
    assert change_own_password(directory, person_dn(directory, "dcnguyen"), initial, NEW_PASSWORD) == RESULT_SUCCESS
    return NEW_PASSWORD


def test_after_the_change_the_account_works_normally(directory: Directory, dcnguyen_own_password: str) -> None:
    login = log_in(directory, person_dn(directory, "dcnguyen"), dcnguyen_own_password)
    assert login.bind == RESULT_SUCCESS, login
    assert login.policy_error is None, login
    assert login.read == RESULT_SUCCESS, login
    assert login.mail == (address("dcnguyen"),), login


def test_an_account_created_disabled_cannot_bind(directory: Directory, secrets: Path) -> None:
    login = log_in(directory, person_dn(directory, "tvhoa"), handed_over(secrets)[address("tvhoa")])
    assert login.bind == RESULT_INVALID_CREDENTIALS, login


# ---------------------------------------------------------------- the changed directory under --check
@pytest.fixture(scope="module")
def check_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return provision(AFTER, tmp_path_factory.mktemp("check") / "report.json", "--check")


def test_check_mode_reports_the_difference(directory: Directory, check_run: dict) -> None:
    assert check_run["created"] == [address("ltbngoc")]
    assert check_run["disabled"] == [person_dn(directory, "vtnanh")]
    assert check_run["retired"] == [person_dn(directory, "dsakha")]
    assert check_run["handed_over"] == []
    assert check_run["changed"] is True


def test_check_mode_created_nothing(directory: Directory, mail_store: tuple[str, str], check_run: dict) -> None:
    assert read_entry(directory, mail_store, "ltbngoc") == {}


def test_check_mode_disabled_nothing(directory: Directory, mail_store: tuple[str, str], check_run: dict) -> None:
    assert read_entry(directory, mail_store, "vtnanh").get("socMailboxState") == "active"


# ---------------------------------------------------------------- the changed directory applied
@pytest.fixture(scope="module")
def changed_run(check_run: dict, dcnguyen_own_password: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    return provision(AFTER, tmp_path_factory.mktemp("changed") / "report.json")


def test_the_run_applies_exactly_what_check_reported(directory: Directory, changed_run: dict) -> None:
    assert changed_run["created"] == [address("ltbngoc")]
    assert changed_run["disabled"] == [person_dn(directory, "vtnanh")]
    assert changed_run["retired"] == [person_dn(directory, "dsakha")]
    assert changed_run["handed_over"] == [address("ltbngoc")]


def test_a_disabled_account_cannot_bind_any_more(directory: Directory, secrets: Path, changed_run: dict) -> None:
    login = log_in(directory, person_dn(directory, "vtnanh"), handed_over(secrets)[address("vtnanh")])
    assert login.bind == RESULT_INVALID_CREDENTIALS, login


def test_a_person_who_left_is_retired_and_locked_not_deleted(
    directory: Directory, mail_store: tuple[str, str], changed_run: dict
) -> None:
    entry = read_entry(directory, mail_store, "dsakha")
    assert entry.get("socMailboxState") == "retired", entry
    assert entry.get("pwdAccountLockedTime") == "000001010000Z", entry
    assert entry.get("cn") == "Dương Sà Kha", entry


def test_the_new_account_must_change_its_password_and_the_earlier_ones_stay_in_the_merged_file(
    directory: Directory, secrets: Path, changed_run: dict
) -> None:
    passwords = handed_over(secrets)
    login = log_in(directory, person_dn(directory, "ltbngoc"), passwords[address("ltbngoc")])
    assert login.bind == RESULT_SUCCESS, login
    assert login.policy_error == "changeAfterReset", login
    assert len(passwords) == 24


def test_a_later_run_never_touches_a_password_already_set(
    directory: Directory, mail_store: tuple[str, str], changed_run: dict
) -> None:
    assert "pwdReset" not in read_entry(directory, mail_store, "dcnguyen")


@pytest.fixture(scope="module")
def run_once_more(changed_run: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    return provision(AFTER, tmp_path_factory.mktemp("again") / "report.json")


def test_nothing_is_left_to_do(run_once_more: dict) -> None:
    assert run_once_more["changed"] is False, run_once_more
    assert run_once_more["counts"]["unchanged"] == 24, run_once_more["counts"]


# ---------------------------------------------------------------- a lost password (Điều 8.2.đ)
@pytest.fixture(scope="module")
def reset(run_once_more: dict) -> None:
    operators_playbook("reset-password.yml", "person=stttt-0001", f"mailboxes_inventory_dir={AFTER}")


def test_the_reset_password_replaces_the_old_one_and_must_be_changed(
    directory: Directory, secrets: Path, reset: None
) -> None:
    reset_password = handed_over(secrets)[address("dcnguyen")]
    assert reset_password != NEW_PASSWORD
    login = log_in(directory, person_dn(directory, "dcnguyen"), reset_password)
    assert login.bind == RESULT_SUCCESS, login
    assert login.policy_error == "changeAfterReset", login
