"""The roster importer (tools/import_roster.py) on every fixture in tests/fixtures/rosters/.

Each test copies the fixture inventory (two directory files, synthetic people) to
a temporary folder, imports a roster into it and reads the file back.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest
import yaml
from ansible_collections.soctrang.mail.plugins.plugin_utils.ledger import Entry, render_ledger
from ansible_collections.soctrang.mail.plugins.plugin_utils.text import written_case
from fixtures.rosters.build_xlsx import ROWS, build
from import_roster import main
from openpyxl import load_workbook

REPO = Path(__file__).resolve().parent.parent
ROSTERS = REPO / "tests" / "fixtures" / "rosters"


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    shutil.copytree(ROSTERS / "inventory", tmp_path / "inv")
    return tmp_path / "inv"


def unit_file(inventory: Path) -> Path:
    return inventory / "directory" / "sotttt.yml"


def run_import(inventory: Path, roster: str | Path, *options: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main([str(ROSTERS / roster), "--into", str(unit_file(inventory)), *options], out=out)
    return code, out.getvalue()


def people(inventory: Path) -> dict[str, dict]:
    data = yaml.safe_load(unit_file(inventory).read_text(encoding="utf-8"))
    return {p["id"]: p for p in data.get("people") or []}


# ---------------------------------------------------------------- Unicode CSV, Vietnamese headers
def test_unicode_roster_adds_updates_and_reports_the_missing(inventory: Path) -> None:
    code, out = run_import(inventory, "sotttt-unicode.csv")
    assert code == 0, out
    staff = people(inventory)
    assert staff["sotttt-0004"] == {
        "id": "sotttt-0004",
        "name": "Trần Văn Thành",
        "position": "Chuyên viên",
        "unit": "sotttt-phongcds",
        "requested_on": dt.date(2025, 3, 3),
        "state": "present",
    }
    assert staff["sotttt-0005"]["unit"] == "sotttt-vanphong"
    assert staff["sotttt-0002"]["position"] == "Phó Giám đốc"
    # Missing from the roster: reported, kept as it was.
    assert staff["sotttt-0003"]["state"] == "present"
    assert "missing from the roster, kept" in out and "sotttt-0003  Thạch Sà Rươl" in out
    assert "columns not used: Ghi chú" in out
    assert "Mã cán bộ -> id" in out and "Ngày đề nghị -> requested_on" in out
    assert "sotttt-0002  Lê Thị Mỹ Hạnh: position: 'Giám đốc Trung tâm' -> 'Phó Giám đốc'" in out
    # Trần Văn Thành of Mỹ Xuyên (the other file) already holds tvthanh.
    assert "tvthanh1@soctrang.gov.vn  sotttt-0004" in out
    assert "ntthuong@soctrang.gov.vn  sotttt-0005" in out


def test_comments_order_and_untouched_entries_survive(inventory: Path) -> None:
    before = unit_file(inventory).read_text(encoding="utf-8")
    run_import(inventory, "sotttt-unicode.csv")
    after = unit_file(inventory).read_text(encoding="utf-8")
    assert after.startswith("---\n# Sở Thông tin và Truyền thông: the unit file")
    assert "  # The director: the agency's first request.\n  - id: sotttt-0001\n" in after
    assert "    name: Thạch Sà Rươl  # Khmer: the given name is two words\n" in after
    assert "    managers: [sotttt-0002]\n" in after
    # Everything up to the changed entry is byte for byte what it was.
    head = before.split("  - id: sotttt-0002")[0]
    assert after.startswith(head)
    assert (
        after.index("- id: sotttt-0001")
        < after.index("- id: sotttt-0002")
        < after.index("- id: sotttt-0003")
        < after.index("- id: sotttt-0004")
    )


def test_a_roster_that_matches_the_file_changes_nothing(inventory: Path) -> None:
    assert run_import(inventory, "sotttt-unicode.csv")[0] == 0
    once = unit_file(inventory).read_text(encoding="utf-8")
    code, out = run_import(inventory, "sotttt-unicode.csv")
    assert code == 0
    assert unit_file(inventory).read_text(encoding="utf-8") == once
    assert "already matches the roster" in out
    assert "unchanged: 4" in out and "added" not in out


def test_mark_missing_absent(inventory: Path) -> None:
    code, out = run_import(inventory, "sotttt-unicode.csv", "--mark-missing-absent")
    assert code == 0, out
    assert people(inventory)["sotttt-0003"]["state"] == "absent"
    assert "marked absent (missing from the roster): 1" in out


def test_missing_check_stays_inside_the_given_unit(inventory: Path) -> None:
    # A roster of the Trung tâm only: people of other units are not "missing".
    code, out = run_import(inventory, "sotttt-vni.csv", "--unit", "sotttt-ttcns", "--mark-missing-absent")
    assert code == 0, out
    staff = people(inventory)
    assert staff["sotttt-0001"]["state"] == "present"
    assert staff["sotttt-0002"]["state"] == "absent"  # of the Trung tâm, not on its roster


def test_dry_run_writes_nothing(inventory: Path) -> None:
    before = unit_file(inventory).read_bytes()
    code, out = run_import(inventory, "sotttt-unicode.csv", "--dry-run")
    assert code == 0
    assert "added: 2" in out and "dry run: nothing written" in out
    assert unit_file(inventory).read_bytes() == before


# ---------------------------------------------------------------- legacy encodings
def test_tcvn3_roster_is_detected_and_converted(inventory: Path) -> None:
    code, out = run_import(inventory, "sotttt-tcvn3.csv")
    assert code == 0, out
    assert "text detected as TCVN3 (ABC) -> Unicode" in out
    assert "columns (header on row 4): Họ và tên -> name, Chức vụ -> position" in out
    names = {p["name"]: p for p in people(inventory).values()}
    assert names["Nguyễn Văn Đức"]["unit"] == "sotttt-phongcds"
    assert names["Võ Thị Ngọc Ánh"]["position"] == "Phó Trưởng phòng"
    assert names["Huỳnh Thị Diễm Kiều"]["position"] == "Văn thư"
    # No id column: Dương Chí Nguyên is matched by his name, and is unchanged.
    assert len([n for n in names if n == "Dương Chí Nguyên"]) == 1
    assert "unchanged: 1" in out
    for name in names:
        assert name.isprintable() and "§" not in name and "¬" not in name


def test_forced_tcvn3_gives_the_same_result(inventory: Path, tmp_path: Path) -> None:
    run_import(inventory, "sotttt-tcvn3.csv")
    detected = unit_file(inventory).read_text(encoding="utf-8")
    shutil.copy(ROSTERS / "inventory" / "directory" / "sotttt.yml", unit_file(inventory))
    code, out = run_import(inventory, "sotttt-tcvn3.csv", "--encoding", "tcvn3")
    assert code == 0
    assert "text forced as TCVN3 (ABC) -> Unicode" in out
    assert unit_file(inventory).read_text(encoding="utf-8") == detected


def mixed_roster(tmp_path: Path) -> Path:
    """Unicode headers and one name pasted from an old TCVN3 spreadsheet."""
    roster = tmp_path / "mixed.csv"
    legacy = (ROSTERS / "sotttt-tcvn3.csv").read_text(encoding="utf-8").splitlines()[5]  # Nguyễn Văn Đức
    roster.write_text(f"Họ và tên,Chức vụ,Phòng ban,Ngày đề nghị\n{legacy}\n", encoding="utf-8")
    return roster


def test_a_mixed_roster_converts_only_its_legacy_cells(inventory: Path, tmp_path: Path) -> None:
    code, out = run_import(inventory, mixed_roster(tmp_path))
    assert code == 0, out
    assert "text detected as TCVN3 (ABC) -> Unicode" in out
    assert people(inventory)["sotttt-0004"]["name"] == "Nguyễn Văn Đức"
    assert people(inventory)["sotttt-0004"]["unit"] == "sotttt-phongcds"


def test_legacy_text_read_as_unicode_is_refused(inventory: Path, tmp_path: Path) -> None:
    before = unit_file(inventory).read_bytes()
    code, out = run_import(inventory, mixed_roster(tmp_path), "--encoding", "unicode")
    assert code == 1
    assert "row 2: Họ và tên 'NguyÔn V¨n §øc' still reads as legacy TCVN3/VNI text" in out
    assert "nothing imported" in out
    assert unit_file(inventory).read_bytes() == before


def test_legacy_headers_read_as_unicode_are_not_found(inventory: Path) -> None:
    code, out = run_import(inventory, "sotttt-tcvn3.csv", "--encoding", "unicode")
    assert code == 2
    assert "no header row with the full name" in out and "--encoding auto" in out


def test_vni_single_byte_csv_with_english_headers(inventory: Path) -> None:
    with pytest.raises(UnicodeDecodeError):
        (ROSTERS / "sotttt-vni.csv").read_bytes().decode("utf-8")
    code, out = run_import(inventory, "sotttt-vni.csv")
    assert code == 0, out
    assert "text detected as VNI -> Unicode" in out
    assert "Staff ID -> id, Full name -> name, Given name -> given_name" in out
    staff = people(inventory)
    assert staff["sotttt-0101"]["name"] == "Lâm Thị Sà Kha"
    assert staff["sotttt-0101"]["given_name"] == "Sà Kha"  # two words: written down
    assert staff["sotttt-0102"]["position"] == "Kỹ sư"  # a cell the detector alone would read as TCVN3
    assert "given_name" not in staff["sotttt-0102"]  # one word: follows from the name
    # Moved by the roster from Phòng CĐS to the Trung tâm.
    assert staff["sotttt-0003"]["unit"] == "sotttt-ttcns"
    assert "ltsakha@soctrang.gov.vn  sotttt-0101" in out


# ---------------------------------------------------------------- XLSX
def test_committed_xlsx_matches_its_builder(tmp_path: Path) -> None:
    def cells(path: Path) -> list[list[object]]:
        book = load_workbook(path, read_only=True, data_only=True)
        try:
            return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
        finally:
            book.close()

    rebuilt = build(tmp_path / "rebuilt.xlsx")
    assert cells(ROSTERS / "sotttt-english.xlsx") == cells(rebuilt)
    assert cells(rebuilt) == ROWS


def test_xlsx_roster_with_a_title_block_and_date_cells(inventory: Path) -> None:
    code, out = run_import(inventory, "sotttt-english.xlsx")
    assert code == 0, out
    assert "(XLSX, 4 row(s), text detected as Unicode)" in out
    assert "columns (header on row 3)" in out and "columns not used: Notes" in out
    staff = people(inventory)
    assert staff["1042"]["name"] == "Lý Thị Sô Phia"  # a numeric id cell, read as text
    assert staff["1042"]["given_name"] == "Sô Phia"
    assert staff["1042"]["requested_on"] == dt.date(2025, 3, 14)
    assert staff["sotttt-0003"]["state"] == "disabled"
    assert staff["sotttt-0004"]["name"] == "Đặng Minh Khoa"
    assert "ltsophia@soctrang.gov.vn  1042" in out


def test_xlsx_sheet_must_exist(inventory: Path) -> None:
    code, out = run_import(inventory, "sotttt-english.xlsx", "--sheet", "Nhân sự")
    assert code == 2
    assert "no sheet named 'Nhân sự'; the sheets are Roster" in out


# ---------------------------------------------------------------- bad rows
BAD_ROWS = [
    (3, "the full name ('Họ và tên') is empty"),
    (4, "the name 'Nguyễn Văn 2' holds characters that are not letters"),
    (5, "the name 'Nguyên' is a single word"),
    (6, "Ngày đề nghị '31/02/2025' is not a date; write it as dd/mm/yyyy"),
    (7, "Trạng thái 'Đi học' is not a state"),
    (8, "Phòng ban 'Phòng Hành chính' is not a unit of sotttt.yml; the units are: Sở Thông tin và Truyền thông"),
    (10, "id 'sotttt-0150' is also on row 9"),
    (11, "id 'sotttt-phongcds' is the id of a unit"),
    (12, "id 'myxuyen-0001' belongs to someone in myxuyen.yml"),
    (13, "contains invisible character(s) U+200B; retype it"),
    (14, "the given name 'Sa Kha' is not the end of the full name 'Lâm Thị Sà Kha'"),
    (15, "Mã cán bộ 'CB 01' may only hold letters a-z"),
    (16, "no request date; fill in 'Ngày đề nghị' or pass --requested-on"),
    (17, "'Dương Chí Nguyên' appears 2 time(s) in the roster and 1 time(s) in the file (sotttt-0001)"),
    (18, "'Dương Chí Nguyên' appears 2 time(s) in the roster and 1 time(s) in the file (sotttt-0001)"),
]


@pytest.fixture
def refused(inventory: Path) -> tuple[int, str, Path, bytes]:
    before = unit_file(inventory).read_bytes()
    code, out = run_import(inventory, "bad-rows.csv")
    return code, out, inventory, before


@pytest.mark.parametrize(("row", "reason"), BAD_ROWS, ids=[f"row{r}" for r, _ in BAD_ROWS])
def test_each_bad_row_is_refused_with_its_reason(refused: tuple[int, str, Path, bytes], row: int, reason: str) -> None:
    code, out, _, _ = refused
    assert code == 1
    lines = [line for line in out.splitlines() if line.startswith(f"  bad-rows.csv row {row}: ")]
    assert len(lines) == 1, out
    assert reason in lines[0]


def test_a_roster_with_bad_rows_imports_nothing(refused: tuple[int, str, Path, bytes]) -> None:
    code, out, inventory, before = refused
    assert code == 1
    assert f"bad rows: {len(BAD_ROWS)}" in out
    assert "nothing imported: 15 bad row(s)" in out
    assert unit_file(inventory).read_bytes() == before


def test_skip_bad_rows_imports_the_good_ones(inventory: Path) -> None:
    code, out = run_import(inventory, "bad-rows.csv", "--skip-bad-rows", "--mark-missing-absent")
    assert code == 0, out
    staff = people(inventory)
    assert staff["sotttt-0004"]["name"] == "Phan Thị Kim Ngân"
    assert staff["sotttt-0150"]["name"] == "Tô Thị Mai"
    assert len(staff) == 5
    # Dương Chí Nguyên's rows were refused: he must not be taken for missing and retired.
    assert all(p.get("state", "present") == "present" for p in staff.values())
    assert "nobody marked absent: the roster has bad rows" in out


def test_requested_on_option_fills_empty_dates(inventory: Path, tmp_path: Path) -> None:
    roster = tmp_path / "no-dates.csv"
    roster.write_text("Họ và tên,Chức vụ\nQuách Thị Hoa,Kế toán\n", encoding="utf-8")
    code, out = run_import(inventory, roster, "--requested-on", "2025-04-01")
    assert code == 0, out
    assert people(inventory)["sotttt-0004"]["requested_on"] == dt.date(2025, 4, 1)


def test_a_roster_without_a_name_column_is_refused(inventory: Path, tmp_path: Path) -> None:
    roster = tmp_path / "no-names.csv"
    roster.write_text("STT,Chức vụ\n1,Kế toán\n", encoding="utf-8")
    code, out = run_import(inventory, roster)
    assert code == 2
    assert "needs a column 'Họ và tên'" in out


def test_separate_family_and_given_name_columns(inventory: Path, tmp_path: Path) -> None:
    roster = tmp_path / "split.csv"
    roster.write_text("Họ và tên đệm;Tên;Ngày đề nghị\nSơn Thị;Sà Phiêu;01/04/2025\n", encoding="utf-8")
    code, out = run_import(inventory, roster)
    assert code == 0, out
    assert people(inventory)["sotttt-0004"] == {
        "id": "sotttt-0004",
        "name": "Sơn Thị Sà Phiêu",
        "given_name": "Sà Phiêu",
        "requested_on": dt.date(2025, 4, 1),
        "state": "present",
    }


# ---------------------------------------------------------------- the request date stays (Điều 3.4)
def test_a_roster_never_changes_the_request_date_of_someone_in_the_file(inventory: Path, tmp_path: Path) -> None:
    # Matched by name: the roster moves him and changes his position, with its own (later) date.
    roster = tmp_path / "later.csv"
    roster.write_text(
        "Họ và tên,Chức vụ,Phòng ban,Ngày đề nghị\nDương Chí Nguyên,Chánh Văn phòng,Văn phòng,30/11/2026\n",
        encoding="utf-8",
    )
    code, out = run_import(inventory, roster)
    assert code == 0, out
    person = people(inventory)["sotttt-0001"]
    assert person["requested_on"] == dt.date(2024, 12, 20)
    assert person["position"] == "Chánh Văn phòng"
    assert person["unit"] == "sotttt-vanphong"
    assert (
        "sotttt-0001  Dương Chí Nguyên: position: 'Giám đốc' -> 'Chánh Văn phòng'; unit: 'sotttt' -> 'sotttt-vanphong'"
        in out
    )
    assert "request dates kept: the first request decided the address (Điều 3.4); a roster never changes it: 1" in out
    assert "sotttt-0001  Dương Chí Nguyên: requested_on stays '2024-12-20' (the roster says '2026-11-30')" in out
    assert "requested_on: '2024-12-20' ->" not in out


def test_a_request_date_alone_changes_nothing_and_is_reported(inventory: Path, tmp_path: Path) -> None:
    # Matched by id this time; everything else agrees with the file.
    before = unit_file(inventory).read_bytes()
    roster = tmp_path / "by-id.csv"
    roster.write_text("Mã cán bộ,Họ và tên,Ngày đề nghị\nsotttt-0003,Thạch Sà Rươl,2026-11-30\n", encoding="utf-8")
    code, out = run_import(inventory, roster, "--unit", "sotttt-phongcds")
    assert code == 0, out
    assert unit_file(inventory).read_bytes() == before
    assert "sotttt-0003  Thạch Sà Rươl: requested_on stays '2025-01-06' (the roster says '2026-11-30')" in out
    assert "unchanged: 1" in out and "updated" not in out


def test_a_missing_request_date_is_filled_in_from_the_roster(inventory: Path, tmp_path: Path) -> None:
    text = unit_file(inventory).read_text(encoding="utf-8")
    unit_file(inventory).write_text(text.replace("    requested_on: 2025-01-06\n", ""), encoding="utf-8")
    roster = tmp_path / "date.csv"
    roster.write_text("Mã cán bộ,Họ và tên,Ngày đề nghị\nsotttt-0003,Thạch Sà Rươl,06/01/2025\n", encoding="utf-8")
    code, out = run_import(inventory, roster, "--unit", "sotttt-phongcds")
    assert code == 0, out
    assert people(inventory)["sotttt-0003"]["requested_on"] == dt.date(2025, 1, 6)
    assert "sotttt-0003  Thạch Sà Rươl: requested_on: (none) -> '2025-01-06'" in out


# ---------------------------------------------------------------- names typed in capitals
@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("NGUYỄN VĂN HÙNG", "Nguyễn Văn Hùng"),
        ("THẠCH SÀ KHA", "Thạch Sà Kha"),  # Khmer-derived
        ("ĐẶNG THỊ MỸ DUYÊN", "Đặng Thị Mỹ Duyên"),
        (unicodedata.normalize("NFD", "ĐỖ THỊ ỨNG"), "Đỗ Thị Ứng"),  # decomposed: str.title() breaks it
        ("ƯNG HOÀNG PHÚC", "Ưng Hoàng Phúc"),
        ("H'HEN NIÊ", "H'Hen Niê"),
        ("Lê Thị MỸ Hạnh", "Lê Thị MỸ Hạnh"),  # a lowercase letter: written by hand, kept
        ("Nguyễn văn Hùng", "Nguyễn văn Hùng"),
        ("Thạch Sà Kha", "Thạch Sà Kha"),
    ],
)
def test_written_case(typed: str, stored: str) -> None:
    result = written_case(typed)
    assert result == stored
    assert unicodedata.is_normalized("NFC", result)


def test_names_in_capitals_are_stored_in_their_written_form(inventory: Path, tmp_path: Path) -> None:
    roster = tmp_path / "capitals.csv"
    roster.write_text(
        "Họ và tên,Tên,Chức vụ,Ngày đề nghị\n"
        "NGUYỄN VĂN HÙNG,,Chuyên viên,01/04/2025\n"
        "THẠCH SÀ KHA,SÀ KHA,Chuyên viên,01/04/2025\n"
        "Trần thị Lan,,Chuyên viên,01/04/2025\n"
        "DƯƠNG CHÍ NGUYÊN,,Giám đốc,20/12/2024\n",
        encoding="utf-8",
    )
    code, out = run_import(inventory, roster)
    assert code == 0, out
    names = {p["name"]: p for p in people(inventory).values()}
    assert "Nguyễn Văn Hùng" in names
    assert names["Thạch Sà Kha"]["given_name"] == "Sà Kha"
    assert "Trần thị Lan" in names  # mixed case: as typed
    assert names["Dương Chí Nguyên"]["id"] == "sotttt-0001"  # matched, unchanged
    assert "NGUYỄN VĂN HÙNG" not in unit_file(inventory).read_text(encoding="utf-8")
    assert "names typed in capitals, stored in their written form: 4" in out
    assert "row 2: 'NGUYỄN VĂN HÙNG' -> 'Nguyễn Văn Hùng'" in out
    assert "row 3: 'SÀ KHA' -> 'Sà Kha'" in out and "row 3: 'THẠCH SÀ KHA' -> 'Thạch Sà Kha'" in out
    assert "row 5: 'DƯƠNG CHÍ NGUYÊN' -> 'Dương Chí Nguyên'" in out
    assert "unchanged: 1" in out
    assert "nvhung@soctrang.gov.vn" in out and "tsakha@soctrang.gov.vn" in out


def test_a_name_stored_in_capitals_before_is_rewritten_and_said(inventory: Path, tmp_path: Path) -> None:
    text = unit_file(inventory).read_text(encoding="utf-8")
    unit_file(inventory).write_text(text.replace("name: Dương Chí Nguyên", "name: DƯƠNG CHÍ NGUYÊN"), encoding="utf-8")
    roster = tmp_path / "again.csv"
    roster.write_text("Mã cán bộ,Họ và tên\nsotttt-0001,DƯƠNG CHÍ NGUYÊN\n", encoding="utf-8")
    code, out = run_import(inventory, roster)
    assert code == 0, out
    assert people(inventory)["sotttt-0001"]["name"] == "Dương Chí Nguyên"
    assert "sotttt-0001  Dương Chí Nguyên: name: 'DƯƠNG CHÍ NGUYÊN' -> 'Dương Chí Nguyên'" in out


# ---------------------------------------------------------------- a target file YAML cannot read
@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (
            ("requested_on: 2025-01-06", "requested_on: 2024-13-45"),
            "line 35, column 19: '2024-13-45' is not a date: month must be in 1..12; write YYYY-MM-DD",
        ),
        (("name: Sở Thông tin và Truyền thông", "name: [Sở"), "line 6, column 5: expected ',' or ']'"),
    ],
    ids=["impossible date", "not YAML"],
)
def test_a_target_file_yaml_cannot_read_is_named_with_its_line(
    inventory: Path, broken: tuple[str, str], message: str
) -> None:
    text = unit_file(inventory).read_text(encoding="utf-8")
    unit_file(inventory).write_text(text.replace(*broken), encoding="utf-8")
    before = unit_file(inventory).read_bytes()
    code, out = run_import(inventory, "sotttt-unicode.csv")
    assert code == 2
    assert out.startswith(f"error: {unit_file(inventory)}: {message}"), out
    assert out.rstrip().endswith("fix the file before importing into it")
    assert unit_file(inventory).read_bytes() == before


# ---------------------------------------------------------------- ids
def test_new_ids_never_reuse_an_id_the_ledger_remembers(inventory: Path) -> None:
    # sotttt-0007 left long ago: gone from the directory, still in the ledger.
    ledger = {"ntlan@soctrang.gov.vn": Entry("sotttt-0007", "person", "retired", "2025-01-01", "2025-02-01")}
    (inventory / "addresses.yml").write_text(render_ledger(ledger, "inv"), encoding="utf-8")
    code, out = run_import(inventory, "sotttt-unicode.csv")
    assert code == 0, out
    assert {"sotttt-0008", "sotttt-0009"} <= people(inventory).keys()
    assert "sotttt-0004" not in people(inventory)


def test_an_invalid_directory_is_never_written(inventory: Path) -> None:
    other = inventory / "directory" / "myxuyen.yml"
    other.write_text(other.read_text(encoding="utf-8").replace("kind: huyen", "kind: tinh"), encoding="utf-8")
    before = unit_file(inventory).read_bytes()
    code, out = run_import(inventory, "sotttt-unicode.csv")
    assert code == 1
    assert "the inventory would not be valid" in out and "kind 'tinh' is not in the naming table" in out
    assert unit_file(inventory).read_bytes() == before


# ---------------------------------------------------------------- the command line
def test_command_line_and_make_target(inventory: Path) -> None:
    result = subprocess.run(
        [
            "make",
            "-s",
            "import-roster",
            f"ROSTER={ROSTERS / 'sotttt-unicode.csv'}",
            f"INTO={unit_file(inventory)}",
            "ARGS=--dry-run",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "added: 2" in result.stdout and "dry run: nothing written" in result.stdout
