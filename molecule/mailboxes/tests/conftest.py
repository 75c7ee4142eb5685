"""What the provisioning tests share: where the directory is, the hand-over files,
the role run as the operators run it, and the directory read as the mail store
reads it.

The tests run in the order of the files and of the tests in them, as the
provisioning of a real directory goes: test_provisioning.py checks what converge
made, then applies a changed directory (inventory-after) and resets a password;
test_provisioning_interrupted.py then kills a run half-way (pytest collects the
files by name)."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import ldap3
import pytest
from ldap3.core.results import RESULT_INSUFFICIENT_ACCESS_RIGHTS, RESULT_SUCCESS
from mailtest import (
    Directory,
    ansible_playbook,
    directory_bind,
    directory_session,
    initial_passwords,
    ldap_search,
    password_policy_error,
    result_code,
    service_passwords,
)

SCENARIO = Path(__file__).resolve().parents[1]
REPOSITORY = SCENARIO.parents[1]
DOMAIN = "soctrang.gov.vn"
# What the tests read of an entry: every attribute the role manages, and the ppolicy state.
ENTRY_ATTRIBUTES = [
    "cn", "sn", "givenName", "displayName", "socNameAscii", "o", "ou", "title", "socUnitMail", "mail", "uid",
    "socOwnerId", "socMailboxState",
    "socMailQuota", "socMailAlias", "socMailManager", "socMailSendAsManagers", "pwdReset", "pwdAccountLockedTime",
    "objectClass",
]  # fmt: skip
# The variables converge.yml gives the role, for the operators' playbooks.
VARIABLE_FILES = [
    REPOSITORY / "inventories" / "lab" / "group_vars" / "all" / "lab.yml",
    REPOSITORY / "inventories" / "lab" / "group_vars" / "all" / "directory.yml",
    SCENARIO / "vars" / "main.yml",
]


@pytest.fixture(scope="session")
def directory() -> Directory:
    return Directory.from_environment()


@pytest.fixture(scope="session")
def secrets() -> Path:
    return Path(os.environ["MAILTEST_SECRETS"])


@pytest.fixture(scope="session")
def mail_store(directory: Directory, secrets: Path) -> tuple[str, str]:
    """Dovecot's service account: it reads every attribute the role writes (but
    the password), over the whole directory, without a size limit."""
    return directory.service_dn("dovecot"), service_passwords(secrets)["dovecot"]


def handover_files(secrets: Path) -> list[Path]:
    return sorted((secrets / "handover").rglob("*.yml"))


def handed_over(secrets: Path) -> dict[str, str]:
    """Every initial password in the hand-over files now, by address (as an agency reads them)."""
    return initial_passwords(secrets / "handover", secrets / "handover-vault-password")


def is_private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) == 0o600


def read_entries(directory: Directory, mail_store: tuple[str, str], search_filter: str) -> list[dict[str, object]]:
    """The matching entries as the mail store sees them: one value as a string,
    several (objectClass, managers) as a list, the DN under "dn"."""
    with directory_session(directory, *mail_store) as connection:
        found = ldap_search(connection, directory.suffix, search_filter, ENTRY_ATTRIBUTES)
    return [
        {"dn": dn}
        | {
            name: values[0] if len(values) == 1 and name != "objectClass" else values
            for name, values in attributes.items()
        }
        for dn, attributes in found
    ]


def read_entry(directory: Directory, mail_store: tuple[str, str], uid: str) -> dict[str, object]:
    """The entry of one uid ({} when there is none)."""
    found = read_entries(directory, mail_store, f"(uid={uid})")
    assert len(found) <= 1, found
    return found[0] if found else {}


def provision(inventory: Path, report: Path, *options: str, environment: dict[str, str] | None = None) -> dict:
    """provision.yml (the role, as converge runs it) for one inventory: what it did."""
    run = ansible_playbook(
        SCENARIO / "provision.yml",
        "-e", f"mailboxes_inventory_dir={inventory}",
        "-e", f"molecule_mailboxes_report={report}",
        *options,
        environment=environment,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    return json.loads(report.read_text(encoding="utf-8"))


def operators_playbook(playbook: str, *extra_vars: str) -> None:
    """A playbook of playbooks/ run as the operators run it, with converge's variables."""
    options = [option for path in VARIABLE_FILES for option in ("-e", f"@{path}")]
    options += [option for assignment in extra_vars for option in ("-e", assignment)]
    run = ansible_playbook(REPOSITORY / "playbooks" / playbook, *options)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]


@dataclass(frozen=True)
class Login:
    """A user's bind with the password policy control, then a read of the own
    address: what the server answered to each."""

    bind: int
    policy_error: str | None
    read: int | None = None  # None: not bound, nothing read
    read_said: str = ""
    mail: tuple[str, ...] = ()


def log_in(directory: Directory, dn: str, password: str) -> Login:
    connection = directory_bind(directory, dn, password, password_policy=True)
    if not connection.bound:
        return Login(result_code(connection), password_policy_error(connection))
    try:
        policy_error = password_policy_error(connection)
        connection.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["mail"])
        mail = tuple(
            value.decode()
            for entry in connection.response or []
            for value in entry.get("raw_attributes", {}).get("mail", [])
        )
        return Login(RESULT_SUCCESS, policy_error, result_code(connection), connection.result["message"], mail)
    finally:
        connection.unbind()


def address(local_part: str) -> str:
    return f"{local_part}@{DOMAIN}"


def person_dn(directory: Directory, uid: str) -> str:
    return f"uid={uid},{directory.people}"


def assert_must_change(login: Login) -> None:
    """The password binds, and only to change it."""
    assert login.bind == RESULT_SUCCESS, login
    assert login.policy_error == "changeAfterReset", login  # ldapwhoami: "Password must be changed"
    assert login.read == RESULT_INSUFFICIENT_ACCESS_RIGHTS, login
