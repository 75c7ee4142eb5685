"""Finding, reading and validating the organisation directory (``inventories/<env>/directory/``).

Every problem in every file is collected before anything else happens, and each
names the file, the entry (its ``id``, or its position when it has none) and
what to do, because the people who read them are operators, not developers.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .naming import LOCAL_PART, KindRule, NamingError, size_to_bytes
from .text import clean_spaces, decode_legacy, detect_legacy_encoding, invisible_characters

try:  # libyaml makes a 20,000-person directory load in a fraction of the time
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader

_STR_TAG = "tag:yaml.org,2002:str"

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


# ---------------------------------------------------------------- the file set
# The one definition of which files make an inventory's organisation directory
# (docs/contracts.md, "The directory's file set"): every file ending in .yml or
# .yaml under <inventory>/directory/, in sub-folders too, leaving out hidden files
# and folders (editors' and git's), in the order of their paths. The lookup
# soctrang.mail.mail_state (every playbook) and every tool read exactly these.
DIRECTORY_FOLDER = "directory"
DIRECTORY_SUFFIXES = (".yml", ".yaml")


def directory_files(inventory: str | os.PathLike[str]) -> list[Path]:
    """The directory files of ``inventory`` (a folder); empty when it has no directory/ folder."""
    return directory_folder_files(Path(inventory) / DIRECTORY_FOLDER)


def directory_folder_files(folder: str | os.PathLike[str]) -> list[Path]:
    """The directory files in ``folder``, an inventory's directory/ (or a folder to become one)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [
        path
        for path in folder.rglob("*")
        if path.suffix in DIRECTORY_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
        and path.is_file()
    ]
    return sorted(found, key=lambda path: path.relative_to(folder).as_posix())


def shown_path(path: str | os.PathLike[str]) -> str:
    """How messages name a file: relative to the working directory when it is inside it."""
    absolute = Path(os.path.abspath(path))
    return str(absolute.relative_to(Path.cwd())) if absolute.is_relative_to(Path.cwd()) else str(absolute)


def read_directory(inventory: str | os.PathLike[str]) -> dict[str, str]:
    """Every directory file of ``inventory``: its name (``shown_path``) -> its text."""
    folder = Path(inventory) / DIRECTORY_FOLDER
    if not folder.is_dir():
        raise DirectoryError(
            [Problem(shown_path(folder), "folder", "is missing; an inventory keeps its organisation in directory/")]
        )
    return {shown_path(path): path.read_text(encoding="utf-8") for path in directory_files(inventory)}


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


class SafeLoader(_Loader):
    """The safe loader, with a value YAML cannot construct reported at its line, not as a traceback.

    PyYAML's own constructors raise ValueError, KeyError… for a value its resolver
    accepted (``2024-13-45`` matches the timestamp pattern; ``!!int x``).
    """

    def construct_object(self, node: yaml.Node, deep: bool = False) -> object:
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            written = node.value if isinstance(node, yaml.ScalarNode) else node.id
            kind = node.tag.rsplit(":", 1)[-1]
            raise yaml.constructor.ConstructorError(
                None, None, f"{written!r} cannot be read as {kind}: {exc}", node.start_mark
            ) from exc


class NotADate(str):
    """What was written where YAML saw a date that does not exist (``2024-13-45``); ``reason`` says why."""

    reason: str

    def __new__(cls, written: str, reason: str) -> NotADate:
        value = super().__new__(cls, written)
        value.reason = reason
        return value


class WrittenMapping(dict):
    """A mapping of a directory file; ``written`` keeps, for each value YAML typed on its own
    (a number, a date, true/false, null), the text as written and its line, for the messages."""

    def __init__(self) -> None:
        super().__init__()
        self.written: dict[object, tuple[str, int]] = {}


class WrittenList(list):
    """A list of a directory file, with ``written`` as for WrittenMapping (by index)."""

    def __init__(self) -> None:
        super().__init__()
        self.written: dict[object, tuple[str, int]] = {}


