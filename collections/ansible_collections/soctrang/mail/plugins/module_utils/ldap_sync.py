"""Pure reconciliation logic for the mailbox entries of the directory.

The module `soctrang.mail.ldap_mailboxes` reads the directory once, hands the
entries to `plan_sync` together with the desired accounts (docs/contracts.md
§1) and writes only what the plan says. Everything here is free of LDAP and
Ansible so it can be unit-tested without a server, and so the plan shown under
`--check` is exactly the plan applied without it.

Attribute values are handled as lists of `str`; the module encodes them.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field

# ppolicy's documented value for "locked until an administrator unlocks it"
# (slapo-ppolicy(5)). Failure lockouts write a real time instead, so an
# account carrying exactly this value was locked by us.
LOCKED_BY_ADMINISTRATOR = "000001010000Z"

PEOPLE_OU = "ou=people"
UNITS_OU = "ou=units"
MAILBOX_OBJECT_CLASSES = ("inetOrgPerson", "socMailbox")

# The attributes this reconciliation owns. Everything else in an entry
# (userPassword, ppolicy state, socMailHost, ...) is left alone.
MANAGED_ATTRIBUTES = (
    "cn",
    "sn",
    "givenName",
    "displayName",
    "socNameAscii",
    # The address book (Điều 2.2 webmail, Điều 2.3 sign-on): unit, agency, position.
    "ou",
    "o",
    "title",
    # The single sign-on's "unit and its address" (Điều 2.3): people only.
    "socUnitMail",
    "mail",
    "uid",
    "socOwnerId",
    "socMailboxState",
    "socMailQuota",
    "socMailAlias",
    "socMailManager",
    "socMailSendAsManagers",
)
LOCK_ATTRIBUTE = "pwdAccountLockedTime"
RESET_ATTRIBUTE = "pwdReset"
# What the one search asks for: the managed attributes plus the operational
# ones the plan needs (lock state, must-change flag).
SEARCH_ATTRIBUTES = (*MANAGED_ATTRIBUTES, "objectClass", LOCK_ATTRIBUTE, RESET_ATTRIBUTE)

# Compared without regard to case: addresses and DNs are case-insensitive in
# LDAP, and we never want a case-only difference to rewrite 20,000 entries.
CASE_INSENSITIVE_ATTRIBUTES = frozenset({"mail", "uid", "socmailalias", "socmailmanager"})
MULTI_VALUED_ATTRIBUTES = frozenset({"socmailalias", "socmailmanager"})

# socMailboxState, and the states of the desired state's accounts: one vocabulary
# (docs/contracts.md, "Account states"; plugin_utils/state.py maps the directory's
# present/disabled/absent to it). Retired entries are those absent from the accounts.
STATE_ACTIVE = "active"
STATE_DISABLED = "disabled"
STATE_RETIRED = "retired"
ACCOUNT_STATES = (STATE_ACTIVE, STATE_DISABLED)

UPPER_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I, O: read aloud or handwritten
LOWER_LETTERS = "abcdefghijkmnpqrstuvwxyz"  # no l
DIGITS = "23456789"  # no 0, 1
SPECIALS = "!#%*+-=?@"
ALPHABET = UPPER_LETTERS + LOWER_LETTERS + DIGITS + SPECIALS


class SyncError(ValueError):
    """The desired state and the directory cannot be reconciled safely."""


@dataclass(frozen=True)
class Modification:
    """One attribute change of an existing entry: replace or delete."""

    operation: str  # "replace" | "delete"
    attribute: str
    values: tuple[str, ...] = ()


@dataclass
class NewEntry:
    dn: str
    owner: str
    unit: str
    mail: str
    attributes: dict[str, list[str]]


@dataclass
class EntryChange:
    dn: str
    owner: str
    kind: str  # "changed" | "disabled" | "retired"
    modifications: list[Modification]
    before: dict[str, list[str]]
    after: dict[str, list[str]]


@dataclass
class SyncPlan:
    creates: list[NewEntry] = field(default_factory=list)
    changes: list[EntryChange] = field(default_factory=list)
    unchanged: int = 0
    foreign: list[str] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[EntryChange]:
        return [change for change in self.changes if change.kind == kind]

    @property
    def write_count(self) -> int:
        return len(self.creates) + len(self.changes)


def suffix_for_domain(domain: str) -> str:
    """`soctrang.gov.vn` -> `dc=soctrang,dc=gov,dc=vn` (docs/contracts.md §2)."""
    labels = [label for label in domain.strip().lower().split(".") if label]
    if not labels:
        raise SyncError(f"mail domain {domain!r} has no labels; set soctrang_mail_domain")
    return ",".join(f"dc={label}" for label in labels)


def normalise_dn(dn: str) -> str:
    """A comparison key for DNs as slapd returns them and as we build them."""
    return ",".join(part.strip().lower() for part in dn.split(","))


def entry_dn(kind: str, uid: str, suffix: str) -> str:
    container = PEOPLE_OU if kind == "person" else UNITS_OU
    return f"uid={uid},{container},{suffix}"


def handover_unit(account: dict) -> str:
    """The unit whose hand-over file receives this account's initial password.

    A person's password goes to the unit the person belongs to; a unit or
    system mailbox's to the unit itself (it asked for that mailbox).
    """
    if account.get("kind") == "person" and account.get("unit"):
        return str(account["unit"])
    return str(account["id"])


def _desired_state_value(state: str, where: str) -> str:
    if state in ACCOUNT_STATES:
        return state
    raise SyncError(f"{where}: state {state!r} is not one of {', '.join(ACCOUNT_STATES)}")


def _address_book_attributes(account: dict) -> dict[str, list[str]]:
    """Agency (o), unit (ou) and position (title), as the address book shows them under the name,
    and a person's unit mailbox (socUnitMail)."""
    agency, unit, position = (account.get(key) or "" for key in ("agency_name", "unit_name", "position"))
    unit_mail = str(account.get("unit_mail") or "").lower() if account.get("kind") == "person" else ""
    return {
        "o": [agency] if agency else [],
        # A person of the agency itself, or the agency's own mailbox: the agency once, not twice.
        "ou": [unit] if unit and unit != agency else [],
        "title": [position] if position else [],
        "socUnitMail": [unit_mail] if unit_mail else [],
    }


