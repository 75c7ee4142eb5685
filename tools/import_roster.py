#!/usr/bin/env python3
"""Import an agency's staff roster (CSV or XLSX, Điều 4) into the directory file of a unit.

    tools/import_roster.py ROSTER --into inventories/<env>/directory/<unit>.yml [options]
    make import-roster ROSTER=… INTO=… [ARGS="--dry-run …"]

What it does, in the order an operator checks it:
- reads the first sheet (or ``--sheet``) of an XLSX file, or a CSV file (UTF-8,
  or single-byte text exported from an old Windows machine), and finds the
  header row even below a title block;
- maps columns by their header, Vietnamese or English ("Họ và tên", "Chức vụ",
  "Phòng ban", "Ngày đề nghị", "Mã cán bộ", "Tên", "Trạng thái", "Full name" …)
  and reports every column it does not use;
- converts names typed in the legacy TCVN3 (ABC) or VNI encodings to Unicode NFC
  (Điều 5.2), detected automatically or forced with ``--encoding``, and names
  typed in capitals to their written form (``NGUYỄN VĂN HÙNG`` -> ``Nguyễn Văn
  Hùng``), saying so;
- adds new people, updates the changed fields of people already in the file
  (matched by id — the roster's "Mã" column — or, without one, by a name that is
  unique on both sides); a blank cell never erases a field, and the request
  date of someone already in the file never changes (it decided the address,
  Điều 3.4): a different date in the roster is reported and left;
- never deletes: people of the file missing from the roster are listed, and are
  marked ``state: absent`` only with ``--mark-missing-absent``;
- refuses bad rows with their row number and the reason, and imports nothing
  from a roster with bad rows unless ``--skip-bad-rows``;
- validates the whole inventory with the new file before writing it, keeps the
  file's comments and order (ruamel.yaml round trip) and prints what changed,
  with the addresses the new people will get at the next ``make addresses``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ansible_collections.soctrang.mail.plugins.plugin_utils.directory import (
    DIRECTORY_FOLDER,
    DirectoryError,
    directory_files,
    read_directory,
    shown_path,
)
from ansible_collections.soctrang.mail.plugins.plugin_utils.ledger import (
    LedgerError,
    ledger_path,
    parse_ledger,
    read_ledger,
)
from ansible_collections.soctrang.mail.plugins.plugin_utils.naming import NamingError, person_base
from ansible_collections.soctrang.mail.plugins.plugin_utils.policy import PolicyError, load_policy
from ansible_collections.soctrang.mail.plugins.plugin_utils.state import plan
from ansible_collections.soctrang.mail.plugins.plugin_utils.text import (
    clean_spaces,
    decode_legacy,
    detect_legacy_encoding,
    fold_words,
    invisible_characters,
    written_case,
)
from openpyxl import load_workbook
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import ConstructorError, RoundTripConstructor
from ruamel.yaml.error import YAMLError

REPO = Path(__file__).resolve().parent.parent


ENCODINGS = ("auto", "unicode", "tcvn3", "vni")
ENCODING_LABELS = {"unicode": "Unicode", "tcvn3": "TCVN3 (ABC)", "vni": "VNI"}

# Headers as agencies write them, folded to ASCII words ("Họ và tên" -> "ho va ten").
HEADER_FIELDS: dict[str, str] = {
    **dict.fromkeys(["ho va ten", "ho ten", "ho va ten can bo", "full name", "fullname", "name"], "name"),
    **dict.fromkeys(["ho va ten dem", "ho dem", "ho va dem", "surname and middle name"], "family_and_middle"),
    **dict.fromkeys(["ten", "ten goi", "given name", "first name", "firstname"], "given_name"),
    **dict.fromkeys(["chuc vu", "chuc danh", "position", "title", "job title"], "position"),
    **dict.fromkeys(["phong ban", "don vi", "phong", "bo phan", "department", "unit", "dept"], "unit"),
    **dict.fromkeys(
        ["ngay de nghi", "ngay yeu cau", "ngay dang ky", "request date", "requested on", "date requested"],
        "requested_on",
    ),
    **dict.fromkeys(["ma", "ma can bo", "ma cb", "ma nhan vien", "ma so", "id", "staff id", "employee id"], "id"),
    **dict.fromkeys(["trang thai", "tinh trang", "state", "status"], "state"),
}
# The running number every Vietnamese list starts with: recognised, never imported.
ROW_NUMBER_HEADERS = frozenset({"stt", "tt", "so tt", "no", "#"})

STATE_WORDS: dict[str, str] = {
    **dict.fromkeys(["present", "active", "dang cong tac", "hoat dong", "dang hoat dong", "cap moi"], "present"),
    **dict.fromkeys(["disabled", "tam khoa", "khoa", "tam dung", "nghi phep dai han"], "disabled"),
    **dict.fromkeys(["absent", "nghi viec", "nghi huu", "chuyen cong tac", "thoi viec", "huy"], "absent"),
}
DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d")
PERSON_KEY_ORDER = ("id", "name", "given_name", "position", "unit", "requested_on", "state")
# Not requested_on: the date of a person's first request decided their address
# (Điều 3.4) and stays with them; a roster never changes it.
UPDATABLE = ("name", "given_name", "position", "unit", "state")
DEFAULTS = {"state": "present"}  # what a missing key means in a directory file
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_PERSON_NAME = re.compile(r"^[^\W\d_]+(?:[ '\-][^\W\d_]+)*$")


class RosterError(Exception):
    """The roster or the target file cannot be used at all (not a row-level problem)."""


# ---------------------------------------------------------------- reading the roster
@dataclass
class Table:
    """The cells of a roster, each row with its row number as the spreadsheet shows it."""

    kind: str  # CSV | XLSX
    rows: list[tuple[int, list[object]]]


def read_table(path: Path, sheet: str | None) -> Table:
    if not path.is_file():
        raise RosterError(f"{path}: no such file")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return Table("XLSX", list(_xlsx_rows(path, sheet)))
    if path.suffix.lower() in (".csv", ".txt"):
        return Table("CSV", list(_csv_rows(path.read_bytes())))
    raise RosterError(f"{path}: only .csv and .xlsx rosters are read; save the sheet in one of those formats")


def _xlsx_rows(path: Path, sheet: str | None) -> Iterator[tuple[int, list[object]]]:
    book = load_workbook(path, read_only=True, data_only=True)
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise RosterError(f"{path}: no sheet named {sheet!r}; the sheets are {', '.join(book.sheetnames)}")
        ws = book[sheet] if sheet else book.worksheets[0]
        for number, row in enumerate(ws.iter_rows(values_only=True), start=1):
            yield number, list(row)
    finally:
        book.close()


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[object]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Not UTF-8: a single-byte export. TCVN3 and VNI put their letters in
        # 0xA0-0xFF, where Latin-1 maps every byte to the character of the same
        # number — exactly the "Latin-1 text" forms of the conversion table.
        text = data.decode("latin-1")
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    for number, row in enumerate(csv.reader(io.StringIO(text, newline=""), dialect), start=1):
        yield number, list(row)


# ---------------------------------------------------------------- encodings
def cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def choose_encoding(table: Table, forced: str) -> str:
    """The legacy encoding of the roster's text, or "unicode"."""
    if forced != "auto":
        return forced
    votes = Counter(
        detect_legacy_encoding(text)
        for _, row in table.rows
        for text in (cell_text(v) for v in row if isinstance(v, str))
        if text.strip()
    )
    votes.pop(None, None)
    return votes.most_common(1)[0][0] if votes else "unicode"


