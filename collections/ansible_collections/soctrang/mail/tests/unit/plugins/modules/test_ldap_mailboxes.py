"""soctrang.mail.ldap_mailboxes against a real slapd (conftest.py: Debian's slapd, the repository's schema).

The module runs in this process with its real arguments and talks to the
session's slapd over ldapi:/// with SASL EXTERNAL, as on the directory host.
Entries are read back with python-ldap as the manager, and passwords are
proved by binding with them. The plan itself (module_utils/ldap_sync.py) is
tested without a server in tests/unit/plugins/module_utils/test_ldap_sync.py; here it is what reaches
the directory, and what the directory answers, that is tested.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import ldap
import pytest
from ansible_collections.soctrang.mail.plugins.module_utils.ldap_sync import generate_password, normalise_dn
from ansible_collections.soctrang.mail.plugins.modules import ldap_mailboxes

DOMAIN = "soctrang.gov.vn"
SUFFIX = "dc=soctrang,dc=gov,dc=vn"
PEOPLE = f"ou=people,{SUFFIX}"
UNITS = f"ou=units,{SUFFIX}"
LOCKED_BY_ADMINISTRATOR = "000001010000Z"


def person(uid: str, owner: str, **overrides) -> dict:
    account = {
        "id": owner,
        "kind": "person",
        "uid": uid,
        "mail": f"{uid}@{DOMAIN}",
        "state": "active",
        "name": "Dương Chí Nguyên",
        "name_ascii": "Duong Chi Nguyen",
        "surname": "Dương",
        "given_name": "Nguyên",
        "unit": "stttt",
        "quota_bytes": 2147483648,
        "aliases": [],
        "managers": [],
        "managers_send_as": False,
    }
    return {**account, **overrides}


def unit(uid: str, owner: str, managers: list[str], **overrides) -> dict:
    name = {"name": "Sở Thông tin và Truyền thông", "name_ascii": "So Thong tin va Truyen thong"}
    account = person(uid, owner, kind="unit", surname="", given_name="", unit="", managers=managers, **name)
    return {**account, **overrides}


def roster() -> list[dict]:
    return [
        person("dcnguyen", "stttt-0001", aliases=["Old.Name@soctrang.gov.vn"]),
        person(
            "ntan", "stttt-0002", name="Nguyễn Thị An", name_ascii="Nguyen Thi An", surname="Nguyễn", given_name="An"
        ),
        unit("sotttt", "stttt", [f"ntan@{DOMAIN}", f"dcnguyen@{DOMAIN}"], managers_send_as=True),
    ]


def dn_of(uid: str) -> str:
    return f"uid={uid},{UNITS if uid == 'sotttt' else PEOPLE}"


def replaced(accounts: list[dict], uid: str, **changes) -> list[dict]:
    return [{**account, **changes} if account["uid"] == uid else account for account in accounts]


def without(accounts: list[dict], *uids: str) -> list[dict]:
    """The accounts less those people, who no longer manage anything either."""
    gone = {f"{uid}@{DOMAIN}" for uid in uids}
    return [
        {**account, "managers": [manager for manager in account["managers"] if manager not in gone]}
        for account in accounts
        if account["uid"] not in uids
    ]


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    return tmp_path / "lib" / "soctrang-mailboxes" / "pending-handover.json"


@pytest.fixture
def reconcile(directory, journal, run_module):
    """reconcile(accounts, check_mode=False, diff=False, **arguments) -> the module's result."""

    def run(accounts: list[dict], *, check_mode: bool = False, diff: bool = False, **arguments) -> dict:
        args = {
            "domain": DOMAIN,
            "ldap_uri": directory.uri,
            "pending_handover_path": str(journal),
            **arguments,
        }
        if "accounts_json" not in arguments:
            args["accounts"] = accounts
        return run_module(ldap_mailboxes, args, check_mode=check_mode, diff=diff)

    return run


def read(directory, dn: str) -> dict[str, list[str]]:
    """The entry with its operational attributes, as the manager reads it."""
    ((_, attributes),) = directory.manager().search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", ["*", "+"])
    return {name: [value.decode() for value in values] for name, values in attributes.items()}


