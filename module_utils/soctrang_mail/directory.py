"""Reading and validating the organisation directory (``inventories/<env>/directory/*.yml``).

Every problem in every file is collected before anything else happens, and each
names the file, the entry (its ``id``, or its position when it has none) and
what to do, because the people who read them are operators, not developers.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import yaml

from .naming import LOCAL_PART, KindRule, NamingError, size_to_bytes
from .text import clean_spaces, decode_legacy, detect_legacy_encoding, invisible_characters

try:  # libyaml makes a 20,000-person directory load in a fraction of the time
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader

UNIT_FIELDS = (
    "id",
    "name",
    "kind",
    "code",
    "gso_code",
    "state",
    "merged_into",
    "managers",
    "managers_send_as",
    "note",
    "units",
    "people",
)
PERSON_FIELDS = (
    "id",
    "name",
    "given_name",
    "position",
    "unit",
    "requested_on",
    "state",
    "address",
    "quota",
    "aliases",
    "note",
)
PERSON_STATES = ("present", "disabled", "absent")
UNIT_STATES = ("present", "merged", "absent")
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
# Letters of any script, spaces and the punctuation Vietnamese names use; digits
# and the punctuation of official unit names are allowed for units only.
_PERSON_NAME = re.compile(r"^[^\W\d_]+(?:[ '\-][^\W\d_]+)*$")
_UNIT_NAME = re.compile(r"^[\w ,.'()&/+\-\u2013]+$")  # \u2013: the en dash of official names
_MAX_QUOTA = 100 * 2**30


@dataclass(frozen=True)
class Problem:
    file: str
    entry: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.entry}: {self.message}"


class DirectoryError(ValueError):
    """The directory cannot be used; ``problems`` says every reason."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(
            f"the organisation directory has {len(self.problems)} problem(s); nothing was changed:\n{lines}"
        )


@dataclass
class Unit:
    id: str
    name: str
    kind: str
    file: str
    parent: str | None
    code: str | None = None
    gso_code: str | None = None
    state: str = "present"
    merged_into: str | None = None
    managers: list[str] = field(default_factory=list)
    managers_send_as: bool = False
    local_part: str = ""  # filled in by the address rules


@dataclass
class Person:
    id: str
    name: str
    file: str
    unit: str
    requested_on: dt.date
    state: str = "present"
    given_name: str | None = None
    position: str = ""
    address: str | None = None
    quota_bytes: int | None = None
    aliases: list[str] = field(default_factory=list)


@dataclass
class Directory:
    units: dict[str, Unit]
    people: dict[str, Person]


def parse_yaml(text: str, file: str, problems: list[Problem]) -> object:
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is CSafeLoader or SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        reason = getattr(exc, "problem", None) or str(exc)
        problems.append(Problem(file, where, f"is not valid YAML ({reason}); fix the indentation or quoting there"))
        return None


