"""Values YAML reads on its own, on every path a directory file takes: the tool, the filter, a playbook.

An unquoted ``requested_on: 2024-13-45`` matches YAML's timestamp pattern, and
PyYAML's constructor then raises ValueError: it used to end ``tools/addresses.py``
and the playbooks with a traceback. Now it is an operator message with the file,
the entry and what to write, like every other problem of the directory
(the messages themselves are in the corpus of test_directory_validation.py).
"""

from __future__ import annotations

import io
import textwrap
from contextlib import redirect_stderr
from pathlib import Path

import pytest
from addresses import main as addresses_main
from ansible.errors import AnsibleFilterError
from ansible_collections.soctrang.mail.plugins.filter.mail_state import FilterModule
from ansible_collections.soctrang.mail.plugins.plugin_utils.ledger import LedgerError, parse_ledger
from generate_roster import hand_written_addresses
from helpers import FILTER_POLICY, run_addresses_playbook

STATE = FilterModule().filters()
POLICY = FILTER_POLICY
UNIT_FILE = textwrap.dedent(
    """\
    ---
    id: sotp
    name: Sở Tư pháp
    kind: so
    people:
      - id: sotp-0001
        name: Lê Văn An
        requested_on: 2024-12-23
      - id: sotp-0002
        name: Trần Thị Bình
        requested_on: 2024-13-45
    """
)
EXPECTED = "person 'sotp-0002': requested_on '2024-13-45' (line 11) is not a date: month must be in 1..12"


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    """A small inventory whose directory holds an impossible date."""
    inventory = tmp_path / "inv"
    (inventory / "directory").mkdir(parents=True)
    (inventory / "directory" / "sotp.yml").write_text(UNIT_FILE, encoding="utf-8")
    (inventory / "addresses.yml").write_text("", encoding="utf-8")
    (inventory / "hosts.yml").write_text("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n")
    return inventory


@pytest.mark.parametrize("command", ["check", "update", "show"])
def test_addresses_tool_names_the_file_and_the_entry(inventory: Path, command: str) -> None:
    err = io.StringIO()
    with redirect_stderr(err):
        assert addresses_main([command, str(inventory)]) == 2
    assert f"{inventory}/directory/sotp.yml: {EXPECTED}; write YYYY-MM-DD" in err.getvalue()
    assert "nothing was changed" in err.getvalue()
    assert (inventory / "addresses.yml").read_text(encoding="utf-8") == ""


def test_mail_state_filter_names_the_file_and_the_entry() -> None:
    with pytest.raises(
        AnsibleFilterError, match=r"(?s)soctrang.mail.mail_state: .*directory/sotp\.yml: person 'sotp-0002'"
    ):
        STATE["mail_state"]({"directory/sotp.yml": UNIT_FILE}, "", POLICY)
    with pytest.raises(AnsibleFilterError, match=r"month must be in 1\.\.12"):
        STATE["mail_state_json"]({"directory/sotp.yml": UNIT_FILE}, "", POLICY)


def test_playbook_fails_with_the_operator_message(inventory: Path, tmp_path: Path) -> None:
    """Ansible never reads directory/ as inventory: the files reach the filter as text, and fail there."""
    result = run_addresses_playbook(inventory, tmp_path / "tmp")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "sotp.yml: " + EXPECTED in output
    assert "Traceback" not in output and "ValueError" not in output


def test_a_hand_edited_ledger_with_an_impossible_date_names_its_line() -> None:
    ledger = "addresses:\n  lvan@soctrang.gov.vn:\n    owner: p1\n    kind: person\n    state: active\n"
    ledger += "    assigned: 2024-13-45\n"
    with pytest.raises(LedgerError, match=r"addresses\.yml: line 6, column 15: is not valid YAML \('2024-13-45'"):
        parse_ledger(ledger, "addresses.yml")


def test_the_roster_generator_leaves_such_a_file_to_the_validator(inventory: Path) -> None:
    assert "lvan" in hand_written_addresses(inventory / "directory", "gen")