def exists(directory, dn: str) -> bool:
    try:
        read(directory, dn)
    except ldap.NO_SUCH_OBJECT:
        return False
    return True


def snapshot(directory) -> dict[str, dict[str, list[str]]]:
    connection = directory.manager()
    found = {}
    for branch in (PEOPLE, UNITS):
        for dn, attributes in connection.search_s(branch, ldap.SCOPE_ONELEVEL, "(objectClass=*)", ["*", "+"]):
            found[dn] = {name: sorted(values) for name, values in attributes.items()}
    return found


def binds(directory, dn: str, secret: str) -> bool:
    connection = ldap.initialize(directory.uri)
    try:
        connection.simple_bind_s(dn, secret)
    except ldap.INVALID_CREDENTIALS:
        return False
    finally:
        connection.unbind_s()
    return True


def passwords(result: dict) -> dict[str, str]:
    return {record["mail"]: record["password"] for record in result["initial_passwords"]}


def test_reconcile_creates_every_mailbox_entry_as_the_contract_says(reconcile, directory) -> None:
    result = reconcile(roster())

    assert result["changed"] is True
    assert result["created"] == [f"dcnguyen@{DOMAIN}", f"ntan@{DOMAIN}", f"sotttt@{DOMAIN}"]
    assert result["counts"]["created"] == 3
    nguyen = read(directory, dn_of("dcnguyen"))
    assert sorted(nguyen["objectClass"]) == ["inetOrgPerson", "socMailbox", "top"]
    assert nguyen["mail"] == [f"dcnguyen@{DOMAIN}"]
    assert nguyen["cn"] == ["Dương Chí Nguyên"]
    assert nguyen["socNameAscii"] == ["Duong Chi Nguyen"]
    assert nguyen["socOwnerId"] == ["stttt-0001"]
    assert nguyen["socMailboxState"] == ["active"]
    assert nguyen["socMailQuota"] == ["2147483648"]
    assert nguyen["socMailAlias"] == ["old.name@soctrang.gov.vn"]
    assert nguyen["pwdReset"] == ["TRUE"], "the first login must change the password"
    assert "pwdAccountLockedTime" not in nguyen
    office = read(directory, dn_of("sotttt"))
    assert sorted(office["socMailManager"]) == [dn_of("dcnguyen"), dn_of("ntan")]
    assert office["socMailSendAsManagers"] == ["TRUE"]
    assert office["sn"] == ["Sở Thông tin và Truyền thông"], "a unit's name stands in for the surname"


def test_each_new_entry_opens_with_the_initial_password_handed_over(reconcile, directory) -> None:
    result = reconcile(roster())

    handed_over = passwords(result)
    assert sorted(handed_over) == [f"dcnguyen@{DOMAIN}", f"ntan@{DOMAIN}", f"sotttt@{DOMAIN}"]
    for record in result["initial_passwords"]:
        assert record["dn"] == dn_of(record["mail"].split("@")[0])
        stored = read(directory, record["dn"])["userPassword"][0]
        assert stored.startswith("{ARGON2}$argon2id$"), "hashed by the module, never stored as given"
        assert record["password"] not in stored
        assert binds(directory, record["dn"], record["password"])
        assert not binds(directory, record["dn"], record["password"] + "x")
    units = {record["mail"]: record["unit"] for record in result["initial_passwords"]}
    assert units == {f"dcnguyen@{DOMAIN}": "stttt", f"ntan@{DOMAIN}": "stttt", f"sotttt@{DOMAIN}": "stttt"}


def test_the_journal_keeps_the_passwords_for_root_alone_until_handed_over(reconcile, journal) -> None:
    result = reconcile(roster())

    assert stat.S_IMODE(journal.stat().st_mode) == 0o600
    assert stat.S_IMODE(journal.parent.stat().st_mode) == 0o700
    assert journal.stat().st_uid == os.getuid()
    recorded = json.loads(journal.read_text(encoding="utf-8"))
    assert {record["mail"]: record["password"] for record in recorded.values()} == passwords(result)
    assert set(recorded) == {normalise_dn(record["dn"]) for record in result["initial_passwords"]}
    assert not list(journal.parent.glob(".pending-*")), "no temporary file is left"


