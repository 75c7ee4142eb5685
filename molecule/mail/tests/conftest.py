"""What the end-to-end tests of molecule/mail share: where the servers are, the
hand-over of initial passwords, and the operators' own access to the directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mailtest import Lab, initial_passwords

PEOPLE_BASE = "ou=people,dc=soctrang,dc=gov,dc=vn"
REPOSITORY = Path(__file__).resolve().parents[3]
SCENARIO = REPOSITORY / "molecule" / "mail"


@pytest.fixture(scope="session")
def lab() -> Lab:
    return Lab.from_environment()


@pytest.fixture(scope="session")
def initial() -> dict[str, str]:
    secrets = Path(os.environ["MAILTEST_SECRETS"])
    return initial_passwords(secrets / "handover", secrets / "handover-vault-password")


def directory_modify(ldif: str, *, relax: bool = False) -> None:
    """A change written as the operators write it: ldapmodify on the directory
    server over ldapi, as root (their manage rights, outside the password policy).
    `relax`: the control that lets them touch ppolicy's own attributes."""
    subprocess.run(
        ["podman", "exec", "-i", os.environ["MAILTEST_LDAP_CONTAINER"], "ldapmodify", "-Q", "-Y", "EXTERNAL",
         "-H", "ldapi:///", *(["-e", "relax"] if relax else [])],
        input=ldif, text=True, check=True, capture_output=True,
    )  # fmt: skip


def from_webmail_host(lab: Lab, script: str, *arguments: str) -> subprocess.CompletedProcess:
    """A Python client run on the directory container, which plays the webmail host
    (dovecot_webmail_networks); the script gets the mail server's name and the lab
    CA as sys.argv[1] and [2], then `arguments`."""
    return subprocess.run(
        ["podman", "exec", os.environ["MAILTEST_LDAP_CONTAINER"], "python3", "-c", script,
         lab.mail_name, "/usr/local/share/ca-certificates/soctrang-lab-ca.crt", *arguments],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def unlock(local_part: str) -> None:
    """The operators' unlock: the failure count and a lockout go (ppolicy)."""
    dn = f"uid={local_part},{PEOPLE_BASE}"
    for attribute in ("pwdFailureTime", "pwdAccountLockedTime"):
        # Each on its own: deleting an attribute that is not there is an error.
        try:
            directory_modify(f"dn: {dn}\nchangetype: modify\ndelete: {attribute}\n", relax=True)
        except subprocess.CalledProcessError as error:
            if "No such attribute (16)" not in error.stderr:
                raise


def operators_playbook(playbook: str, *extra_vars: str) -> subprocess.CompletedProcess:
    """A playbook of playbooks/ run as the operators run it, against this
    scenario's containers and with the variables its converge uses."""
    ansible_playbook = Path(sys.executable).with_name("ansible-playbook")
    variables = [
        REPOSITORY / "inventories" / "lab" / "group_vars" / "all" / "lab.yml",
        REPOSITORY / "inventories" / "lab" / "group_vars" / "all" / "directory.yml",
        SCENARIO / "vars" / "main.yml",
    ]
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    command = [str(ansible_playbook), "-i", inventory, str(REPOSITORY / "playbooks" / playbook)]
    for path in variables:
        command += ["-e", f"@{path}"]
    for assignment in extra_vars:
        command += ["-e", assignment]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
