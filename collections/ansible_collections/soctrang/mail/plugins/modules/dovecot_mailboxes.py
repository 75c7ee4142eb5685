#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# ansible-test validate-modules wants DOCUMENTATION, EXAMPLES and RETURN above the imports:
# ruff: noqa: E402
"""Welcome new mailboxes and grant unit mailboxes to their managers, in one call."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: dovecot_mailboxes
short_description: Welcome new mailboxes and keep the managers' access to unit mailboxes
description:
  - Runs on the mail store, as root, after the directory holds the accounts.
  - Every account in state C(present) whose mailbox directory does not exist yet
    receives the welcome message, delivered over LMTP (one connection for all of
    them); delivery creates the mailbox. An existing mailbox is never welcomed
    again, so a restored or long-used mailbox gets nothing.
  - For every unit or system mailbox, the managers listed in the desired state get
    O(manager_rights) on its INBOX (Điều 12); the folders inherit them
    (C(acl_defaults_from_inbox)). Grants of people no longer listed are removed.
    The current grants are read from the C(dovecot-acl) files; only differences
    are written, with C(doveadm acl), which also keeps the shared-mailbox
    dictionary that lets the managers see the unit under C(shared/).
  - Sessions still open for an address that may no longer log in (disabled,
    retired, or no longer in the desired state) are ended with C(doveadm kick),
    and that address's authentication cache entries flushed. The login rules
    themselves count at the next login without it (each login re-reads the
    directory), but an open IMAP session would outlive them.
  - Work grows with the number of mailboxes only in this one process, never in
    Ansible tasks. C(--check) changes nothing and reports the same lists.
options:
  accounts:
    description: The C(accounts) of the desired state (docs/contracts.md section 1).
    type: list
    elements: dict
    default: []
  accounts_json:
    description:
      - The whole desired state as one JSON string (filter C(soctrang.mail.mail_state_json)); its
        C(accounts) are used instead of O(accounts). At 20,000 accounts Ansible hands a string
        to a module in a moment, a list of dicts in seconds.
    type: str
    default: ""
  vmail_dir:
    description: Root of the mailboxes; a mailbox lives in C(<vmail_dir>/<domain>/<local part>).
    type: path
    required: true
  lmtp_socket:
    description: Dovecot's LMTP socket.
    type: path
    required: true
  sender:
    description: Envelope and header sender of the welcome message.
    type: str
    required: true
  welcome_subject:
    description: Subject of the welcome message.
    type: str
    required: true
  welcome_body:
    description: Body of the welcome message; C({address}), C({name}) and C({quota}) are replaced.
    type: str
    required: true
  manager_rights:
    description: Rights of a manager on a unit mailbox, as C(doveadm acl) names them.
    type: list
    elements: str
    required: true
author: Sóc Trăng provincial mail operators (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Welcome new mailboxes, grant unit mailboxes
  soctrang.mail.dovecot_mailboxes:
    accounts: "{{ dovecot_accounts }}"
    vmail_dir: /var/vmail
    lmtp_socket: /var/spool/postfix/private/dovecot-lmtp
    sender: postmaster@soctrang.gov.vn
    welcome_subject: Chào mừng
    welcome_body: "Địa chỉ: {address}"
    manager_rights: [lookup, read]
"""

RETURN = r"""
welcomed:
  description: Addresses that received the welcome message (or would, in check mode).
  type: list
  elements: str
  returned: always
grants_changed:
  description: Unit addresses whose managers' grants were changed, with the new managers.
  type: dict
  returned: always
sessions_ended:
  description: Addresses whose open sessions were ended (or would be, in check mode), as they may no longer log in.
  type: list
  elements: str
  returned: always
"""


import json
import os
import smtplib
import socket
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from ansible.module_utils.basic import AnsibleModule