def test_a_second_run_writes_nothing_and_keeps_every_password(reconcile, directory) -> None:
    first = reconcile(roster())
    before = snapshot(directory)

    again = reconcile(roster())

    assert again["changed"] is False
    assert again["created"] == again["changed_entries"] == again["retired"] == []
    assert again["counts"]["unchanged"] == 3
    assert snapshot(directory) == before, "not one attribute written (entryCSN, userPassword unchanged)"
    assert passwords(again) == passwords(first), "not handed over yet: the same passwords again"


def test_the_directory_is_read_in_pages(reconcile, directory) -> None:
    accounts = [person(f"user{number}", f"stttt-{number:04}", name=f"Người {number}") for number in range(7)]
    reconcile(accounts, page_size=2)

    again = reconcile(accounts, page_size=2)

    assert again["changed"] is False
    assert again["counts"]["unchanged"] == 7


def test_changed_attributes_are_written_and_the_password_is_kept(reconcile, directory) -> None:
    first = reconcile(roster())
    password_before = read(directory, dn_of("ntan"))["userPassword"]
    accounts = replaced(
        roster(), "ntan", name="Nguyễn Thị Ân", quota_bytes=4294967296, aliases=["an.nt@soctrang.gov.vn"]
    )
    accounts = replaced(accounts, "sotttt", managers=[f"ntan@{DOMAIN}"], managers_send_as=False)

    result = reconcile(accounts)

    assert result["changed"] is True
    assert result["changed_entries"] == [dn_of("ntan"), dn_of("sotttt")]
    assert result["created"] == []
    an = read(directory, dn_of("ntan"))
    assert an["cn"] == an["displayName"] == ["Nguyễn Thị Ân"]
    assert an["socMailQuota"] == ["4294967296"]
    assert an["socMailAlias"] == ["an.nt@soctrang.gov.vn"]
    assert an["userPassword"] == password_before
    assert binds(directory, dn_of("ntan"), passwords(first)[f"ntan@{DOMAIN}"])
    office = read(directory, dn_of("sotttt"))
    assert office["socMailManager"] == [dn_of("ntan")]
    assert office["socMailSendAsManagers"] == ["FALSE"]


def test_a_disabled_account_is_locked_and_kept_and_opens_again_when_present(reconcile, directory) -> None:
    first = reconcile(roster())
    secret = passwords(first)[f"ntan@{DOMAIN}"]

    disabled = reconcile(replaced(roster(), "ntan", state="disabled"))

    assert disabled["disabled"] == [dn_of("ntan")]
    entry = read(directory, dn_of("ntan"))
    assert entry["socMailboxState"] == ["disabled"]
    assert entry["pwdAccountLockedTime"] == [LOCKED_BY_ADMINISTRATOR]
    assert not binds(directory, dn_of("ntan"), secret)

    enabled = reconcile(roster())

    assert enabled["changed_entries"] == [dn_of("ntan")]
    entry = read(directory, dn_of("ntan"))
    assert entry["socMailboxState"] == ["active"]
    assert "pwdAccountLockedTime" not in entry
    assert binds(directory, dn_of("ntan"), secret)


def test_an_account_gone_from_the_desired_state_is_retired_and_foreign_entries_left_alone(reconcile, directory) -> None:
    foreign_dn = f"uid=scanner,{PEOPLE}"
    directory.manager().add_s(
        foreign_dn,
        [("objectClass", [b"inetOrgPerson"]), ("uid", [b"scanner"]), ("cn", [b"Scanner"]), ("sn", [b"Scanner"])],
    )
    reconcile(roster())
    foreign_before = read(directory, foreign_dn)

    result = reconcile(without(roster(), "dcnguyen"))

    assert result["retired"] == [dn_of("dcnguyen")]
    assert result["foreign"] == [foreign_dn]
    retired = read(directory, dn_of("dcnguyen"))
    assert retired["socMailboxState"] == ["retired"]
    assert retired["pwdAccountLockedTime"] == [LOCKED_BY_ADMINISTRATOR]
    assert retired["mail"] == [f"dcnguyen@{DOMAIN}"], "its data stays"
    assert read(directory, foreign_dn) == foreign_before


