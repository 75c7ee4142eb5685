#!/usr/bin/env python3
"""Is the lab's mail working? A short check an operator runs after `make lab`.

    make lab-smoke          (or: .venv/bin/python tools/lab_smoke.py)

Speaks the real protocols to the lab through its ports on 127.0.0.1: a user
who has not changed the initial password is refused at IMAP with the
must-change message; two users change their initial passwords through LDAP
(as on their first visit to the webmail) - to lab values derived from their
address, printed below; one sends the other a message over submission (587,
STARTTLS, login) and the other reads it over IMAPS; an unauthenticated relay
attempt on port 25 is refused. Then every state the lab holds on purpose
(README, "The lab shows every state"), found in the lab's desired state and in
inventories/lab/group_vars/all/lab.yml: a disabled person cannot log in (and
still receives mail), a retired address is refused with 550 5.1.6, a message
larger than the small quota is refused at RCPT, a manager may send as the unit
mailbox while another person may not, the password in its warning window still
logs in and has the warning notice, and the password past its maximum age is
refused with the must-change message. Prints one line per check and exits
non-zero when one fails.
"""

from __future__ import annotations

import argparse
import functools
import smtplib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from ansible_collections.soctrang.mail.plugins.plugin_utils.naming import size_to_bytes
from ansible_collections.soctrang.mail.plugins.plugin_utils.policy import load_policy
from ansible_collections.soctrang.mail.plugins.plugin_utils.state import inventory_mail_state
from mailtest import (
    Lab,
    NamedSMTP,
    address,
    ensure_own_password,
    imap_login,
    imap_login_refusal,
    initial_passwords,
    login_attempt,
    message_with_attachment,
    simple_message,
    subjects,
    submission,
    wait_for_subject,
)

REPOSITORY = Path(__file__).resolve().parent.parent
SECRETS = REPOSITORY / "build" / "lab-secrets"
LAB_INVENTORY = REPOSITORY / "inventories" / "lab"
MIB = 1024**2


@functools.cache
def lab_desired_state() -> dict[str, Any]:
    """The lab's desired state, computed as the playbooks do (once per run: 20,000 mailboxes take a while)."""
    return inventory_mail_state(LAB_INVENTORY, load_policy(REPOSITORY, LAB_INVENTORY))


def attachment_limit_bytes() -> int:
    """Điều 7's attachment limit, from where the servers take it (soctrang_attachment_limit)."""
    limits = yaml.safe_load((REPOSITORY / "group_vars" / "all" / "mailbox_limits.yml").read_text(encoding="utf-8"))
    return size_to_bytes(str(limits["soctrang_attachment_limit"]))


def lab_states() -> dict[str, object]:
    """The accounts that show each state, from the lab's desired state."""
    state = lab_desired_state()
    people = [a for a in state["accounts"] if a["kind"] == "person"]
    smallest = min(people, key=lambda a: a["quota_bytes"])
    send_as = next(a for a in state["accounts"] if a["managers_send_as"] and a["managers"])
    due = yaml.safe_load((LAB_INVENTORY / "group_vars" / "all" / "lab.yml").read_text(encoding="utf-8"))
    return {
        "disabled": next(a["mail"] for a in people if a["state"] == "disabled"),
        "retired": state["retired"][0]["mail"],
        "small_quota": (smallest["mail"], smallest["quota_bytes"]),
        "send_as": (send_as["mail"], send_as["managers"][0]),
        "warned": address(due["lab_password_states"]["warned"]),
        "expired": address(due["lab_password_states"]["expired"]),
    }


def ordinary_people(initial: dict[str, str], states: dict[str, object]) -> list[str]:
    """The people of the hand-over who hold no state on purpose, sorted: this check
    uses the first two and the last; the benchmarks and the browser journey take
    others from the same list (SMOKE_PEOPLE leaves them out)."""
    ledger = yaml.safe_load((LAB_INVENTORY / "addresses.yml").read_text(encoding="utf-8"))
    persons = {mail for mail, entry in ledger["addresses"].items() if entry.get("kind") == "person"}
    on_purpose = {
        states["disabled"],
        states["warned"],
        states["expired"],
        states["send_as"][1],
        states["small_quota"][0],
    }
    return sorted(mail for mail in initial if mail in persons and mail not in on_purpose)


