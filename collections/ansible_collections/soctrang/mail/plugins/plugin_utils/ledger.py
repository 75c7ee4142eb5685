"""The address ledger: every address ever allocated, whose it is, and its state.

Why a committed ledger rather than deriving addresses afresh on each run: Điều
3.4 numbers clashes (dcnguyen, dcnguyen1, …) in the order people were asked
for, so an address depends on history, not only on today's directory. The
ledger records that history. Its rules:

- an address never moves to another owner; when its owner goes, it is
  ``retired`` and never handed out again;
- reordering files or entries changes nothing (allocation sorts by request date,
  rank and id, never by file order);
- a unit that is renamed gets its new address by the rules and keeps the old one
  as an ``alias``; a unit merged into another keeps its address as an alias of
  the unit it merged into, so no mail sent to it is lost.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from .directory import Directory, Person, Problem, Unit, parse_yaml, shown_path
from .naming import leadership_rank, person_base

# The ledger of an inventory: <inventory>/addresses.yml.
LEDGER_NAME = "addresses.yml"
# The state of an ADDRESS (not of an account: docs/contracts.md, "Account states"):
# active - the address of its owner's mailbox, whatever the mailbox's account state;
# alias - delivered to another address's mailbox; retired - refuses mail, never reused.
ENTRY_STATES = ("active", "alias", "retired")
ENTRY_KINDS = ("person", "unit", "system")
_PLAIN_SCALAR = re.compile(r"^[a-z][a-z0-9._@-]*$")  # never a number, date or bool
_YAML_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})


@dataclass(frozen=True)
class Entry:
    owner: str
    kind: str
    state: str
    assigned: str
    retired: str | None = None
    target: str | None = None  # whose mailbox an automatic alias delivers to


@dataclass(frozen=True)
class Change:
    action: str  # added | retired | aliased | reactivated
    address: str
    owner: str
    detail: str = ""

    def __str__(self) -> str:
        extra = f" ({self.detail})" if self.detail else ""
        return f"{self.action:<11} {self.address}  {self.owner}{extra}"


@dataclass
class Allocation:
    entries: dict[str, Entry]
    changes: list[Change] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


class LedgerError(ValueError):
    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"the address ledger has {len(self.problems)} problem(s):\n{lines}")


# ---------------------------------------------------------------- file format
_LEDGER_LINE = re.compile(r'^  ("?)([^"{}:]+)\1: \{(.*)\}$')
_LEDGER_FIELD = re.compile(r'^([a-z]+): ("(?:[^"\\]|\\.)*"|[^,"]*)$')


def _fast_ledger(text: str) -> dict[str, object] | None:
    """Read a ledger in the exact form render_ledger writes, ten times faster than YAML.

    Anything else (a hand edit, an older layout) returns None and is read as YAML.
    """
    rows: dict[str, object] = {}
    for line in text.splitlines():
        if not line or line.startswith("#") or line in ("---", "addresses:", "addresses: {}"):
            continue
        match = _LEDGER_LINE.match(line)
        if not match:
            return None
        fields: dict[str, str] = {}
        for part in match.group(3).split(", "):
            field_match = _LEDGER_FIELD.match(part)
            if not field_match:
                return None
            key, value = field_match.groups()
            fields[key] = json.loads(value) if value.startswith('"') else value
        rows[match.group(2)] = fields
    return {"addresses": rows}


def ledger_path(inventory: str | os.PathLike[str]) -> Path:
    return Path(inventory) / LEDGER_NAME


def read_ledger(inventory: str | os.PathLike[str]) -> tuple[str, str]:
    """The ledger's text ("" when the inventory has none yet) and its name in messages."""
    path = ledger_path(inventory)
    return (path.read_text(encoding="utf-8") if path.is_file() else ""), shown_path(path)


def parse_ledger(text: str, file: str) -> dict[str, Entry]:
    """Read ``addresses.yml``; an empty or missing ledger is an empty mapping."""
    problems: list[Problem] = []
    data = (_fast_ledger(text) or parse_yaml(text, file, problems)) if text.strip() else {}
    if problems:
        raise LedgerError(problems)
    if data is None:
        data = {}
    if not isinstance(data, Mapping) or not isinstance(data.get("addresses") or {}, Mapping):
        raise LedgerError(
            [Problem(file, "file", "must hold a mapping 'addresses:'; regenerate it with make addresses")]
        )
    entries: dict[str, Entry] = {}
    for address, raw in (data.get("addresses") or {}).items():
        entry = _entry(str(address), raw, file, problems)
        if entry:
            entries[str(address)] = entry
    problems.extend(consistency_problems(entries, file))
    if problems:
        raise LedgerError(problems)
    return entries