class _Reader:
    """Walks the parsed files, turning what it finds into Units and People."""

    def __init__(self, rules: Mapping[str, KindRule], reserved: Iterable[str], domain: str) -> None:
        self.rules = rules
        self.reserved = frozenset(reserved)
        self.domain = domain
        self.problems: list[Problem] = []
        self.units: dict[str, Unit] = {}
        self.people: dict[str, Person] = {}
        self.first_seen: dict[str, str] = {}  # id -> file, for duplicate messages

    def problem(self, file: str, entry: str, message: str) -> None:
        self.problems.append(Problem(file, entry, message))

    # ---------------------------------------------------------------- helpers
    def _unknown_fields(self, data: Mapping[str, object], allowed: Sequence[str], file: str, entry: str) -> None:
        for key in data:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else f"; the fields are: {', '.join(allowed)}"
                self.problem(file, entry, f"unknown field '{key}'{hint}")

    def _claim_id(self, raw: object, file: str, position: str) -> str | None:
        if raw is None or raw == "":
            self.problem(file, position, "has no 'id'; give it a stable id that is never reused (e.g. 'stttt-0042')")
            return None
        if not isinstance(raw, str):
            self.problem(file, position, f"id {raw!r} must be text; write it in quotes so leading zeros survive")
            return None
        if not _ID.match(raw):
            self.problem(
                file, position, f"id '{raw}' may only hold a-z, 0-9, '.', '_' and '-', starting with a letter or digit"
            )
            return None
        if raw in self.first_seen:
            self.problem(
                file, f"id '{raw}'", f"is used twice (also in {self.first_seen[raw]}); ids are unique across all files"
            )
            return None
        self.first_seen[raw] = file
        return raw

    def _text_problems(self, value: str, file: str, entry: str, what: str) -> bool:
        """Report invisible characters and legacy encodings; True when there was one."""
        hidden = invisible_characters(value)
        if hidden:
            self.problem(
                file, entry, f"{what} {value!r} contains invisible character(s) {', '.join(hidden)}; retype it"
            )
        encoding = detect_legacy_encoding(value)
        if encoding:
            fixed = decode_legacy(value, encoding)
            label = "TCVN3 (ABC)" if encoding == "tcvn3" else "VNI"
            self.problem(
                file,
                entry,
                f"{what} {value!r} looks like legacy {label} text, not Unicode (TCVN 6909, Điều 5.2); "
                f"did you mean {fixed!r}? Retype it or import the roster with tools/import_roster.py",
            )
        return bool(hidden or encoding)

    def _name(self, raw: object, file: str, entry: str, pattern: re.Pattern[str], what: str) -> str | None:
        if not isinstance(raw, str) or not raw.strip():
            self.problem(file, entry, f"has no {what}; write it in full, in Vietnamese with diacritics")
            return None
        if self._text_problems(raw, file, entry, what):
            return None
        name = clean_spaces(raw)
        if not pattern.match(name):
            self.problem(file, entry, f"{what} {raw!r} holds characters that are not letters; write only the name")
            return None
        return name

    def _local_part(self, raw: object, file: str, entry: str, what: str) -> str | None:
        if not isinstance(raw, str):
            self.problem(file, entry, f"{what} {raw!r} must be text such as 'dcnguyen'")
            return None
        value = raw.strip().lower()
        if "@" in value:
            local, _, domain = value.partition("@")
            if domain != self.domain:
                self.problem(
                    file, entry, f"{what} '{raw}' is outside the mail domain {self.domain}; only local parts here"
                )
                return None
            value = local
        if not LOCAL_PART.match(value):
            self.problem(
                file, entry, f"{what} '{raw}' breaks the address syntax: lowercase a-z and 0-9, labels joined by '.'"
            )
            return None
        return value

    # ---------------------------------------------------------------- units
    def read_unit(self, data: object, file: str, parent: Unit | None, position: str) -> None:
        if not isinstance(data, Mapping):
            self.problem(file, position, "must be a mapping with id, name, kind (see docs/contracts.md)")
            return
        unit_id = self._claim_id(data.get("id"), file, position)
        entry = f"unit '{unit_id}'" if unit_id else position
        self._unknown_fields(data, UNIT_FIELDS, file, entry)
        name = self._name(data.get("name"), file, entry, _UNIT_NAME, "unit name")
        kind = data.get("kind")
        rule = self.rules.get(str(kind)) if kind is not None else None
        if rule is None:
            kinds = ", ".join(sorted(self.rules))
            self.problem(
                file, entry, f"kind {kind!r} is not in the naming table (group_vars/all/address_rules.yml): {kinds}"
            )
        elif rule.top_level_only and parent is not None:
            self.problem(file, entry, f"kind '{kind}' is only for top-level files, not nested units")
        code = self._unit_code(data, file, entry, str(kind))
        state, merged_into = self._unit_state(data, file, entry)
        managers = self._id_list(data.get("managers"), file, entry, "managers")
        send_as = data.get("managers_send_as", False)
        if not isinstance(send_as, bool):
            self.problem(file, entry, f"managers_send_as {send_as!r} must be true or false")
        gso = data.get("gso_code")
        unit = None
        if unit_id and name and rule is not None:
            unit = Unit(
                id=unit_id,
                name=name,
                kind=str(kind),
                file=file,
                parent=parent.id if parent else None,
                code=code,
                gso_code=str(gso) if gso is not None else None,
                state=str(state),
                merged_into=str(merged_into) if merged_into else None,
                managers=managers,
                managers_send_as=bool(send_as),
            )
            self.units[unit_id] = unit
        for i, sub in enumerate(self._list(data.get("units"), file, entry, "units")):
            self.read_unit(sub, file, unit, f"{entry}, units[{i}]")
        for i, person in enumerate(self._list(data.get("people"), file, entry, "people")):
            self.read_person(person, file, unit, f"{entry}, people[{i}]")

    def _unit_code(self, data: Mapping[str, object], file: str, entry: str, kind: str) -> str | None:
        if data.get("code") is None:
            if kind == "system":
                self.problem(file, entry, "a unit of kind 'system' needs an explicit 'code' (e.g. postmaster)")
            return None
        code = self._local_part(data.get("code"), file, entry, "code")
        if code and code in self.reserved and kind != "system":
            self.problem(
                file, entry, f"code '{code}' is reserved (soctrang_reserved_local_parts); only kind 'system' may use it"
            )
        return code

    def _unit_state(self, data: Mapping[str, object], file: str, entry: str) -> tuple[object, object]:
        state = data.get("state", "present")
        if state not in UNIT_STATES:
            self.problem(file, entry, f"state {state!r} must be one of {', '.join(UNIT_STATES)}")
        merged_into = data.get("merged_into")
        if state == "merged" and not merged_into:
            self.problem(file, entry, "is merged but names no 'merged_into' unit; say which unit now receives its mail")
        if merged_into and state != "merged":
            self.problem(file, entry, "has 'merged_into' but its state is not 'merged'")
        return state, merged_into

    def _list(self, raw: object, file: str, entry: str, what: str) -> list[object]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.problem(file, entry, f"'{what}' must be a list (entries starting with '- ')")
            return []
        return raw

    def _id_list(self, raw: object, file: str, entry: str, what: str) -> list[str]:
        items = self._list(raw, file, entry, what)
        if not all(isinstance(i, str) for i in items):
            self.problem(file, entry, f"'{what}' must list ids as text")
            return []
        return [str(i) for i in items]

    # ---------------------------------------------------------------- people
    def read_person(self, data: object, file: str, unit: Unit | None, position: str) -> None:
        if not isinstance(data, Mapping):
            self.problem(file, position, "must be a mapping with id, name, requested_on")
            return
        person_id = self._claim_id(data.get("id"), file, position)
        entry = f"person '{person_id}'" if person_id else position
        self._unknown_fields(data, PERSON_FIELDS, file, entry)
        name = self._name(data.get("name"), file, entry, _PERSON_NAME, "name")
        given = data.get("given_name")
        if given is not None:
            given = self._name(given, file, entry, _PERSON_NAME, "given_name")
            if given and name and not name.casefold().endswith(" " + given.casefold()):
                self.problem(file, entry, f"given_name '{given}' must be the last word(s) of the name '{name}'")
        state = data.get("state", "present")
        if state not in PERSON_STATES:
            self.problem(file, entry, f"state {state!r} must be one of {', '.join(PERSON_STATES)}")
        requested_on = self._date(data.get("requested_on"), file, entry)
        position_title = data.get("position") or ""
        if not isinstance(position_title, str):
            self.problem(file, entry, f"position {position_title!r} must be text")
            position_title = ""
        elif position_title:
            self._text_problems(position_title, file, entry, "position")
        address = self._local_part(data["address"], file, entry, "address") if data.get("address") else None
        if address and address in self.reserved:
            self.problem(file, entry, f"address '{address}' is reserved for system use; choose another")
        quota = self._quota(data.get("quota"), file, entry)
        aliases = self._aliases(data.get("aliases"), file, entry)
        unit_ref = data.get("unit")
        unit_id = str(unit_ref) if unit_ref else (unit.id if unit else None)
        if unit_id is None:
            self.problem(file, entry, "belongs to no unit; put it under a unit's 'people' or give 'unit'")
        if person_id and name and requested_on and unit_id and state in PERSON_STATES:
            self.people[person_id] = Person(
                id=person_id,
                name=name,
                file=file,
                unit=unit_id,
                requested_on=requested_on,
                state=str(state),
                given_name=given or None,
                position=clean_spaces(position_title),
                address=address,
                quota_bytes=quota,
                aliases=aliases,
            )

    def _quota(self, raw: object, file: str, entry: str) -> int | None:
        if raw is None:
            return None
        try:
            quota = size_to_bytes(raw)
        except NamingError as exc:
            self.problem(file, entry, f"quota: {exc}")
            return None
        if quota > _MAX_QUOTA:
            self.problem(file, entry, f"quota {raw!r} is above 100GiB; is a unit missing (MiB/GiB)?")
        return quota

    def _aliases(self, raw: object, file: str, entry: str) -> list[str]:
        aliases = []
        for item in self._list(raw, file, entry, "aliases"):
            alias = self._local_part(item, file, entry, "alias")
            if alias and alias in self.reserved:
                self.problem(file, entry, f"alias '{alias}' is reserved for system use")
            elif alias:
                aliases.append(alias)
        return aliases

    def _date(self, raw: object, file: str, entry: str) -> dt.date | None:
        if isinstance(raw, dt.datetime):
            return raw.date()
        if isinstance(raw, dt.date):
            return raw
        if raw is None:
            self.problem(file, entry, "has no requested_on; give the date of the agency's request (YYYY-MM-DD)")
            return None
        text = str(raw).strip()
        for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
            try:
                return dt.datetime.strptime(text, fmt).date()
            except ValueError:
                continue
        self.problem(file, entry, f"requested_on {raw!r} is not a date; write YYYY-MM-DD (e.g. 2024-12-20)")
        return None

    # ---------------------------------------------------------------- references
    def check_references(self) -> None:
        for person in self.people.values():
            target = self.units.get(person.unit)
            if target is None:
                self.problem(
                    person.file, f"person '{person.id}'", f"unit '{person.unit}' is not a unit id in the directory"
                )
            elif target.state != "present" and person.state != "absent":
                self.problem(
                    person.file,
                    f"person '{person.id}'",
                    f"belongs to unit '{target.id}', which is {target.state}; move the person to a present unit",
                )
        for unit in self.units.values():
            for manager in unit.managers:
                if manager not in self.people and manager not in self.units:
                    self.problem(unit.file, f"unit '{unit.id}'", f"manager '{manager}' is not a person or unit id")
            if unit.merged_into:
                target = self.units.get(unit.merged_into)
                if target is None:
                    self.problem(unit.file, f"unit '{unit.id}'", f"merged_into '{unit.merged_into}' is not a unit id")
                elif target.id == unit.id:
                    self.problem(unit.file, f"unit '{unit.id}'", "is merged into itself")
        self._check_merge_cycles()

    def _check_merge_cycles(self) -> None:
        for unit in self.units.values():
            seen = {unit.id}
            current = unit
            while current.merged_into and current.merged_into in self.units:
                current = self.units[current.merged_into]
                if current.id in seen:
                    self.problem(unit.file, f"unit '{unit.id}'", "merged_into forms a loop; one unit must stay present")
                    break
                seen.add(current.id)


def load_directory(
    files: Mapping[str, str],
    rules: Mapping[str, KindRule],
    reserved: Iterable[str],
    domain: str,
) -> Directory:
    """Validate every file of the directory (path -> YAML text) and return its units and people."""
    reader = _Reader(rules, reserved, domain)
    for path in sorted(files):
        before = len(reader.problems)
        data = parse_yaml(files[path], path, reader.problems)
        if data is not None:
            reader.read_unit(data, path, None, "top-level unit")
        elif len(reader.problems) == before:
            reader.problem(path, "file", "is empty; remove it or describe one top-level unit")
    if not reader.problems:
        reader.check_references()
    if reader.problems:
        raise DirectoryError(reader.problems)
    return Directory(units=reader.units, people=reader.people)
