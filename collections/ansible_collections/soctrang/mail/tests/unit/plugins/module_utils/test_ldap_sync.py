"""The diff logic of the mailbox reconciliation (plugins/module_utils/ldap_sync.py of soctrang.mail).

Pure functions, tested without a server; the module's behaviour against the
real slapd is verified in molecule/mailboxes.
"""

from __future__ import annotations

import copy

import pytest
from ansible_collections.soctrang.mail.plugins.module_utils import ldap_sync as sync
from hypothesis import given, settings
from hypothesis import strategies as st

SUFFIX = "dc=soctrang,dc=gov,dc=vn"


def person(uid: str, owner: str, **overrides) -> dict:
    account = {
        "id": owner,
        "kind": "person",
        "uid": uid,
        "mail": f"{uid}@soctrang.gov.vn",
        "state": "active",
        "name": "Dương Chí Nguyên",
        "name_ascii": "Duong Chi Nguyen",
        "surname": "Dương",
        "surname_ascii": "Duong",
        "given_name": "Nguyên",
        "given_name_ascii": "Nguyen",
        "position": "",
        "unit": "stttt",
        "unit_name": "Sở Thông tin và Truyền thông",
        "agency_name": "Sở Thông tin và Truyền thông",
        "unit_mail": "sotttt@soctrang.gov.vn",
        "quota_bytes": 2147483648,
        "aliases": [],
        "managers": [],
        "managers_send_as": False,
        "requested_on": "2024-12-20",
    }
    account.update(overrides)
    return account


def unit(uid: str, owner: str, managers: list[str], **overrides) -> dict:
    account = person(
        uid, owner, kind="unit", name="Sở Thông tin và Truyền thông", name_ascii="So Thong tin va Truyen thong"
    )
    account.update(surname="", surname_ascii="", given_name="", given_name_ascii="", unit="", managers=managers)
    account.update(overrides)
    return account


def roster() -> list[dict]:
    return [
        person("dcnguyen", "stttt-0001", aliases=["Old.Name@soctrang.gov.vn"]),
        person("ntan", "stttt-0002", name="Nguyễn Thị An", name_ascii="Nguyen Thi An", given_name="An"),
        unit("sotttt", "stttt", ["ntan@soctrang.gov.vn", "dcnguyen@soctrang.gov.vn"], managers_send_as=True),
    ]


def directory_after(accounts: list[dict], start: dict[str, dict] | None = None) -> dict[str, dict]:
    """The directory after applying the whole plan, as slapd would hold it."""
    directory = copy.deepcopy(start or {})
    results = search(directory)
    plan = sync.plan_sync(accounts, results, SUFFIX)
    apply(directory, plan.creates + plan.changes)
    return directory


def search(directory: dict[str, dict]) -> list[tuple[str, dict[str, list[str]]]]:
    return [(dn, copy.deepcopy(attributes)) for dn, attributes in directory.items()]


def apply(directory: dict[str, dict], writes: list) -> None:
    """LDAP semantics of the writes the module sends: add, replace, delete."""
    for write in writes:
        if isinstance(write, sync.NewEntry):
            assert write.dn not in directory, f"entry {write.dn} would be added twice"
            entry = {"objectClass": ["top", *sync.MAILBOX_OBJECT_CLASSES], **copy.deepcopy(write.attributes)}
            entry[sync.RESET_ATTRIBUTE] = ["TRUE"]
            directory[write.dn] = entry
            continue
        entry = directory[write.dn]
        for modification in write.modifications:
            if modification.operation == "replace":
                entry[modification.attribute] = list(modification.values)
            else:
                entry.pop(modification.attribute, None)


def test_suffix_comes_from_the_mail_domain():
    assert sync.suffix_for_domain("soctrang.gov.vn") == SUFFIX
    with pytest.raises(sync.SyncError, match="soctrang_mail_domain"):
        sync.suffix_for_domain(" . ")