def test_check_mode_with_diff_shows_the_plan_and_writes_nothing(reconcile, directory, journal) -> None:
    reconcile(roster()[:2])
    journal.unlink()
    before = snapshot(directory)
    accounts = replaced(without(roster(), "dcnguyen"), "ntan", quota_bytes=1073741824)

    result = reconcile(accounts, check_mode=True, diff=True)

    assert result["changed"] is True
    assert result["created"] == [f"sotttt@{DOMAIN}"]
    assert result["changed_entries"] == [dn_of("ntan")]
    assert result["retired"] == [dn_of("dcnguyen")]
    assert result["initial_passwords"] == []
    assert f"dn: {dn_of('sotttt')}" in result["diff"]["after"]
    assert "socMailQuota: 2147483648" in result["diff"]["before"]
    assert "socMailQuota: 1073741824" in result["diff"]["after"]
    assert "userPassword" not in result["diff"]["after"]
    assert snapshot(directory) == before
    assert not journal.exists()


def test_too_many_retirements_at_once_are_refused(reconcile, directory) -> None:
    reconcile(roster())
    before = snapshot(directory)

    result = reconcile(without(roster(), "dcnguyen", "ntan"), retire_limit=1)

    assert result["failed"] is True
    assert result["msg"].startswith("refusing to retire 2 mailboxes in one run (retire_limit 1)")
    assert snapshot(directory) == before


def test_an_interrupted_runs_journalled_password_is_the_one_written(reconcile, directory, journal) -> None:
    journalled = generate_password(set())
    key = normalise_dn(dn_of("ntan"))
    journal.parent.mkdir(parents=True)
    record = {"dn": dn_of("ntan"), "owner": "stttt-0002", "unit": "stttt", "mail": f"ntan@{DOMAIN}"}
    journal.write_text(json.dumps({key: {**record, "password": journalled}}))

    result = reconcile(roster())

    assert passwords(result)[f"ntan@{DOMAIN}"] == journalled
    assert binds(directory, dn_of("ntan"), journalled)


def test_a_password_changed_by_its_owner_is_no_longer_handed_over(reconcile, directory, journal) -> None:
    first = reconcile(roster())
    connection = ldap.initialize(directory.uri)
    connection.simple_bind_s(dn_of("ntan"), passwords(first)[f"ntan@{DOMAIN}"])
    connection.passwd_s(dn_of("ntan"), None, generate_password(set()))
    connection.unbind_s()
    assert "pwdReset" not in read(directory, dn_of("ntan")), "ppolicy clears it on the owner's change"

    result = reconcile(roster())

    assert sorted(passwords(result)) == [f"dcnguyen@{DOMAIN}", f"sotttt@{DOMAIN}"]
    assert key_mails(journal) == [f"dcnguyen@{DOMAIN}", f"sotttt@{DOMAIN}"]


def key_mails(journal: Path) -> list[str]:
    return sorted(record["mail"] for record in json.loads(journal.read_text()).values())


def test_the_journal_goes_when_nothing_is_left_to_hand_over(reconcile, directory, journal) -> None:
    first = reconcile(roster()[:1])
    connection = ldap.initialize(directory.uri)
    connection.simple_bind_s(dn_of("dcnguyen"), passwords(first)[f"dcnguyen@{DOMAIN}"])
    connection.passwd_s(dn_of("dcnguyen"), None, generate_password(set()))
    connection.unbind_s()

    result = reconcile(roster()[:1])

    assert result["initial_passwords"] == []
    assert not journal.exists()


