"""The production inventory: the whole organisation of Sóc Trăng, consistent and current.

Checks that the directory in inventories/production/ validates, that every unit is
reachable from a top-level file and every reference resolves, that the committed
ledger is exactly what `make addresses` would write, that the regulation's own
addresses exist, that the structure matches the reference data of 01/09/2024
(shared/data, beside the clone here and in CI), and that the README's count of
mailboxes by kind is the real one.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml
from addresses import main as addresses_main
from ansible_collections.soctrang.mail.plugins.plugin_utils.directory import directory_files, read_directory
from ansible_collections.soctrang.mail.plugins.plugin_utils.ledger import render_ledger
from ansible_collections.soctrang.mail.plugins.plugin_utils.policy import load_policy
from ansible_collections.soctrang.mail.plugins.plugin_utils.state import Plan, desired_state, plan

REPO = Path(__file__).resolve().parent.parent
PRODUCTION = REPO / "inventories" / "production"
# The reference data the inventory was written from (read-only, beside the clone).
SHARED_DATA = REPO.parent / "shared" / "data"
REFERENCE = REPO / "tests" / "fixtures" / "reference"  # copies of SHARED_DATA, for any clone
LOCALITY_KINDS = {"Huyện": "huyen", "Thị xã": "thixa", "Thành phố": "thanhpho"}
COMMUNE_KINDS = {"Xã": "xa", "Phường": "phuong", "Thị trấn": "thitran"}


def production_files() -> dict[str, str]:
    """The production directory, read as the playbooks and `make addresses` read it."""
    return read_directory(PRODUCTION)


@pytest.fixture(scope="module")
def result() -> Plan:
    ledger = PRODUCTION / "addresses.yml"
    policy = load_policy(REPO, PRODUCTION)
    return plan(production_files(), ledger.read_text(encoding="utf-8"), str(ledger), policy, dt.date.today())


@pytest.fixture(scope="module")
def documents() -> dict[str, dict]:
    return {p.name: yaml.safe_load(p.read_text(encoding="utf-8")) for p in directory_files(PRODUCTION)}


@pytest.fixture(scope="module")
def mailboxes(result: Plan) -> dict[str, dict]:
    state = desired_state(result, load_policy(REPO, PRODUCTION))
    return {a["uid"]: a for a in state["accounts"]}


def reference(name: str) -> dict:
    return json.loads((REFERENCE / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["soctrang_units.json", "soctrang_agencies.json"])
def test_reference_copies_equal_the_shared_data(name: str) -> None:
    copy = reference(name)
    assert copy["as_of"]
    shared = SHARED_DATA / name
    if shared.is_file():  # beside the clone on the developers' machines and in CI
        assert copy == json.loads(shared.read_text(encoding="utf-8")), f"refresh tests/fixtures/reference/{name}"


# ---------------------------------------------------------------- consistency
def test_the_committed_ledger_is_current(result: Plan, capsys: pytest.CaptureFixture[str]) -> None:
    assert result.allocation.changes == []
    rendered = render_ledger(result.allocation.entries, "inventories/production")
    assert rendered == (PRODUCTION / "addresses.yml").read_text(encoding="utf-8")
    assert addresses_main(["check", str(PRODUCTION)]) == 0
    assert "current" in capsys.readouterr().out


def test_one_file_per_top_level_unit_named_by_its_id(documents: dict[str, dict]) -> None:
    for name, document in documents.items():
        assert name == f"{document['id']}.yml"


def test_every_unit_is_reachable_and_has_its_mailbox(result: Plan) -> None:
    units = result.directory.units
    active = {e.owner: a for a, e in result.allocation.entries.items() if e.state == "active"}
    for unit in units.values():
        seen = {unit.id}
        top = unit
        while top.parent:  # climbs to a top-level file without a loop
            top = units[top.parent]
            assert top.id not in seen
            seen.add(top.id)
        assert top.file.endswith(f"/{top.id}.yml")
        assert unit.state == "present"
        assert active[unit.id] == f"{unit.local_part}@soctrang.gov.vn"


def test_every_reference_resolves(result: Plan) -> None:
    ids = set(result.directory.units) | set(result.directory.people)
    for unit in result.directory.units.values():
        assert set(unit.managers) <= ids, unit.id
        assert unit.merged_into is None or unit.merged_into in ids
    for person in result.directory.people.values():
        assert person.unit in result.directory.units


def test_structure_only_no_staff(result: Plan) -> None:
    assert result.directory.people == {}


def test_every_explicit_code_says_why(documents: dict[str, dict]) -> None:
    def walk(unit: dict) -> list[dict]:
        return [unit, *(u for sub in unit.get("units") or [] for u in walk(sub))]

    explicit = [u for d in documents.values() for u in walk(d) if "code" in u]
    assert {u["id"] for u in explicit} == {"system-postmaster", "system-abuse", "system-xulythurac", "myxuyen-xahoatu2"}
    for unit in explicit:
        assert len(unit.get("note", "")) > 40, f"unit {unit['id']} has an explicit code without a note saying why"


# ---------------------------------------------------------------- the regulation's addresses
@pytest.mark.parametrize(
    ("uid", "name"),
    [
        ("sotttt", "Sở Thông tin và Truyền thông"),  # Điều 3.1
        ("phongcds.sotttt", "Phòng Chuyển đổi số"),  # Điều 3.1
        ("ttcns.sotttt", "Trung tâm Công nghệ số"),  # Điều 11.4
        ("myxuyen", "Huyện Mỹ Xuyên"),  # Điều 3.2
        ("xathanhphu.myxuyen", "Xã Thạnh Phú"),  # Điều 3.2
        ("pvhtt.myxuyen", "Phòng Văn hóa và Thông tin"),  # Điều 3.2
    ],
)
def test_the_regulation_examples_exist(mailboxes: dict[str, dict], uid: str, name: str) -> None:
    assert mailboxes[uid]["name"] == name


@pytest.mark.parametrize("uid", ["postmaster", "abuse", "xulythurac"])
def test_system_mailboxes_are_managed_by_the_digital_technology_centre(result: Plan, mailboxes: dict, uid: str) -> None:
    assert mailboxes[uid]["kind"] == "system"
    unit = result.directory.units[mailboxes[uid]["id"]]
    assert unit.managers == ["sotttt-ttcns"]


def test_the_two_hoa_tu_communes_read_alike(mailboxes: dict[str, dict]) -> None:
    assert mailboxes["xahoatu1.myxuyen"]["name"] == "Xã Hòa Tú 1"
    assert mailboxes["xahoatu2.myxuyen"]["name"] == "Xã Hòa Tú II"  # the official GSO name is kept


# ---------------------------------------------------------------- against the reference data
def test_the_18_agencies_of_2024(result: Plan) -> None:
    agencies = reference("soctrang_agencies.json")["provincial_specialized_agencies_2024"]
    tops = {u.name: u for u in result.directory.units.values() if u.parent is None and u.kind != "system"}
    agency_names = {a["name"] for a in agencies}
    assert len(agency_names) == 18
    assert agency_names <= tops.keys()
    for agency in agencies:
        if "slug_by_rule" in agency:
            assert tops[agency["name"]].local_part == agency["slug_by_rule"]


def test_localities_and_communes_with_their_gso_codes(result: Plan) -> None:
    data = reference("soctrang_units.json")
    units = result.directory.units
    by_gso = {u.gso_code: u for u in units.values() if u.gso_code}
    communes = 0
    for district in data["districts"]:
        locality = by_gso[district["code"]]
        assert locality.parent is None
        assert (locality.name, locality.kind) == (district["name"], LOCALITY_KINDS[district["type"]])
        assert locality.local_part == district["ascii"]
        for commune in district["communes"]:
            unit = by_gso[commune["code"]]
            assert (unit.name, unit.kind, unit.parent) == (commune["name"], COMMUNE_KINDS[commune["type"]], locality.id)
            communes += 1
    assert communes == data["counts"]["communes"] == 108
    assert len(by_gso) == 11 + 108
    for gone in data["removed_2024_09_01"]:  # Phường 9 (31522) lives on as the new Phường 1
        assert gone["code"] not in by_gso or by_gso[gone["code"]].name == "Phường 1"


def test_each_locality_has_the_departments_of_its_kind(result: Plan) -> None:
    data = reference("soctrang_agencies.json")["district_peoples_committee_departments"]
    common = {d["slug_by_rule"] for d in data["common_all_districts"]}
    units = result.directory.units
    rural = {"pnnptnt", "pktht"}  # Phòng Nông nghiệp và PTNT, Phòng Kinh tế và Hạ tầng
    urban = {"pkt", "pqldt"}  # Phòng Kinh tế, Phòng Quản lý đô thị
    for locality in (u for u in units.values() if u.kind in LOCALITY_KINDS.values()):
        labels = {
            u.local_part.removesuffix(f".{locality.local_part}")
            for u in units.values()
            if u.parent == locality.id and u.kind not in COMMUNE_KINDS.values()
        }
        assert common <= labels, locality.id
        assert (rural <= labels) == (locality.kind == "huyen"), locality.id
        assert (urban <= labels) == (locality.kind != "huyen"), locality.id


# ---------------------------------------------------------------- the README
def test_the_readme_counts_the_mailboxes_by_kind(result: Plan) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = re.search(r"<!-- production-mailbox-counts -->(.*?)<!-- /production-mailbox-counts -->", readme, re.S)
    assert table, "README.md lacks the production mailbox count table"
    written = {kind: int(n) for kind, n in re.findall(r"^\| `(\w+)` \|[^|]*\| (\d+) \|$", table.group(1), re.M)}
    total = re.search(r"^\| \*\*total\*\* \|[^|]*\| \*\*(\d+)\*\* \|$", table.group(1), re.M)
    counted = Counter(
        result.directory.units[e.owner].kind for e in result.allocation.entries.values() if e.state == "active"
    )
    assert written == dict(counted)
    assert total and int(total.group(1)) == sum(counted.values())
