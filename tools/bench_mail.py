#!/usr/bin/env python3
"""Benchmark of the running lab: mail delivery, then a no-change run of the site playbook.

    make bench-mail                     # 10,000 messages to random lab mailboxes + site run
    tools/bench_mail.py --count 2000 --connections 4 --no-site-run
    make lab LAB_PEOPLE=20000 && make bench-mail    # the figures of issue 5 at province scale

Sends COUNT small messages from outside (port 25, as another mail server
would) to mailboxes chosen at random from the lab's ledger, over CONNECTIONS
parallel SMTP sessions, then waits until every message is a file in a Maildir
on the mail store and prints the figures: submission rate, end-to-end
delivery rate, and latency percentiles of the SMTP transactions.

Then (unless --no-site-run) the whole site playbook runs once more against the
lab, as CI does after a merge that changed nothing: its wall time, the number
of mailboxes it kept, and the changed count of its recap, which must be 0.

Only the lab's own containers are contacted (the published port on
127.0.0.1); the lab must be up (`make lab`). The lab's MTA exempts the host
from its per-client rate limits (inventories/lab/group_vars/mtas.yml).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import smtplib
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import yaml

REPOSITORY = Path(__file__).resolve().parent.parent
DEFAULT_LEDGER = REPOSITORY / "inventories" / "lab" / "addresses.yml"
MARKER = "/run/soctrang-bench-mail.start"


def lab_mailboxes(ledger: Path) -> list[str]:
    """Active addresses of the lab's ledger that own a mailbox (people and units)."""
    entries = yaml.safe_load(ledger.read_text(encoding="utf-8"))["addresses"]
    return sorted(address for address, entry in entries.items() if entry.get("state") == "active")


def on_mail_store(container: str, script: str) -> str:
    command = ["podman", "exec", container, "sh", "-c", script]
    # podman is the lab's container tool; the command and script are this file's own.
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout  # noqa: S603


def delivered_since_marker(container: str, vmail_dir: str) -> int:
    script = f"find {vmail_dir} -path '*/Maildir/new/*' -type f -newer {MARKER} | wc -l"
    return int(on_mail_store(container, script).strip() or 0)