def test_a_refused_write_fails_the_run_and_the_other_entries_are_written(reconcile, directory) -> None:
    # Another entry already holds ntan's address: the unique overlay refuses the add.
    directory.manager().add_s(
        f"uid=legacy,{PEOPLE}",
        [
            ("objectClass", [b"inetOrgPerson"]),
            ("uid", [b"legacy"]),
            ("cn", [b"Legacy"]),
            ("sn", [b"Legacy"]),
            ("mail", [f"ntan@{DOMAIN}".encode()]),
        ],
    )

    result = reconcile(roster())

    assert result["failed"] is True
    assert result["msg"].startswith(f"1 directory writes failed (first: {dn_of('ntan')}: Constraint violation")
    assert [failure["dn"] for failure in result["failures"]] == [dn_of("ntan")]
    assert not exists(directory, dn_of("ntan"))
    assert exists(directory, dn_of("dcnguyen"))
    assert exists(directory, dn_of("sotttt"))
    assert sorted(passwords(result)) == [f"dcnguyen@{DOMAIN}", f"sotttt@{DOMAIN}"], "only entries that exist"


def test_the_whole_desired_state_can_come_as_one_json_string(reconcile, directory) -> None:
    state = json.dumps({"domain": DOMAIN, "accounts": roster(), "retired": []})

    result = reconcile([], accounts_json=state)

    assert result["counts"]["desired"] == 3
    assert len(result["created"]) == 3


def test_slapd_hashes_the_initial_password_when_asked_to(reconcile, directory) -> None:
    result = reconcile(roster()[:1], initial_password_hash="slapd")

    (record,) = result["initial_passwords"]
    assert read(directory, record["dn"])["userPassword"][0].startswith("{ARGON2}")
    assert binds(directory, record["dn"], record["password"])


def test_an_unreachable_directory_fails_with_its_address(run_module, tmp_path: Path) -> None:
    uri = "ldapi://" + str(tmp_path / "no-such-socket").replace("/", "%2F")

    result = run_module(ldap_mailboxes, {"domain": DOMAIN, "accounts": roster(), "ldap_uri": uri})

    assert result["failed"] is True
    assert result["msg"].startswith(f"LDAP error talking to {uri}:")


# ---------------------------------------------------------------- remove_retired


def test_remove_retired_deletes_retired_entries_only(reconcile, directory) -> None:
    reconcile(roster())
    reconcile(without(roster(), "dcnguyen"))

    preview = reconcile(without(roster(), "dcnguyen"), mode="remove_retired", check_mode=True, diff=True)
    assert preview["removed"] == [dn_of("dcnguyen")]
    assert preview["diff"]["before"] == f"dn: {dn_of('dcnguyen')}\n"
    assert exists(directory, dn_of("dcnguyen"))

    result = reconcile(without(roster(), "dcnguyen"), mode="remove_retired")

    assert result["changed"] is True
    assert result["removed"] == [dn_of("dcnguyen")]
    assert not exists(directory, dn_of("dcnguyen"))
    assert exists(directory, dn_of("ntan")) and exists(directory, dn_of("sotttt"))
    assert reconcile(without(roster(), "dcnguyen"), mode="remove_retired")["changed"] is False


def test_remove_retired_is_limited_to_the_addresses_named(reconcile, directory) -> None:
    reconcile(roster())
    reconcile(without(roster(), "dcnguyen", "ntan"))

    result = reconcile(
        without(roster(), "dcnguyen", "ntan"), mode="remove_retired", remove=[f"NTan@{DOMAIN}", f"sotttt@{DOMAIN}"]
    )

    assert result["removed"] == [dn_of("ntan")], "sotttt is active: never removed"
    assert exists(directory, dn_of("dcnguyen"))
    assert not exists(directory, dn_of("ntan"))


# ---------------------------------------------------------------- reset_password


