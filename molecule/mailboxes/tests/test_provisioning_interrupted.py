"""A provisioning run killed while it writes (SIGKILL, as a crash or a lost
connection would) converges on the next run: every account exists once, and
every initial password - also those of entries the killed run wrote - is handed
over and binds. Only processes in this scenario's own container are killed.

Runs after test_provisioning.py, on its inventory-after with generated people
beside it, so that no address changes owner (the module refuses that)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPOSITORY, SCENARIO, assert_must_change, handed_over, log_in, provision
from mailtest import Directory, ansible_playbook_command, directory_session, ldap_read, ldap_search, on_directory_host

BIG_PEOPLE = 4000
WRITTEN_BEFORE_THE_KILL = 200
JOURNAL = "/var/lib/soctrang-mailboxes/pending-handover.json"  # mailboxes_pending_handover_path
# The module's file on the directory host: a run without pipelining copies it
# there, so that it can be told from any other python3 (pgrep -f).
MODULE_PROCESS = "AnsiballZ_ldap_mailboxes"


@dataclass(frozen=True)
class KilledRun:
    live_before: int
    killed: str  # the pids
    created: list[str]  # the DNs of the generated people the killed run wrote
    live_after_kill: int
    journal_mode: str  # "" when there is none
    returncode: int


@pytest.fixture(scope="module")
def big_inventory(secrets: Path) -> Path:
    """inventory-after with its ledger, and a generated roster beside its directory files."""
    inventory = secrets / "inventory-big"
    shutil.rmtree(inventory, ignore_errors=True)
    (inventory / "directory").mkdir(parents=True)
    shutil.copy(SCENARIO / "inventory-after" / "addresses.yml", inventory)
    for path in (SCENARIO / "inventory-after" / "directory").glob("*.yml"):
        shutil.copy(path, inventory / "directory")
    for tool in (
        [
            "tools/generate_roster.py",
            "--people",
            str(BIG_PEOPLE),
            "--seed",
            "11",
            "--out",
            str(inventory / "directory"),
        ],
        ["tools/addresses.py", "update", str(inventory)],
    ):
        made = subprocess.run([sys.executable, *tool], cwd=REPOSITORY, capture_output=True, text=True, check=False)
        assert made.returncode == 0, made.stdout[-2000:] + made.stderr[-2000:]
    return inventory


def live_owners(directory: Directory, mail_store: tuple[str, str]) -> list[str]:
    """The owners of every mailbox that is not retired, one per entry."""
    with directory_session(directory, *mail_store) as connection:
        found = ldap_search(
            connection, directory.suffix, "(&(objectClass=socMailbox)(!(socMailboxState=retired)))", ["socOwnerId"]
        )
    return [owner for _, attributes in found for owner in attributes.get("socOwnerId", [""])]


def generated_entries(directory: Directory, mail_store: tuple[str, str]) -> list[str]:
    with directory_session(directory, *mail_store) as connection:
        found = ldap_search(connection, directory.people, "(&(socMailboxState=*)(socOwnerId=gen-*))", ["1.1"])
    return [dn for dn, _ in found]


@pytest.fixture(scope="module")
def killed_run(
    directory: Directory, mail_store: tuple[str, str], big_inventory: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KilledRun]:
    # The fixture's own mailboxes exist already (converge): only the generated
    # ones are new, and only theirs are counted as created and handed over.
    live_before = len(live_owners(directory, mail_store))
    scratch = tmp_path_factory.mktemp("killed")
    command = ansible_playbook_command(
        SCENARIO / "provision.yml",
        "-e", f"mailboxes_inventory_dir={big_inventory}",
        "-e", f"molecule_mailboxes_report={scratch / 'report.json'}",
    )  # fmt: skip
    with (scratch / "ansible.log").open("w") as log:
        run = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "ANSIBLE_PIPELINING": "false"}
        )
        try:
            deadline = time.monotonic() + 300
            while len(generated_entries(directory, mail_store)) < WRITTEN_BEFORE_THE_KILL:
                assert run.poll() is None, (
                    f"the run ended before it was killed: {(scratch / 'ansible.log').read_text()[-3000:]}"
                )
                assert time.monotonic() < deadline, "the run wrote too little in 300 s"
                time.sleep(0.5)
            pids = on_directory_host(directory, "pgrep", "-f", MODULE_PROCESS).stdout.split()
            if pids:
                on_directory_host(directory, "kill", "-9", *pids)
            returncode = run.wait(timeout=300)
        finally:
            if run.poll() is None:
                run.kill()
                run.wait()
    journal = on_directory_host(directory, "stat", "-c", "%a", JOURNAL)
    yield KilledRun(
        live_before=live_before,
        killed=" ".join(pids),
        created=generated_entries(directory, mail_store),
        live_after_kill=len(live_owners(directory, mail_store)),
        journal_mode=journal.stdout.strip() if journal.returncode == 0 else "",
        returncode=returncode,
    )


@pytest.fixture(scope="module")
def retry(killed_run: KilledRun, big_inventory: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The next run of the role, as after any failed run."""
    return provision(big_inventory, tmp_path_factory.mktemp("retry") / "report.json")


def test_the_run_was_really_killed_half_way_after_journalling_its_passwords(killed_run: KilledRun, retry: dict) -> None:
    assert killed_run.killed, f"no {MODULE_PROCESS} process to kill"
    assert killed_run.returncode != 0, "the killed run reported success"
    assert killed_run.created, "the killed run wrote nothing"
    assert len(killed_run.created) < retry["accounts"], "the killed run had written everything"
    assert killed_run.journal_mode == "600", killed_run.journal_mode or "no journal"


def test_every_account_exists_once_and_every_password_is_handed_over(
    directory: Directory, mail_store: tuple[str, str], killed_run: KilledRun, retry: dict
) -> None:
    owners = live_owners(directory, mail_store)
    assert len(owners) == retry["accounts"]
    assert len(set(owners)) == len(owners), "an account exists twice"
    assert retry["counts"]["created"] == retry["accounts"] - killed_run.live_after_kill, retry["counts"]
    # This run's passwords and those the killed run wrote but never handed over.
    assert len(retry["handed_over"]) == retry["accounts"] - killed_run.live_before


@pytest.mark.usefixtures("retry")
def test_the_journal_is_gone_once_the_passwords_are_handed_over(directory: Directory) -> None:
    assert on_directory_host(directory, "test", "-e", JOURNAL).returncode == 1, f"{JOURNAL} is still there"


@pytest.mark.usefixtures("retry")
@pytest.mark.parametrize("which", [0, -1], ids=["first", "last"])
def test_passwords_of_entries_the_killed_run_created_bind_and_must_be_changed(
    directory: Directory, mail_store: tuple[str, str], secrets: Path, killed_run: KilledRun, which: int
) -> None:
    dn = killed_run.created[which]
    with directory_session(directory, *mail_store) as connection:
        (mail,) = ldap_read(connection, dn, ["mail"])["mail"]
    assert_must_change(log_in(directory, dn, handed_over(secrets)[mail]))


def test_the_run_after_that_has_nothing_left_to_do(
    big_inventory: Path, retry: dict, tmp_path_factory: pytest.TempPathFactory
) -> None:
    again = provision(big_inventory, tmp_path_factory.mktemp("again") / "report.json")
    assert again["changed"] is False, again["counts"]
