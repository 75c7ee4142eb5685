#!/usr/bin/env python3
"""Is the lab's mail working? A short check an operator runs after `make lab`.

    make lab-smoke          (or: .venv/bin/python tools/lab_smoke.py)

Speaks the real protocols to the lab through its ports on 127.0.0.1: a user
who has not changed the initial password is refused at IMAP with the
must-change message; two users change their initial passwords through LDAP
(as on their first visit to the webmail) - to lab values derived from their
address, printed below; one sends the other a message over submission (587,
STARTTLS, login) and the other reads it over IMAPS; an unauthenticated relay
attempt on port 25 is refused. Prints one line per check and exits non-zero
when one fails.
"""

from __future__ import annotations

import argparse
import smtplib
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from mailtest import (
    Lab,
    NamedSMTP,
    ensure_own_password,
    imap_login_refusal,
    initial_passwords,
    simple_message,
    submission,
    wait_for_subject,
)

REPOSITORY = Path(__file__).resolve().parent.parent
SECRETS = REPOSITORY / "build" / "lab-secrets"


def check(name: str, action: Callable[[], str]) -> bool:
    started = time.perf_counter()
    try:
        detail = action()
    except (AssertionError, OSError, smtplib.SMTPException) as error:
        print(f"FAIL  {name}: {error}")
        return False
    print(f"ok    {name} ({(time.perf_counter() - started) * 1000:.0f} ms){': ' + detail if detail else ''}")
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--handover", type=Path, default=REPOSITORY / "handover" / "lab")
    parser.add_argument("--secrets", type=Path, default=SECRETS)
    arguments = parser.parse_args()

    lab = Lab.published_lab(str(arguments.secrets / "ca" / "ca.crt"))
    initial = initial_passwords(arguments.handover, arguments.secrets / "handover-vault-password")
    ledger = yaml.safe_load((REPOSITORY / "inventories" / "lab" / "addresses.yml").read_text(encoding="utf-8"))
    persons = {address for address, entry in ledger["addresses"].items() if entry.get("kind") == "person"}
    people = sorted(address for address in initial if address in persons)
    if len(people) < 3:
        print(f"need three accounts in the hand-over files of {arguments.handover}", file=sys.stderr)
        return 2
    sender, recipient, newcomer = people[0], people[1], people[-1]
    passwords: dict[str, str] = {}

    def must_change_refusal() -> str:
        refusal = imap_login_refusal(lab, newcomer, initial[newcomer])
        assert "đổi" in refusal or "AUTHENTICATIONFAILED" in refusal, refusal
        return refusal

    def own_passwords() -> str:
        for address in (sender, recipient):
            passwords[address] = ensure_own_password(lab, address.split("@")[0], initial[address])
        return f"{sender} and {recipient} now use their lab passwords {passwords[sender]!r} / {passwords[recipient]!r}"

    def send_and_read() -> str:
        subject = f"Kiểm tra hệ thống {time.strftime('%H:%M:%S')}"
        with submission(lab, sender, passwords[sender]) as smtp:
            smtp.send_message(simple_message(sender, recipient, subject))
        wait_for_subject(lab, recipient, passwords[recipient], subject, seconds=30)
        return f"{sender} -> {recipient}"

    def relay_refused() -> str:
        with NamedSMTP(lab, lab.smtp_port) as smtp:
            smtp.ehlo()
            smtp.mail("someone@example.org")
            code, text = smtp.rcpt("victim@example.net")
        assert code == 554, (code, text)
        return text.decode()

    results = [
        check(f"IMAP refuses {newcomer} until the password is changed", must_change_refusal),
        check("users change their initial passwords through LDAP", own_passwords),
    ]
    if results[-1]:
        results.append(check("a message over submission arrives and is read over IMAPS", send_and_read))
    results.append(check("port 25 refuses to relay for a stranger", relay_refused))
    print("lab mail: " + ("all checks passed" if all(results) else "SOME CHECKS FAILED"))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