def test_empty_directory_creates_every_account_with_its_attributes():
    plan = sync.plan_sync(roster(), [], SUFFIX)
    assert [entry.mail for entry in plan.creates] == [
        "dcnguyen@soctrang.gov.vn",
        "ntan@soctrang.gov.vn",
        "sotttt@soctrang.gov.vn",
    ]
    assert plan.changes == [] and plan.unchanged == 0
    by_mail = {entry.mail: entry for entry in plan.creates}
    nguyen = by_mail["dcnguyen@soctrang.gov.vn"]
    assert nguyen.dn == f"uid=dcnguyen,ou=people,{SUFFIX}"
    assert nguyen.attributes == {
        "cn": ["Dương Chí Nguyên"],
        "sn": ["Dương"],
        "givenName": ["Nguyên"],
        "displayName": ["Dương Chí Nguyên"],
        "socNameAscii": ["Duong Chi Nguyen"],
        "o": ["Sở Thông tin và Truyền thông"],
        "socUnitMail": ["sotttt@soctrang.gov.vn"],
        "mail": ["dcnguyen@soctrang.gov.vn"],
        "uid": ["dcnguyen"],
        "socOwnerId": ["stttt-0001"],
        "socMailboxState": ["active"],
        "socMailQuota": ["2147483648"],
        "socMailAlias": ["old.name@soctrang.gov.vn"],
        "socMailSendAsManagers": ["FALSE"],
    }
    assert nguyen.unit == "stttt"
    unit_entry = by_mail["sotttt@soctrang.gov.vn"]
    assert unit_entry.dn == f"uid=sotttt,ou=units,{SUFFIX}"
    assert unit_entry.unit == "stttt", "a unit's password is handed over to the unit itself"
    assert "givenName" not in unit_entry.attributes
    assert unit_entry.attributes["sn"] == ["Sở Thông tin và Truyền thông"]
    assert unit_entry.attributes["socMailManager"] == [
        f"uid=dcnguyen,ou=people,{SUFFIX}",
        f"uid=ntan,ou=people,{SUFFIX}",
    ]
    assert unit_entry.attributes["socMailSendAsManagers"] == ["TRUE"]


def test_second_run_changes_nothing():
    directory = directory_after(roster())
    plan = sync.plan_sync(roster(), search(directory), SUFFIX)
    assert plan.write_count == 0
    assert plan.unchanged == 3


def test_values_differing_only_in_case_are_not_rewritten():
    directory = directory_after(roster())
    nguyen = directory[f"uid=dcnguyen,ou=people,{SUFFIX}"]
    nguyen["mail"] = ["DCNguyen@SocTrang.gov.vn"]
    sotttt = directory[f"uid=sotttt,ou=units,{SUFFIX}"]
    sotttt["socMailManager"] = [value.upper().replace(",", ", ") for value in reversed(sotttt["socMailManager"])]
    plan = sync.plan_sync(roster(), search(directory), SUFFIX)
    assert plan.write_count == 0


def test_changed_attribute_is_replaced_and_missing_one_deleted():
    directory = directory_after(roster())
    accounts = roster()
    accounts[0]["quota_bytes"] = 4294967296
    accounts[0]["aliases"] = []
    plan = sync.plan_sync(accounts, search(directory), SUFFIX)
    assert [change.kind for change in plan.changes] == ["changed"]
    assert plan.changes[0].modifications == [
        sync.Modification("replace", "socMailQuota", ("4294967296",)),
        sync.Modification("delete", "socMailAlias"),
    ]
    assert "socMailQuota: 2147483648" in sync.render_diff(plan, 10)["before"]
    assert "socMailQuota: 4294967296" in sync.render_diff(plan, 10)["after"]


def test_the_address_book_follows_a_move_and_a_new_position():
    directory = directory_after(roster())
    accounts = roster()
    accounts[0].update(unit_name="Văn phòng", position="Chánh Văn phòng")
    plan = sync.plan_sync(accounts, search(directory), SUFFIX)
    # Văn phòng of Sở Thông tin và Truyền thông: the unit is shown beside the agency.
    assert plan.changes[0].modifications == [
        sync.Modification("replace", "ou", ("Văn phòng",)),
        sync.Modification("replace", "title", ("Chánh Văn phòng",)),
    ]
    apply(directory, plan.changes)
    accounts[0]["position"] = ""
    plan = sync.plan_sync(accounts, search(directory), SUFFIX)
    assert plan.changes[0].modifications == [sync.Modification("delete", "title")]