# doveadm's right names and the letters dovecot-acl files store them as.
RIGHT_LETTERS = {
    "lookup": "l",
    "read": "r",
    "write": "w",
    "write-seen": "s",
    "write-deleted": "t",
    "insert": "i",
    "post": "p",
    "expunge": "e",
    "create": "k",
    "delete": "x",
    "admin": "a",
}
ACL_FILE = "dovecot-acl"
DOVEADM = "doveadm"

Grants = dict[str, frozenset[str]]


def mailbox_home(vmail_dir: str, address: str) -> str:
    local_part, domain = address.split("@", 1)
    return os.path.join(vmail_dir, domain, local_part)


def mailbox_exists(vmail_dir: str, address: str) -> bool:
    return os.path.isdir(os.path.join(mailbox_home(vmail_dir, address), "Maildir"))


def read_grants(vmail_dir: str, address: str) -> Grants:
    """The `user=` grants of a mailbox's INBOX, as stored by Dovecot."""
    path = os.path.join(mailbox_home(vmail_dir, address), "Maildir", ACL_FILE)
    grants: dict[str, frozenset[str]] = {}
    try:
        with open(path, encoding="utf-8") as acl_file:
            for line in acl_file:
                identifier, _, letters = line.strip().partition(" ")
                if identifier.lower().startswith("user="):
                    grants[identifier[len("user=") :].lower()] = frozenset(letters.split(":", 1)[0].strip())
    except FileNotFoundError:
        pass
    return grants


def desired_grants(account: dict, right_letters: frozenset[str]) -> Grants:
    managers = account.get("managers") or []
    return {str(manager).lower(): right_letters for manager in managers}


def quota_text(quota_bytes: object) -> str:
    """The quota as the regulation writes it (2 GB), from bytes."""
    size = int(quota_bytes or 0)
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} byte"


def welcome_message(account: dict, sender: str, subject: str, body: str) -> EmailMessage:
    address = account["mail"]
    name = account.get("name") or address
    message = EmailMessage()
    message["From"] = Address("Hệ thống thư điện tử tỉnh Sóc Trăng", addr_spec=sender)
    message["To"] = Address(name, addr_spec=address)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.split("@", 1)[1])
    message["Auto-Submitted"] = "auto-generated"
    replacements = {"{address}": address, "{name}": name, "{quota}": quota_text(account.get("quota_bytes"))}
    for placeholder, value in replacements.items():
        body = body.replace(placeholder, value)
    message.set_content(body)
    return message


class UnixLMTP(smtplib.LMTP):
    """LMTP over a UNIX socket given as a plain path."""

    def connect(self, host: str = "localhost", port: int = 0, source_address: object = None) -> tuple[int, bytes]:
        if not host.startswith("/"):
            return super().connect(host, port, source_address)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.file = None
        self.sock.connect(host)
        code, message = self.getreply()
        return code, message


def deliver_welcome(module: AnsibleModule, accounts: list[dict]) -> None:
    params = module.params
    with UnixLMTP(timeout=60) as lmtp:
        lmtp.connect(params["lmtp_socket"])
        lmtp.ehlo_or_helo_if_needed()
        for account in accounts:
            message = welcome_message(account, params["sender"], params["welcome_subject"], params["welcome_body"])
            try:
                refused = lmtp.send_message(message, from_addr=params["sender"], to_addrs=[account["mail"]])
            except smtplib.SMTPRecipientsRefused as error:
                # smtplib raises, rather than returns, when its only recipient is refused.
                refused = error.recipients
            if refused:
                module.fail_json(msg=f"LMTP refused the welcome message for {account['mail']}: {refused}")


def apply_grants(module: AnsibleModule, address: str, current: Grants, desired: Grants) -> None:
    for manager, letters in sorted(desired.items()):
        if current.get(manager) != letters:
            names = [name for name, letter in RIGHT_LETTERS.items() if letter in letters]
            run_doveadm(module, ["acl", "set", "-u", address, "INBOX", f"user={manager}", *names])
    for manager in sorted(set(current) - set(desired)):
        run_doveadm(module, ["acl", "delete", "-u", address, "INBOX", f"user={manager}"])