def _entry(address: str, raw: object, file: str, problems: list[Problem]) -> Entry | None:
    where = f"address '{address}'"
    if not isinstance(raw, Mapping):
        problems.append(Problem(file, where, "must map to owner, kind, state and assigned"))
        return None
    try:
        entry = Entry(
            owner=str(raw["owner"]),
            kind=str(raw["kind"]),
            state=str(raw["state"]),
            assigned=str(raw["assigned"]),
            retired=str(raw["retired"]) if raw.get("retired") else None,
            target=str(raw["target"]) if raw.get("target") else None,
        )
    except KeyError as missing:
        problems.append(Problem(file, where, f"lacks {missing}; the ledger was edited by hand — restore it from git"))
        return None
    if entry.state not in ENTRY_STATES:
        problems.append(Problem(file, where, f"state '{entry.state}' must be one of {', '.join(ENTRY_STATES)}"))
    if entry.kind not in ENTRY_KINDS:
        problems.append(Problem(file, where, f"kind '{entry.kind}' must be one of {', '.join(ENTRY_KINDS)}"))
    return entry


def consistency_problems(entries: Mapping[str, Entry], file: str) -> list[Problem]:
    """Invariants any ledger must keep, whatever the directory says."""
    problems: list[Problem] = []
    active: dict[str, str] = {}
    for address, entry in entries.items():
        if entry.state == "active":
            if entry.owner in active:
                problems.append(
                    Problem(
                        file, f"owner '{entry.owner}'", f"has two active addresses: {active[entry.owner]} and {address}"
                    )
                )
            active[entry.owner] = address
    return problems


def _scalar(value: str) -> str:
    if _PLAIN_SCALAR.match(value) and value not in _YAML_WORDS:
        return value
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def render_ledger(entries: Mapping[str, Entry], inventory: str) -> str:
    """The ledger file: one line per address, sorted, so a diff shows one line per change."""
    lines = [
        "---",
        f"# The address ledger of {inventory}: every address ever allocated, with its owner.",
        f"# Generated by `make addresses INVENTORY={inventory}`; never edit it by hand.",
        "# An address never moves to another owner; a retired address is never handed out again.",
        "addresses:",
    ]
    for address in sorted(entries):
        e = entries[address]
        fields = [f"owner: {_scalar(e.owner)}", f"kind: {e.kind}", f"state: {e.state}", f"assigned: {e.assigned}"]
        if e.retired:
            fields.append(f"retired: {e.retired}")
        if e.target:
            fields.append(f"target: {_scalar(e.target)}")
        lines.append(f"  {_scalar(address)}: {{{', '.join(fields)}}}")
    if not entries:
        lines[-1] = "addresses: {}"
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- allocation
class _Allocator:
    def __init__(
        self,
        entries: Mapping[str, Entry],
        domain: str,
        reserved: Iterable[str],
        today: dt.date,
    ) -> None:
        self.entries: dict[str, Entry] = dict(entries)
        self.domain = domain
        self.reserved = frozenset(reserved)
        self.today = today.isoformat()
        self.changes: list[Change] = []
        self.problems: list[Problem] = []
        self.by_owner: dict[str, list[str]] = {}
        for address, entry in self.entries.items():
            self.by_owner.setdefault(entry.owner, []).append(address)

    def full(self, local_part: str) -> str:
        return f"{local_part}@{self.domain}"

    def owned(self, owner: str, state: str) -> list[str]:
        return sorted(a for a in self.by_owner.get(owner, []) if self.entries[a].state == state)

    def _set(self, address: str, entry: Entry, action: str, detail: str = "") -> None:
        old = self.entries.get(address)
        if old == entry:
            return
        self.entries[address] = entry
        if old is None:
            self.by_owner.setdefault(entry.owner, []).append(address)
        self.changes.append(Change(action, address, entry.owner, detail))

    def is_free(self, local_part: str) -> bool:
        return local_part not in self.reserved and self.full(local_part) not in self.entries

    def claim(self, local_part: str, owner: str, kind: str, may_be_reserved: bool = False) -> str | None:
        """Make ``local_part`` the owner's active address; None when someone else holds it."""
        address = self.full(local_part)
        entry = self.entries.get(address)
        if entry is not None and entry.owner != owner:
            return None
        if entry is None and local_part in self.reserved and not may_be_reserved:
            return None
        for other in self.owned(owner, "active"):
            if other != address:  # renamed: the old address keeps delivering to the owner
                renamed = replace(self.entries[other], state="alias", target=owner)
                self._set(other, renamed, "aliased", f"now {address}")
        if entry is None:
            self._set(address, Entry(owner, kind, "active", self.today), "added")
        elif entry.state != "active":
            self._set(address, replace(entry, state="active", retired=None, target=None), "reactivated")
        return address

    def retire_owner(self, owner: str, reason: str) -> None:
        for address in self.owned(owner, "active") + self.owned(owner, "alias"):
            self._set(address, replace(self.entries[address], state="retired", retired=self.today), "retired", reason)

    def route_owner_to(self, owner: str, target: str) -> None:
        for address in self.owned(owner, "active") + self.owned(owner, "alias"):
            entry = self.entries[address]
            if entry.target != target or entry.state != "alias":
                self._set(address, replace(entry, state="alias", target=target), "aliased", f"delivered to {target}")