def test_a_person_carries_the_address_of_their_unit_and_follows_a_move():
    directory = directory_after(roster())
    assert directory[f"uid=dcnguyen,ou=people,{SUFFIX}"]["socUnitMail"] == ["sotttt@soctrang.gov.vn"]
    # A unit mailbox has its own address, not one of a unit above it.
    assert "socUnitMail" not in directory[f"uid=sotttt,ou=units,{SUFFIX}"]
    accounts = roster()
    accounts[0].update(unit_name="Văn phòng", unit_mail="VanPhong.sotttt@soctrang.gov.vn")
    plan = sync.plan_sync(accounts, search(directory), SUFFIX)
    assert plan.changes[0].modifications == [
        sync.Modification("replace", "ou", ("Văn phòng",)),
        sync.Modification("replace", "socUnitMail", ("vanphong.sotttt@soctrang.gov.vn",)),
    ]


def test_disabled_account_is_locked_and_keeps_its_data():
    directory = directory_after(roster())
    accounts = roster()
    accounts[1]["state"] = "disabled"
    plan = sync.plan_sync(accounts, search(directory), SUFFIX)
    assert [(change.dn, change.kind) for change in plan.changes] == [(f"uid=ntan,ou=people,{SUFFIX}", "disabled")]
    assert plan.changes[0].modifications == [
        sync.Modification("replace", "socMailboxState", ("disabled",)),
        sync.Modification("replace", sync.LOCK_ATTRIBUTE, (sync.LOCKED_BY_ADMINISTRATOR,)),
    ]
    apply(directory, plan.changes)
    assert sync.plan_sync(accounts, search(directory), SUFFIX).write_count == 0
    # Enabled again: our lock goes, and it counts as a change.
    plan = sync.plan_sync(roster(), search(directory), SUFFIX)
    assert [change.kind for change in plan.changes] == ["changed"]
    assert sync.Modification("delete", sync.LOCK_ATTRIBUTE) in plan.changes[0].modifications


def test_a_failure_lockout_is_left_to_ppolicy():
    directory = directory_after(roster())
    directory[f"uid=ntan,ou=people,{SUFFIX}"][sync.LOCK_ATTRIBUTE] = ["20260101120000Z"]
    assert sync.plan_sync(roster(), search(directory), SUFFIX).write_count == 0


def test_account_leaving_the_directory_is_retired_not_deleted():
    directory = directory_after(roster())
    accounts = roster()[1:]
    accounts[1]["managers"] = ["ntan@soctrang.gov.vn"]  # the filter drops a departed manager
    plan = sync.plan_sync(accounts, search(directory), SUFFIX)
    assert plan.creates == []
    assert [(change.dn, change.kind, change.owner) for change in plan.changes] == [
        (f"uid=dcnguyen,ou=people,{SUFFIX}", "retired", "stttt-0001"),
        (f"uid=sotttt,ou=units,{SUFFIX}", "changed", "stttt"),
    ]
    apply(directory, plan.changes)
    retired = directory[f"uid=dcnguyen,ou=people,{SUFFIX}"]
    assert retired["socMailboxState"] == ["retired"]
    assert retired[sync.LOCK_ATTRIBUTE] == [sync.LOCKED_BY_ADMINISTRATOR]
    assert retired["cn"] == ["Dương Chí Nguyên"], "the data stays"
    again = sync.plan_sync(accounts, search(directory), SUFFIX)
    assert again.write_count == 0 and again.unchanged == 3
    assert sync.plan_removal(search(directory), SUFFIX, set()) == [f"uid=dcnguyen,ou=people,{SUFFIX}"]
    assert sync.plan_removal(search(directory), SUFFIX, {"other@soctrang.gov.vn"}) == []


def test_only_retired_entries_are_ever_removed():
    directory = directory_after(roster())
    assert sync.plan_removal(search(directory), SUFFIX, {"dcnguyen@soctrang.gov.vn"}) == []