def to_unicode(text: str, encoding: str, forced: bool) -> str:
    """NFC Unicode; legacy cells decoded (every cell when forced, detected ones otherwise)."""
    if encoding != "unicode" and (forced or detect_legacy_encoding(text)):
        text = decode_legacy(text, encoding)
    return unicodedata.normalize("NFC", text)


def decode_table(table: Table, encoding: str, forced: bool) -> None:
    for _, row in table.rows:
        for i, value in enumerate(row):
            if isinstance(value, str):
                row[i] = to_unicode(value, encoding, forced)


# ---------------------------------------------------------------- columns
def fold_header(header: str) -> str:
    return " ".join(fold_words(header.rstrip(":*")))


@dataclass
class Columns:
    header_row: int
    fields: dict[str, int]  # field -> column index
    labels: dict[str, str]  # field -> the header as written
    unmapped: list[str]
    row_numbers: list[str]


def map_columns(table: Table) -> Columns:
    """Find the header row (the first with a name column among the first 15) and map it."""
    for number, row in table.rows[:15]:
        headers = [clean_spaces(cell_text(v)) for v in row]
        fields = {f: i for i, h in reversed(list(enumerate(headers))) if (f := HEADER_FIELDS.get(fold_header(h)))}
        if "name" in fields or {"family_and_middle", "given_name"} <= fields.keys():
            used = set(fields.values())
            return Columns(
                header_row=number,
                fields=fields,
                labels={f: headers[i] for f, i in fields.items()},
                unmapped=[
                    h for i, h in enumerate(headers) if h and i not in used and fold_header(h) not in ROW_NUMBER_HEADERS
                ],
                row_numbers=[h for h in headers if fold_header(h) in ROW_NUMBER_HEADERS],
            )
    raise RosterError(
        "no header row with the full name was found in the first 15 rows; the roster needs a column "
        "'Họ và tên' (or 'Full name'), or the two columns 'Họ và tên đệm' and 'Tên' (headers that read "
        "as garbage were typed in TCVN3 or VNI: let the importer detect it with --encoding auto)"
    )


