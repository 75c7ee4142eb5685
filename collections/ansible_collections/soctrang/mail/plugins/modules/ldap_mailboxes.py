#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# ansible-test validate-modules wants DOCUMENTATION, EXAMPLES and RETURN above the imports:
# ruff: noqa: E402
"""Reconcile every mailbox entry of the directory in one call."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ldap_mailboxes
short_description: Reconcile the whole mailbox directory with the desired state in one call
description:
  - Runs on the directory host and talks to slapd over C(ldapi:///) with SASL EXTERNAL
    as root, which the slapd role maps to the directory's manager identity.
  - O(mode=reconcile) reads every entry under C(ou=people) and C(ou=units) with one
    (paged) search, compares it with O(accounts) (docs/contracts.md section 1) and
    writes only the difference, pipelined. New entries get a random initial password
    and C(pwdReset=TRUE); later runs never touch a password. Accounts with
    C(state=disabled) and entries absent from O(accounts) are locked
    (C(pwdAccountLockedTime=000001010000Z)) and marked C(disabled) / C(retired); their
    data stays.
  - O(mode=remove_retired) deletes entries already in state C(retired) - the explicit
    step after the mail store has archived the mailboxes.
  - O(mode=reset_password) gives the accounts in O(reset) a new random password written
    with manage rights, so C(pwdReset) is set and the next login must change it.
  - O(mode=unlock) ends the lockout of the accounts in O(unlock) (ppolicy's
    C(pwdAccountLockedTime) and failure count, written with the relax control); a
    disabled or retired account stays locked - its state in the directory decides that.
  - Initial passwords are journalled on the directory host in O(pending_handover_path)
    (mode 0600) before they are written to the directory, and returned in
    RV(initial_passwords) until the caller deletes the journal after the hand-over.
    A run interrupted at any point therefore loses no password.
  - Call it with C(no_log) - the result holds cleartext passwords.
version_added: "1.0.0"
author: Sóc Trăng provincial mail operators (!UNKNOWN)
options:
  mode:
    description: What to do.
    type: str
    choices: [reconcile, remove_retired, reset_password, unlock]
    default: reconcile
  domain:
    description: The mail domain; the suffix C(dc=...) is derived from it.
    type: str
    required: true
  accounts:
    description:
      - The C(accounts) list of the desired state (filter C(soctrang.mail.mail_state)).
      - O(mode=reconcile) needs it or O(accounts_json); O(mode=reset_password) finds the
        accounts named in O(reset) in it.
    type: list
    elements: dict
    default: []
  accounts_json:
    description:
      - The same list as one JSON string, instead of O(accounts) (mutually exclusive with it);
        or the whole desired state as filter C(soctrang.mail.mail_state_json) returns it (an
        object with C(accounts)), which the role passes untouched.
      - Ansible handles one 10 MB string in a fraction of the time it takes to walk
        20,000 dictionaries as task arguments.
    type: str
  reset:
    description: Ids or addresses of the accounts whose password O(mode=reset_password) resets.
    type: list
    elements: str
    default: []
  unlock:
    description: Ids or addresses of the accounts whose lockout O(mode=unlock) ends.
    type: list
    elements: str
    default: []
  remove:
    description:
      - Addresses O(mode=remove_retired) deletes; empty deletes every retired entry.
      - Only entries already in state C(retired) are ever deleted.
    type: list
    elements: str
    default: []
  ldap_uri:
    description: Where slapd listens; SASL EXTERNAL needs a C(ldapi://) socket.
    type: str
    default: ldapi:///
  pending_handover_path:
    description: The journal of initial passwords not yet handed over (on the directory host).
    type: path
    default: /var/lib/soctrang-mailboxes/pending-handover.json
  initial_password_length:
    description: Length of generated passwords (at least 8, Điều 8.1.b).
    type: int
    default: 16
  initial_password_hash:
    description:
      - How the initial passwords of new entries are hashed.
      - C(argon2) - Argon2id computed by the module with O(argon2_memory_kib) and
        O(argon2_iterations), stored as C({ARGON2}) (verified by slapd's argon2 module).
        About 1 ms per password, where slapd's own Argon2id costs about 40 ms; 20,000
        accounts take seconds instead of minutes. The light work factor is safe for
        16 random characters; what users choose later is hashed by slapd at full cost.
      - C(slapd) - cleartext over the local socket, hashed by slapd with its configured scheme.
    type: str
    choices: [argon2, slapd]
    default: argon2
  argon2_memory_kib:
    description: Argon2id memory cost of initial passwords (O(initial_password_hash=argon2)).
    type: int
    default: 2048
  argon2_iterations:
    description: Argon2id time cost of initial passwords.
    type: int
    default: 1
  retire_limit:
    description:
      - Refuse to run when more entries than this would be retired at once, which is what
        a truncated or wrongly loaded directory would cause. 0 means no limit.
    type: int
    default: 1000
  diff_limit:
    description: At most this many entries are shown in full under C(--diff); the rest are counted.
    type: int
    default: 50
  write_window:
    description: Writes in flight at once on the connection (pipelining).
    type: int
    default: 64
  page_size:
    description: Page size of the paged search that reads the directory.
    type: int
    default: 1000
requirements:
  - python3-ldap on the directory host
  - python3-argon2 on the directory host (O(initial_password_hash=argon2))
notes:
  - Supports check mode and diff mode. Check mode reports the same lists and writes nothing.
"""