def test_reset_gives_a_new_password_that_must_be_changed(reconcile, directory, journal) -> None:
    first = reconcile(roster())
    old = passwords(first)[f"ntan@{DOMAIN}"]
    journal.unlink()

    result = reconcile(roster(), mode="reset_password", reset=["stttt-0002"])

    assert result["changed"] is True
    assert result["reset"] == [f"ntan@{DOMAIN}"]
    (record,) = result["initial_passwords"]
    assert record["mail"] == f"ntan@{DOMAIN}"
    assert record["password"] != old
    assert binds(directory, dn_of("ntan"), record["password"])
    assert not binds(directory, dn_of("ntan"), old)
    assert read(directory, dn_of("ntan"))["pwdReset"] == ["TRUE"]
    assert key_mails(journal) == [f"ntan@{DOMAIN}"]


def test_check_mode_reset_changes_no_password(reconcile, directory) -> None:
    reconcile(roster())
    before = snapshot(directory)

    result = reconcile(roster(), mode="reset_password", reset=[f"ntan@{DOMAIN}"], check_mode=True)

    assert result["reset"] == [f"ntan@{DOMAIN}"]
    assert snapshot(directory) == before


@pytest.mark.parametrize(
    ("provisioned", "desired", "refusal"),
    [
        (
            replaced(roster(), "ntan", state="disabled"),
            replaced(roster(), "ntan", state="disabled"),
            ("ntan", "ntan@soctrang.gov.vn is disabled"),
        ),
        (roster(), roster(), ("nobody-0009", "no account with id or address nobody-0009")),
        (roster(), [*roster(), person("moi", "stttt-0009")], ("moi", "has no entry uid=moi,ou=people")),
    ],
)
def test_reset_refuses_what_would_let_nobody_in(reconcile, directory, provisioned, desired, refusal) -> None:
    named, message = refusal
    reconcile(provisioned)
    before = snapshot(directory)

    result = reconcile(desired, mode="reset_password", reset=[named])

    assert result["failed"] is True
    assert message in result["msg"]
    assert snapshot(directory) == before


# ---------------------------------------------------------------- unlock


def lock_out(directory, dn: str) -> None:
    """What a guesser does: ppolicy locks the account after its pwdMaxFailure failed binds."""
    for _ in range(directory.max_failures):
        assert not binds(directory, dn, "not-the-password")


def test_unlock_ends_a_lockout_by_failed_logins(reconcile, directory) -> None:
    first = reconcile(roster())
    secret = passwords(first)[f"ntan@{DOMAIN}"]
    lock_out(directory, dn_of("ntan"))
    locked = read(directory, dn_of("ntan"))
    assert locked["pwdAccountLockedTime"] != [LOCKED_BY_ADMINISTRATOR]
    assert len(locked["pwdFailureTime"]) == directory.max_failures
    assert not binds(directory, dn_of("ntan"), secret), "locked out: even the right password is refused"

    result = reconcile(roster(), mode="unlock", unlock=["ntan"])

    assert result["changed"] is True
    assert result["unlocked"] == [f"ntan@{DOMAIN}"]
    entry = read(directory, dn_of("ntan"))
    assert "pwdAccountLockedTime" not in entry
    assert "pwdFailureTime" not in entry
    assert binds(directory, dn_of("ntan"), secret)
    again = reconcile(roster(), mode="unlock", unlock=["ntan"])
    assert again["changed"] is False
    assert again["unlocked"] == []


def test_check_mode_unlock_reports_and_leaves_the_lockout(reconcile, directory) -> None:
    reconcile(roster())
    lock_out(directory, dn_of("ntan"))

    result = reconcile(roster(), mode="unlock", unlock=[f"ntan@{DOMAIN}"], check_mode=True)

    assert result["unlocked"] == [f"ntan@{DOMAIN}"]
    assert "pwdAccountLockedTime" in read(directory, dn_of("ntan"))


def test_unlock_never_opens_a_disabled_account(reconcile, directory) -> None:
    accounts = replaced(roster(), "ntan", state="disabled")
    reconcile(accounts)

    result = reconcile(accounts, mode="unlock", unlock=["ntan"])

    assert result["failed"] is True
    assert "ntan@soctrang.gov.vn is disabled, not locked out by failed logins" in result["msg"]
    assert read(directory, dn_of("ntan"))["pwdAccountLockedTime"] == [LOCKED_BY_ADMINISTRATOR]