# ---------------------------------------------------------------- the target file
@dataclass
class UnitFile:
    path: Path
    inventory: Path
    yaml: YAML
    data: CommentedMap
    units: dict[str, CommentedMap]  # every unit of the file, by id
    people: dict[str, tuple[CommentedMap, str]]  # person id -> (entry, id of the unit it is listed under)
    explicit_start: bool


class _RoundTripConstructor(RoundTripConstructor):
    """ruamel's round trip, with a date that does not exist (2024-13-45) reported at its line."""

    def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
        try:
            return super().construct_yaml_timestamp(node, values)
        except ValueError as exc:
            raise ConstructorError(
                None, None, f"'{node.value}' is not a date: {exc}; write YYYY-MM-DD (e.g. 2024-12-20)", node.start_mark
            ) from exc


_RoundTripConstructor.add_constructor("tag:yaml.org,2002:timestamp", _RoundTripConstructor.construct_yaml_timestamp)


def _yaml() -> YAML:
    yaml = YAML()
    yaml.Constructor = _RoundTripConstructor
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a line the operator wrote
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def load_unit_file(path: Path) -> UnitFile:
    if not path.is_file():
        raise RosterError(f"{path}: no such directory file; create the unit first (docs/huong-dan-van-hanh.md)")
    # The inventory whose directory/ folder holds the file (in a sub-folder too).
    folders = [*path.parents, *path.absolute().parents]  # as given first, for the messages
    inventory = next((folder.parent for folder in folders if folder.name == DIRECTORY_FOLDER), None)
    if inventory is None or path.resolve() not in {p.resolve() for p in directory_files(inventory)}:
        raise RosterError(f"{path}: not a file of an inventory's directory/ folder")
    yaml = _yaml()
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        reason = getattr(exc, "problem", None) or str(exc)
        raise RosterError(f"{path}: {where}{reason}; fix the file before importing into it") from exc
    if not isinstance(data, CommentedMap) or "id" not in data:
        raise RosterError(f"{path}: does not describe a unit (no 'id'); fix it before importing into it")
    unit_file = UnitFile(path, inventory, yaml, data, {}, {}, text.lstrip().startswith("---"))
    _index_unit(unit_file, data)
    return unit_file


def _index_unit(unit_file: UnitFile, unit: CommentedMap) -> None:
    unit_file.units[str(unit["id"])] = unit
    for person in unit.get("people") or []:
        unit_file.people[str(person["id"])] = (person, str(unit["id"]))
    for sub in unit.get("units") or []:
        _index_unit(unit_file, sub)


def effective_unit(entry: Mapping[str, Any], listed_under: str) -> str:
    return str(entry.get("unit") or listed_under)


def descendants(unit: Mapping[str, Any]) -> set[str]:
    found = {str(unit["id"])}
    for sub in unit.get("units") or []:
        found |= descendants(sub)
    return found


def other_ids(unit_file: UnitFile) -> dict[str, str]:
    """Ids used by the inventory's other files (ids are unique across files) -> file name."""
    ids: dict[str, str] = {}
    for path in directory_files(unit_file.inventory):
        if path.resolve() == unit_file.path.resolve():
            continue
        for found in re.findall(r"^\s*-?\s*id:\s*['\"]?([^'\"\s#]+)", path.read_text(encoding="utf-8"), re.MULTILINE):
            ids.setdefault(found, path.name)
    return ids