EXAMPLES = r"""
- name: Reconcile the mailboxes
  soctrang.mail.ldap_mailboxes:
    domain: "{{ soctrang_mail_domain }}"
    accounts: "{{ mailboxes_state.accounts }}"
  no_log: true
  register: mailboxes_result
"""

RETURN = r"""
created:
  description: Addresses of the entries created.
  type: list
  elements: str
  returned: always
changed_entries:
  description: DNs of existing entries whose attributes were brought to the desired state.
  type: list
  elements: str
  returned: always
disabled:
  description: DNs of entries that became disabled (login refused, data kept).
  type: list
  elements: str
  returned: always
retired:
  description: DNs of entries retired because their account left the desired state.
  type: list
  elements: str
  returned: always
foreign:
  description: DNs under ou=people/ou=units without the socMailbox class, not in the desired state; left alone.
  type: list
  elements: str
  returned: always
removed:
  description: DNs deleted by O(mode=remove_retired).
  type: list
  elements: str
  returned: always
reset:
  description: Addresses whose password O(mode=reset_password) reset.
  type: list
  elements: str
  returned: always
unlocked:
  description: Addresses whose lockout O(mode=unlock) ended (those not locked are not listed).
  type: list
  elements: str
  returned: always
counts:
  description:
    - Numbers of entries - desired (accounts given), foreign, created, changed, disabled, retired,
      unchanged, removed, reset, unlocked.
  type: dict
  returned: always
initial_passwords:
  description:
    - dn, owner, unit, mail and password of every account whose new password has not been
      handed over yet (this run's and those of an interrupted earlier run). Never in check mode.
  type: list
  elements: dict
  returned: always
timings:
  description: Seconds spent searching, planning, hashing and writing.
  type: dict
  returned: always
"""


import json
import os
import time
import traceback
from collections import deque

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.soctrang.mail.plugins.module_utils.ldap_sync import (
    LOCK_ATTRIBUTE,
    LOCKED_BY_ADMINISTRATOR,
    MAILBOX_OBJECT_CLASSES,
    RESET_ATTRIBUTE,
    SEARCH_ATTRIBUTES,
    STATE_ACTIVE,
    SyncError,
    assign_initial_passwords,
    current_entries,
    desired_entries,
    normalise_dn,
    parse_journal,
    plan_removal,
    plan_sync,
    render_diff,
    still_to_hand_over,
    suffix_for_domain,
    summarise,
)
from ansible_collections.soctrang.mail.plugins.module_utils.private_files import write_private_file

try:
    import ldap
    from ldap.controls import RequestControl, SimplePagedResultsControl

    LDAP_IMPORT_ERROR = None
except ImportError:
    LDAP_IMPORT_ERROR = traceback.format_exc()

try:
    from argon2.low_level import Type as Argon2Type
    from argon2.low_level import hash_secret as argon2_hash_secret

    ARGON2_IMPORT_ERROR = None
except ImportError:
    ARGON2_IMPORT_ERROR = traceback.format_exc()


class DirectoryWriteError(Exception):
    def __init__(self, failures: list[dict]):
        super().__init__(f"{len(failures)} writes failed")
        self.failures = failures


def connect(uri: str):
    connection = ldap.initialize(uri)
    connection.protocol_version = 3
    connection.set_option(ldap.OPT_REFERRALS, 0)
    connection.sasl_external_bind_s()
    return connection