def test_address_never_moves_to_another_owner():
    directory = directory_after(roster())
    accounts = roster()
    accounts[0]["id"] = "stttt-0099"
    with pytest.raises(sync.SyncError, match=r"belongs to owner 'stttt-0001'.*addresses\.yml"):
        sync.plan_sync(accounts, search(directory), SUFFIX)


def test_manager_without_mailbox_is_refused():
    accounts = roster()
    accounts[2]["managers"] = ["ghost@soctrang.gov.vn"]
    with pytest.raises(sync.SyncError, match=r"ghost@soctrang\.gov\.vn"):
        sync.plan_sync(accounts, [], SUFFIX)


def test_unknown_state_is_refused():
    accounts = roster()
    accounts[0]["state"] = "absent"
    with pytest.raises(sync.SyncError, match="'absent'"):
        sync.plan_sync(accounts, [], SUFFIX)


def test_entries_outside_the_mailbox_containers_are_ignored():
    foreign = [
        (f"cn=dovecot,ou=services,{SUFFIX}", {"cn": ["dovecot"]}),
        (f"uid=x,ou=other,{SUFFIX}", {"uid": ["x"], "socMailboxState": ["active"]}),
    ]
    plan = sync.plan_sync([], foreign, SUFFIX)
    assert plan.write_count == 0 and plan.unchanged == 0


def test_entry_not_made_by_us_is_reported_not_retired():
    directory = directory_after(roster())
    handmade = f"uid=test,ou=people,{SUFFIX}"
    directory[handmade] = {"objectClass": ["inetOrgPerson"], "uid": ["test"], "cn": ["t"], "sn": ["t"]}
    plan = sync.plan_sync(roster(), search(directory), SUFFIX)
    assert plan.write_count == 0
    assert plan.foreign == [handmade]
    assert sync.summarise(plan)["counts"]["foreign"] == 1


def test_entry_without_the_mailbox_class_gets_it():
    directory = directory_after(roster())
    directory[f"uid=ntan,ou=people,{SUFFIX}"]["objectClass"] = ["inetOrgPerson"]
    plan = sync.plan_sync(roster(), search(directory), SUFFIX)
    assert plan.changes[0].modifications == [
        sync.Modification("replace", "objectClass", ("inetOrgPerson", "socMailbox")),
    ]


def test_attribute_names_from_the_server_are_matched_case_insensitively():
    directory = directory_after(roster())
    lowered = [
        (dn, {name.lower(): values for name, values in attributes.items()}) for dn, attributes in search(directory)
    ]
    assert sync.plan_sync(roster(), lowered, SUFFIX).write_count == 0


def test_interrupted_run_converges_without_duplicates():
    """Any prefix of the writes, then a new plan, ends in the desired directory."""
    accounts = roster() + [person(f"user{n}", f"x-{n}") for n in range(20)]
    full_plan = sync.plan_sync(accounts, [], SUFFIX)
    writes = full_plan.creates + full_plan.changes
    expected = directory_after(accounts)
    for stopped_after in range(len(writes) + 1):
        directory: dict[str, dict] = {}
        apply(directory, writes[:stopped_after])
        resumed = sync.plan_sync(accounts, search(directory), SUFFIX)
        assert len(resumed.creates) == len(writes) - stopped_after
        apply(directory, resumed.creates + resumed.changes)
        assert directory == expected


def test_diff_is_bounded_for_a_large_run():
    accounts = [person(f"user{n}", f"x-{n}") for n in range(2000)]
    diff = sync.render_diff(sync.plan_sync(accounts, [], SUFFIX), 5)
    assert diff["after"].count("dn: ") == 5
    assert "1995 more entries not shown" in diff["after"]
    assert "created 2000" in diff["after"]
    assert len(diff["after"]) < 5000