def ledger_owners(inventory: Path) -> set[str]:
    """Every owner id the ledger has ever recorded: a removed person's id is never given again."""
    ledger = ledger_path(inventory)
    if not ledger.is_file():
        return set()
    try:
        return {entry.owner for entry in parse_ledger(ledger.read_text(encoding="utf-8"), str(ledger)).values()}
    except LedgerError as exc:
        raise RosterError(str(exc)) from exc


# ---------------------------------------------------------------- rows
@dataclass
class RosterPerson:
    row: int
    fields: dict[str, Any]  # only the fields the roster gives (blank cells are absent)
    recased: list[tuple[str, str]] = field(default_factory=list)  # names typed in capitals: (typed, stored)


@dataclass
class BadRow:
    row: int
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason}"


@dataclass
class RowReader:
    columns: Columns
    unit_file: UnitFile
    default_unit: str
    default_date: dt.date | None
    unit_names: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for unit_id, unit in self.unit_file.units.items():
            for key in {_name_key(str(unit.get("name", ""))), _name_key(unit_id)}:
                self.unit_names.setdefault(key, []).append(unit_id)

    def cell(self, row: Sequence[object], name: str) -> object:
        index = self.columns.fields.get(name)
        if index is None or index >= len(row):
            return None
        value = row[index]
        return None if isinstance(value, str) and not clean_spaces(value) else value

    def label(self, name: str) -> str:
        return self.columns.labels.get(name, name)

    def read(self, number: int, row: Sequence[object]) -> RosterPerson | BadRow | None:
        if all(not clean_spaces(cell_text(v)) for v in row):
            return None  # blank line between blocks
        recased: list[tuple[str, str]] = []
        try:
            return RosterPerson(number, self._fields(row, recased), recased)
        except ValueError as exc:
            return BadRow(number, str(exc))

    def _fields(self, row: Sequence[object], recased: list[tuple[str, str]]) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        name, given = self._name(row, recased)
        fields["name"] = name
        if given and len(given.split(" ")) > 1:
            fields["given_name"] = given  # one-word given names follow from the name itself
        if (position := self.cell(row, "position")) is not None:
            fields["position"] = self._text(position, "position")
        fields["unit"] = self._unit(self.cell(row, "unit"))
        requested = self.cell(row, "requested_on")
        if requested is not None:
            fields["requested_on"] = self._date(requested)
        elif self.default_date:
            fields["requested_on_default"] = self.default_date
        if (state := self.cell(row, "state")) is not None:
            fields["state"] = self._state(state)
        if (person_id := self.cell(row, "id")) is not None:
            fields["id"] = self._id(person_id)
        return fields

    def _text(self, value: object, what: str) -> str:
        raw = cell_text(value)
        hidden = invisible_characters(raw)
        if hidden:
            raise ValueError(
                f"{self.label(what)} {raw!r} contains invisible character(s) {', '.join(hidden)}; retype it"
            )
        text = clean_spaces(raw)
        if detect_legacy_encoding(text):
            raise ValueError(
                f"{self.label(what)} {text!r} still reads as legacy TCVN3/VNI text after conversion; "
                "retype it in Unicode or pass --encoding tcvn3|vni"
            )
        return text

    def _name(self, row: Sequence[object], recased: list[tuple[str, str]]) -> tuple[str, str | None]:
        given_cell = self.cell(row, "given_name")
        given = self._name_text(given_cell, "given_name", recased) if given_cell is not None else None
        if "name" in self.columns.fields:
            full_cell = self.cell(row, "name")
            if full_cell is None:
                raise ValueError(f"the full name ('{self.label('name')}') is empty")
            name = self._name_text(full_cell, "name", recased)
        else:
            head = self.cell(row, "family_and_middle")
            if head is None or given is None:
                raise ValueError(
                    f"'{self.label('family_and_middle')}' and '{self.label('given_name')}' must both be filled in"
                )
            name = f"{self._name_text(head, 'family_and_middle', recased)} {given}"
        if not _PERSON_NAME.match(name):
            raise ValueError(f"the name {name!r} holds characters that are not letters; write only the name")
        if len(name.split(" ")) < 2:
            raise ValueError(
                f"the name {name!r} is a single word; write the full name (family, middle and given names)"
            )
        try:
            person_base(name, given)
        except NamingError as exc:
            raise ValueError(str(exc)) from exc
        return name, given

    def _name_text(self, value: object, what: str, recased: list[tuple[str, str]]) -> str:
        """A name cell as the directory keeps it: a name typed in capitals in its written form."""
        typed = self._text(value, what)
        name = written_case(typed)
        if name != typed:
            recased.append((typed, name))
        return name

    def _unit(self, value: object) -> str:
        if value is None:
            return self.default_unit
        wanted = self._text(value, "unit")
        matches = self.unit_names.get(_name_key(wanted), [])
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise ValueError(
                f"{self.label('unit')} {wanted!r} names several units ({', '.join(matches)}); write the unit's id"
            )
        known = ", ".join(str(u.get("name")) for u in self.unit_file.units.values())
        raise ValueError(
            f"{self.label('unit')} {wanted!r} is not a unit of {self.unit_file.path.name}; the units are: {known}"
        )

    def _date(self, value: object) -> dt.date:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        text = clean_spaces(cell_text(value))
        for fmt in DATE_FORMATS:
            try:
                return dt.datetime.strptime(text, fmt).date()
            except ValueError:
                continue
        raise ValueError(
            f"{self.label('requested_on')} {text!r} is not a date; write it as dd/mm/yyyy (e.g. 20/12/2024)"
        )

    def _state(self, value: object) -> str:
        text = self._text(value, "state")
        state = STATE_WORDS.get(" ".join(fold_words(text)))
        if state is None:
            raise ValueError(
                f"{self.label('state')} {text!r} is not a state; write 'Đang công tác' (present), "
                "'Tạm khóa' (disabled) or 'Nghỉ việc' (absent)"
            )
        return state

    def _id(self, value: object) -> str:
        written = clean_spaces(cell_text(value))
        if not _ID.match(written.lower()):
            raise ValueError(f"{self.label('id')} {written!r} may only hold letters a-z, digits 0-9, '.', '_' and '-'")
        return written.lower()  # ids are lower case in the directory