def bench_message(run_id: str, number: int, recipient: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "benchmark@lab.example.org"
    message["To"] = recipient
    message["Subject"] = f"Benchmark {run_id} #{number}"
    message["X-Soctrang-Bench"] = run_id
    message.set_content("Thư thử tải của phòng thí nghiệm. " * 8)
    return message


@dataclass
class Tally:
    """What the sending threads report, under one lock."""

    run_id: str
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def send_share(arguments: argparse.Namespace, jobs: list[tuple[int, str]], tally: Tally) -> None:
    """One SMTP session sending its share of the messages."""
    local_latencies: list[float] = []
    with smtplib.SMTP(arguments.host, arguments.port, local_hostname="bench.lab.example.org", timeout=60) as smtp:
        smtp.ehlo()
        for number, recipient in jobs:
            started = time.perf_counter()
            try:
                smtp.send_message(bench_message(tally.run_id, number, recipient))
            except smtplib.SMTPException as error:
                with tally.lock:
                    tally.failures.append(f"#{number} to {recipient}: {error}")
                continue
            local_latencies.append(time.perf_counter() - started)
    with tally.lock:
        tally.latencies.extend(local_latencies)


def run(arguments: argparse.Namespace) -> int:
    mailboxes = lab_mailboxes(arguments.ledger)
    if not mailboxes:
        print(f"no active mailbox in {arguments.ledger}", file=sys.stderr)
        return 2
    # Recipients are drawn reproducibly, not secretly.
    chooser = random.Random(arguments.seed)  # noqa: S311
    jobs = [(number, chooser.choice(mailboxes)) for number in range(arguments.count)]
    shares = [jobs[index :: arguments.connections] for index in range(arguments.connections)]
    run_id = uuid.uuid4().hex[:12]

    on_mail_store(arguments.container, f"touch {MARKER}")
    time.sleep(1.1)  # the marker's mtime must be older than the first delivery
    tally = Tally(run_id)
    started = time.perf_counter()
    threads = [threading.Thread(target=send_share, args=(arguments, share, tally)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    submitted = time.perf_counter() - started
    latencies, failures = tally.latencies, tally.failures
    accepted = len(latencies)

    deadline = time.monotonic() + arguments.timeout
    delivered = 0
    while time.monotonic() < deadline:
        delivered = delivered_since_marker(arguments.container, arguments.vmail_dir)
        if delivered >= accepted:
            break
        time.sleep(1)
    end_to_end = time.perf_counter() - started

    print(f"mail delivery benchmark, run {run_id}: {arguments.count} messages to {len(mailboxes)} lab mailboxes")
    print(f"  SMTP sessions in parallel     {arguments.connections}")
    print(f"  accepted by the MTA           {accepted} ({len(failures)} refused)")
    print(f"  submission wall time          {submitted:.1f} s  ->  {accepted / submitted:.0f} msg/s")
    print(f"  delivered to Maildir          {delivered} of {accepted}")
    print(f"  end to end (SMTP -> Maildir)  {end_to_end:.1f} s  ->  {delivered / end_to_end:.0f} msg/s")
    if latencies:
        ordered = sorted(latencies)
        print(
            "  SMTP transaction latency      "
            f"median {statistics.median(ordered) * 1000:.1f} ms, "
            f"p95 {ordered[int(len(ordered) * 0.95) - 1] * 1000:.1f} ms, "
            f"max {ordered[-1] * 1000:.1f} ms"
        )
    for failure in failures[:5]:
        print(f"  refused: {failure}")
    return 0 if delivered >= accepted and not failures else 1


def site_no_change_run(arguments: argparse.Namespace, mailboxes: int) -> int:
    """The whole site playbook against the lab, which is already as the inventory says."""
    playbook = Path(sys.executable).parent / "ansible-playbook"
    command = [str(playbook), "-i", str(arguments.inventory), str(REPOSITORY / "playbooks" / "site.yml")]
    environment = {**os.environ, "ANSIBLE_CONFIG": str(REPOSITORY / "ansible.cfg")}
    started = time.perf_counter()
    # The repository's own playbook with the venv's ansible-playbook.
    result = subprocess.run(  # noqa: S603
        command, cwd=REPOSITORY, env=environment, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    recap = re.findall(r"^(\S+)\s*: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", result.stdout, re.M)
    changed = sum(int(host[2]) for host in recap)
    failed = sum(int(host[3]) + int(host[4]) for host in recap)
    print(f"site playbook, no-change run over {mailboxes} lab mailboxes")
    print(f"  wall time                     {elapsed:.1f} s")
    print(f"  hosts                         {', '.join(f'{h[0]} ok={h[1]} changed={h[2]}' for h in recap)}")
    print(f"  changed                       {changed} (must be 0)")
    if result.returncode != 0 or failed or not recap:
        print(result.stdout[-3000:], result.stderr[-2000:], sep="\n", file=sys.stderr)
        return 1
    return 0 if changed == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000, help="messages to send (default 10000)")
    parser.add_argument("--connections", type=int, default=8, help="parallel SMTP sessions (default 8)")
    parser.add_argument("--host", default="127.0.0.1", help="the lab MTA's published address")
    parser.add_argument("--port", type=int, default=2525, help="the lab MTA's published SMTP port")
    parser.add_argument("--container", default="mail1", help="the mail store's container")
    parser.add_argument("--vmail-dir", default="/var/vmail", help="root of the Maildirs on the mail store")
    parser.add_argument("--ledger", type=Path, default=DEFAULT_LEDGER, help="where the lab's addresses are")
    parser.add_argument("--timeout", type=int, default=600, help="seconds to wait for delivery")
    parser.add_argument("--seed", type=int, default=59, help="seed of the random choice of recipients")
    parser.add_argument("--inventory", type=Path, default=REPOSITORY / "inventories" / "lab" / "hosts.yml")
    parser.add_argument(
        "--no-site-run", dest="site_run", action="store_false", help="skip the no-change site playbook run"
    )
    arguments = parser.parse_args()
    if arguments.count < 0 or arguments.connections < 1:
        parser.error("--count must be at least 0 and --connections at least 1")
    status = run(arguments) if arguments.count else 0
    if arguments.site_run:
        status = max(status, site_no_change_run(arguments, len(lab_mailboxes(arguments.ledger))))
    return status


if __name__ == "__main__":
    sys.exit(main())