def read_mailbox_entries(connection, suffix: str, page_size: int) -> list[tuple[str, dict[str, list[str]]]]:
    """The one search: every inetOrgPerson under the suffix, managed attributes only.

    Paged, so the server's size limit for non-root identities cannot cut it short.
    """
    attributes = list(SEARCH_ATTRIBUTES)
    paging = SimplePagedResultsControl(True, size=page_size, cookie="")
    entries = []
    while True:
        message_id = connection.search_ext(
            suffix, ldap.SCOPE_SUBTREE, "(objectClass=inetOrgPerson)", attributes, serverctrls=[paging]
        )
        _type, data, _id, controls = connection.result3(message_id)
        for dn, raw in data:
            if dn is None:
                continue
            entries.append((dn, {name: [value.decode("utf-8") for value in values] for name, values in raw.items()}))
        cookies = [
            control.cookie for control in controls if control.controlType == SimplePagedResultsControl.controlType
        ]
        if not cookies or not cookies[0]:
            return entries
        paging.cookie = cookies[0]


def encode(values) -> list[bytes]:
    return [str(value).encode("utf-8") for value in values]


def pipelined(connection, operations, window: int) -> list[dict]:
    """Send the writes with up to `window` in flight; collect failures by DN.

    Every write is a whole-entry add or an attribute replace/delete: repeating
    one after an interruption is harmless, and the next run's plan holds
    exactly what had not been written yet.
    """
    in_flight: deque = deque()
    failures = []

    def collect_oldest():
        message_id, dn = in_flight.popleft()
        try:
            connection.result3(message_id)
        except ldap.LDAPError as error:
            detail = error.args[0] if error.args and isinstance(error.args[0], dict) else {"desc": str(error)}
            failures.append({"dn": dn, "error": f"{detail.get('desc', '')} {detail.get('info', '')}".strip()})

    for dn, send in operations:
        in_flight.append((send(connection), dn))
        if len(in_flight) >= window:
            collect_oldest()
    while in_flight:
        collect_oldest()
    return failures


HASHED_HERE = "argon2"


class PasswordHasher:
    """The userPassword value of a new entry.

    `slapd`: cleartext over the local socket; slapd hashes it with its own
    scheme (ppolicy olcPPolicyHashCleartext) - about 40 ms of a core each.
    `argon2`: Argon2id computed here with light parameters, stored as
    {ARGON2}, which slapd's argon2 module verifies from the parameters in the
    hash. An initial password is 16 random characters (~96 bits): no guessing
    attack reaches it whatever the work factor, which exists for the
    low-entropy passwords people choose - and those, set at the forced first
    change, are hashed by slapd at full cost.
    """

    def __init__(self, scheme: str, memory_kib: int, iterations: int):
        self.scheme = scheme
        self.memory_kib = memory_kib
        self.iterations = iterations

    def __call__(self, password: str) -> bytes:
        if self.scheme == "slapd":
            return password.encode("utf-8")
        encoded = argon2_hash_secret(
            password.encode("utf-8"),
            os.urandom(16),
            time_cost=self.iterations,
            memory_cost=self.memory_kib,
            parallelism=1,
            hash_len=32,
            type=Argon2Type.ID,
        )
        return b"{ARGON2}" + encoded


def add_operation(dn: str, attributes: dict[str, list[str]], password: str, hasher: PasswordHasher):
    modlist = [("objectClass", encode(("top", *MAILBOX_OBJECT_CLASSES)))]
    modlist += [(name, encode(values)) for name, values in attributes.items()]
    # Adding an entry does not set pwdReset (slapo-ppolicy): say it.
    modlist.append((RESET_ATTRIBUTE, [b"TRUE"]))

    def send(connection):
        # Hashed here, just before sending: the hashing overlaps with slapd
        # writing the entries already in flight.
        return connection.add_ext(dn, [*modlist, ("userPassword", [hasher(password)])])

    return dn, send


def modify_operation(dn: str, modifications):
    operation_codes = {"replace": ldap.MOD_REPLACE, "delete": ldap.MOD_DELETE}
    modlist = [
        (operation_codes[change.operation], change.attribute, encode(change.values) if change.values else None)
        for change in modifications
    ]
    return dn, lambda connection: connection.modify_ext(dn, modlist)


def write_journal(path: str, journal: dict) -> None:
    """Replace the journal atomically; only root can read it."""
    text = json.dumps(journal, ensure_ascii=False, indent=1, sort_keys=True)
    write_private_file(path, text.encode("utf-8"), ".pending-")