def _name_key(text: str) -> str:
    return " ".join(fold_words(text))


# ---------------------------------------------------------------- merging into the file
@dataclass
class Outcome:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    marked_absent: list[str] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)
    new_ids: list[str] = field(default_factory=list)
    dates_kept: list[str] = field(default_factory=list)  # a roster's other request date for someone in the file
    recased: list[str] = field(default_factory=list)  # names typed in capitals


class Importer:
    def __init__(self, unit_file: UnitFile, scope_unit: str, mark_missing_absent: bool) -> None:
        self.unit_file = unit_file
        self.scope = descendants(unit_file.units[scope_unit])
        self.mark_missing_absent = mark_missing_absent
        self.elsewhere = other_ids(unit_file)
        self.taken = (
            set(unit_file.people) | set(unit_file.units) | set(self.elsewhere) | ledger_owners(unit_file.inventory)
        )
        self.outcome = Outcome()
        self.seen: set[str] = set()

    # -- matching
    def match(self, people: list[RosterPerson]) -> list[tuple[RosterPerson, str | None]]:
        """Pair each row with the id of the person it describes (None: a new person)."""
        roster_names = Counter(_name_key(p.fields["name"]) for p in people if "id" not in p.fields)
        file_names: dict[str, list[str]] = {}
        for person_id, (entry, _) in self.unit_file.people.items():
            file_names.setdefault(_name_key(str(entry.get("name", ""))), []).append(person_id)
        paired: list[tuple[RosterPerson, str | None]] = []
        ids_in_roster: dict[str, int] = {}
        for person in people:
            if "id" in person.fields:
                pid = person.fields["id"]
                if pid in ids_in_roster:
                    self.outcome.bad.append(BadRow(person.row, f"id '{pid}' is also on row {ids_in_roster[pid]}"))
                    continue
                ids_in_roster[pid] = person.row
                if pid in self.elsewhere:
                    self.outcome.bad.append(
                        BadRow(
                            person.row, f"id '{pid}' belongs to someone in {self.elsewhere[pid]}; ids are never shared"
                        )
                    )
                    continue
                if pid in self.unit_file.units:
                    self.outcome.bad.append(BadRow(person.row, f"id '{pid}' is the id of a unit"))
                    continue
                paired.append((person, pid if pid in self.unit_file.people else None))
                continue
            key = _name_key(person.fields["name"])
            existing = file_names.get(key, [])
            if existing and (len(existing) > 1 or roster_names[key] > 1):
                self.outcome.bad.append(
                    BadRow(
                        person.row,
                        f"{person.fields['name']!r} appears {roster_names[key]} time(s) in the roster and "
                        f"{len(existing)} time(s) in the file ({', '.join(existing)}); add a 'Mã cán bộ' column "
                        "with the ids so each row is matched to the right person",
                    )
                )
                continue
            paired.append((person, existing[0] if existing else None))
        return paired

    # -- changes
    def apply(self, paired: list[tuple[RosterPerson, str | None]]) -> None:
        for person, existing_id in paired:
            if existing_id is None:
                self._add(person)
            else:
                self._update(person, existing_id)
        # A refused row may be one of the people who look missing: marking them
        # absent would retire the address of someone who is still there.
        self._missing(mark_absent=self.mark_missing_absent and not self.outcome.bad)

    def _add(self, person: RosterPerson) -> None:
        fields = person.fields
        if fields.get("state") == "absent":
            self.outcome.skipped.append(f"row {person.row}: {fields['name']} is not in the file and is marked absent")
            return
        requested = fields.get("requested_on") or fields.get("requested_on_default")
        if requested is None:
            self.outcome.bad.append(
                BadRow(person.row, "no request date; fill in 'Ngày đề nghị' or pass --requested-on YYYY-MM-DD")
            )
            return
        person_id = fields.get("id") or self._next_id()
        self.taken.add(person_id)
        entry = CommentedMap()
        values = {**fields, "id": person_id, "requested_on": requested, "state": fields.get("state", "present")}
        for key in PERSON_KEY_ORDER:
            if key == "unit" and values["unit"] == self.unit_file.data["id"]:
                continue  # people listed under the file's unit belong to it by default
            if values.get(key) is not None:
                entry[key] = values[key]
        top = self.unit_file.data
        if not isinstance(top.get("people"), list):
            top["people"] = CommentedSeq()
        top["people"].append(entry)
        self.unit_file.people[person_id] = (entry, str(top["id"]))
        self.seen.add(person_id)
        self.outcome.new_ids.append(person_id)
        self.outcome.added.append(f"{person_id}  {values['name']}  ({self._unit_name(values['unit'])})")

    def _next_id(self) -> str:
        prefix = f"{self.unit_file.data['id']}-"
        numbers = [int(i[len(prefix) :]) for i in self.taken if i.startswith(prefix) and i[len(prefix) :].isdigit()]
        return f"{prefix}{max(numbers, default=0) + 1:04d}"

    def _update(self, person: RosterPerson, person_id: str) -> None:
        entry, listed_under = self.unit_file.people[person_id]
        self.seen.add(person_id)
        changes = []
        for key in UPDATABLE:
            if key not in person.fields:
                continue
            new = person.fields[key]
            old = effective_unit(entry, listed_under) if key == "unit" else entry.get(key, DEFAULTS.get(key))
            if _same(old, new):
                continue
            changes.append(f"{key}: {_show(old)} -> {_show(new)}")
            if key == "unit":
                self._set_unit(entry, listed_under, new)
            else:
                _set_in_order(entry, key, new)
        changes.extend(self._request_date(person, person_id, entry))
        if changes:
            self.outcome.updated.append(f"{person_id}  {entry['name']}: " + "; ".join(changes))
        else:
            self.outcome.unchanged += 1

    def _request_date(self, person: RosterPerson, person_id: str, entry: CommentedMap) -> list[str]:
        """Keep the request date of someone in the file (Điều 3.4); fill it in only where there is none."""
        new = person.fields.get("requested_on")
        old = entry.get("requested_on")
        if new is None or _same(old, new):
            return []
        if old is None:  # the file lacks it (the validator refuses that): the roster's date is the first one
            _set_in_order(entry, "requested_on", new)
            return [f"requested_on: {_show(old)} -> {_show(new)}"]
        self.outcome.dates_kept.append(
            f"{person_id}  {entry['name']}: requested_on stays {_show(old)} (the roster says {_show(new)})"
        )
        return []

    @staticmethod
    def _set_unit(entry: CommentedMap, listed_under: str, unit_id: str) -> None:
        if unit_id == listed_under:
            entry.pop("unit", None)
        else:
            _set_in_order(entry, "unit", unit_id)

    def _missing(self, mark_absent: bool) -> None:
        for person_id, (entry, listed_under) in self.unit_file.people.items():
            if person_id in self.seen or entry.get("state") == "absent":
                continue
            if effective_unit(entry, listed_under) not in self.scope:
                continue
            line = f"{person_id}  {entry.get('name')}"
            if mark_absent:
                _set_in_order(entry, "state", "absent")
                self.outcome.marked_absent.append(line)
            else:
                self.outcome.missing.append(line)

    def _unit_name(self, unit_id: str) -> str:
        return str(self.unit_file.units[unit_id].get("name", unit_id))


