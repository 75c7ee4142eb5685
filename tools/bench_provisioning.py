#!/usr/bin/env python3
"""Benchmark of mailbox provisioning at province scale. Prints figures; asserts nothing.

    .venv/bin/python tools/bench_provisioning.py [--people 20000] [--naive 500] [--keep]

In a container of its own (the lab image, roles lab_ca + slapd, the same as
the lab's ldap1), against a generated roster:
  1. create: the mailboxes role on an empty directory (filter, one search, all
     adds, initial passwords hashed, hand-over files written);
  2. no change: the role again;
  3. 20 changes: 10 people added to the roster and 10 marked absent;
  4. raw floor: the same entries by one `ldapadd` of one LDIF (passwords
     pre-hashed like the module's) into a subtree of their own;
  5. naive: a loop of community.general.ldap_entry, one task per account, over
     the first --naive accounts (cleartext passwords, hashed by slapd).
Targets (issue 4): 1 < 3 min, 2 < 30 s, 3 < 30 s, controller memory < 1 GB,
naive cost per account >= 50x the role's.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from ansible_collections.soctrang.mail.plugins.module_utils.ldap_sync import (
    MAILBOX_OBJECT_CLASSES,
    RESET_ATTRIBUTE,
    desired_entries,
    suffix_for_domain,
)
from ansible_collections.soctrang.mail.plugins.plugin_utils.directory import directory_files
from ansible_collections.soctrang.mail.plugins.plugin_utils.policy import load_policy
from ansible_collections.soctrang.mail.plugins.plugin_utils.state import inventory_mail_state

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "build" / "bench-provisioning"
CONTAINER = "soctrang-bench-ldap1"
LABEL = "soctrang.bench=provisioning"
IMAGE = os.environ.get("SOCTRANG_IMAGE", "localhost/soctrang-trixie:latest")
VENV_BIN = Path(sys.executable).parent


PLAY_VARS = """\
  vars_files:
    - {repo}/inventories/lab/group_vars/all/lab.yml
    - {repo}/inventories/lab/group_vars/all/directory.yml
  vars:
    slapd_tls_certificate: /etc/ssl/soctrang-lab/host.crt
    slapd_tls_private_key: /etc/ssl/soctrang-lab/host.key
    slapd_tls_ca_certificate: /usr/local/share/ca-certificates/soctrang-lab-ca.crt
    slapd_service_passwords: "{{{{ soctrang_ldap_service_passwords }}}}"
    mailboxes_inventory_dir: {bench}/inventory
    mailboxes_environment: bench
    mailboxes_handover_dir: {bench}/handover
    mailboxes_vault_password_file: {bench}/secrets/handover-vault-password
    mailboxes_vault_password_generate: true
    mailboxes_retire_limit: 0
"""

SERVER_PLAYBOOK = """\
- name: The benchmark's directory server
  hosts: ldap_servers
{vars}  roles:
    - role: lab_ca
    - role: slapd
"""

PROVISION_PLAYBOOK = """\
- name: Provision every mailbox of the generated roster
  hosts: ldap_servers
  gather_facts: false
{vars}  roles:
    - role: mailboxes
"""

NAIVE_PLAYBOOK = """\
- name: The naive way, one ldap_entry task per account
  hosts: ldap_servers
  gather_facts: false
  tasks:
    - name: Create one account
      community.general.ldap_entry:
        server_uri: ldapi:///
        dn: "{{{{ item.dn }}}}"
        objectClass: "{{{{ item.objectClass }}}}"
        attributes: "{{{{ item.attributes }}}}"
      loop: "{{{{ lookup('ansible.builtin.file', '{bench}/naive.json') | from_json }}}}"
      loop_control:
        label: "{{{{ item.dn }}}}"
      no_log: true
"""


# Every command below is this script's own, with arguments it built itself.
def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=True, text=True, **kwargs)  # noqa: S603 - our own commands


def podman(*args: str, check: bool = True, capture: bool = True) -> subprocess.CompletedProcess:
    command = [shutil.which("podman") or "podman", *args]
    return subprocess.run(command, check=check, text=True, capture_output=capture)  # noqa: S603 - our own commands


def ansible_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PATH=f"{VENV_BIN}:{env.get('PATH', '')}",
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        SOCTRANG_LAB_SECRETS=str(BENCH / "secrets"),
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
    )
    return env


def playbook(path: Path) -> tuple[float, dict]:
    """Run one playbook against the bench container; wall time and JSON output."""
    started = time.monotonic()
    completed = subprocess.run(  # noqa: S603 - our own playbook
        [str(VENV_BIN / "ansible-playbook"), "-i", str(BENCH / "hosts.yml"), str(path)],
        env=ansible_env(),
        text=True,
        capture_output=True,
        check=False,
    )
    elapsed = time.monotonic() - started
    output = completed.stdout[completed.stdout.find("{") :]
    if completed.returncode != 0:
        sys.stderr.write(completed.stdout[-4000:] + completed.stderr[-4000:])
        raise SystemExit(f"bench: {path.name} failed (rc {completed.returncode})")
    return elapsed, json.loads(output)


def report_of(result: dict) -> dict:
    """The role's own report (counts, module timings) from the JSON callback."""
    for play in result["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"].endswith("Report what the reconciliation did"):
                return next(iter(task["hosts"].values()))["msg"]
    return {}