def _unit_kind(unit: Unit) -> str:
    return "system" if unit.kind == "system" else "unit"


def _allocate_units(alloc: _Allocator, directory: Directory) -> None:
    for unit in sorted(directory.units.values(), key=lambda u: u.id):
        if unit.state == "present":
            if alloc.claim(unit.local_part, unit.id, _unit_kind(unit), may_be_reserved=unit.kind == "system") is None:
                holder = alloc.entries.get(alloc.full(unit.local_part))
                who = f"is held by '{holder.owner}' since {holder.assigned}" if holder else "is reserved"
                alloc.problems.append(
                    Problem(
                        unit.file,
                        f"unit '{unit.id}'",
                        f"derives the address {alloc.full(unit.local_part)}, which {who}; "
                        "give the unit an explicit 'code' (and a 'note' saying why)",
                    )
                )
        elif unit.state == "merged" and unit.merged_into:
            alloc.route_owner_to(unit.id, unit.merged_into)
        else:
            alloc.retire_owner(unit.id, "unit absent")


def _allocation_order(person: Person, ranks: Sequence[str]) -> tuple[dt.date, int, str]:
    # Điều 3.4: earlier request first; on the same day the higher position; then the id.
    return (person.requested_on, leadership_rank(person.position, tuple(ranks)), person.id)


def _allocate_people(alloc: _Allocator, directory: Directory, ranks: Sequence[str]) -> None:
    waiting: list[Person] = []
    for person in directory.people.values():
        if person.state == "absent":
            alloc.retire_owner(person.id, "person absent")
            continue
        current = alloc.owned(person.id, "active")
        if person.address:
            if alloc.claim(person.address, person.id, "person") is None:
                alloc.problems.append(
                    Problem(
                        person.file,
                        f"person '{person.id}'",
                        f"address '{person.address}' belongs to '{alloc.entries[alloc.full(person.address)].owner}'"
                        if alloc.full(person.address) in alloc.entries
                        else f"address '{person.address}' is reserved",
                    )
                )
        elif current:
            continue
        elif alloc.owned(person.id, "retired"):  # a returning person gets the old address back
            alloc.claim(alloc.owned(person.id, "retired")[0].split("@")[0], person.id, "person")
        else:
            waiting.append(person)
    rank_titles = tuple(ranks)
    for person in sorted(waiting, key=lambda p: _allocation_order(p, rank_titles)):
        base = person_base(person.name, person.given_name)
        local_part, n = base, 0
        while not alloc.is_free(local_part):
            n += 1
            local_part = f"{base}{n}"
        alloc.claim(local_part, person.id, "person")


def _allocate_aliases(alloc: _Allocator, directory: Directory) -> None:
    for person in sorted(directory.people.values(), key=lambda p: p.id):
        if person.state == "absent":
            continue
        wanted = {alloc.full(a) for a in person.aliases}
        for address in alloc.owned(person.id, "alias"):
            entry = alloc.entries[address]
            if address not in wanted and entry.target is None and entry.kind == "person":
                alloc._set(address, replace(entry, state="retired", retired=alloc.today), "retired", "alias removed")
        for alias in sorted(person.aliases):
            address = alloc.full(alias)
            entry = alloc.entries.get(address)
            if entry is not None and entry.owner != person.id:
                alloc.problems.append(
                    Problem(person.file, f"person '{person.id}'", f"alias '{alias}' belongs to '{entry.owner}'")
                )
            elif entry is None and alias in alloc.reserved:
                alloc.problems.append(Problem(person.file, f"person '{person.id}'", f"alias '{alias}' is reserved"))
            elif entry is None:
                alloc._set(address, Entry(person.id, "person", "alias", alloc.today), "added", "alias")
            elif entry.state == "retired":
                alloc._set(address, replace(entry, state="alias", retired=None), "reactivated", "alias")


def allocate(
    directory: Directory,
    *,
    ledger: Mapping[str, Entry],
    domain: str,
    reserved: Iterable[str],
    ranks: Sequence[str],
    today: dt.date,
) -> Allocation:
    """Bring the ledger up to date with the directory; record every change made."""
    alloc = _Allocator(ledger, domain, reserved, today)
    _allocate_units(alloc, directory)
    _allocate_people(alloc, directory, ranks)
    _allocate_aliases(alloc, directory)
    known = set(directory.units) | set(directory.people)
    for owner in sorted(set(alloc.by_owner) - known):  # deleted from the directory: same as absent
        alloc.retire_owner(owner, "no longer in the directory")
    return Allocation(entries=alloc.entries, changes=alloc.changes, problems=alloc.problems)