def _same(old: object, new: object) -> bool:
    if isinstance(old, dt.date) or isinstance(new, dt.date):
        return str(old) == str(new)
    return clean_spaces(str(old)) == clean_spaces(str(new)) if old is not None else new is None


def _show(value: object) -> str:
    return "(none)" if value is None else repr(str(value))


def _set_in_order(entry: CommentedMap, key: str, value: object) -> None:
    """Set ``key``, inserting a new key where PERSON_KEY_ORDER puts it, so files stay uniform."""
    if key in entry:
        entry[key] = value
        return
    rank = PERSON_KEY_ORDER.index(key) if key in PERSON_KEY_ORDER else len(PERSON_KEY_ORDER)
    position = sum(1 for k in entry if k in PERSON_KEY_ORDER and PERSON_KEY_ORDER.index(k) < rank)
    entry.insert(position, key, value)


# ---------------------------------------------------------------- validation and addresses
def render(unit_file: UnitFile) -> str:
    buffer = io.StringIO()
    unit_file.yaml.explicit_start = unit_file.explicit_start
    unit_file.yaml.dump(unit_file.data, buffer)
    return buffer.getvalue()


def validate_and_preview(unit_file: UnitFile, new_text: str, new_ids: Sequence[str]) -> list[str]:
    """Validate the inventory with the new file; the addresses the new people would get."""
    files = read_directory(unit_file.inventory)
    files[shown_path(unit_file.path)] = new_text
    ledger_text, ledger_file = read_ledger(unit_file.inventory)
    policy = load_policy(REPO, unit_file.inventory)
    result = plan(files, ledger_text, ledger_file, policy, dt.date.today())
    wanted = set(new_ids)
    return [f"{c.address}  {c.owner}" for c in result.allocation.changes if c.owner in wanted and c.action == "added"]