def slowest_tasks(result: dict, count: int = 5) -> str:
    """The tasks that took longest, from the JSON callback's timestamps: where the time goes."""
    timed = []
    for play in result["plays"]:
        for task in play["tasks"]:
            duration = task["task"].get("duration", {})
            if duration.get("start") and duration.get("end"):
                started = datetime.fromisoformat(duration["start"].replace("Z", "+00:00"))
                ended = datetime.fromisoformat(duration["end"].replace("Z", "+00:00"))
                timed.append(((ended - started).total_seconds(), task["task"]["name"]))
    timed.sort(reverse=True)
    return "; ".join(f"{name} {seconds:.1f} s" for seconds, name in timed[:count])


def peak_controller_mb() -> float:
    # ru_maxrss of the children: the largest controller process (ansible-playbook
    # and its forks) of all phases so far, in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def start_container() -> None:
    podman("rm", "-f", CONTAINER, check=False)
    podman(
        "run",
        "-d",
        "--name",
        CONTAINER,
        "--hostname",
        "ldap1",
        "--label",
        LABEL,
        "--systemd=always",
        IMAGE,
        "/sbin/init",
    )
    (BENCH / "hosts.yml").write_text(
        "all:\n  children:\n    ldap_servers:\n      hosts:\n"
        f"        {CONTAINER}:\n          ansible_connection: soctrang.mail.podman\n"
        "          ansible_python_interpreter: /usr/bin/python3\n"
    )
    (BENCH / "group_vars").unlink(missing_ok=True)
    (BENCH / "group_vars").symlink_to(REPO / "group_vars")


def write_playbooks() -> None:
    play_vars = PLAY_VARS.format(repo=REPO, bench=BENCH)
    (BENCH / "server.yml").write_text(SERVER_PLAYBOOK.format(vars=play_vars))
    (BENCH / "provision.yml").write_text(PROVISION_PLAYBOOK.format(vars=play_vars))
    (BENCH / "naive.yml").write_text(NAIVE_PLAYBOOK.format(bench=BENCH))


