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

from ansible_collections.soctrang.mail.plugins.plugin_utils.directory import DirectoryError
from ansible_collections.soctrang.mail.plugins.plugin_utils.ledger import (
    LedgerError,
    consistency_problems,
    render_ledger,
)
from ansible_collections.soctrang.mail.plugins.plugin_utils.policy import load_policy
from ansible_collections.soctrang.mail.plugins.plugin_utils.state import desired_state, plan

REPO = Path(__file__).resolve().parent.parent


LEDGER_NAME = "addresses.yml"


def read_directory(inventory: Path) -> dict[str, str]:
    folder = inventory / "directory"
    if not folder.is_dir():
        raise SystemExit(f"{folder}: no directory folder; an inventory keeps its organisation in directory/*.yml")
    return {
        str(p.relative_to(REPO) if p.is_relative_to(REPO) else p): p.read_text(encoding="utf-8")
        for p in sorted(folder.glob("*.yml"))
    }


def _inventory_name(inventory: Path) -> str:
    return str(inventory.relative_to(REPO)) if inventory.is_relative_to(REPO) else str(inventory)


def run(command: str, inventory: Path, today: dt.date) -> int:
    inventory = inventory.resolve()
    ledger_path = inventory / LEDGER_NAME
    ledger_name = f"{_inventory_name(inventory)}/{LEDGER_NAME}"
    ledger_text = ledger_path.read_text(encoding="utf-8") if ledger_path.exists() else ""
    started = time.perf_counter()
    policy = load_policy(REPO, inventory)
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
        print(f"{ledger_name}: current ({_summary(entries)}; {time.perf_counter() - started:.2f}s)")
        return 0
    if rendered != ledger_text:
        ledger_path.write_text(rendered, encoding="utf-8")
    for change in changes:
        print(change)
    counts = Counter(c.action for c in changes)
    said = ", ".join(f"{n} {action}" for action, n in sorted(counts.items())) or "no change"
    print(f"{ledger_name}: {said} ({_summary(entries)}; {time.perf_counter() - started:.2f}s)")
    return 0


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
    except (DirectoryError, LedgerError) as exc:
        print(exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