# ---------------------------------------------------------------- the command
def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Import a CSV/XLSX staff roster into a unit's directory file (docs/huong-dan-van-hanh.md).",
    )
    parser.add_argument("roster", type=Path, help="the roster: .csv or .xlsx")
    parser.add_argument(
        "--into", type=Path, required=True, help="the directory file, e.g. inventories/production/directory/sotttt.yml"
    )
    parser.add_argument(
        "--unit",
        help="unit id for rows without 'Phòng ban' (default: the file's unit); only its people can be missing",
    )
    parser.add_argument(
        "--encoding", choices=ENCODINGS, default="auto", help="text encoding of the roster's names (default: detect)"
    )
    parser.add_argument("--sheet", help="the XLSX sheet to read (default: the first)")
    parser.add_argument(
        "--requested-on", type=dt.date.fromisoformat, help="request date (YYYY-MM-DD) for rows without 'Ngày đề nghị'"
    )
    parser.add_argument(
        "--mark-missing-absent", action="store_true", help="mark people of the file missing from the roster as absent"
    )
    parser.add_argument("--skip-bad-rows", action="store_true", help="import the good rows even when some rows are bad")
    parser.add_argument("--dry-run", action="store_true", help="show what would change; write nothing")
    return parser.parse_args(argv)


def run(args: argparse.Namespace, out: Any) -> int:
    unit_file = load_unit_file(args.into)
    scope = args.unit or str(unit_file.data["id"])
    if scope not in unit_file.units:
        raise RosterError(f"--unit {scope!r} is not a unit of {args.into}; the units are: {', '.join(unit_file.units)}")
    table = read_table(args.roster, args.sheet)
    encoding = choose_encoding(table, args.encoding)
    decode_table(table, encoding, forced=args.encoding != "auto")
    columns = map_columns(table)
    reader = RowReader(columns, unit_file, scope, args.requested_on)
    rows = [reader.read(n, row) for n, row in table.rows if n > columns.header_row]
    people = [r for r in rows if isinstance(r, RosterPerson)]
    importer = Importer(unit_file, scope, args.mark_missing_absent)
    importer.outcome.bad.extend(r for r in rows if isinstance(r, BadRow))
    importer.apply(importer.match(people))
    outcome = importer.outcome
    outcome.bad.sort(key=lambda b: b.row)
    refused = {b.row for b in outcome.bad}
    outcome.recased = [
        f"row {p.row}: {typed!r} -> {stored!r}" for p in people if p.row not in refused for typed, stored in p.recased
    ]
    _print_header(out, args, table, encoding, columns, rows=len(people) + sum(isinstance(r, BadRow) for r in rows))
    if outcome.bad and not args.skip_bad_rows:
        _print_bad(out, args.roster, outcome.bad)
        print(
            f"nothing imported: {len(outcome.bad)} bad row(s). Fix them in the roster, "
            "or pass --skip-bad-rows to import the other rows.",
            file=out,
        )
        return 1
    new_text = render(unit_file)
    try:
        addresses = validate_and_preview(unit_file, new_text, outcome.new_ids)
    except (DirectoryError, LedgerError, PolicyError) as exc:
        print(f"nothing imported: the inventory would not be valid with this roster:\n{exc}", file=out)
        return 1
    _print_outcome(out, args.roster, outcome, addresses, args.mark_missing_absent)
    changed = new_text != args.into.read_text(encoding="utf-8")
    if args.dry_run:
        print("dry run: nothing written", file=out)
    elif changed:
        tmp = args.into.with_name(args.into.name + ".tmp")
        tmp.write_text(new_text, encoding="utf-8")
        tmp.replace(args.into)
        print(f"written: {args.into}; next: make addresses INVENTORY={unit_file.inventory}", file=out)
    else:
        print(f"{args.into} already matches the roster", file=out)
    return 0