def desired_entries(accounts: list[dict], suffix: str) -> dict[str, NewEntry]:
    """The entries the directory must hold, keyed by normalised DN."""
    dn_by_mail = {}
    for account in accounts:
        dn_by_mail[str(account["mail"]).lower()] = entry_dn(account["kind"], account["uid"], suffix)
    entries: dict[str, NewEntry] = {}
    for account in accounts:
        where = f"account {account.get('id')!r} ({account.get('mail')})"
        dn = entry_dn(account["kind"], account["uid"], suffix)
        key = normalise_dn(dn)
        if key in entries:
            raise SyncError(f"{where}: uid {account['uid']!r} is given to {entries[key].owner!r} too")
        managers = []
        for manager_mail in account.get("managers") or []:
            manager_dn = dn_by_mail.get(str(manager_mail).lower())
            if manager_dn is None:
                raise SyncError(f"{where}: manager {manager_mail} has no mailbox in the desired state")
            managers.append(manager_dn)
        attributes = {
            "cn": [account["name"]],
            # inetOrgPerson requires sn; a unit has no surname, so its name stands in.
            "sn": [account.get("surname") or account["name"]],
            "givenName": [account["given_name"]] if account.get("given_name") else [],
            "displayName": [account["name"]],
            "socNameAscii": [account["name_ascii"]],
            **_address_book_attributes(account),
            "mail": [str(account["mail"]).lower()],
            "uid": [account["uid"]],
            "socOwnerId": [str(account["id"])],
            "socMailboxState": [_desired_state_value(account.get("state", STATE_ACTIVE), where)],
            "socMailQuota": [str(int(account["quota_bytes"]))],
            "socMailAlias": sorted({str(alias).lower() for alias in account.get("aliases") or []}),
            "socMailManager": sorted(set(managers), key=normalise_dn),
            "socMailSendAsManagers": ["TRUE" if account.get("managers_send_as") else "FALSE"],
        }
        if attributes["socMailboxState"] != [STATE_ACTIVE]:
            # Created already disabled: locked from its first moment.
            attributes[LOCK_ATTRIBUTE] = [LOCKED_BY_ADMINISTRATOR]
        entries[key] = NewEntry(
            dn=dn,
            owner=str(account["id"]),
            unit=handover_unit(account),
            mail=str(account["mail"]).lower(),
            attributes={name: values for name, values in attributes.items() if values},
        )
    return entries


