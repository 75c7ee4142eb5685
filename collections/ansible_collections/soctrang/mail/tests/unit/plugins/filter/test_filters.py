"""The filter plugins as Ansible sees them: registration, arguments, errors, and a real playbook run."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.soctrang.mail.plugins.filter.mail_state import FilterModule as MailStateFilters
from ansible_collections.soctrang.mail.plugins.filter.vn_text import FilterModule as TextFilters
from helpers import FILTER_POLICY, REPO, province_policy, run_addresses_playbook

TEXT = TextFilters().filters()
STATE = MailStateFilters().filters()
POLICY = FILTER_POLICY
DIRECTORY = {
    "directory/stttt.yml": "id: stttt\nname: Sở Thông tin và Truyền thông\nkind: so\n"
    "people:\n  - {id: p1, name: Dương Chí Nguyên, requested_on: 2024-12-20, position: Giám đốc}\n"
}
LEDGER = (
    "addresses:\n"
    "  dcnguyen@soctrang.gov.vn: {owner: p1, kind: person, state: active, assigned: 2024-12-20}\n"
    "  sotttt@soctrang.gov.vn: {owner: stttt, kind: unit, state: active, assigned: 2024-12-20}\n"
)


def test_filters_are_registered() -> None:
    assert set(TEXT) == {
        "fold",
        "ascii_name",
        "legacy_encoding",
        "person_local_part",
    }
    assert set(STATE) == {"mail_state", "mail_state_json"}


@pytest.mark.parametrize(
    ("name", "value", "args", "expected"),
    [
        ("fold", "Thạnh Phú", (), "thanhphu"),
        ("ascii_name", "Dương Chí Nguyên", (), "Duong Chi Nguyen"),
        ("legacy_encoding", "NguyÔn V¨n §øc", (), "tcvn3"),
        ("legacy_encoding", "Nguyễn Văn Đức", (), ""),
        ("person_local_part", "Dương Chí Nguyên", (), "dcnguyen"),
        ("person_local_part", "Dương Sà Kha", ("Sà Kha",), "dsakha"),
    ],
)
def test_text_filters(name: str, value: str, args: tuple, expected: str) -> None:
    assert TEXT[name](value, *args) == expected


@pytest.mark.parametrize("name", sorted(TEXT))
def test_text_filters_reject_non_text(name: str) -> None:
    with pytest.raises(AnsibleFilterError, match=name):
        TEXT[name](42)


def test_mail_state_filter_returns_the_contract() -> None:
    state = STATE["mail_state"](DIRECTORY, LEDGER, POLICY)
    person = next(a for a in state["accounts"] if a["id"] == "p1")
    assert person == {
        "id": "p1",
        "kind": "person",
        "uid": "dcnguyen",
        "mail": "dcnguyen@soctrang.gov.vn",
        "state": "active",
        "name": "Dương Chí Nguyên",
        "name_ascii": "Duong Chi Nguyen",
        "aliases": [],
        "surname": "Dương",
        "surname_ascii": "Duong",
        "given_name": "Nguyên",
        "given_name_ascii": "Nguyen",
        "position": "Giám đốc",
        "unit": "stttt",
        "unit_name": "Sở Thông tin và Truyền thông",
        "agency_name": "Sở Thông tin và Truyền thông",
        "unit_mail": "sotttt@soctrang.gov.vn",
        "quota_bytes": 2 * 2**30,
        "managers": [],
        "managers_send_as": False,
        "requested_on": "2024-12-20",
    }
    assert state["retired"] == []


def test_mail_state_json_is_the_same_state() -> None:
    import json

    text = STATE["mail_state_json"](DIRECTORY, LEDGER, POLICY)
    assert isinstance(text, str)
    assert json.loads(text) == STATE["mail_state"](DIRECTORY, LEDGER, POLICY)


def test_mail_state_filter_refuses_a_stale_ledger() -> None:
    with pytest.raises(
        AnsibleFilterError,
        match=r"(?s)is stale.*added +dcnguyen@soctrang.gov.vn.*make addresses INVENTORY=inventories/x",
    ):
        STATE["mail_state"](DIRECTORY, "", POLICY, ledger_file="inventories/x/addresses.yml")


def test_mail_state_filter_refuses_bad_arguments() -> None:
    with pytest.raises(AnsibleFilterError, match="expects a mapping"):
        STATE["mail_state"](["a.yml"], LEDGER, POLICY)
    with pytest.raises(AnsibleFilterError, match="the policy lacks"):
        STATE["mail_state"](DIRECTORY, LEDGER, {"domain": "x"})


def test_group_vars_policy_is_the_one_the_tests_use() -> None:
    policy = province_policy()
    assert policy.domain == "soctrang.gov.vn"
    assert policy.mailbox_quota_bytes == 2 * 2**30
    assert "xulythurac" in policy.reserved


def _inventories() -> list[Path]:
    return sorted(p.parent for p in (REPO / "inventories").glob("*/addresses.yml"))


@pytest.mark.parametrize("inventory", _inventories(), ids=lambda p: p.name)
def test_playbook_derives_addresses_with_the_province_group_vars(inventory: Path, tmp_path: Path) -> None:
    """ansible-playbook really loads the top-level group_vars and the filter for every inventory."""
    result = run_addresses_playbook(inventory, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "domain: soctrang.gov.vn" in result.stdout
    assert "mailboxes:" in result.stdout
