"""The server as the role configured it: a stored configuration slapd starts
from, the tree and the default password policy (Điều 8), and a converge under
--check that reports no change and makes none."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import pytest
from mailtest import Directory, ansible_playbook, on_directory_host, root_read

SCENARIO = Path(__file__).resolve().parents[1]
# Written by slapd on every bind (last login, failure count): not configuration.
VOLATILE = ("authTimestamp:", "pwdFailureTime:")


def test_slapd_restarts_from_the_stored_configuration(stored_configuration: dict) -> None:
    assert stored_configuration["slaptest"] == 0, stored_configuration["said"]
    assert stored_configuration["active"] == "active", stored_configuration["said"]
    assert "no ldapi socket" not in stored_configuration["said"], stored_configuration["said"]


@pytest.mark.parametrize("branch", ["", "ou=people,", "ou=units,", "ou=services,", "ou=policies,"])
def test_the_tree_exists(directory: Directory, branch: str) -> None:
    dn = branch + directory.suffix
    assert root_read(directory, dn, ["objectClass"]), f"no entry {dn}"


def test_default_policy_is_that_of_dieu_8(directory: Directory) -> None:
    wanted = {
        "pwdMinLength": ["8"],
        "pwdInHistory": ["5"],
        # slapd's backstop: 180 days, then 30 to change after the daily job's mark.
        "pwdMaxAge": [str((180 + 30) * 86400)],
        "pwdMustChange": ["TRUE"],
    }
    policy = root_read(directory, f"cn=default,ou=policies,{directory.suffix}", list(wanted))
    assert policy == wanted


def dump(directory: Directory) -> list[str]:
    """cn=config and the tree, as slapcat writes them, without what binds change."""
    lines = []
    for database in ("0", "1"):
        slapcat = on_directory_host(directory, "slapcat", "-n", database)
        assert slapcat.returncode == 0, slapcat.stderr
        lines += [line for line in slapcat.stdout.splitlines() if not line.startswith(VOLATILE)]
    return lines


def test_converge_under_check_reports_and_makes_no_change(directory: Directory) -> None:
    before = dump(directory)
    run = ansible_playbook(SCENARIO / "converge.yml", "--check", "--diff")
    after = dump(directory)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    recap = rf"{re.escape(directory.container)}\s*:\s*ok=\d+\s+changed=0\s+unreachable=0\s+failed=0"
    assert re.search(recap, run.stdout), "\n".join(run.stdout.splitlines()[-12:])
    assert before == after, "\n".join(difflib.unified_diff(before, after, "before --check", "after", lineterm=""))
