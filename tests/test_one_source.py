"""Each derived fact once (docs/contracts.md §3-7): the file set, the policy, the states, the suffix.

The playbooks and the tools must never read different files or see a different
policy; the desired state speaks the directory's vocabulary; the directory's
suffix has one derivation.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from addresses import main as addresses_main
from ansible.errors import AnsibleFilterError
from ansible_collections.soctrang.mail.plugins.filter.directory_layout import FilterModule as LayoutFilters
from ansible_collections.soctrang.mail.plugins.module_utils.ldap_sync import suffix_for_domain
from ansible_collections.soctrang.mail.plugins.plugin_utils.directory import (
    DirectoryError,
    directory_files,
    read_directory,
)
from ansible_collections.soctrang.mail.plugins.plugin_utils.ledger import render_ledger
from ansible_collections.soctrang.mail.plugins.plugin_utils.policy import PolicyError, load_policy
from ansible_collections.soctrang.mail.plugins.plugin_utils.state import (
    PERSON_ACCOUNT_STATE,
    desired_state,
    inventory_mail_state,
)
from helpers import DAY, REPO, files, province_policy, run_addresses_playbook
from helpers import run as plan_of

UNIT = """\
id: sotp
name: Sở Tư pháp
kind: so
people:
  - {id: sotp-0001, name: Lê Văn An, requested_on: 2025-01-02}
  - {id: sotp-0002, name: Trần Thị Bình, requested_on: 2025-01-03, state: disabled}
  - {id: sotp-0003, name: Hồ Văn Nam, requested_on: 2025-01-04, state: absent}
"""
# A unit kept in a sub-folder, written with the other suffix.
SUB_UNIT = """\
id: sotc
name: Sở Tài chính
kind: so
people:
  - {id: sotc-0001, name: Phạm Minh Tâm, requested_on: 2025-02-01}
"""
HOSTS = """\
all:
  vars:
    ansible_connection: local
  children:
    ldap_servers:
      hosts:
        ldap1:
    mtas:
      hosts:
        mx1:
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    """A small inventory with hosts, a unit in directory/ and one in a sub-folder, its ledger current."""
    inventory = tmp_path / "inv"
    write(inventory / "hosts.yml", HOSTS)
    write(inventory / "directory" / "sotp.yml", UNIT)
    write(inventory / "directory" / "so" / "sotc.yaml", SUB_UNIT)
    with redirect_stdout(io.StringIO()):
        assert addresses_main(["update", str(inventory), "--today", DAY.isoformat()]) == 0
    return inventory


# ---------------------------------------------------------------- the file set
def test_the_file_set_is_every_yaml_file_under_directory_in_path_order(tmp_path: Path) -> None:
    folder = tmp_path / "directory"
    for name in ("b.yml", "a.yaml", "sub/c.yml", "sub/deeper/d.yaml", ".hidden.yml", ".git/e.yml", "notes.txt"):
        write(folder / name, "id: x\n")
    write(folder / "a.yml.tmp", "id: x\n")  # the roster importer's temporary file
    (folder / "empty.yml").mkdir()  # a folder, not a file
    found = [p.relative_to(folder).as_posix() for p in directory_files(tmp_path)]
    assert found == ["a.yaml", "b.yml", "sub/c.yml", "sub/deeper/d.yaml"]


def test_an_inventory_without_a_directory_folder_is_refused(tmp_path: Path) -> None:
    assert directory_files(tmp_path) == []
    with pytest.raises(DirectoryError, match=r"directory: folder: is missing"):
        read_directory(tmp_path)


def test_make_addresses_and_the_playbooks_read_the_same_files(inventory: Path, tmp_path: Path) -> None:
    """The ledger `make addresses` wrote records the sub-folder's person; the lookup finds the ledger current."""
    ledger = (inventory / "addresses.yml").read_text(encoding="utf-8")
    assert "sotc-0001" in ledger
    result = run_addresses_playbook(inventory, tmp_path / "tmp")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "mailboxes: 5 (3 people, 2 units, 0 system)" in result.stdout
    assert "disabled: 1" in result.stdout


# ---------------------------------------------------------------- the policy
# Ansible remembers, per process, which group_vars files an inventory folder has
# (as within one ansible-playbook run): these inventories get their group_vars
# before their policy is first read.
@pytest.fixture
def hosts_only(tmp_path: Path) -> Path:
    inventory = tmp_path / "hosts-only"
    write(inventory / "hosts.yml", HOSTS)
    write(inventory / "directory" / "sotp.yml", UNIT)
    return inventory


def test_the_tools_read_the_policy_variable_of_group_vars() -> None:
    policy = province_policy()
    assert policy.domain == "soctrang.gov.vn"
    assert {"so", "phong", "xa", "system"} <= set(policy.rules)
    assert policy.ranks[0] == "Chủ tịch"