def read_journal(path: str) -> dict:
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        return parse_journal(handle.read(), path)


def empty_result() -> dict:
    return {
        "changed": False,
        "created": [],
        "changed_entries": [],
        "disabled": [],
        "retired": [],
        "removed": [],
        "reset": [],
        "unlocked": [],
        "foreign": [],
        "counts": {
            "desired": 0,
            "foreign": 0,
            "created": 0,
            "changed": 0,
            "disabled": 0,
            "retired": 0,
            "unchanged": 0,
            "removed": 0,
            "reset": 0,
            "unlocked": 0,
        },
        "initial_passwords": [],
        "timings": {},
        # Echoing 20,000 accounts back as module_args would be megabytes of noise.
        "invocation": {"module_args": {"summary": "arguments omitted: the desired state of every mailbox"}},
    }


def reconcile(module: AnsibleModule, connection, suffix: str, result: dict) -> None:
    params = module.params
    started = time.monotonic()
    found = read_mailbox_entries(connection, suffix, params["page_size"])
    result["timings"]["search"] = round(time.monotonic() - started, 3)
    started = time.monotonic()
    plan = plan_sync(params["accounts"], found, suffix)
    result["timings"]["plan"] = round(time.monotonic() - started, 3)
    summary = summarise(plan)
    result.update(
        created=summary["created"],
        changed_entries=summary["changed"],
        disabled=summary["disabled"],
        retired=summary["retired"],
        foreign=summary["foreign"],
        changed=plan.write_count > 0,
    )
    result["counts"].update(summary["counts"])
    if module._diff:
        result["diff"] = render_diff(plan, params["diff_limit"])
    limit = params["retire_limit"]
    if limit and len(summary["retired"]) > limit:
        module.fail_json(
            msg=(
                f"refusing to retire {len(summary['retired'])} mailboxes in one run (retire_limit {limit}): "
                "check that the whole directory was loaded; raise mailboxes_retire_limit if this is intended"
            ),
            **result,
        )
    journal_path = params["pending_handover_path"]
    journal = read_journal(journal_path)
    if module.check_mode:
        return
    started = time.monotonic()
    assigned = assign_initial_passwords(plan.creates, journal, params["initial_password_length"])
    result["timings"]["passwords"] = round(time.monotonic() - started, 3)
    if assigned:
        journal.update(assigned)
        write_journal(journal_path, journal)
    hasher = PasswordHasher(params["initial_password_hash"], params["argon2_memory_kib"], params["argon2_iterations"])
    operations = [
        add_operation(entry.dn, entry.attributes, assigned[normalise_dn(entry.dn)]["password"], hasher)
        for entry in plan.creates
    ]
    operations += [modify_operation(change.dn, change.modifications) for change in plan.changes]
    started = time.monotonic()
    failures = pipelined(connection, operations, params["write_window"])
    result["timings"]["write"] = round(time.monotonic() - started, 3)
    hand_over(module, connection, suffix, journal=journal, journal_path=journal_path, result=result)
    if failures:
        raise DirectoryWriteError(failures)


def hand_over(module, connection, suffix, *, journal, journal_path, result) -> None:
    """Return every journalled password whose entry exists with pwdReset set.

    Reads the directory again: what counts is what was really written, also
    by an earlier run that stopped before its hand-over.
    """
    if not journal:
        return
    found = read_mailbox_entries(connection, suffix, module.params["page_size"])
    keep = still_to_hand_over(journal, found, suffix)
    if keep != journal:
        if keep:
            write_journal(journal_path, keep)
        else:
            os.unlink(journal_path)
    result["initial_passwords"] = sorted(keep.values(), key=lambda record: record["mail"])


def remove_retired(module: AnsibleModule, connection, suffix: str, result: dict) -> None:
    found = read_mailbox_entries(connection, suffix, module.params["page_size"])
    removable = plan_removal(found, suffix, set(module.params["remove"]))
    result.update(removed=removable, changed=bool(removable))
    result["counts"]["removed"] = len(removable)
    if module._diff:
        result["diff"] = {
            "before": "".join(f"dn: {dn}\n" for dn in removable[: module.params["diff_limit"]]),
            "after": "",
        }
    if module.check_mode or not removable:
        return
    operations = [(dn, lambda connection, dn=dn: connection.delete_ext(dn)) for dn in removable]
    failures = pipelined(connection, operations, module.params["write_window"])
    if failures:
        raise DirectoryWriteError(failures)


