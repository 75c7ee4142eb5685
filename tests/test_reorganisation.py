"""Reorganisations without losing mail: the February 2025 reorganisation, worked through.

On 17/02/2025 the provincial council merged Sở Kế hoạch và Đầu tư into Sở Tài
chính, and turned Ban Dân tộc into Sở Dân tộc và Tôn giáo
(shared/data/soctrang_agencies.json). Starting from a copy of the production
inventory, with a few synthetic staff added, this test makes the changes exactly
as the operator guide (docs/huong-dan-van-hanh.md) tells an operator to, runs the
real `tools/addresses.py update` on the copy, and checks the ledger and the
desired state:

- people moved to another unit, and to another file, keep their addresses;
- the merged agency's address sokhdt@ (and its departments') becomes an alias
  routed to Sở Tài chính (sotc@), recorded in the ledger and delivered by the
  desired state, so no mail sent to it is lost;
- the renamed agency gets its new derived address (sodttg@) and keeps bandt@
  as an alias; its departments follow;
- nobody can ever be given those old addresses again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml
from addresses import main as addresses_main
from ansible_collections.soctrang.mail.plugins.plugin_utils.directory import DirectoryError, read_directory
from ansible_collections.soctrang.mail.plugins.plugin_utils.policy import load_policy
from ansible_collections.soctrang.mail.plugins.plugin_utils.state import desired_state, plan

REPO = Path(__file__).resolve().parent.parent
PRODUCTION = REPO / "inventories" / "production"
DOMAIN = "soctrang.gov.vn"

# Synthetic staff of the two Sở before the merger. Two people named Trần Minh Tâm:
# the one asked for first holds tmtam, the other tmtam1 (Điều 3.4.a).
STAFF_TC = """
people:
  - id: sotc-0001
    name: Võ Văn Hùng
    position: Giám đốc
    requested_on: 2025-01-02
  - id: sotc-0002
    name: Trần Minh Tâm
    unit: sotc-vanphong
    requested_on: 2025-01-02
"""
STAFF_KHDT = """
people:
  - id: sokhdt-0001
    name: Nguyễn Thành Long
    position: Giám đốc
    requested_on: 2025-01-02
  - id: sokhdt-0002
    name: Lê Thị Hồng Nhung
    position: Trưởng phòng
    unit: sokhdt-phongdkkd
    requested_on: 2025-01-02
  - id: sokhdt-0003
    name: Trần Minh Tâm
    unit: sokhdt-vanphong
    requested_on: 2025-01-03
"""

# After 17/02/2025. The merged agency's file stays, marked merged: its addresses
# then keep delivering to the unit that absorbed it.
SOKHDT_MERGED = """
---
# Sở Kế hoạch và Đầu tư: merged into Sở Tài chính (HĐND tỉnh, 17/02/2025).
# Kept, marked merged, so that mail to its old addresses reaches Sở Tài chính.
id: sokhdt
name: Sở Kế hoạch và Đầu tư
kind: so
state: merged
merged_into: sotc
units:
  - id: sokhdt-vanphong
    name: Văn phòng
    kind: vanphong
    state: merged
    merged_into: sotc-vanphong
  - id: sokhdt-thanhtra
    name: Thanh tra
    kind: thanhtra
    state: merged
    merged_into: sotc-thanhtra
  - id: sokhdt-phongdkkd
    name: Phòng Đăng ký kinh doanh
    kind: phong
    state: merged
    merged_into: sotc-phongdkkd
"""
# Sở Tài chính takes over the business registration office and the staff.
SOTC_NEW_UNIT = """
  - id: sotc-phongdkkd
    name: Phòng Đăng ký kinh doanh
    kind: phong
"""
STAFF_TC_AFTER = (
    STAFF_TC
    + """
  - id: sokhdt-0001
    name: Nguyễn Thành Long
    position: Phó Giám đốc
    requested_on: 2025-01-02
  - id: sokhdt-0002
    name: Lê Thị Hồng Nhung
    position: Trưởng phòng
    unit: sotc-phongdkkd
    requested_on: 2025-01-02
  - id: sokhdt-0003
    name: Trần Minh Tâm
    unit: sotc-vanphong
    requested_on: 2025-01-03
"""
)


def directory(inventory: Path) -> Path:
    return inventory / "directory"


def update(inventory: Path) -> str:
    """`make addresses INVENTORY=<inventory>`, in process; what it printed."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert addresses_main(["update", str(inventory)]) == 0
    return printed.getvalue()


def ledger(inventory: Path) -> dict[str, dict]:
    return yaml.safe_load((inventory / "addresses.yml").read_text(encoding="utf-8"))["addresses"]


def active(entries: dict[str, dict]) -> dict[str, str]:
    """owner id -> its active address."""
    return {e["owner"]: a for a, e in entries.items() if e["state"] == "active"}