def _print_header(
    out: Any, args: argparse.Namespace, table: Table, encoding: str, columns: Columns, *, rows: int
) -> None:
    how = "forced" if args.encoding != "auto" else "detected"
    converted = "" if encoding == "unicode" else " -> Unicode"
    print(
        f"roster: {args.roster} ({table.kind}, {rows} row(s), text {how} as {ENCODING_LABELS[encoding]}{converted})",
        file=out,
    )
    mapped = ", ".join(
        f"{label} -> {f}" for f, label in sorted(columns.labels.items(), key=lambda kv: columns.fields[kv[0]])
    )
    print(f"columns (header on row {columns.header_row}): {mapped}", file=out)
    if columns.unmapped:
        print(f"columns not used: {', '.join(columns.unmapped)}", file=out)


def _print_bad(out: Any, roster: Path, bad: Sequence[BadRow]) -> None:
    print(f"bad rows: {len(bad)}", file=out)
    for row in bad:
        print(f"  {roster.name} {row}", file=out)


def _print_outcome(
    out: Any, roster: Path, outcome: Outcome, addresses: Sequence[str], mark_missing_absent: bool
) -> None:
    if outcome.bad:
        _print_bad(out, roster, outcome.bad)
        print("  (skipped: --skip-bad-rows)", file=out)
    sections = (
        ("added", outcome.added),
        ("updated", outcome.updated),
        ("names typed in capitals, stored in their written form", outcome.recased),
        (
            "request dates kept: the first request decided the address (Điều 3.4); a roster never changes it",
            outcome.dates_kept,
        ),
        ("skipped", outcome.skipped),
        ("marked absent (missing from the roster)", outcome.marked_absent),
        ("missing from the roster, kept (pass --mark-missing-absent to mark them absent)", outcome.missing),
    )
    if outcome.missing and outcome.bad and mark_missing_absent:
        print("nobody marked absent: the roster has bad rows, and a refused row may be one of them", file=out)
    for title, lines in sections:
        if lines:
            print(f"{title}: {len(lines)}", file=out)
            for line in lines:
                print(f"  {line}", file=out)
    print(f"unchanged: {outcome.unchanged}", file=out)
    if addresses:
        print("addresses the new people will get at the next `make addresses`:", file=out)
        for line in addresses:
            print(f"  {line}", file=out)


def main(argv: Sequence[str] | None = None, out: Any = None) -> int:
    args = parse_args(argv)
    stream = out or sys.stdout
    try:
        return run(args, stream)
    except RosterError as exc:
        print(f"error: {exc}", file=stream)
        return 2


if __name__ == "__main__":
    sys.exit(main())