def _written_scalar(node: yaml.Node) -> tuple[str, int] | None:
    """The text and line of a scalar YAML resolved to something other than text."""
    if isinstance(node, yaml.ScalarNode) and node.tag != _STR_TAG:
        return node.value, node.start_mark.line + 1
    return None


class DirectoryLoader(SafeLoader):
    """Loads directory files so that every value YAML reads on its own reaches the validator.

    The validator names the entry and what to write; a date that does not exist is
    kept as the text written (NotADate) instead of ending the load.
    """

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> object:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:  # month 13, 30 February, hour 25
            return NotADate(node.value, str(exc))

    def construct_written_mapping(self, node: yaml.MappingNode) -> Iterable[WrittenMapping]:
        data = WrittenMapping()
        yield data
        data.update(self.construct_mapping(node))  # merges '<<' keys into node.value first
        for key_node, value_node in node.value:
            written = _written_scalar(value_node)
            key = self.construct_object(key_node) if written else None  # already constructed: cached
            if written and isinstance(key, Hashable):
                data.written[key] = written

    def construct_written_list(self, node: yaml.SequenceNode) -> Iterable[WrittenList]:
        data = WrittenList()
        yield data
        data.extend(self.construct_sequence(node))
        for index, item_node in enumerate(node.value):
            if written := _written_scalar(item_node):
                data.written[index] = written


DirectoryLoader.add_constructor("tag:yaml.org,2002:timestamp", DirectoryLoader.construct_yaml_timestamp)
DirectoryLoader.add_constructor("tag:yaml.org,2002:map", DirectoryLoader.construct_written_mapping)
DirectoryLoader.add_constructor("tag:yaml.org,2002:seq", DirectoryLoader.construct_written_list)


def parse_yaml(text: str, file: str, problems: list[Problem], loader: type = SafeLoader) -> object:
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - SafeLoader or DirectoryLoader, both safe
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        reason = getattr(exc, "problem", None) or str(exc)
        problems.append(Problem(file, where, f"is not valid YAML ({reason}); fix the indentation or quoting there"))
        return None


def _reading(raw: object) -> str:
    """What YAML made of a value written without quotes, in words."""
    if isinstance(raw, NotADate):
        return f"a date, and there is no such date ({raw.reason})"
    described: tuple[tuple[type | tuple[type, ...], str], ...] = (
        (bool, f"{str(raw).lower()} (a yes/no value)"),
        (type(None), "empty (null)"),
        ((int, float), f"the number {raw}"),
        (dt.datetime, f"the date and time {raw}"),
        (dt.date, f"the date {raw}"),
        (list, "a list"),
        (Mapping, "a mapping"),
    )
    return next((words for kinds, words in described if isinstance(raw, kinds)), f"a {type(raw).__name__}")


def _is_text(raw: object) -> bool:
    return isinstance(raw, str) and not isinstance(raw, NotADate)


def _written(container: object, key: object) -> tuple[str, int] | None:
    """The text and line of a value YAML typed on its own (see DirectoryLoader)."""
    written: Mapping[object, tuple[str, int]] = getattr(container, "written", {})
    return written.get(key)


def _shown(container: object, key: object, raw: object) -> str:
    """A value as the operator wrote it: text in quotes; otherwise also its line and what YAML read."""
    if _is_text(raw):
        return repr(raw)
    written = _written(container, key)
    if written is None:
        return f"{raw!r} (YAML reads it as {_reading(raw)})"
    text, line = written
    return f"'{text}' (line {line}: YAML reads it as {_reading(raw)})"


def _quoted(container: object, key: object) -> str:
    """How to write the value so YAML keeps it as text."""
    written = _written(container, key)
    if written is None:
        return "write it as text"
    text = written[0]
    quoted = f"'{text}'" if '"' in text else f'"{text}"'
    return f"write it in quotes: {key}: {quoted}" if isinstance(key, str) else f"write it in quotes: {quoted}"


def _empty_hint(container: object, key: object) -> str:
    written = _written(container, key)
    return f" ('{written[0]}' on line {written[1]} is YAML for empty)" if written else ""


