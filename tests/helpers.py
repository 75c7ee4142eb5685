"""Builders shared by the address tests: the real province policy, small directories."""

from __future__ import annotations

import datetime as dt
import functools
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from ansible_collections.soctrang.mail.plugins.plugin_utils.ledger import render_ledger
from ansible_collections.soctrang.mail.plugins.plugin_utils.policy import load_policy
from ansible_collections.soctrang.mail.plugins.plugin_utils.state import Plan, Policy, plan

REPO = Path(__file__).resolve().parent.parent
LAB = REPO / "inventories" / "lab"
DAY = dt.date(2026, 1, 5)
# The smallest policy the filters accept, as a playbook hands it to them (one kind, `so`).
FILTER_POLICY = {
    "domain": "soctrang.gov.vn",
    "unit_naming": {"so": {"title": ["Sở"], "prefix": "so", "body": "initials"}},
    "reserved": ["postmaster"],
    "ranks": ["Giám đốc"],
    "mailbox_quota": "2GiB",
}


@functools.cache
def province_policy() -> Policy:
    """The policy exactly as group_vars ships it (so the tests prove the defaults); read once."""
    return load_policy(REPO, LAB)


def files(**documents: str) -> dict[str, str]:
    """Directory files from dedented YAML: files(stttt="id: stttt ...")."""
    return {f"directory/{name}.yml": textwrap.dedent(text) for name, text in documents.items()}


def run(documents: dict[str, str], ledger_text: str = "", today: dt.date = DAY) -> Plan:
    return plan(documents, ledger_text, "addresses.yml", province_policy(), today)


def ledger_after(documents: dict[str, str], ledger_text: str = "", today: dt.date = DAY) -> str:
    return render_ledger(run(documents, ledger_text, today).allocation.entries, "inventories/test")


def addresses(result: Plan) -> dict[str, str]:
    """owner id -> active address."""
    return {e.owner: a.split("@")[0] for a, e in result.allocation.entries.items() if e.state == "active"}


def run_addresses_playbook(inventory: Path, local_temp: Path) -> subprocess.CompletedProcess:
    """playbooks/addresses.yml against an inventory, through the repository's ansible.cfg."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_LOCAL_TEMP=str(local_temp))
    playbook = shutil.which("ansible-playbook", path=str(Path(sys.executable).parent)) or "ansible-playbook"
    return subprocess.run(
        [playbook, "-i", str(inventory), str(REPO / "playbooks" / "addresses.yml")],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        check=False,
    )