def run_doveadm(module: AnsibleModule, arguments: list[str]) -> None:
    return_code, _, stderr = module.run_command([DOVEADM, *arguments])
    if return_code != 0:
        module.fail_json(msg=f"doveadm {' '.join(arguments)} failed: {stderr.strip()}")


def connected_users(module: AnsibleModule) -> set[str]:
    """The users with an open session on this Dovecot (doveadm who -1: a header
    line, then one line per connection starting with the user name)."""
    return_code, stdout, stderr = module.run_command([DOVEADM, "who", "-1"])
    if return_code != 0:
        module.fail_json(msg=f"doveadm who -1 failed: {stderr.strip()}")
    rows = [line.split() for line in stdout.splitlines()[1:]]
    return {row[0].lower() for row in rows if row}


def end_sessions(module: AnsibleModule, users: list[str]) -> None:
    for user in users:
        run_doveadm(module, ["kick", user])
    if users:
        run_doveadm(module, ["auth", "cache", "flush", *users])


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "accounts": {"type": "list", "elements": "dict", "default": []},
            "accounts_json": {"type": "str", "default": "", "no_log": False},
            "vmail_dir": {"type": "path", "required": True},
            "lmtp_socket": {"type": "path", "required": True},
            "sender": {"type": "str", "required": True},
            "welcome_subject": {"type": "str", "required": True},
            "welcome_body": {"type": "str", "required": True},
            "manager_rights": {"type": "list", "elements": "str", "required": True},
        },
        supports_check_mode=True,
    )
    params = module.params
    unknown_rights = sorted(set(params["manager_rights"]) - set(RIGHT_LETTERS))
    if unknown_rights:
        module.fail_json(msg=f"manager_rights: unknown rights {unknown_rights}; known: {sorted(RIGHT_LETTERS)}")
    right_letters = frozenset(RIGHT_LETTERS[name] for name in params["manager_rights"])
    vmail_dir = params["vmail_dir"]

    accounts = json.loads(params["accounts_json"])["accounts"] if params["accounts_json"] else params["accounts"]
    # The desired state's account states (docs/contracts.md, "Account states").
    active = [account for account in accounts if account.get("state", "active") == "active"]
    to_welcome = [account for account in active if not mailbox_exists(vmail_dir, account["mail"])]

    # Grants are computed after the welcome, when every active mailbox exists;
    # in check mode a mailbox still to be created has no grants yet.
    grant_changes: dict[str, tuple[Grants, Grants]] = {}
    for account in active:
        if account.get("kind", "person") == "person":
            continue
        current = read_grants(vmail_dir, account["mail"])
        desired = desired_grants(account, right_letters)
        if current != desired:
            grant_changes[account["mail"]] = (current, desired)

    # Open sessions of addresses that may not log in any more.
    may_log_in = {account["mail"].lower() for account in active}
    # (No desired state at all: nothing is known, nobody is ended.)
    to_end = sorted(user for user in connected_users(module) if user not in may_log_in) if accounts else []

    if not module.check_mode:
        end_sessions(module, to_end)
        if to_welcome:
            deliver_welcome(module, to_welcome)
        for address, (current, desired) in grant_changes.items():
            apply_grants(module, address, current, desired)

    welcomed = [account["mail"] for account in to_welcome]
    grants_changed = {address: sorted(desired) for address, (_, desired) in grant_changes.items()}
    result = {
        "changed": bool(welcomed or grants_changed or to_end),
        "welcomed": welcomed,
        "grants_changed": grants_changed,
        "sessions_ended": to_end,
    }
    if module._diff and result["changed"]:
        result["diff"] = {
            "before": {address: sorted(current) for address, (current, _) in grant_changes.items()},
            "after": {"welcomed": welcomed, "sessions_ended": to_end, **grants_changed},
        }
    module.exit_json(**result)


if __name__ == "__main__":
    main()