def _comparable(attribute: str, values: list[str]) -> tuple[str, ...]:
    lowered = attribute.lower()
    if lowered == "socmailmanager":
        values = [normalise_dn(value) for value in values]
    elif lowered in CASE_INSENSITIVE_ATTRIBUTES:
        values = [value.lower() for value in values]
    if lowered in MULTI_VALUED_ATTRIBUTES:
        return tuple(sorted(set(values)))
    return tuple(values)


def current_entries(search_results: list[tuple[str, dict[str, list[str]]]], suffix: str) -> dict[str, dict]:
    """Mailbox entries from the search, keyed by normalised DN.

    Only entries directly under ou=people and ou=units count: those two
    containers belong to this reconciliation; service accounts and policies
    live elsewhere. Attribute names are mapped to the spelling we use.
    """
    containers = {normalise_dn(f"{PEOPLE_OU},{suffix}"), normalise_dn(f"{UNITS_OU},{suffix}")}
    canonical = {name.lower(): name for name in SEARCH_ATTRIBUTES}
    entries = {}
    for dn, raw_attributes in search_results:
        if dn is None:  # search references
            continue
        key = normalise_dn(dn)
        if key.split(",", 1)[-1] not in containers or not key.startswith("uid="):
            continue
        attributes = {}
        for name, values in raw_attributes.items():
            attributes[canonical.get(name.lower(), name)] = list(values)
        entries[key] = {"dn": dn, "attributes": attributes}
    return entries


def _is_mailbox(attributes: dict[str, list[str]]) -> bool:
    return "socmailbox" in {value.lower() for value in attributes.get("objectClass", [])}


def _lock_modification(current: dict[str, list[str]], locked: bool) -> Modification | None:
    lock_values = current.get(LOCK_ATTRIBUTE, [])
    if locked and lock_values != [LOCKED_BY_ADMINISTRATOR]:
        return Modification("replace", LOCK_ATTRIBUTE, (LOCKED_BY_ADMINISTRATOR,))
    if not locked and lock_values == [LOCKED_BY_ADMINISTRATOR]:
        return Modification("delete", LOCK_ATTRIBUTE)
    return None


def _attribute_modifications(current: dict[str, list[str]], wanted: dict[str, list[str]]) -> list[Modification]:
    modifications = []
    for attribute in MANAGED_ATTRIBUTES:
        have = current.get(attribute, [])
        want = wanted.get(attribute, [])
        if _comparable(attribute, have) == _comparable(attribute, want):
            continue
        if want:
            modifications.append(Modification("replace", attribute, tuple(want)))
        else:
            modifications.append(Modification("delete", attribute))
    object_classes = {value.lower() for value in current.get("objectClass", [])}
    missing = [name for name in MAILBOX_OBJECT_CLASSES if name.lower() not in object_classes]
    if missing:
        # "replace" with the full list keeps the structural class and adds ours.
        full = list(current.get("objectClass", [])) + missing
        modifications.insert(0, Modification("replace", "objectClass", tuple(full)))
    return modifications


def _visible(attributes: dict[str, list[str]]) -> dict[str, list[str]]:
    shown = (*MANAGED_ATTRIBUTES, LOCK_ATTRIBUTE)
    return {name: list(attributes[name]) for name in shown if attributes.get(name)}


def _apply_to_copy(attributes: dict[str, list[str]], modifications: list[Modification]) -> dict[str, list[str]]:
    result = {name: list(values) for name, values in attributes.items()}
    for modification in modifications:
        if modification.operation == "replace":
            result[modification.attribute] = list(modification.values)
        else:
            result.pop(modification.attribute, None)
    return result


