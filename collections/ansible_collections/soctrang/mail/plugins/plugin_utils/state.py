"""From the directory and the ledger to the desired state of the mail system.

This is the one computation every playbook shares (docs/contracts.md §1): it
validates the directory, derives unit addresses, brings the ledger up to date in
memory and lists every mailbox with what the servers need to know about it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .directory import Directory, DirectoryError, Problem, Unit, load_directory, read_directory
from .ledger import Allocation, Change, Entry, allocate, parse_ledger, read_ledger
from .naming import KindRule, NamingError, naming_rules, size_to_bytes, unit_label
from .text import ascii_name, clean_spaces

# ---------------------------------------------------------------- account states
# One vocabulary for an account from the desired state to the directory
# (docs/contracts.md, "Account states"): the words socMailboxState stores.
#   active   - the mailbox receives mail and its owner may log in;
#   disabled - the login is refused; the mailbox keeps its data and still receives mail;
#   retired  - the address refuses mail and is never handed out again (the
#              desired state lists it under `retired`, not among the accounts).
ACCOUNT_ACTIVE = "active"
ACCOUNT_DISABLED = "disabled"
ACCOUNT_RETIRED = "retired"
ACCOUNT_STATES = (ACCOUNT_ACTIVE, ACCOUNT_DISABLED)  # the states of `accounts`
# The words operators write in the directory files, mapped here and nowhere else.
PERSON_ACCOUNT_STATE = {"present": ACCOUNT_ACTIVE, "disabled": ACCOUNT_DISABLED, "absent": ACCOUNT_RETIRED}
# A unit's mailbox: a merged unit has none of its own (its addresses are aliases
# of the unit it merged into).
UNIT_ACCOUNT_STATE = {"present": ACCOUNT_ACTIVE, "merged": None, "absent": ACCOUNT_RETIRED}


@dataclass(frozen=True)
class Policy:
    """The province-wide variables of group_vars/all that the address rules read."""

    domain: str
    rules: Mapping[str, KindRule]
    reserved: frozenset[str]
    ranks: tuple[str, ...]
    mailbox_quota_bytes: int

    @classmethod
    def from_vars(cls, policy: Mapping[str, Any]) -> Policy:
        missing = [k for k in ("domain", "unit_naming", "reserved", "ranks", "mailbox_quota") if k not in policy]
        if missing:
            raise ValueError(f"the policy lacks {', '.join(missing)} (see group_vars/all/address_rules.yml)")
        return cls(
            domain=str(policy["domain"]).lower(),
            rules=naming_rules(policy["unit_naming"]),
            reserved=frozenset(str(r) for r in policy["reserved"]),
            ranks=tuple(str(r) for r in policy["ranks"]),
            mailbox_quota_bytes=size_to_bytes(policy["mailbox_quota"]),
        )


class StaleLedgerError(ValueError):
    def __init__(self, ledger_file: str, changes: Sequence[Change]) -> None:
        self.changes = list(changes)
        inventory = ledger_file.rsplit("/", 1)[0] if "/" in ledger_file else "<inventory>"
        shown = "\n".join(f"  {c}" for c in self.changes[:20])
        more = f"\n  … and {len(self.changes) - 20} more" if len(self.changes) > 20 else ""
        super().__init__(
            f"{ledger_file} is stale: the directory asks for {len(self.changes)} change(s) it does not record:\n"
            f"{shown}{more}\n"
            f"Run `make addresses INVENTORY={inventory}` and commit the ledger with the directory change."
        )


@dataclass
class Plan:
    directory: Directory
    before: Mapping[str, Entry]
    allocation: Allocation


def _unit_depth_order(units: Mapping[str, Unit]) -> list[Unit]:
    def depth(unit: Unit) -> int:
        n = 0
        while unit.parent:
            unit = units[unit.parent]
            n += 1
        return n

    return sorted(units.values(), key=lambda u: (depth(u), u.id))


def derive_unit_local_parts(directory: Directory, rules: Mapping[str, KindRule]) -> list[Problem]:
    """Fill in every unit's local part: its own label, then its parent's (Điều 3.1, 3.2)."""
    problems: list[Problem] = []
    units = directory.units
    for unit in _unit_depth_order(units):
        parent = units[unit.parent] if unit.parent else None
        if unit.code and "." in unit.code:
            unit.local_part = unit.code  # an explicit full local part
            continue
        try:
            label = unit.code or unit_label(unit.name, rules[unit.kind], parent.kind if parent else None)
        except NamingError as exc:
            if unit.state == "present":
                problems.append(Problem(unit.file, f"unit '{unit.id}'", f"{exc}; give it an explicit 'code'"))
            continue
        unit.local_part = f"{label}.{parent.local_part}" if parent and parent.local_part else label
    return problems


def plan(
    files: Mapping[str, str],
    ledger_text: str,
    ledger_file: str,
    policy: Policy,
    today: dt.date,
) -> Plan:
    """Validate everything and compute the ledger the directory asks for (nothing is written)."""
    directory = load_directory(files, policy.rules, policy.reserved, policy.domain)
    problems = derive_unit_local_parts(directory, policy.rules)
    problems.extend(_unit_address_clashes(directory))
    if problems:
        raise DirectoryError(problems)
    before = parse_ledger(ledger_text, ledger_file)
    allocation = allocate(
        directory, ledger=before, domain=policy.domain, reserved=policy.reserved, ranks=policy.ranks, today=today
    )
    if allocation.problems:
        raise DirectoryError(allocation.problems)
    return Plan(directory=directory, before=before, allocation=allocation)


def _unit_address_clashes(directory: Directory) -> list[Problem]:
    seen: dict[str, Unit] = {}
    problems = []
    for unit in sorted(directory.units.values(), key=lambda u: u.id):
        if unit.state != "present" or not unit.local_part:
            continue
        other = seen.get(unit.local_part)
        if other:
            problems.append(
                Problem(
                    unit.file,
                    f"unit '{unit.id}'",
                    f"derives '{unit.local_part}', the same address as unit '{other.id}' ({other.file}); "
                    "give one of them an explicit 'code' and a 'note' saying why",
                )
            )
        else:
            seen[unit.local_part] = unit
    return problems


# ---------------------------------------------------------------- desired state
def _recipient(owner: str, directory: Directory) -> str:
    """Follow merges: mail for a merged unit goes to the unit it merged into."""
    seen = set()
    while owner in directory.units and directory.units[owner].state == "merged" and owner not in seen:
        seen.add(owner)
        owner = directory.units[owner].merged_into or owner
    return owner


def _managers(unit: Unit, directory: Directory, mailbox_of: Mapping[str, str]) -> list[str]:
    found: set[str] = set()
    pending, visited = list(unit.managers), {unit.id}
    while pending:
        ref = pending.pop()
        if ref in directory.people:
            person = directory.people[ref]
            if person.state == "present" and ref in mailbox_of:
                found.add(mailbox_of[ref])
        elif ref in directory.units and ref not in visited:
            visited.add(ref)
            pending.extend(directory.units[ref].managers)
    return sorted(found)


def _agency_name(unit_id: str | None, directory: Directory) -> str:
    """The name of the top-level unit (the agency, district or system group) above a unit."""
    if not unit_id or unit_id not in directory.units:
        return ""
    unit = directory.units[unit_id]
    while unit.parent and unit.parent in directory.units:
        unit = directory.units[unit.parent]
    return unit.name


def _unit_name(unit_id: str | None, directory: Directory) -> str:
    return directory.units[unit_id].name if unit_id and unit_id in directory.units else ""


def desired_state(plan_: Plan, policy: Policy) -> dict[str, Any]:
    directory, entries = plan_.directory, plan_.allocation.entries
    mailbox_of = {e.owner: a for a, e in entries.items() if e.state == "active"}
    aliases: dict[str, list[str]] = {}
    for address, entry in entries.items():
        if entry.state == "alias":
            aliases.setdefault(_recipient(entry.target or entry.owner, directory), []).append(address)
    accounts: list[dict[str, Any]] = []
    for person in directory.people.values():
        state = PERSON_ACCOUNT_STATE[person.state]
        if state not in ACCOUNT_STATES:
            continue
        words = person.name.split(" ")
        given = person.given_name or words[-1]
        unit_mail = mailbox_of.get(_recipient(person.unit, directory), "")
        accounts.append(
            _account(person.id, "person", mailbox_of[person.id], state, person.name, aliases=aliases)
            | {
                "surname": words[0],
                "surname_ascii": ascii_name(words[0]),
                "given_name": given,
                "given_name_ascii": ascii_name(given),
                "position": person.position,
                "unit": person.unit,
                "unit_name": clean_spaces(_unit_name(person.unit, directory)),
                "agency_name": clean_spaces(_agency_name(person.unit, directory)),
                "unit_mail": unit_mail,
                "quota_bytes": person.quota_bytes or policy.mailbox_quota_bytes,
                "managers": [],
                "managers_send_as": False,
                "requested_on": person.requested_on.isoformat(),
            }
        )
    for unit in directory.units.values():
        state = UNIT_ACCOUNT_STATE[unit.state]
        if state not in ACCOUNT_STATES:
            continue
        kind = "system" if unit.kind == "system" else "unit"
        accounts.append(
            _account(unit.id, kind, mailbox_of[unit.id], state, unit.name, aliases=aliases)
            | {
                "surname": "",
                "surname_ascii": "",
                "given_name": "",
                "given_name_ascii": "",
                "position": "",
                "unit": unit.parent or "",
                # The address book lists a unit's mailbox under the unit itself.
                "unit_name": clean_spaces(unit.name),
                "agency_name": clean_spaces(_agency_name(unit.id, directory)),
                "unit_mail": mailbox_of.get(unit.parent, "") if unit.parent else "",
                "quota_bytes": policy.mailbox_quota_bytes,
                "managers": _managers(unit, directory, mailbox_of),
                "managers_send_as": unit.managers_send_as,
                "requested_on": "",
            }
        )
    accounts.sort(key=lambda a: a["mail"])
    retired = [{"mail": a, "owner": e.owner} for a, e in sorted(entries.items()) if e.state == "retired"]
    return {"domain": policy.domain, "accounts": accounts, "retired": retired}


def _account(
    owner: str, kind: str, mail: str, state: str, name: str, *, aliases: Mapping[str, list[str]]
) -> dict[str, Any]:
    return {
        "id": owner,
        "kind": kind,
        "uid": mail.split("@", 1)[0],
        "mail": mail,
        "state": state,
        "name": clean_spaces(name),
        "name_ascii": ascii_name(name),
        "aliases": sorted(aliases.get(owner, [])),
    }


def mail_state(
    files: Mapping[str, str],
    *,
    ledger_text: str,
    ledger_file: str,
    policy: Policy,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """The desired state, refusing a directory the committed ledger does not match."""
    plan_ = plan(files, ledger_text, ledger_file, policy, today or dt.date.today())
    if plan_.allocation.changes:
        raise StaleLedgerError(ledger_file, plan_.allocation.changes)
    return desired_state(plan_, policy)


def inventory_mail_state(
    inventory: str | os.PathLike[str], policy: Policy, today: dt.date | None = None
) -> dict[str, Any]:
    """The desired state of an inventory folder: its directory files and its ledger, read here."""
    ledger_text, ledger_file = read_ledger(inventory)
    return mail_state(
        read_directory(inventory), ledger_text=ledger_text, ledger_file=ledger_file, policy=policy, today=today
    )


def state_json(state: Mapping[str, Any]) -> str:
    """The desired state as the one JSON string that crosses tasks and plays: compact, keys sorted.

    Ansible 2.19 walks every value of a structure it is handed (20,000 accounts cost
    it seconds per task); a string it passes at the price of a string.
    """
    return json.dumps(state, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
