#!/usr/bin/env python3
"""Benchmark of the address rules at province scale. Prints figures; asserts nothing.

    .venv/bin/python tools/bench_addresses.py [--people 20000] [--seed 59]

Phases, each in a fresh process so its peak memory is its own:
  1. allocation against an empty ledger (validation, derivation, allocation, rendering);
  2. allocation against the full ledger plus 10 new people;
  3. the whole `make addresses` command (tools/addresses.py update), empty ledger;
  4. the whole command again with the full ledger plus 10 new people;
  5. `make addresses-check` on the result.
Targets (issue 2): 1 under 2 s, 2 under 1 s, 3-4 under 10 s, peak memory under 300 MB.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ansible_collections.soctrang.mail.plugins.plugin_utils.directory import load_directory, read_directory
from ansible_collections.soctrang.mail.plugins.plugin_utils.ledger import (
    allocate,
    parse_ledger,
    read_ledger,
    render_ledger,
)
from ansible_collections.soctrang.mail.plugins.plugin_utils.policy import load_policy
from ansible_collections.soctrang.mail.plugins.plugin_utils.state import derive_unit_local_parts
from generate_roster import generate, write_roster

REPO = Path(__file__).resolve().parent.parent


def allocation_phases(inventory: Path) -> dict[str, float | int]:
    """Times each step of one allocation; run in a child process (--allocate) so its peak RSS is its own."""
    # Read through Ansible (its import, about 0.5 s, is the process's, not a phase of the rules).
    policy = load_policy(REPO, inventory)
    t0 = time.perf_counter()
    files = read_directory(inventory)
    ledger_text, ledger_file = read_ledger(inventory)
    t1 = time.perf_counter()
    directory = load_directory(files, policy.rules, policy.reserved, policy.domain)
    t2 = time.perf_counter()
    ledger = parse_ledger(ledger_text, ledger_file)
    assert not derive_unit_local_parts(directory, policy.rules)
    result = allocate(
        directory,
        ledger=ledger,
        domain=policy.domain,
        reserved=policy.reserved,
        ranks=policy.ranks,
        today=datetime.date(2026, 11, 28),
    )
    t3 = time.perf_counter()
    render_ledger(result.entries, "bench")
    t4 = time.perf_counter()
    return {
        "read": t1 - t0,
        "validate": t2 - t1,
        "allocate": t3 - t2,
        "render": t4 - t3,
        "people": len(directory.people),
        "changes": len(result.changes),
    }


def run_measured(argv: list[str], scratch: Path) -> tuple[float, int, str]:
    """Wall time, peak RSS in MB and stdout of one child process (output to a file: it can be long)."""
    out_path, err_path = scratch / "stdout", scratch / "stderr"
    with out_path.open("w") as out, err_path.open("w") as err:
        started = time.perf_counter()
        child = subprocess.Popen(argv, stdout=out, stderr=err, cwd=REPO)  # noqa: S603 - argv is built here from sys.executable and repo paths
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{' '.join(argv[:3])} failed:\n{err_path.read_text()}")
    return wall, usage.ru_maxrss // 1024, out_path.read_text()


NEWCOMERS_UNIT = "id: bench-new\nname: Ban Thử nghiệm Hiệu năng\nkind: ban\n"
NEWCOMER_NAMES = ["Nguyễn Văn An", "Trần Thị Thanh", "Lê Minh Tuấn", "Thạch Sóc Khênh", "Lý Thị Hoa"]


def set_newcomers(inventory: Path, count: int, day: str) -> None:
    """The benchmark's own unit, with `count` people asked for on `day` (common names: they clash)."""
    rows = "".join(
        f"  - {{id: bench-new-{i:03d}, name: {NEWCOMER_NAMES[i % len(NEWCOMER_NAMES)]}, requested_on: {day}}}\n"
        for i in range(count)
    )
    text = NEWCOMERS_UNIT + ("people:\n" + rows if count else "")
    (inventory / "directory" / "zz-bench-newcomers.yml").write_text(text, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=59)
    parser.add_argument("--allocate", type=Path, help=argparse.SUPPRESS)  # the child process of one measurement
    args = parser.parse_args()
    if args.allocate:
        print(json.dumps(allocation_phases(args.allocate)))
        return 0
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="bench-addresses-") as tmp:
        scratch = Path(tmp)
        inventory = scratch / "bench"
        write_roster(generate(args.people, args.seed), inventory / "directory", "gen")
        set_newcomers(inventory, 0, "2026-11-28")
        allocation = [python, __file__, "--allocate", str(inventory)]
        update = [python, str(REPO / "tools" / "addresses.py"), "update", str(inventory)]
        check = [python, str(REPO / "tools" / "addresses.py"), "check", str(inventory)]
        version = sys.version.split()[0]
        print(f"roster: {args.people} generated people (seed {args.seed}), python {version}, {os.cpu_count()} cores")

        phases: list[tuple[str, dict | None, float, int]] = []
        wall, peak, out = run_measured(allocation, scratch)
        phases.append(("allocation, empty ledger", json.loads(out), wall, peak))
        wall, peak, _ = run_measured(update, scratch)
        phases.append(("make addresses, empty ledger", None, wall, peak))
        set_newcomers(inventory, 10, "2026-11-28")
        wall, peak, out = run_measured(allocation, scratch)
        phases.append(("allocation, full ledger + 10 new", json.loads(out), wall, peak))
        wall, peak, said = run_measured(update, scratch)
        phases.append(("make addresses, full ledger + 10 new", None, wall, peak))
        wall, peak, _ = run_measured(check, scratch)
        phases.append(("make addresses-check", None, wall, peak))
        ledger_lines = (inventory / "addresses.yml").read_text().count("\n")

    columns = ("people", "parse+val s", "allocate s", "render s", "process s", "peak MB")
    print(f"{'phase':<38}" + "".join(f"{c:>12}" for c in columns))
    for label, figures, wall, peak in phases:
        cells = ["", "", "", ""]
        if figures:
            parse_validate = figures["read"] + figures["validate"]
            cells = [
                str(figures["people"]),
                f"{parse_validate:.2f}",
                f"{figures['allocate']:.2f}",
                f"{figures['render']:.2f}",
            ]
        cells += [f"{wall:.2f}", str(peak)]
        print(f"{label:<38}" + "".join(f"{c:>12}" for c in cells))
    print(f"ledger: {ledger_lines} lines; last update said: {said.strip().splitlines()[-1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