def others_than_smoke(initial: dict[str, str], states: dict[str, object]) -> list[str]:
    """ordinary_people without those this check changes (the first two, the last)."""
    return ordinary_people(initial, states)[2:-1]


def check(name: str, action: Callable[[], str]) -> bool:
    started = time.perf_counter()
    try:
        detail = action()
    except (AssertionError, OSError, smtplib.SMTPException) as error:
        print(f"FAIL  {name}: {error}")
        return False
    print(f"ok    {name} ({(time.perf_counter() - started) * 1000:.0f} ms){': ' + detail if detail else ''}")
    return True


@dataclass
class Smoke:
    """The lab, the initial passwords of its hand-over files, and the people each check uses."""

    lab: Lab
    initial: dict[str, str]
    states: dict[str, object]
    sender: str
    recipient: str
    newcomer: str
    passwords: dict[str, str] = field(default_factory=dict)

    def must_change_refusal(self) -> str:
        refusal = imap_login_refusal(self.lab, self.newcomer, self.initial[self.newcomer])
        assert "đổi" in refusal or "AUTHENTICATIONFAILED" in refusal, refusal
        return refusal

    def own_passwords(self) -> str:
        for user in (self.sender, self.recipient):
            self.passwords[user] = ensure_own_password(self.lab, user.split("@")[0], self.initial[user])
        return (
            f"{self.sender} and {self.recipient} now use their lab passwords "
            f"{self.passwords[self.sender]!r} / {self.passwords[self.recipient]!r}"
        )

    def send_and_read(self) -> str:
        subject = f"Kiểm tra hệ thống {time.strftime('%H:%M:%S')}"
        with submission(self.lab, self.sender, self.passwords[self.sender]) as smtp:
            smtp.send_message(simple_message(self.sender, self.recipient, subject))
        wait_for_subject(self.lab, self.recipient, self.passwords[self.recipient], subject, seconds=30)
        return f"{self.sender} -> {self.recipient}"

    def inbox_subjects(self, user: str, password: str, containing: str) -> list[str]:
        """The subjects in the INBOX of `user` (an IMAPS login) that contain `containing`."""
        imap = imap_login(self.lab, user, password)
        try:
            return [subject for subject in subjects(imap) if containing in subject]
        finally:
            imap.logout()

    def rcpt_on_port_25(self, recipient: str) -> tuple[int, bytes]:
        with NamedSMTP(self.lab, self.lab.smtp_port) as smtp:
            smtp.ehlo()
            smtp.mail("someone@example.org")
            return smtp.rcpt(recipient)

    def relay_refused(self) -> str:
        code, text = self.rcpt_on_port_25("victim@example.net")
        assert code == 554, (code, text)
        return text.decode()

    def disabled_refused(self) -> str:
        user = str(self.states["disabled"])
        password = self.initial.get(user, "Sai-mat-khau-1")
        for door in ("imap", "submission"):
            accepted, said = login_attempt(self.lab, door, user, password)
            assert not accepted, f"{door} let {user} in: {said}"
        code, text = self.rcpt_on_port_25(user)
        assert code == 250, (code, text)
        return f"{user}: IMAP and submission refuse it, port 25 still takes its mail"

    def retired_refused(self) -> str:
        code, text = self.rcpt_on_port_25(str(self.states["retired"]))
        assert code == 550 and b"5.1.6" in text, (code, text)
        return f"{self.states['retired']}: {code} {text.decode()}"

    def over_quota_refused(self) -> str:
        """Filled past its small quota (Dovecot lets the last message through within quota_storage_grace),
        the mailbox refuses the next message at RCPT, and its owner has the quota warnings."""
        recipient, quota = self.states["small_quota"]
        self.passwords[recipient] = ensure_own_password(self.lab, recipient.split("@")[0], self.initial[recipient])
        filling = "Lấp đầy hạn mức"
        with submission(self.lab, self.sender, self.passwords[self.sender]) as smtp:
            try:
                smtp.send_message(message_with_attachment(self.sender, recipient, filling, quota))
            except smtplib.SMTPRecipientsRefused:
                pass  # full already, from an earlier run
            else:  # delivered through the queue: the next RCPT sees it only once it is in the mailbox
                wait_for_subject(self.lab, recipient, self.passwords[recipient], filling, seconds=60)
            try:
                smtp.send_message(simple_message(self.sender, recipient, "Sau khi đầy"))
            except smtplib.SMTPRecipientsRefused as refusal:
                code, text = refusal.recipients[recipient]
            else:
                raise AssertionError(f"{recipient} still accepts mail past its quota of {quota} bytes")
        assert code == 552 and b"5.2.2" in text, (code, text)
        warnings = self.inbox_subjects(recipient, self.passwords[recipient], "dung lượng")
        assert warnings, f"no quota warning in the INBOX of {recipient}"
        return f"{recipient} ({quota // MIB} MiB): {code} {text.decode()}; INBOX has {warnings[-1]!r}"

    def send_as_unit(self) -> str:
        """A manager may send as the unit; anyone else is refused: the envelope (Postfix), the header (rspamd)."""
        unit, manager = self.states["send_as"]
        self.passwords[manager] = ensure_own_password(self.lab, manager.split("@")[0], self.initial[manager])
        with submission(self.lab, manager, self.passwords[manager]) as smtp:
            smtp.send_message(simple_message(unit, self.recipient, "Thư của đơn vị"), from_addr=unit)
        forged = simple_message(unit, self.recipient, "Không phải người quản lý")
        with submission(self.lab, self.sender, self.passwords[self.sender]) as smtp:
            try:
                smtp.send_message(forged, from_addr=unit)
            except smtplib.SMTPRecipientsRefused as refusal:
                envelope = refusal.recipients[self.recipient]
            else:
                raise AssertionError(f"{self.sender} was let use {unit} as envelope sender")
            try:
                smtp.send_message(forged, from_addr=self.sender)
            except smtplib.SMTPDataError as refusal:
                header = (refusal.smtp_code, refusal.smtp_error)
            else:
                raise AssertionError(f"{self.sender} was let put {unit} in From:")
        assert envelope[0] == 553 and b"5.7.1" in envelope[1], envelope
        assert header[0] == 554 and b"5.7.1" in header[1], header
        return f"{manager} sends as {unit}; {self.sender} is refused: {envelope[0]} / {header[0]} {header[1].decode()}"

    def warned_has_notice(self) -> str:
        user = str(self.states["warned"])
        found = self.inbox_subjects(user, self.initial[user], "mật khẩu")
        assert found, f"no password notice in the INBOX of {user}"
        return f"{user} logs in and has {found[0]!r}"

    def expired_refused(self) -> str:
        user = str(self.states["expired"])
        refusal = imap_login_refusal(self.lab, user, self.initial[user])
        assert "đổi" in refusal, refusal
        return f"{user}: {refusal}"

    def run(self) -> bool:
        results = [
            check(f"IMAP refuses {self.newcomer} until the password is changed", self.must_change_refusal),
            check("users change their initial passwords through LDAP", self.own_passwords),
        ]
        if results[-1]:
            results.append(check("a message over submission arrives and is read over IMAPS", self.send_and_read))
            past_quota = "a mailbox past its small quota refuses mail at RCPT and warns"
            results.append(check(past_quota, self.over_quota_refused))
            results.append(check("a manager sends as the unit mailbox, nobody else may", self.send_as_unit))
        results.append(check("port 25 refuses to relay for a stranger", self.relay_refused))
        results.append(check("a disabled person cannot log in", self.disabled_refused))
        results.append(check("a retired address is refused", self.retired_refused))
        results.append(check("a password in its warning window logs in and has the notice", self.warned_has_notice))
        results.append(check("a password past its maximum age is refused (must change)", self.expired_refused))
        return all(results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--handover", type=Path, default=REPOSITORY / "handover" / "lab")
    parser.add_argument("--secrets", type=Path, default=SECRETS)
    arguments = parser.parse_args()

    lab = Lab.published_lab(str(arguments.secrets / "ca" / "ca.crt"))
    initial = initial_passwords(arguments.handover, arguments.secrets / "handover-vault-password")
    states = lab_states()
    people = ordinary_people(initial, states)
    if len(people) < 3:
        print(f"need three accounts in the hand-over files of {arguments.handover}", file=sys.stderr)
        return 2
    smoke = Smoke(lab, initial, states, sender=people[0], recipient=people[1], newcomer=people[-1])
    passed = smoke.run()
    print("lab mail: " + ("all checks passed" if passed else "SOME CHECKS FAILED"))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
