#!/usr/bin/env python3
"""Keep an inventory's address ledger in step with its directory.

    tools/addresses.py update inventories/lab   # write addresses.yml, print what changed
    tools/addresses.py check  inventories/lab   # exit 1 when addresses.yml is stale
    tools/addresses.py show   inventories/lab   # print every mailbox address, by kind

`make addresses` and `make addresses-check` call this. The ledger is written only
when the whole directory is valid; nothing else is ever written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections import Counter
from pathlib import Path

from ansible_collections.soctrang.mail.plugins.plugin_utils.directory import DirectoryError, read_directory
from ansible_collections.soctrang.mail.plugins.plugin_utils.ledger import (
    LedgerError,
    consistency_problems,
    ledger_path,
    read_ledger,
    render_ledger,
)
from ansible_collections.soctrang.mail.plugins.plugin_utils.policy import PolicyError, load_policy
from ansible_collections.soctrang.mail.plugins.plugin_utils.state import desired_state, plan

REPO = Path(__file__).resolve().parent.parent


def _inventory_name(inventory: Path) -> str:
    return str(inventory.relative_to(REPO)) if inventory.is_relative_to(REPO) else str(inventory)


def run(command: str, inventory: Path, today: dt.date) -> int:
    inventory = inventory.resolve()
    # The files the playbooks read too (lookup soctrang.mail.mail_state), named as it names them.
    ledger_text, ledger_name = read_ledger(inventory)
    started = time.perf_counter()
    policy = load_policy(REPO, inventory)
    policy_seconds = time.perf_counter() - started
    result = plan(read_directory(inventory), ledger_text, ledger_name, policy, today)
    changes = result.allocation.changes
    entries = result.allocation.entries
    if command == "show":
        for account in desired_state(result, policy)["accounts"]:
            print(f"{account['kind']:<7} {account['mail']:<45} {account['id']:<24} {account['name']}")
        return 0
    rendered = render_ledger(entries, _inventory_name(inventory))
    if command == "check":
        problems = consistency_problems(entries, ledger_name)
        if changes or problems or (ledger_text and rendered != ledger_text):
            print(f"{ledger_name} is stale or inconsistent:", file=sys.stderr)
            for change in changes[:40]:
                print(f"  would be {change}", file=sys.stderr)
            if len(changes) > 40:
                print(f"  … and {len(changes) - 40} more", file=sys.stderr)
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
            if not changes and not problems:
                print("  the file is not in its generated form (edited by hand?)", file=sys.stderr)
            print(f"Run: make addresses INVENTORY={_inventory_name(inventory)}", file=sys.stderr)
            return 1
        print(f"{ledger_name}: current ({_summary(entries)}; {_seconds(started, policy_seconds)})")
        return 0
    if rendered != ledger_text:
        ledger_path(inventory).write_text(rendered, encoding="utf-8")
    for change in changes:
        print(change)
    counts = Counter(c.action for c in changes)
    said = ", ".join(f"{n} {action}" for action, n in sorted(counts.items())) or "no change"
    print(f"{ledger_name}: {said} ({_summary(entries)}; {_seconds(started, policy_seconds)})")
    return 0


def _seconds(started: float, policy_seconds: float) -> str:
    """The time taken: the addresses, and the policy read through Ansible (its import included)."""
    return f"{time.perf_counter() - started - policy_seconds:.2f}s, policy {policy_seconds:.2f}s"


def _summary(entries: dict) -> str:
    states = Counter(e.state for e in entries.values())
    return ", ".join(f"{states[s]} {s}" for s in ("active", "alias", "retired"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("update", "check", "show"))
    parser.add_argument("inventory", type=Path, help="an inventory folder, e.g. inventories/lab")
    parser.add_argument("--today", type=dt.date.fromisoformat, default=dt.date.today(), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        return run(args.command, args.inventory, args.today)
    except (DirectoryError, LedgerError, PolicyError) as exc:
        print(exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