def generate_roster(people: int, seed: int, *, keep_ledger: bool = False) -> None:
    """The first `people` of the generator's stream; keep_ledger: the ledger stays, as in real life."""
    directory = BENCH / "inventory" / "directory"
    # A ledger rebuilt from nothing could give an address to another owner (the
    # module refuses that): a changed roster keeps the ledger it had.
    shutil.rmtree(directory if keep_ledger else BENCH / "inventory", ignore_errors=True)
    directory.mkdir(parents=True)
    python = str(VENV_BIN / "python")
    run(
        [
            python,
            str(REPO / "tools/generate_roster.py"),
            "--people",
            str(people),
            "--seed",
            str(seed),
            "--out",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
    )
    run([python, str(REPO / "tools/addresses.py"), "update", str(BENCH / "inventory")], stdout=subprocess.DEVNULL)


def mark_absent(count: int) -> list[str]:
    """Mark `count` people who manage nothing as absent (they leave)."""
    files = directory_files(BENCH / "inventory")
    managers = set()
    for file in files:
        for line in file.read_text(encoding="utf-8").splitlines():
            if "managers:" in line:
                managers.update(re.findall(r"[\w.-]+-\d{4}", line))
    marked: list[str] = []
    for file in files:
        lines = file.read_text(encoding="utf-8").splitlines(keepends=True)
        edited = []
        for line in lines:
            edited.append(line)
            found = re.match(r"^  - id: ([\w.-]+-\d{4})\s*$", line)
            if found and found.group(1) not in managers and len(marked) < count:
                edited.append("    state: absent\n")
                marked.append(found.group(1))
        file.write_text("".join(edited), encoding="utf-8")
        if len(marked) >= count:
            break
    return marked


def desired_accounts() -> list[dict]:

    inventory = BENCH / "inventory"
    return inventory_mail_state(inventory, load_policy(REPO, inventory))["accounts"]


def suffix() -> str:
    """The directory suffix of the benchmark's domain, derived as the module derives it."""
    return suffix_for_domain(load_policy(REPO, BENCH / "inventory").domain)


def floor_hashes(count: int) -> tuple[list[str], float]:
    """Argon2id hashes made in the container, as the module makes them, and their cost."""
    script = (
        "import os, sys\n"
        "from argon2.low_level import Type, hash_secret\n"
        "for _ in range(int(sys.argv[1])):\n"
        "    print(hash_secret(os.urandom(12), os.urandom(16), time_cost=1, memory_cost=2048,"
        " parallelism=1, hash_len=32, type=Type.ID).decode())\n"
    )
    started = time.monotonic()
    hashes = podman("exec", CONTAINER, "python3", "-c", script, str(count)).stdout.split()
    return hashes, time.monotonic() - started


def full_cost_hashing(count: int) -> float:
    """Milliseconds per Argon2id hash at slapd's cost (m=7168 KiB, t=5), same library, same container."""
    script = (
        "import os, sys, time\n"
        "from argon2.low_level import Type, hash_secret\n"
        "started = time.perf_counter()\n"
        "for _ in range(int(sys.argv[1])):\n"
        "    hash_secret(os.urandom(12), os.urandom(16), time_cost=5, memory_cost=7168,"
        " parallelism=1, hash_len=32, type=Type.ID)\n"
        "print((time.perf_counter() - started) * 1000 / int(sys.argv[1]))\n"
    )
    return float(podman("exec", CONTAINER, "python3", "-c", script, str(count)).stdout)


def distinct_copies(accounts: list[dict], prefix: str) -> list[dict]:
    """The accounts with uid, mail and aliases prefixed: the unique overlay covers the
    whole suffix, so a second copy of the same entries must not reuse their values."""
    return [
        {
            **account,
            "uid": prefix + account["uid"],
            "mail": prefix + account["mail"],
            "aliases": [prefix + alias for alias in account.get("aliases", [])],
            "managers": [prefix + manager for manager in account.get("managers", [])],
        }
        for account in accounts
    ]


def floor_ldif(accounts: list[dict], hashes: list[str]) -> str:
    """The same entries under ou=floor, with pre-hashed passwords."""
    floor_suffix = f"ou=floor,{suffix()}"
    blocks = [containers_ldif(floor_suffix, "floor")]
    copies = distinct_copies(accounts, "floor-")
    for entry, hashed in zip(desired_entries(copies, floor_suffix).values(), hashes, strict=True):
        lines = [f"dn: {entry.dn}", *(f"objectClass: {name}" for name in ("top", *MAILBOX_OBJECT_CLASSES))]
        for name, values in entry.attributes.items():
            lines += [f"{name}:: {_b64(value)}" for value in values]
        lines.append(f"userPassword:: {_b64('{ARGON2}' + hashed)}")
        lines.append(f"{RESET_ATTRIBUTE}: TRUE")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def containers_ldif(base: str, name: str) -> str:
    """A subtree of its own with ou=people and ou=units, like the real one."""
    text = f"dn: {base}\nobjectClass: organizationalUnit\nou: {name}\n\n"
    return text + "".join(
        f"dn: ou={ou},{base}\nobjectClass: organizationalUnit\nou: {ou}\n\n" for ou in ("people", "units")
    )


def _b64(value: str) -> str:
    import base64  # noqa: PLC0415

    return base64.b64encode(value.encode("utf-8")).decode("ascii")


def naive_items(accounts: list[dict], count: int) -> list[dict]:
    naive_suffix = f"ou=naive,{suffix()}"
    items = []
    copies = distinct_copies(accounts, "naive-")
    for number, entry in enumerate(list(desired_entries(copies, naive_suffix).values())[:count]):
        attributes = dict(entry.attributes)
        attributes.pop("socMailManager", None)  # its DNs point outside the naive subtree
        attributes["userPassword"] = f"Naive#Bench{number:05d}x"
        attributes[RESET_ATTRIBUTE] = "TRUE"
        items.append({"dn": entry.dn, "objectClass": ["top", *MAILBOX_OBJECT_CLASSES], "attributes": attributes})
    return items


def ldapi(command: str, *args: str, stdin_file: Path | None = None) -> float:
    started = time.monotonic()
    if stdin_file:
        podman("cp", str(stdin_file), f"{CONTAINER}:/root/{stdin_file.name}")
        args = (*args, "-f", f"/root/{stdin_file.name}")
        started = time.monotonic()
    podman("exec", CONTAINER, command, "-Q", "-Y", "EXTERNAL", "-H", "ldapi:///", *args)
    return time.monotonic() - started


def raw_floor(accounts: list[dict]) -> tuple[str, int, float, str]:
    """The same entries by one ldapadd of one LDIF, and what one hash costs at each setting."""
    ldif = BENCH / "floor.ldif"
    hashes, hashing = floor_hashes(len(accounts))
    ldif.write_text(floor_ldif(accounts, hashes), encoding="utf-8")
    elapsed = ldapi("ldapadd", stdin_file=ldif)
    row = ("raw floor: one ldapadd", len(accounts), elapsed, f"pre-hashed ({hashing:.1f} s to hash, not counted)")
    print(f"bench: raw floor: {elapsed:.1f} s", flush=True)
    light_ms = hashing / len(hashes) * 1000
    full_ms = full_cost_hashing(100)
    print(
        f"bench: one Argon2id hash: {light_ms:.2f} ms light (m=2048,t=1, initial passwords), "
        f"{full_ms:.1f} ms full (m=7168,t=5, slapd's for chosen passwords)",
        flush=True,
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=20000)
    parser.add_argument("--naive", type=int, default=500)
    parser.add_argument("--seed", type=int, default=59)
    parser.add_argument("--keep", action="store_true", help="leave the container running afterwards")
    options = parser.parse_args()

    BENCH.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(BENCH / "handover", ignore_errors=True)
    rows: list[tuple[str, int, float, str]] = []

    print(f"bench: container {CONTAINER} with slapd (roles lab_ca, slapd)", flush=True)
    start_container()
    write_playbooks()
    try:
        playbook(BENCH / "server.yml")
        started = time.monotonic()
        generate_roster(options.people, options.seed)
        accounts = desired_accounts()
        took = time.monotonic() - started
        print(f"bench: roster of {options.people} people -> {len(accounts)} mailboxes ({took:.1f} s)", flush=True)

        for phase in ("create", "no change"):
            elapsed, result = playbook(BENCH / "provision.yml")
            report = report_of(result)
            rows.append(
                (
                    phase,
                    len(accounts),
                    elapsed,
                    json.dumps(report.get("counts", {})) + " " + json.dumps(report.get("seconds", {})),
                )
            )
            print(f"bench: {phase}: {elapsed:.1f} s {rows[-1][3]}", flush=True)
            print(f"bench:   slowest tasks: {slowest_tasks(result)}", flush=True)

        generate_roster(options.people + 10, options.seed, keep_ledger=True)
        left = mark_absent(10)
        run(
            [str(VENV_BIN / "python"), str(REPO / "tools/addresses.py"), "update", str(BENCH / "inventory")],
            stdout=subprocess.DEVNULL,
        )
        elapsed, result = playbook(BENCH / "provision.yml")
        report = report_of(result)
        rows.append(
            ("10 added + 10 removed", 20, elapsed, json.dumps(report.get("counts", {})) + f" left: {len(left)}")
        )
        print(f"bench: 20 changes: {elapsed:.1f} s {rows[-1][3]}", flush=True)
        print(f"bench:   slowest tasks: {slowest_tasks(result)}", flush=True)

        rows.append(raw_floor(accounts))

        (BENCH / "naive.json").write_text(json.dumps(naive_items(accounts, options.naive)), encoding="utf-8")
        naive_base = BENCH / "naive-base.ldif"
        naive_base.write_text(containers_ldif(f"ou=naive,{suffix()}", "naive"), encoding="utf-8")
        ldapi("ldapadd", stdin_file=naive_base)
        elapsed, _ = playbook(BENCH / "naive.yml")
        rows.append(("naive: ldap_entry loop", options.naive, elapsed, "cleartext passwords hashed by slapd"))
        print(f"bench: naive: {elapsed:.1f} s", flush=True)
    finally:
        if not options.keep:
            podman("rm", "-f", CONTAINER, check=False)

    print_table(rows, peak_controller_mb())


def print_table(rows: list[tuple[str, int, float, str]], peak_mb: float) -> None:
    print()
    print(f"{'phase':28} {'accounts':>8} {'wall s':>8} {'ms/account':>11}  details")
    per_account = {}
    for phase, count, elapsed, details in rows:
        per_account[phase] = elapsed / count * 1000 if count else 0.0
        print(f"{phase:28} {count:>8} {elapsed:>8.1f} {per_account[phase]:>11.2f}  {details}")
    print(f"\ncontroller peak memory (largest ansible process): {peak_mb:.0f} MB")
    create = per_account.get("create")
    floor = per_account.get("raw floor: one ldapadd")
    naive = per_account.get("naive: ldap_entry loop")
    if create and naive:
        print(f"naive / role, per account: {naive / create:.0f}x   (target >= 50x)")
    if create and floor:
        print(f"role / raw floor, per account: {create / floor:.1f}x")
    targets = {"create": 180, "no change": 30, "10 added + 10 removed": 30}
    for phase, limit in targets.items():
        elapsed = next((row[2] for row in rows if row[0] == phase), None)
        if elapsed is not None:
            print(f"target {phase}: {elapsed:.1f} s of {limit} s {'met' if elapsed < limit else 'MISSED'}")


if __name__ == "__main__":
    main()
