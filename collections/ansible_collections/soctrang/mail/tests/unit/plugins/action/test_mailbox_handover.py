"""soctrang.mail.mailbox_handover, run for real: ansible-playbook on localhost with the repository's ansible.cfg.

One playbook (written by the fixture) calls the action as the mailboxes role
does - in check mode, for real, again with the same records, with more
records for the same day, with a wrong and a missing vault password - without
no_log, so that the output shows whatever the action itself would let out.
The files are then opened with Ansible's own VaultLib.

The records come in as extra vars, so they reach the action as Ansible's
tagged strings (the role's come from a module result, as plain ones): the
action must write both.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from ansible.parsing.vault import VaultLib, VaultSecret
from ansible_collections.soctrang.mail.plugins.module_utils.ldap_sync import generate_password

REPOSITORY = Path(__file__).resolve().parents[8]
DAY = "2026-01-05"
DOMAIN = "soctrang.gov.vn"


def record(uid: str, unit: str) -> dict:
    return {
        "dn": f"uid={uid},ou=people,dc=soctrang,dc=gov,dc=vn",
        "owner": f"{unit}-{uid}",
        "unit": unit,
        "mail": f"{uid}@{DOMAIN}",
        "password": generate_password(set()),
    }


def handover(name: str, records: str, **overrides) -> dict:
    """A task of the action, with the arguments the mailboxes role gives it."""
    arguments = {
        "records": records,
        "directory": "{{ out }}",
        "vault_password_file": "{{ vault_file }}",
        "date": DAY,
        **overrides,
    }
    return {"name": name, "soctrang.mail.mailbox_handover": arguments}


def keep(name: str, fact: str, expression: str) -> dict:
    return {"name": name, "ansible.builtin.set_fact": {fact: "{{ " + expression + " }}"}}


# Checksums of the files as they are on disk (the file lookup would decrypt them).
FILES_NOW = "lookup('ansible.builtin.pipe', 'sha256sum ' ~ (first.files | map('quote') | join(' ')))"
RESULTS = (
    "checked",
    "after_check",
    "first",
    "again",
    "checked_again",
    "merged",
    "wrong",
    "missing",
    "no_directory",
    "nothing",
)
TASKS = [
    {
        **handover("Check mode, before any file exists", "{{ first_records }}"),
        "check_mode": True,
        "register": "checked",
    },
    keep("Look at the folder after check mode", "after_check", "query('ansible.builtin.fileglob', out ~ '/*')"),
    {**handover("Hand over", "{{ first_records }}"), "register": "first"},
    keep("Keep the files as written", "written", FILES_NOW),
    {**handover("Hand the same records over again", "{{ first_records }}"), "register": "again"},
    keep("Keep the files after the repeat", "rewritten", FILES_NOW),
    {
        **handover("Check mode with the same records", "{{ first_records }}"),
        "check_mode": True,
        "register": "checked_again",
    },
    {**handover("Hand more records over on the same day", "{{ more_records }}"), "register": "merged"},
    keep("Keep the files after the merge", "after_merge", FILES_NOW),
    {
        **handover(
            "Open the files with another vault password",
            "{{ more_records }}",
            vault_password_file="{{ wrong_vault_file }}",
        ),
        "register": "wrong",
        "ignore_errors": True,
    },
    {
        **handover(
            "Without a vault password file",
            "{{ more_records }}",
            vault_password_file="{{ out }}/no-such-file",
        ),
        "register": "missing",
        "ignore_errors": True,
    },
    {
        **handover("Without a folder", "{{ more_records }}", directory=""),
        "register": "no_directory",
        "ignore_errors": True,
    },
    {**handover("Nothing to hand over", "{{ [] }}"), "register": "nothing"},
    # The last result of the play is what the tree callback keeps (no module runs: fast).
    {
        "name": "Show what the tasks returned",
        "ansible.builtin.debug": {"var": "handover_results"},
        "vars": {
            "handover_results": {
                **{name: "{{ " + name + " }}" for name in RESULTS},
                "same_bytes_after_again": "{{ written == rewritten }}",
                "untouched_by_the_failures": "{{ after_merge == " + FILES_NOW + " }}",
            }
        },
    },
]
PLAYBOOK = [{"name": "Hand initial passwords over", "hosts": "localhost", "gather_facts": False, "tasks": TASKS}]


@dataclass
class Run:
    out: Path
    output: str
    results: dict
    secret: str
    first_records: list[dict]
    more_records: list[dict]

    def open(self, path: str | Path) -> dict:
        """The file decrypted with the real VaultLib: its header and document."""
        text = VaultLib([("handover", VaultSecret(self.secret.encode()))]).decrypt(Path(path).read_bytes()).decode()
        return {"text": text, "document": yaml.safe_load(text)}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    work = tmp_path_factory.mktemp("handover")
    out = work / "handover" / "lab"
    secret = generate_password(set())
    (work / "vault-password").write_text(secret + "\n")
    (work / "wrong-password").write_text(generate_password(set()) + "\n")
    first_records = [record("ntan", "stttt"), record("dcnguyen", "stttt"), record("ttbinh", "myxuyen-pvhtt")]
    more_records = [first_records[0], record("lvcuong", "stttt")]
    extra_vars = {
        "out": str(out),
        "vault_file": str(work / "vault-password"),
        "wrong_vault_file": str(work / "wrong-password"),
        "first_records": first_records,
        "more_records": more_records,
    }
    (work / "vars.json").write_text(json.dumps(extra_vars))
    (work / "playbook.yml").write_text(yaml.safe_dump(PLAYBOOK, allow_unicode=True, sort_keys=False))
    (work / "hosts.ini").write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    playbook = shutil.which("ansible-playbook", path=str(Path(sys.executable).parent))
    environment = {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPOSITORY / "ansible.cfg"),
        "ANSIBLE_LOCAL_TEMP": str(work / "ansible-tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_CALLBACKS_ENABLED": "ansible.builtin.tree",
        "ANSIBLE_CALLBACK_TREE_DIR": str(work / "tree"),
    }
    completed = subprocess.run(
        [
            playbook,
            "-i",
            str(work / "hosts.ini"),
            "-e",
            f"@{work / 'vars.json'}",
            "-v",
            "--diff",
            str(work / "playbook.yml"),
        ],
        env=environment,
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    results = json.loads((work / "tree" / "localhost").read_text())["handover_results"]
    return Run(out, output, results, secret, first_records, more_records)


def test_one_file_per_unit_opens_with_the_vault_password(run: Run) -> None:
    first = run.results["first"]

    assert first["changed"] is True
    assert first["files"] == [str(run.out / f"myxuyen-pvhtt-{DAY}.yml"), str(run.out / f"stttt-{DAY}.yml")]
    assert (first["units"], first["accounts"]) == (2, 3)
    office = run.open(run.out / f"myxuyen-pvhtt-{DAY}.yml")
    assert office["text"].startswith("# Initial mailbox passwords of one unit")
    assert office["document"] == {
        "unit": "myxuyen-pvhtt",
        "date": DAY,
        "accounts": [
            {
                "mail": f"ttbinh@{DOMAIN}",
                "owner": "myxuyen-pvhtt-ttbinh",
                "password": run.first_records[2]["password"],
                "must_change_at_first_login": True,
            }
        ],
    }


def test_the_files_are_vault_encrypted_under_the_vault_id(run: Run) -> None:
    for path in run.results["first"]["files"]:
        data = Path(path).read_bytes()
        assert data.startswith(b"$ANSIBLE_VAULT;1.2;AES256;handover\n")
        for handed_over in run.first_records + run.more_records:
            assert handed_over["password"].encode() not in data


def test_only_the_operator_can_read_the_files(run: Run) -> None:
    assert stat.S_IMODE(run.out.stat().st_mode) == 0o700
    for path in run.out.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert path.stat().st_uid == os.getuid()
    assert not list(run.out.glob(".handover-*")), "no temporary file is left"


def test_no_password_reaches_the_output(run: Run) -> None:
    assert "changed: [localhost]" in run.output, "the output is the verbose one"
    for handed_over in run.first_records + run.more_records:
        assert handed_over["password"] not in run.output
    for name in ("checked", "first", "again", "merged", "wrong", "missing"):
        assert "password" not in json.dumps({k: v for k, v in run.results[name].items() if k != "msg"})


def test_check_mode_lists_the_files_and_writes_none(run: Run) -> None:
    checked = run.results["checked"]

    assert checked["files"] == run.results["first"]["files"]
    assert checked["changed"] is False, "documented: check mode reports no change (support: partial)"
    assert run.results["after_check"] == []
    assert not run.results["checked_again"]["changed"]


def test_the_same_records_again_change_nothing(run: Run) -> None:
    again = run.results["again"]

    assert again["changed"] is False
    assert run.results["same_bytes_after_again"] is True, "the files are not rewritten"
    assert (again["units"], again["accounts"]) == (2, 3), "the records are in the files: the journal may go"


def test_more_records_of_the_same_day_are_merged_into_the_units_file(run: Run) -> None:
    merged = run.results["merged"]

    assert merged["changed"] is True
    assert merged["files"] == [str(run.out / f"stttt-{DAY}.yml")]
    accounts = run.open(run.out / f"stttt-{DAY}.yml")["document"]["accounts"]
    assert [account["mail"] for account in accounts] == [f"dcnguyen@{DOMAIN}", f"lvcuong@{DOMAIN}", f"ntan@{DOMAIN}"]
    by_mail = {account["mail"]: account["password"] for account in accounts}
    assert by_mail[f"dcnguyen@{DOMAIN}"] == run.first_records[1]["password"], "not received yet: kept"
    assert by_mail[f"lvcuong@{DOMAIN}"] == run.more_records[1]["password"]
    assert run.open(run.out / f"myxuyen-pvhtt-{DAY}.yml")["document"]["accounts"][0]["mail"] == f"ttbinh@{DOMAIN}"


def test_a_file_written_with_another_password_is_not_replaced(run: Run) -> None:
    wrong = run.results["wrong"]

    assert wrong["failed"] is True
    assert "cannot open the existing hand-over file with the vault password" in wrong["msg"]
    assert f"stttt-{DAY}.yml" in wrong["msg"]
    assert run.results["untouched_by_the_failures"] is True
    assert len(run.open(run.out / f"stttt-{DAY}.yml")["document"]["accounts"]) == 3, "still opens with the right one"


def test_a_missing_vault_password_file_fails_with_what_to_set(run: Run) -> None:
    missing = run.results["missing"]

    assert missing["failed"] is True
    assert "does not exist: set mailboxes_vault_password_file" in missing["msg"]


def test_a_missing_folder_fails_instead_of_writing_elsewhere(run: Run) -> None:
    no_directory = run.results["no_directory"]

    assert no_directory["failed"] is True
    assert "directory is required" in no_directory["msg"]
    assert not list(run.out.parent.parent.glob(f"*-{DAY}.yml")), "nothing written in the working folder"


def test_no_records_write_nothing(run: Run) -> None:
    nothing = run.results["nothing"]

    assert nothing["changed"] is False
    assert (nothing["files"], nothing["units"], nothing["accounts"]) == ([], 0, 0)