def plan_sync(
    accounts: list[dict],
    search_results: list[tuple[str, dict[str, list[str]]]],
    suffix: str,
) -> SyncPlan:
    """What to write so the directory holds exactly the desired accounts.

    Entries absent from the desired state are retired (state `retired`,
    locked), never deleted: removal is a separate step (`plan_removal`) after
    the mail store has archived the mailbox.
    """
    wanted = desired_entries(accounts, suffix)
    existing = current_entries(search_results, suffix)
    plan = SyncPlan()
    for key, entry in wanted.items():
        found = existing.get(key)
        if found is None:
            plan.creates.append(entry)
            continue
        current = found["attributes"]
        owners = current.get("socOwnerId", [])
        if owners and owners != [entry.owner]:
            raise SyncError(
                f"directory entry {found['dn']} belongs to owner {owners[0]!r} but the ledger gives "
                f"{entry.mail} to {entry.owner!r}; an address never moves to another owner: "
                "correct the ledger (inventories/<env>/addresses.yml) or retire the entry by hand"
            )
        state = entry.attributes["socMailboxState"][0]
        modifications = _attribute_modifications(current, entry.attributes)
        lock = _lock_modification(current, locked=state != STATE_ACTIVE)
        if lock is not None:
            modifications.append(lock)
        if not modifications:
            plan.unchanged += 1
            continue
        was_state = (current.get("socMailboxState") or [""])[0]
        kind = "disabled" if state == STATE_DISABLED and was_state != STATE_DISABLED else "changed"
        plan.changes.append(_change(found["dn"], entry.owner, kind, current, modifications))
    for key, found in existing.items():
        if key in wanted:
            continue
        current = found["attributes"]
        if not _is_mailbox(current):
            # Not made by this reconciliation (no socMailbox class, so no state
            # to set): left alone, and reported so an operator can look.
            plan.foreign.append(found["dn"])
            continue
        owner = (current.get("socOwnerId") or [""])[0]
        modifications = []
        if current.get("socMailboxState") != [STATE_RETIRED]:
            modifications.append(Modification("replace", "socMailboxState", (STATE_RETIRED,)))
        lock = _lock_modification(current, locked=True)
        if lock is not None:
            modifications.append(lock)
        if not modifications:
            plan.unchanged += 1
            continue
        kind = "retired" if current.get("socMailboxState") != [STATE_RETIRED] else "changed"
        plan.changes.append(_change(found["dn"], owner, kind, current, modifications))
    plan.creates.sort(key=lambda created: normalise_dn(created.dn))
    plan.changes.sort(key=lambda change: normalise_dn(change.dn))
    return plan


def _change(dn: str, owner: str, kind: str, current: dict, modifications: list[Modification]) -> EntryChange:
    return EntryChange(
        dn=dn,
        owner=owner,
        kind=kind,
        modifications=modifications,
        before=_visible(current),
        after=_visible(_apply_to_copy(current, modifications)),
    )


def plan_removal(search_results: list[tuple[str, dict[str, list[str]]]], suffix: str, wanted: set[str]) -> list[str]:
    """DNs of retired entries to delete; `wanted` limits it to those addresses.

    Only entries already in state `retired` are ever removed, so a mistake in
    the desired state cannot delete a live mailbox in one step.
    """
    wanted_lower = {address.lower() for address in wanted}
    removable = []
    for found in current_entries(search_results, suffix).values():
        attributes = found["attributes"]
        if attributes.get("socMailboxState") != [STATE_RETIRED]:
            continue
        mail = (attributes.get("mail") or [""])[0].lower()
        if wanted_lower and mail not in wanted_lower:
            continue
        removable.append(found["dn"])
    return sorted(removable, key=normalise_dn)


# ---------------------------------------------------------------- passwords


def forbidden_password_tokens(attributes: dict[str, list[str]]) -> set[str]:
    """Lower-case words of the entry's names and addresses (Điều 8.1.c).

    ppm refuses a password containing any token of the checked attributes;
    a generated password must not trip over the person's own name either.
    """
    tokens = set()
    for name in ("cn", "sn", "givenName", "socNameAscii", "uid", "mail", "socMailAlias"):
        for value in attributes.get(name, []):
            words = value
            for separator in "@._-,;\t":
                words = words.replace(separator, " ")
            tokens.update(token.lower() for token in words.split() if len(token) >= 3)
    return tokens


def generate_password(forbidden: set[str], length: int = 16) -> str:
    """A random password with every character class Điều 8.1.b asks for.

    16 characters from 65 symbols is about 96 bits: no guessing attack
    reaches it, whatever hash the directory stores it under.
    """
    if length < 8:
        raise SyncError(f"initial password length {length} is below the policy minimum of 8")
    while True:
        characters = [
            secrets.choice(UPPER_LETTERS),
            secrets.choice(LOWER_LETTERS),
            secrets.choice(DIGITS),
            secrets.choice(SPECIALS),
        ]
        characters += [secrets.choice(ALPHABET) for _ in range(length - len(characters))]
        secrets.SystemRandom().shuffle(characters)
        password = "".join(characters)
        lowered = password.lower()
        if not any(token in lowered for token in forbidden):
            return password