def accounts(inventory: Path) -> dict[str, dict]:
    """The desired state (docs/contracts.md §1) by mailbox address."""
    files = read_directory(inventory)
    ledger_text = (inventory / "addresses.yml").read_text(encoding="utf-8")
    policy = load_policy(REPO, inventory)
    result = plan(files, ledger_text, "addresses.yml", policy, dt.date.today())
    assert result.allocation.changes == []  # the ledger is current
    state = desired_state(result, policy)
    return {a["mail"]: a for a in state["accounts"]} | {"retired": {r["mail"] for r in state["retired"]}}


def addr(local_part: str) -> str:
    return f"{local_part}@{DOMAIN}"


# Module-scoped: each builds once; tests that change an inventory work on a copy.
@pytest.fixture(scope="module")
def before(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The production inventory with staff in the two Sở, its ledger up to date."""
    inventory = tmp_path_factory.mktemp("reorganisation") / "before"
    shutil.copytree(PRODUCTION / "directory", directory(inventory))
    shutil.copy(PRODUCTION / "addresses.yml", inventory / "addresses.yml")
    for unit_id, staff in (("sotc", STAFF_TC), ("sokhdt", STAFF_KHDT)):
        path = directory(inventory) / f"{unit_id}.yml"
        path.write_text(path.read_text(encoding="utf-8") + staff.lstrip("\n"), encoding="utf-8")
    update(inventory)
    return inventory


@pytest.fixture(scope="module")
def after(before: Path) -> tuple[Path, str]:
    """The same inventory after the February 2025 reorganisation, and what `make addresses` said."""
    inventory = before.parent / "after"
    shutil.copytree(before, inventory)
    folder = directory(inventory)
    (folder / "sokhdt.yml").write_text(SOKHDT_MERGED.lstrip("\n"), encoding="utf-8")
    production_sotc = (PRODUCTION / "directory" / "sotc.yml").read_text(encoding="utf-8")
    (folder / "sotc.yml").write_text(
        production_sotc + SOTC_NEW_UNIT.lstrip("\n") + STAFF_TC_AFTER.lstrip("\n"), encoding="utf-8"
    )
    bandt = folder / "bandt.yml"
    bandt.write_text(
        bandt.read_text(encoding="utf-8").replace(
            "name: Ban Dân tộc\nkind: ban\n", "name: Sở Dân tộc và Tôn giáo\nkind: so\n"
        ),
        encoding="utf-8",
    )
    return inventory, update(inventory)


# ---------------------------------------------------------------- before
def test_before_the_merger(before: Path) -> None:
    owners = active(ledger(before))
    assert owners["sotc"] == addr("sotc")
    assert owners["sokhdt"] == addr("sokhdt")
    assert owners["sokhdt-phongdkkd"] == addr("phongdkkd.sokhdt")
    assert owners["bandt"] == addr("bandt")
    assert owners["sotc-0002"] == addr("tmtam")  # asked for first
    assert owners["sokhdt-0003"] == addr("tmtam1")
    assert owners["sokhdt-0001"] == addr("ntlong")


# ---------------------------------------------------------------- moving people
def test_people_moved_to_another_unit_and_file_keep_their_addresses(before: Path, after: tuple[Path, str]) -> None:
    inventory, _ = after
    old, new = active(ledger(before)), active(ledger(inventory))
    for person in ("sokhdt-0001", "sokhdt-0002", "sokhdt-0003", "sotc-0001", "sotc-0002"):
        assert new[person] == old[person]
    mailboxes = accounts(inventory)
    assert mailboxes[addr("tmtam1")]["unit"] == "sotc-vanphong"
    assert mailboxes[addr("tmtam1")]["unit_mail"] == addr("vanphong.sotc")
    assert mailboxes[addr("lthnhung")]["unit_mail"] == addr("phongdkkd.sotc")
    assert mailboxes[addr("ntlong")]["position"] == "Phó Giám đốc"
    # The address book follows them: their unit, and the agency above it.
    moved = mailboxes[addr("lthnhung")]
    assert (moved["unit_name"], moved["agency_name"]) == ("Phòng Đăng ký kinh doanh", "Sở Tài chính")
    # A unit's mailbox is listed under the unit itself (many agencies have a "Văn phòng").
    office = mailboxes[addr("vanphong.sotc")]
    assert (office["name"], office["unit_name"], office["agency_name"]) == ("Văn phòng", "Văn phòng", "Sở Tài chính")


# ---------------------------------------------------------------- merging
def test_the_merged_agency_address_becomes_an_alias_of_the_one_that_absorbed_it(after: tuple[Path, str]) -> None:
    inventory, said = after
    entries = ledger(inventory)
    assert entries[addr("sokhdt")] | {"assigned": None} == {
        "owner": "sokhdt",
        "kind": "unit",
        "state": "alias",
        "assigned": None,
        "target": "sotc",
    }
    for old, target in (("vanphong.sokhdt", "sotc-vanphong"), ("thanhtra.sokhdt", "sotc-thanhtra")):
        assert entries[addr(old)]["state"] == "alias"
        assert entries[addr(old)]["target"] == target
    assert entries[addr("phongdkkd.sokhdt")]["target"] == "sotc-phongdkkd"
    assert f"aliased     {addr('sokhdt')}  sokhdt (delivered to sotc)" in said
    # The ledger line a reviewer sees in the pull request diff.
    text = (inventory / "addresses.yml").read_text(encoding="utf-8")
    assert f"  {addr('sokhdt')}: {{owner: sokhdt, kind: unit, state: alias, assigned: " in text
    assert "target: sotc}" in text


def test_mail_to_the_merged_addresses_is_delivered_to_the_absorbing_units(after: tuple[Path, str]) -> None:
    inventory, _ = after
    mailboxes = accounts(inventory)
    assert addr("sokhdt") not in mailboxes  # no mailbox of its own any more
    assert addr("sokhdt") in mailboxes[addr("sotc")]["aliases"]
    assert mailboxes[addr("sotc")]["id"] == "sotc"
    assert addr("vanphong.sokhdt") in mailboxes[addr("vanphong.sotc")]["aliases"]
    assert addr("thanhtra.sokhdt") in mailboxes[addr("thanhtra.sotc")]["aliases"]
    assert addr("phongdkkd.sokhdt") in mailboxes[addr("phongdkkd.sotc")]["aliases"]
    assert mailboxes[addr("phongdkkd.sotc")]["state"] == "active"


def test_no_address_is_lost(before: Path, after: tuple[Path, str]) -> None:
    inventory, _ = after
    old, new = ledger(before), ledger(inventory)
    assert set(old) <= set(new)
    assert [a for a, e in new.items() if e["state"] == "retired"] == []
    delivered = {a for account in accounts(inventory).values() if "mail" in account for a in account["aliases"]}
    delivered |= {a for a in accounts(inventory) if a != "retired"}
    assert set(old) <= delivered  # every address that worked before still reaches a mailbox


# ---------------------------------------------------------------- renaming
def test_a_renamed_agency_gets_its_new_address_and_keeps_the_old_one(after: tuple[Path, str]) -> None:
    inventory, said = after
    entries = ledger(inventory)
    assert active(entries)["bandt"] == addr("sodttg")  # Sở Dân tộc và Tôn giáo, by the rules
    assert entries[addr("bandt")]["state"] == "alias"
    assert entries[addr("bandt")]["owner"] == "bandt"
    assert f"added       {addr('sodttg')}  bandt" in said
    mailboxes = accounts(inventory)
    assert mailboxes[addr("sodttg")]["name"] == "Sở Dân tộc và Tôn giáo"
    assert addr("bandt") in mailboxes[addr("sodttg")]["aliases"]
    # Its departments follow the parent's new address and keep the old one too.
    assert addr("vanphong.bandt") in mailboxes[addr("vanphong.sodttg")]["aliases"]
    assert addr("thanhtra.bandt") in mailboxes[addr("thanhtra.sodttg")]["aliases"]


def test_the_ledger_is_stable_after_the_reorganisation(after: tuple[Path, str], tmp_path: Path) -> None:
    inventory = shutil.copytree(after[0], tmp_path / "again")
    once = ledger(inventory)
    said = update(inventory)
    assert "no change" in said
    assert ledger(inventory) == once
    assert addresses_main(["check", str(inventory)]) == 0


# ---------------------------------------------------------------- never handed out again
def test_an_old_address_is_never_given_to_a_new_unit(after: tuple[Path, str], tmp_path: Path) -> None:
    inventory = shutil.copytree(after[0], tmp_path / "newcomer")
    newcomer = directory(inventory) / "khdt-moi.yml"
    newcomer.write_text(
        textwrap.dedent(
            """\
            ---
            id: sokhdt2
            name: Sở Kế hoạch và Đầu tư
            kind: so
            """
        ),
        encoding="utf-8",
    )
    files = read_directory(inventory)
    ledger_text = (inventory / "addresses.yml").read_text(encoding="utf-8")
    with pytest.raises(DirectoryError, match=r"sokhdt@soctrang\.gov\.vn, which is held by 'sokhdt'"):
        plan(files, ledger_text, "addresses.yml", load_policy(REPO, inventory), dt.date.today())


def test_deleting_a_merged_agency_instead_would_refuse_its_mail(before: Path, tmp_path: Path) -> None:
    # Why the guide says "mark it merged, never delete the file": a unit that
    # disappears from the directory has its addresses retired, and mail to
    # retired addresses is refused.
    inventory = tmp_path / "deleted"
    shutil.copytree(before, inventory)
    (directory(inventory) / "sokhdt.yml").unlink()
    staff = directory(inventory) / "sotc.yml"
    staff.write_text(
        (PRODUCTION / "directory" / "sotc.yml").read_text(encoding="utf-8")
        + SOTC_NEW_UNIT.lstrip("\n")
        + STAFF_TC_AFTER.lstrip("\n"),
        encoding="utf-8",
    )
    update(inventory)
    entries = ledger(inventory)
    assert entries[addr("sokhdt")]["state"] == "retired"
    assert addr("sokhdt") in accounts(inventory)["retired"]