def find_named_accounts(accounts: list[dict], names: list[str]) -> list[dict]:
    by_name = {}
    for account in accounts:
        by_name[str(account["id"]).lower()] = account
        by_name[str(account["mail"]).lower()] = account
        by_name[str(account["uid"]).lower()] = account
    chosen, unknown = [], []
    for name in names:
        account = by_name.get(name.strip().lower())
        (chosen.append(account) if account else unknown.append(name))
    if unknown:
        raise SyncError(
            f"no account with id or address {', '.join(unknown)} in the desired state; "
            "check the id in inventories/<env>/directory/ or the address in addresses.yml"
        )
    return chosen


def reset_passwords(module: AnsibleModule, connection, suffix: str, result: dict) -> None:
    params = module.params
    if not params["reset"]:
        module.fail_json(msg="mode=reset_password needs reset: the ids or addresses of the accounts", **result)
    chosen = find_named_accounts(params["accounts"], params["reset"])
    wanted = desired_entries(chosen, suffix)
    existing = current_entries(read_mailbox_entries(connection, suffix, params["page_size"]), suffix)
    for key, entry in wanted.items():
        found = existing.get(key)
        if found is None:
            raise SyncError(f"{entry.mail} has no entry {entry.dn} yet: run the provisioning playbook first")
        state = (found["attributes"].get("socMailboxState") or [""])[0]
        if state != STATE_ACTIVE or found["attributes"].get(LOCK_ATTRIBUTE) == [LOCKED_BY_ADMINISTRATOR]:
            raise SyncError(
                f"{entry.mail} is {state or 'locked'}: a reset would not let anyone in; "
                "set the person's state to present in the directory and provision first"
            )
    result.update(reset=[entry.mail for entry in wanted.values()], changed=True)
    result["counts"]["reset"] = len(wanted)
    if module.check_mode:
        return
    journal_path = params["pending_handover_path"]
    journal = read_journal(journal_path)
    # A reset always issues a new password, replacing any journalled one.
    assigned = assign_initial_passwords(list(wanted.values()), {}, params["initial_password_length"])
    journal.update(assigned)
    write_journal(journal_path, journal)
    operations = []
    for key, entry in wanted.items():
        password = assigned[key]["password"]
        # Written by the manager identity: ppm and history are skipped and, with
        # pwdMustChange, ppolicy sets pwdReset itself; we say it explicitly too.
        modlist = [
            (ldap.MOD_REPLACE, "userPassword", encode([password])),
            (ldap.MOD_REPLACE, RESET_ATTRIBUTE, [b"TRUE"]),
        ]
        operations.append(
            (entry.dn, lambda connection, dn=entry.dn, modlist=modlist: connection.modify_ext(dn, modlist))
        )
    failures = pipelined(connection, operations, params["write_window"])
    hand_over(module, connection, suffix, journal=journal, journal_path=journal_path, result=result)
    if failures:
        raise DirectoryWriteError(failures)


# ppolicy keeps its lockout in attributes no client may write (NO-USER-MODIFICATION);
# with OpenLDAP's relax control the manager identity may remove them.
RELAX_CONTROL_OID = "1.3.6.1.4.1.4203.666.5.12"
LOCKOUT_ATTRIBUTES = ("pwdAccountLockedTime", "pwdFailureTime")


def unlock_accounts(module: AnsibleModule, connection, suffix: str, result: dict) -> None:
    """End the lockout (Điều 9) of the named accounts: what the operators do after
    checking with the person that the failed logins were theirs."""
    params = module.params
    if not params["unlock"]:
        module.fail_json(msg="mode=unlock needs unlock: the ids or addresses of the accounts", **result)
    wanted = desired_entries(find_named_accounts(params["accounts"], params["unlock"]), suffix)
    operations = []
    for entry in wanted.values():
        wanted_attributes = ["socMailboxState", *LOCKOUT_ATTRIBUTES]
        found = connection.search_s(entry.dn, ldap.SCOPE_BASE, "(objectClass=*)", wanted_attributes)
        attributes = {name: [value.decode() for value in values] for name, values in found[0][1].items()}
        state = (attributes.get("socMailboxState") or [""])[0]
        if state != STATE_ACTIVE or attributes.get(LOCK_ATTRIBUTE) == [LOCKED_BY_ADMINISTRATOR]:
            raise SyncError(
                f"{entry.mail} is {state or 'locked by the operators'}, not locked out by failed logins: "
                "set the person's state to present in the directory and provision"
            )
        present = [name for name in LOCKOUT_ATTRIBUTES if name in attributes]
        if present:
            result["unlocked"].append(entry.mail)
            operations.append((entry.dn, [(ldap.MOD_DELETE, name, None) for name in present]))
    result["counts"]["unlocked"] = len(operations)
    result["changed"] = bool(operations)
    if module.check_mode:
        return
    relax = RequestControl(RELAX_CONTROL_OID, True)
    for dn, modlist in operations:
        connection.modify_ext_s(dn, modlist, serverctrls=[relax])