@dataclass(frozen=True)
class _Reference:
    """What an entry says about another, kept even when the entry itself is invalid."""

    file: str
    entry: str
    source: str | None  # the id of the entry that refers, when it has a usable one
    target: str
    source_state: str | None = None  # a person's valid state


class _Reader:
    """Walks the parsed files, turning what it finds into Units and People.

    Every field of every entry is checked, whatever else is wrong with the entry,
    and references are recorded from every entry with a usable target, so that
    one run reports every problem. A reference to an id is judged unknown only
    when every entry of its kind could be read with its id; otherwise the
    missing id may be in the entry already reported.
    """

    def __init__(self, rules: Mapping[str, KindRule], reserved: Iterable[str], domain: str) -> None:
        self.rules = rules
        self.reserved = frozenset(reserved)
        self.domain = domain
        self.problems: list[Problem] = []
        self.units: dict[str, Unit] = {}
        self.people: dict[str, Person] = {}
        self.first_seen: dict[str, str] = {}  # id -> file, for duplicate messages
        self.unit_states: dict[str, str | None] = {}  # every unit id claimed -> its valid state
        self.unit_refs: list[_Reference] = []  # people -> the unit they belong to
        self.manager_refs: list[_Reference] = []
        self.merge_refs: list[_Reference] = []
        self.all_unit_ids_known = True
        self.all_person_ids_known = True

    def problem(self, file: str, entry: str, message: str) -> None:
        self.problems.append(Problem(file, entry, message))

    # ---------------------------------------------------------------- helpers
    def _unknown_fields(self, data: Mapping[str, object], allowed: Sequence[str], file: str, entry: str) -> None:
        for key in data:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else f"; the fields are: {', '.join(allowed)}"
                self.problem(file, entry, f"unknown field '{key}'{hint}")

    def _claim_id(self, data: Mapping[str, object], file: str, position: str) -> str | None:
        raw = data.get("id")
        if raw is None or raw == "":
            self.problem(
                file,
                position,
                f"has no 'id'{_empty_hint(data, 'id')}; give it a stable id that is never reused (e.g. 'stttt-0042')",
            )
            return None
        if not _is_text(raw):
            self.problem(file, position, f"id {_shown(data, 'id', raw)} must be text; {_quoted(data, 'id')}")
            return None
        if not _ID.match(str(raw)):
            self.problem(
                file, position, f"id '{raw}' may only hold a-z, 0-9, '.', '_' and '-', starting with a letter or digit"
            )
            return None
        if raw in self.first_seen:
            self.problem(
                file, f"id '{raw}'", f"is used twice (also in {self.first_seen[raw]}); ids are unique across all files"
            )
            return None
        self.first_seen[str(raw)] = file
        return str(raw)

    def _id_seen(self, data: Mapping[str, object]) -> bool:
        """True when the entry's id, refused as a duplicate, is known all the same."""
        raw = data.get("id")
        return _is_text(raw) and raw in self.first_seen

    def _not_text(self, data: Mapping[str, object], key: str, file: str, entry: str, what: str = "") -> bool:
        """Report a value YAML read as a number, date, true/false… where text belongs; True when there was one."""
        raw = data.get(key)
        if raw is None or _is_text(raw):
            return False
        self.problem(file, entry, f"{what or key} {_shown(data, key, raw)} must be text; {_quoted(data, key)}")
        return True

    def _choice(
        self, data: Mapping[str, object], key: str, choices: Sequence[str], file: str, entry: str
    ) -> str | None:
        raw = data.get(key, choices[0])
        if _is_text(raw) and raw in choices:
            return str(raw)
        self.problem(file, entry, f"{key} {_shown(data, key, raw)} must be one of {', '.join(choices)}")
        return None

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

    def _name(
        self, data: Mapping[str, object], key: str, file: str, entry: str, *, pattern: re.Pattern[str], what: str
    ) -> str | None:
        raw = data.get(key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            hint = _empty_hint(data, key)
            self.problem(file, entry, f"has no {what}{hint}; write it in full, in Vietnamese with diacritics")
            return None
        if self._not_text(data, key, file, entry, what):
            return None
        text = str(raw)
        if self._text_problems(text, file, entry, what):
            return None
        name = clean_spaces(text)
        if not pattern.match(name):
            self.problem(file, entry, f"{what} {text!r} holds characters that are not letters; write only the name")
            return None
        return name

    def _local_part(
        self, container: object, key: object, raw: object, file: str, entry: str, *, what: str
    ) -> str | None:
        if not _is_text(raw):
            self.problem(file, entry, f"{what} {_shown(container, key, raw)} must be text such as 'dcnguyen'")
            return None
        value = str(raw).strip().lower()
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
    def read_unit(self, data: object, file: str, parent: str | None, nested: bool, position: str) -> None:
        """``parent``: the id of the unit this one is listed under (None when it has no usable id)."""
        if not isinstance(data, Mapping):
            self.problem(file, position, "must be a mapping with id, name, kind (see docs/contracts.md)")
            self.all_unit_ids_known = False
            return
        unit_id = self._claim_id(data, file, position)
        if unit_id is None and not self._id_seen(data):
            self.all_unit_ids_known = False
        entry = f"unit '{unit_id}'" if unit_id else position
        self._unknown_fields(data, UNIT_FIELDS, file, entry)
        name = self._name(data, "name", file, entry, pattern=_UNIT_NAME, what="unit name")
        rule = self._unit_rule(data, file, entry, nested)
        code = self._unit_code(data, file, entry, str(data.get("kind")))
        state, merged_into = self._unit_state(data, file, entry)
        managers = self._id_list(data, "managers", file, entry)
        send_as = data.get("managers_send_as", False)
        if not isinstance(send_as, bool):
            shown = _shown(data, "managers_send_as", send_as)
            self.problem(file, entry, f"managers_send_as {shown} must be true or false")
        gso = None if self._not_text(data, "gso_code", file, entry) else data.get("gso_code")
        if unit_id:
            self.unit_states[unit_id] = state
        self.manager_refs.extend(_Reference(file, entry, unit_id, m) for m in managers)
        if merged_into:
            self.merge_refs.append(_Reference(file, entry, unit_id, merged_into))
        if unit_id and name and rule is not None and state:
            self.units[unit_id] = Unit(
                id=unit_id,
                name=name,
                kind=str(data["kind"]),
                file=file,
                parent=parent,
                code=code,
                gso_code=str(gso) if gso is not None else None,
                state=state,
                merged_into=merged_into,
                managers=managers,
                managers_send_as=bool(send_as),
            )
        for i, sub in enumerate(self._list(data, "units", file, entry)):
            self.read_unit(sub, file, unit_id, True, f"{entry}, units[{i}]")
        for i, person in enumerate(self._list(data, "people", file, entry)):
            self.read_person(person, file, unit_id, f"{entry}, people[{i}]")

    def _unit_rule(self, data: Mapping[str, object], file: str, entry: str, nested: bool) -> KindRule | None:
        if self._not_text(data, "kind", file, entry):
            return None
        kind = data.get("kind")
        rule = self.rules.get(str(kind)) if kind is not None else None
        if rule is None:
            kinds = ", ".join(sorted(self.rules))
            self.problem(
                file, entry, f"kind {kind!r} is not in the naming table (group_vars/all/address_rules.yml): {kinds}"
            )
        elif rule.top_level_only and nested:
            self.problem(file, entry, f"kind '{kind}' is only for top-level files, not nested units")
        return rule

    def _unit_code(self, data: Mapping[str, object], file: str, entry: str, kind: str) -> str | None:
        if data.get("code") is None:
            if kind == "system":
                self.problem(file, entry, "a unit of kind 'system' needs an explicit 'code' (e.g. postmaster)")
            return None
        code = self._local_part(data, "code", data.get("code"), file, entry, what="code")
        if code and code in self.reserved and kind != "system":
            self.problem(
                file, entry, f"code '{code}' is reserved (soctrang_reserved_local_parts); only kind 'system' may use it"
            )
        return code

    def _unit_state(self, data: Mapping[str, object], file: str, entry: str) -> tuple[str | None, str | None]:
        state = self._choice(data, "state", UNIT_STATES, file, entry)
        refused = self._not_text(data, "merged_into", file, entry)
        merged_into = None if refused else data.get("merged_into")
        if state == "merged" and not merged_into and not refused:
            self.problem(file, entry, "is merged but names no 'merged_into' unit; say which unit now receives its mail")
        if merged_into and state not in ("merged", None):
            self.problem(file, entry, "has 'merged_into' but its state is not 'merged'")
        return state, str(merged_into) if merged_into else None

    def _list(self, data: Mapping[str, object], key: str, file: str, entry: str) -> list[object]:
        raw = data.get(key)
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.problem(file, entry, f"'{key}' must be a list (entries starting with '- ')")
            # The entries in it, and their ids, are unknown.
            if key == "units":
                self.all_unit_ids_known = False
            elif key == "people":
                self.all_person_ids_known = False
            return []
        return raw

    def _id_list(self, data: Mapping[str, object], key: str, file: str, entry: str) -> list[str]:
        items = self._list(data, key, file, entry)
        wrong = [_shown(items, i, item) for i, item in enumerate(items) if not _is_text(item)]
        if wrong:
            self.problem(file, entry, f"'{key}' must list ids as text, not {', '.join(wrong)}; write them in quotes")
        return [str(i) for i in items if _is_text(i)]

    # ---------------------------------------------------------------- people
    def read_person(self, data: object, file: str, listed_under: str | None, position: str) -> None:
        """``listed_under``: the id of the unit whose 'people' list it is in (None when it has no usable id)."""
        if not isinstance(data, Mapping):
            self.problem(file, position, "must be a mapping with id, name, requested_on")
            self.all_person_ids_known = False
            return
        person_id = self._claim_id(data, file, position)
        if person_id is None and not self._id_seen(data):
            self.all_person_ids_known = False
        entry = f"person '{person_id}'" if person_id else position
        self._unknown_fields(data, PERSON_FIELDS, file, entry)
        name = self._name(data, "name", file, entry, pattern=_PERSON_NAME, what="name")
        given = None
        if data.get("given_name") is not None:
            given = self._name(data, "given_name", file, entry, pattern=_PERSON_NAME, what="given_name")
            if given and name and not name.casefold().endswith(" " + given.casefold()):
                self.problem(file, entry, f"given_name '{given}' must be the last word(s) of the name '{name}'")
        state = self._choice(data, "state", PERSON_STATES, file, entry)
        requested_on = self._date(data, file, entry)
        position_title = ""
        if not self._not_text(data, "position", file, entry):
            position_title = str(data.get("position") or "")
            if position_title:
                self._text_problems(position_title, file, entry, "position")
        address = None
        if data.get("address") not in (None, ""):
            address = self._local_part(data, "address", data["address"], file, entry, what="address")
        if address and address in self.reserved:
            self.problem(file, entry, f"address '{address}' is reserved for system use; choose another")
        quota = self._quota(data, file, entry)
        aliases = self._aliases(data, file, entry)
        unit_id = listed_under
        if data.get("unit") not in (None, ""):
            unit_id = None if self._not_text(data, "unit", file, entry) else str(data["unit"])
        if unit_id:
            self.unit_refs.append(_Reference(file, entry, person_id, unit_id, state))
        if person_id and name and requested_on and unit_id and state:
            self.people[person_id] = Person(
                id=person_id,
                name=name,
                file=file,
                unit=unit_id,
                requested_on=requested_on,
                state=state,
                given_name=given or None,
                position=clean_spaces(position_title),
                address=address,
                quota_bytes=quota,
                aliases=aliases,
            )

    def _quota(self, data: Mapping[str, object], file: str, entry: str) -> int | None:
        raw = data.get("quota")
        if raw is None:
            return None
        if not isinstance(raw, str | int) or isinstance(raw, bool | NotADate):
            self.problem(file, entry, f"quota {_shown(data, 'quota', raw)} is not a size such as 2GiB or 500MiB")
            return None
        try:
            quota = size_to_bytes(raw)
        except NamingError as exc:
            self.problem(file, entry, f"quota: {exc}")
            return None
        if quota > _MAX_QUOTA:
            self.problem(file, entry, f"quota {raw!r} is above 100GiB; is a unit missing (MiB/GiB)?")
        return quota

    def _aliases(self, data: Mapping[str, object], file: str, entry: str) -> list[str]:
        aliases = []
        items = self._list(data, "aliases", file, entry)
        for i, item in enumerate(items):
            alias = self._local_part(items, i, item, file, entry, what="alias")
            if alias and alias in self.reserved:
                self.problem(file, entry, f"alias '{alias}' is reserved for system use")
            elif alias:
                aliases.append(alias)
        return aliases

    def _date(self, data: Mapping[str, object], file: str, entry: str) -> dt.date | None:
        raw = data.get("requested_on")
        example = "write YYYY-MM-DD (e.g. 2024-12-20)"
        if isinstance(raw, NotADate):
            written = _written(data, "requested_on")
            where = f" (line {written[1]})" if written else ""
            self.problem(file, entry, f"requested_on '{raw}'{where} is not a date: {raw.reason}; {example}")
            return None
        if isinstance(raw, dt.datetime):
            self.problem(
                file,
                entry,
                f"requested_on {_shown(data, 'requested_on', raw)} has a time of day; a request has a date only: "
                f"requested_on: {raw.date().isoformat()}",
            )
            return None
        if isinstance(raw, dt.date):
            return raw
        if raw is None:
            hint = _empty_hint(data, "requested_on")
            self.problem(file, entry, f"has no requested_on{hint}; give the date of the agency's request (YYYY-MM-DD)")
            return None
        if isinstance(raw, str):
            text = raw.strip()
            for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
                try:
                    return dt.datetime.strptime(text, fmt).date()
                except ValueError:
                    continue
        self.problem(file, entry, f"requested_on {_shown(data, 'requested_on', raw)} is not a date; {example}")
        return None

    # ---------------------------------------------------------------- references
    def check_references(self) -> None:
        for ref in self.unit_refs:
            if ref.target not in self.unit_states:
                if self.all_unit_ids_known:
                    self.problem(ref.file, ref.entry, f"unit '{ref.target}' is not a unit id in the directory")
                continue
            target_state = self.unit_states[ref.target]
            if target_state in ("merged", "absent") and ref.source_state not in ("absent", None):
                self.problem(
                    ref.file,
                    ref.entry,
                    f"belongs to unit '{ref.target}', which is {target_state}; move the person to a present unit",
                )
        if self.all_unit_ids_known and self.all_person_ids_known:
            for ref in self.manager_refs:
                if ref.target not in self.first_seen:
                    self.problem(ref.file, ref.entry, f"manager '{ref.target}' is not a person or unit id")
        for ref in self.merge_refs:
            if ref.target == ref.source:
                self.problem(ref.file, ref.entry, "is merged into itself")
            elif ref.target not in self.unit_states and self.all_unit_ids_known:
                self.problem(ref.file, ref.entry, f"merged_into '{ref.target}' is not a unit id")
        self._check_merge_cycles()

    def _check_merge_cycles(self) -> None:
        merged_into = {ref.source: ref for ref in self.merge_refs if ref.source and ref.target != ref.source}
        for start, ref in merged_into.items():
            seen = {start}
            current = ref.target
            while current in merged_into:
                if current in seen:
                    self.problem(ref.file, ref.entry, "merged_into forms a loop; one unit must stay present")
                    break
                seen.add(current)
                current = merged_into[current].target


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
        data = parse_yaml(files[path], path, reader.problems, DirectoryLoader)
        if data is not None:
            reader.read_unit(data, path, None, False, "top-level unit")
        elif len(reader.problems) == before:
            reader.problem(path, "file", "is empty; remove it or describe one top-level unit")
        else:  # not YAML: its units and people, and their ids, are unknown
            reader.all_unit_ids_known = reader.all_person_ids_known = False
    reader.check_references()
    if reader.problems:
        raise DirectoryError(reader.problems)
    return Directory(units=reader.units, people=reader.people)