def test_summary_lists_and_counts():
    directory = directory_after(roster())
    accounts = roster()
    accounts[1]["state"] = "disabled"
    accounts[0]["quota_bytes"] = 1
    accounts = [*accounts[:2], person("new", "x-1")]
    summary = sync.summarise(sync.plan_sync(accounts, search(directory), SUFFIX))
    assert summary["created"] == ["new@soctrang.gov.vn"]
    assert summary["changed"] == [f"uid=dcnguyen,ou=people,{SUFFIX}"]
    assert summary["disabled"] == [f"uid=ntan,ou=people,{SUFFIX}"]
    assert summary["retired"] == [f"uid=sotttt,ou=units,{SUFFIX}"]
    assert summary["counts"] == {
        "created": 1,
        "changed": 1,
        "disabled": 1,
        "retired": 1,
        "unchanged": 0,
        "foreign": 0,
    }


# ---------------------------------------------------------------- passwords


def test_generated_passwords_meet_the_policy_and_avoid_the_name():
    tokens = sync.forbidden_password_tokens(
        sync.desired_entries(roster(), SUFFIX)[f"uid=dcnguyen,ou=people,{SUFFIX}".lower()].attributes
    )
    assert {"duong", "nguyen", "dcnguyen", "soctrang"} <= tokens
    passwords = {sync.generate_password(tokens) for _ in range(5000)}
    assert len(passwords) == 5000
    for password in passwords:
        assert len(password) == 16
        assert any(c in sync.UPPER_LETTERS for c in password)
        assert any(c in sync.LOWER_LETTERS for c in password)
        assert any(c in sync.DIGITS for c in password)
        assert any(c in sync.SPECIALS for c in password)
        assert not any(token in password.lower() for token in tokens)


def test_a_forbidden_token_forces_another_draw():
    # Every 2-letter lower-case pair forbidden is impossible; a common one is not.
    password = sync.generate_password({"ab", "cd", "ef"}, 40)
    assert not {"ab", "cd", "ef"} & {password.lower()[i : i + 2] for i in range(39)}
    with pytest.raises(sync.SyncError, match="minimum of 8"):
        sync.generate_password(set(), 7)


def test_journalled_password_is_reused_for_an_entry_not_yet_created():
    plan = sync.plan_sync(roster(), [], SUFFIX)
    first = sync.assign_initial_passwords(plan.creates, {})
    assert len({record["password"] for record in first.values()}) == 3
    # The run stopped after journalling: the next one must use the same passwords.
    again = sync.assign_initial_passwords(plan.creates, first)
    assert {key: record["password"] for key, record in again.items()} == {
        key: record["password"] for key, record in first.items()
    }


def test_hand_over_keeps_what_exists_and_still_must_change():
    plan = sync.plan_sync(roster(), [], SUFFIX)
    journal = sync.assign_initial_passwords(plan.creates, {})
    directory: dict[str, dict] = {}
    apply(directory, plan.creates[:2])  # the third add never happened
    directory[plan.creates[1].dn][sync.RESET_ATTRIBUTE] = []  # its owner changed the password since
    keep = sync.still_to_hand_over(journal, search(directory), SUFFIX)
    assert [record["mail"] for record in keep.values()] == ["dcnguyen@soctrang.gov.vn"]


def test_journal_must_be_a_json_object():
    assert sync.parse_journal("", "/x") == {}
    with pytest.raises(sync.SyncError, match=r"/x: .*not JSON"):
        sync.parse_journal("{", "/x")
    with pytest.raises(sync.SyncError, match="JSON object"):
        sync.parse_journal("[]", "/x")


# ---------------------------------------------------------------- properties

uids = st.lists(st.sampled_from([f"p{n}" for n in range(12)]), unique=True, max_size=12)


@settings(max_examples=60, deadline=None)
@given(before=uids, after=uids, disabled=st.sets(st.sampled_from([f"p{n}" for n in range(12)])))
def test_any_change_of_roster_converges_in_one_run(before, after, disabled):
    def accounts_for(names):
        return [person(name, f"id-{name}", state="disabled" if name in disabled else "active") for name in names]

    directory = directory_after(accounts_for(before))
    directory = directory_after(accounts_for(after), directory)
    plan = sync.plan_sync(accounts_for(after), search(directory), SUFFIX)
    assert plan.write_count == 0
    states = {attributes["uid"][0]: attributes["socMailboxState"][0] for attributes in directory.values()}
    for name in set(before) | set(after):
        expected = "retired" if name not in after else ("disabled" if name in disabled else "active")
        assert states[name] == expected