def parse_accounts_json(text: str) -> list[dict]:
    """The accounts of `accounts_json`: a JSON list, or the filter's whole state object."""
    try:
        decoded = json.loads(text)
    except ValueError as error:
        raise SyncError(f"accounts_json is not JSON ({error})") from error
    # soctrang.mail.mail_state_json returns {domain, accounts, retired}: take it as it is.
    accounts = decoded.get("accounts") if isinstance(decoded, dict) else decoded
    if not isinstance(accounts, list) or not all(isinstance(account, dict) for account in accounts):
        raise SyncError(
            "accounts_json must be a JSON list of account objects, or an object with such a list "
            "under 'accounts' (docs/contracts.md section 1)"
        )
    return accounts


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "mode": {
                "type": "str",
                "choices": ["reconcile", "remove_retired", "reset_password", "unlock"],
                "default": "reconcile",
            },
            "domain": {"type": "str", "required": True},
            "accounts": {"type": "list", "elements": "dict", "default": []},
            "accounts_json": {"type": "str"},
            "reset": {"type": "list", "elements": "str", "default": []},
            "unlock": {"type": "list", "elements": "str", "default": []},
            "remove": {"type": "list", "elements": "str", "default": []},
            "ldap_uri": {"type": "str", "default": "ldapi:///"},
            "pending_handover_path": {"type": "path", "default": "/var/lib/soctrang-mailboxes/pending-handover.json"},
            "initial_password_length": {"type": "int", "default": 16, "no_log": False},
            "initial_password_hash": {
                "type": "str",
                "choices": [HASHED_HERE, "slapd"],
                "default": HASHED_HERE,
                "no_log": False,
            },
            "argon2_memory_kib": {"type": "int", "default": 2048},
            "argon2_iterations": {"type": "int", "default": 1},
            "retire_limit": {"type": "int", "default": 1000},
            "diff_limit": {"type": "int", "default": 50},
            "write_window": {"type": "int", "default": 64},
            "page_size": {"type": "int", "default": 1000},
        },
        supports_check_mode=True,
        mutually_exclusive=[("accounts", "accounts_json")],
    )
    if LDAP_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("python3-ldap (python-ldap)"), exception=LDAP_IMPORT_ERROR)
    if ARGON2_IMPORT_ERROR and module.params["initial_password_hash"] == HASHED_HERE:
        module.fail_json(msg=missing_required_lib("python3-argon2 (argon2-cffi)"), exception=ARGON2_IMPORT_ERROR)
    result = empty_result()
    try:
        if module.params["accounts_json"] is not None:
            module.params["accounts"] = parse_accounts_json(module.params["accounts_json"])
        # For the caller's summary, so that it need not count 20,000 accounts in Jinja.
        result["counts"]["desired"] = len(module.params["accounts"])
        suffix = suffix_for_domain(module.params["domain"])
        connection = connect(module.params["ldap_uri"])
        action = {
            "reconcile": reconcile,
            "remove_retired": remove_retired,
            "reset_password": reset_passwords,
            "unlock": unlock_accounts,
        }
        action[module.params["mode"]](module, connection, suffix, result)
    except SyncError as error:
        module.fail_json(msg=str(error), **result)
    except DirectoryWriteError as error:
        shown = "; ".join(f"{failure['dn']}: {failure['error']}" for failure in error.failures[:10])
        module.fail_json(
            msg=(
                f"{len(error.failures)} directory writes failed (first: {shown}); the others were written. "
                "Fix the cause and run again: the next run writes only what is still missing."
            ),
            failures=error.failures,
            **result,
        )
    except ldap.LDAPError as error:
        module.fail_json(msg=f"LDAP error talking to {module.params['ldap_uri']}: {error}", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