def test_a_deviation_for_every_host_wins_over_the_province(hosts_only: Path) -> None:
    inventory = hosts_only
    # Playbook group_vars/all (the province) rank above the inventory's group_vars/all...
    write(inventory / "group_vars" / "all.yml", "soctrang_mail_domain: ignored.example\n")
    # ...and below its group_vars/<group>: a group every host is in.
    write(inventory / "group_vars" / "lab.yml", "soctrang_mail_domain: lab.example\n")
    hosts = (inventory / "hosts.yml").read_text(encoding="utf-8")
    write(inventory / "hosts.yml", hosts + "    lab:\n      children:\n        ldap_servers:\n        mtas:\n")
    assert load_policy(REPO, inventory).domain == "lab.example"


def test_hosts_that_see_different_policies_are_refused(hosts_only: Path) -> None:
    write(hosts_only / "group_vars" / "mtas.yml", "soctrang_mailbox_quota: 1GiB\n")
    with pytest.raises(PolicyError, match=r"hosts ldap1 and mx1 see different values of soctrang_address_policy"):
        load_policy(REPO, hosts_only)


def test_the_tool_says_why_it_refuses_such_an_inventory(hosts_only: Path, capsys: pytest.CaptureFixture) -> None:
    write(hosts_only / "group_vars" / "mtas.yml", "soctrang_mailbox_quota: 1GiB\n")
    assert addresses_main(["check", str(hosts_only)]) == 2
    assert "group_vars/<a group every host is in>.yml" in capsys.readouterr().err


# ---------------------------------------------------------------- the states
def test_the_desired_state_speaks_the_directory_servers_vocabulary() -> None:
    documents = files(sotp=UNIT)
    # Everyone was once present, so the absent person's address is in the ledger, now retired.
    once = render_ledger(plan_of(files(sotp=UNIT.replace(", state: absent", ""))).allocation.entries, "inventories/t")
    state = desired_state(plan_of(documents, once), province_policy())
    by_id = {account["id"]: account for account in state["accounts"]}
    assert by_id["sotp-0001"]["state"] == "active"
    assert by_id["sotp-0002"]["state"] == "disabled"
    assert by_id["sotp"]["state"] == "active"
    assert "sotp-0003" not in by_id
    assert {"mail": "hvnam@soctrang.gov.vn", "owner": "sotp-0003"} in state["retired"]
    assert {account["state"] for account in state["accounts"]} <= {"active", "disabled"}


def test_the_operators_words_are_mapped_in_one_place() -> None:
    assert PERSON_ACCOUNT_STATE == {"present": "active", "disabled": "disabled", "absent": "retired"}


def test_the_lookup_returns_the_state_the_tools_compute(inventory: Path, tmp_path: Path) -> None:
    """lookup('soctrang.mail.mail_state') in Ansible, with the policy of playbooks/group_vars."""
    out = tmp_path / "state.json"
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"))
    ansible = Path(sys.executable).with_name("ansible")
    lookup = f"{{{{ lookup('soctrang.mail.mail_state', '{inventory}', today='{DAY.isoformat()}') }}}}"
    command = [str(ansible), "-i", str(inventory), "ldap1", "--playbook-dir", str(REPO / "playbooks")]
    command += ["-e", f"ansible_python_interpreter={sys.executable}", "-m", "ansible.builtin.copy"]
    command += ["-a", json.dumps({"content": lookup, "dest": str(out)})]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    text = out.read_text(encoding="utf-8")
    assert json.loads(text) == inventory_mail_state(inventory, load_policy(REPO, inventory), today=DAY)
    assert text.startswith('{"accounts":[') and ", " not in text[:200]  # compact, keys sorted


# ---------------------------------------------------------------- the suffix
def test_the_suffix_filter_is_the_modules_derivation() -> None:
    ldap_suffix = LayoutFilters().filters()["ldap_suffix"]
    assert ldap_suffix("soctrang.gov.vn") == suffix_for_domain("soctrang.gov.vn") == "dc=soctrang,dc=gov,dc=vn"
    assert ldap_suffix("SocTrang.Gov.VN") == "dc=soctrang,dc=gov,dc=vn"
    with pytest.raises(AnsibleFilterError, match="ldap_suffix"):
        ldap_suffix(" . ")
    with pytest.raises(AnsibleFilterError, match="ldap_suffix"):
        ldap_suffix(42)


def test_no_role_derives_the_suffix_or_a_service_dn_itself() -> None:
    """The roles' defaults name the group_vars facts; only directory_server.yml derives them."""
    derived_here = REPO / "group_vars" / "all" / "directory_server.yml"
    for path in sorted((REPO / "roles").glob("*/defaults/main.yml")) + sorted((REPO / "roles").glob("*/vars/main.yml")):
        text = "\n".join(line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#"))
        assert "regex_replace', '^', 'dc=')" not in text, path
        assert not re.search(r"cn=\w+,ou=services", text), path
    assert "soctrang.mail.ldap_suffix" in derived_here.read_text(encoding="utf-8")


def test_files_are_named_as_the_messages_name_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Relative to the working directory when inside it, else absolute; in path order."""
    inventory = tmp_path / "inv"
    shutil.copytree(REPO / "tests" / "fixtures" / "rosters" / "inventory", inventory)
    monkeypatch.chdir(REPO)
    outside = list(read_directory(inventory))
    assert outside == sorted(outside) and all(Path(name).is_absolute() for name in outside)
    inside = list(read_directory(REPO / "inventories" / "production"))
    assert inside[0].startswith("inventories/production/directory/")