def assign_initial_passwords(
    creates: list[NewEntry], pending: dict[str, dict], length: int = 16
) -> dict[str, dict[str, str]]:
    """A password for every entry to create, reusing one already journalled.

    `pending` is the journal of passwords generated by an earlier run that
    was interrupted before their hand-over: an entry it created keeps the
    password written in the journal, so what is handed over is what binds.
    """
    assigned: dict[str, dict[str, str]] = {}
    used = {record["password"] for record in pending.values()}
    for entry in creates:
        key = normalise_dn(entry.dn)
        record = pending.get(key)
        if record is None:
            password = generate_password(forbidden_password_tokens(entry.attributes), length)
            while password in used:
                password = generate_password(forbidden_password_tokens(entry.attributes), length)
            used.add(password)
            record = {"password": password}
        assigned[key] = {
            "dn": entry.dn,
            "owner": entry.owner,
            "unit": entry.unit,
            "mail": entry.mail,
            "password": record["password"],
        }
    return assigned


def still_to_hand_over(journal: dict[str, dict], search_results: list[tuple[str, dict[str, list[str]]]], suffix: str):
    """Journal records whose entry exists and still carries `pwdReset`.

    An entry that does not exist was never created (the run stopped before
    it); one without `pwdReset` has had its password changed since, so the
    journalled one no longer opens it and is dropped.
    """
    existing = current_entries(search_results, suffix)
    keep = {}
    for key, record in journal.items():
        found = existing.get(key)
        if found is None:
            continue
        if (found["attributes"].get(RESET_ATTRIBUTE) or [""])[0].upper() != "TRUE":
            continue
        keep[key] = record
    return keep


def parse_journal(text: str, path: str) -> dict[str, dict]:
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as error:
        raise SyncError(f"{path}: the pending hand-over journal is not JSON ({error}); inspect it") from error
    if not isinstance(data, dict):
        raise SyncError(f"{path}: the pending hand-over journal must be a JSON object")
    return data


# ---------------------------------------------------------------- reporting


def summarise(plan: SyncPlan) -> dict:
    return {
        "created": [entry.mail for entry in plan.creates],
        "changed": [change.dn for change in plan.of_kind("changed")],
        "disabled": [change.dn for change in plan.of_kind("disabled")],
        "retired": [change.dn for change in plan.of_kind("retired")],
        "foreign": list(plan.foreign),
        "counts": {
            "created": len(plan.creates),
            "changed": len(plan.of_kind("changed")),
            "disabled": len(plan.of_kind("disabled")),
            "retired": len(plan.of_kind("retired")),
            "unchanged": plan.unchanged,
            "foreign": len(plan.foreign),
        },
    }


def _ldif(dn: str, attributes: dict[str, list[str]]) -> str:
    lines = [f"dn: {dn}"]
    for name, values in attributes.items():
        lines.extend(f"{name}: {value}" for value in values)
    return "\n".join(lines) + "\n"


def render_diff(plan: SyncPlan, limit: int) -> dict[str, str]:
    """Before/after text for `--diff`, at most `limit` entries in full.

    Creating 20,000 entries must not print 20,000 entries: beyond the limit
    the remaining ones are counted per kind instead.
    """
    before, after = [], []
    shown = 0
    for change in plan.changes:
        if shown >= limit:
            break
        before.append(_ldif(change.dn, change.before))
        after.append(_ldif(change.dn, change.after))
        shown += 1
    for entry in plan.creates:
        if shown >= limit:
            break
        after.append(_ldif(entry.dn, entry.attributes))
        shown += 1
    hidden = plan.write_count - shown
    if hidden > 0:
        summary = summarise(plan)["counts"]
        note = (
            f"# ... {hidden} more entries not shown (diff limit {limit}); in total "
            f"created {summary['created']}, changed {summary['changed']}, "
            f"disabled {summary['disabled']}, retired {summary['retired']}\n"
        )
        before.append(note)
        after.append(note)
    return {"before": "\n".join(before), "after": "\n".join(after)}
