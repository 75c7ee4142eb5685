"""What the directory tests share: where the server is, the service accounts'
passwords, slapd restarted from its stored configuration, and test mailboxes
that root adds (as the provisioning module does) and removes afterwards."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ldap3.core.results import RESULT_NO_SUCH_OBJECT, RESULT_SUCCESS
from mailtest import Directory, as_directory_root, ldif_record, on_directory_host, service_passwords

DOMAIN = "soctrang.gov.vn"
SERVICES = ("dovecot", "postfix", "sso", "webmail")
# Written by root, as the provisioning module writes an initial password; then
# the passwords the user chooses, in the order the tests use them.
INITIAL = "Khoi-Tao#2024zq"
FIRST_OWN = "Tr0ng-Dong#2026"
SECOND_OWN = "Song-Hau#2027w"
THIRD_OWN = "Bac-Lieu#2029k"


@pytest.fixture(scope="session")
def directory() -> Directory:
    return Directory.from_environment()


@pytest.fixture(scope="session")
def service_password() -> dict[str, str]:
    return service_passwords(Path(os.environ["MAILTEST_SECRETS"]))


@pytest.fixture(scope="session", autouse=True)
def stored_configuration(directory: Directory) -> dict[str, str]:
    """Before any test talks to the server: slaptest on the configuration the
    role wrote online (the handler's own check), then slapd restarted from it, so
    that every test proves a server that starts from what is stored.
    test_configuration.py judges the outcome."""
    slaptest = on_directory_host(directory, "slaptest", "-u", "-F", "/etc/ldap/slapd.d")
    outcome = {"slaptest": slaptest.returncode, "said": slaptest.stdout + slaptest.stderr, "active": ""}
    if slaptest.returncode == 0:
        restart = on_directory_host(directory, "systemctl", "restart", "slapd")
        outcome["said"] += restart.stderr
        outcome["active"] = on_directory_host(directory, "systemctl", "is-active", "slapd").stdout.strip()
        deadline = time.monotonic() + 30
        while on_directory_host(directory, "test", "-S", "/run/slapd/ldapi").returncode != 0:
            if time.monotonic() > deadline:
                outcome["said"] += "no ldapi socket 30 s after the restart"
                break
            time.sleep(0.5)
    return outcome


def person(
    uid: str,
    name: str,
    *,
    surname: str,
    given: str,
    ascii_name: str | None,
    state: str = "active",
    mail: str | None = None,
) -> dict[str, list[str]]:
    """A mailbox entry shaped as the provisioning module writes it."""
    attributes = {
        "objectClass": ["inetOrgPerson", "socMailbox"],
        "uid": [uid],
        "cn": [name],
        "sn": [surname],
        "givenName": [given],
        "mail": [mail or f"{uid}@{DOMAIN}"],
        "socOwnerId": [f"verify-{uid}"],
        "socMailboxState": [state],
        "socMailQuota": ["2147483648"],
        "userPassword": [INITIAL],
        # ppolicy does not set pwdReset on add; the provisioning module does.
        "pwdReset": ["TRUE"],
    }
    if ascii_name:
        attributes["socNameAscii"] = [ascii_name]
    return attributes


def nguyen(uid: str = "dcnguyen", *, ascii_name: str | None = "Duong Chi Nguyen") -> dict[str, list[str]]:
    """Dương Chí Nguyên (Điều 3.3), with the folded copy of the name unless told otherwise."""
    return person(uid, "Dương Chí Nguyên", surname="Dương", given="Nguyên", ascii_name=ascii_name)


class Entries:
    """The test mailboxes root added, removed again whatever happened."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self.added: list[str] = []

    def try_add(self, attributes: dict[str, list[str]]) -> tuple[str, int]:
        """Add as root: the DN and the LDAP result code."""
        dn = f"uid={attributes['uid'][0]},{self.directory.people}"
        self.remove(dn)  # left by an interrupted earlier run
        self.added.append(dn)
        return dn, as_directory_root(self.directory, "ldapadd", ldif=ldif_record(dn, attributes)).returncode

    def add(self, attributes: dict[str, list[str]]) -> str:
        dn, code = self.try_add(attributes)
        assert code == RESULT_SUCCESS, f"root cannot add {dn}: result {code}"
        return dn

    def remove(self, dn: str) -> None:
        removed = as_directory_root(self.directory, "ldapdelete", dn)
        assert removed.returncode in (RESULT_SUCCESS, RESULT_NO_SUCH_OBJECT), removed.stderr

    def remove_all(self) -> None:
        for dn in reversed(self.added):
            self.remove(dn)


@pytest.fixture
def entries(directory: Directory) -> Iterator[Entries]:
    added = Entries(directory)
    yield added
    added.remove_all()


def root_modify(directory: Directory, ldif: str) -> int:
    """A change by root (ldapmodify over ldapi): the LDAP result code."""
    return as_directory_root(directory, "ldapmodify", ldif=ldif).returncode


def root_reset_password(directory: Directory, dn: str, password: str) -> None:
    """An administrator's reset: root's password-modify operation, without the old password."""
    reset = as_directory_root(directory, "ldappasswd", "-s", password, dn)
    assert reset.returncode == RESULT_SUCCESS, reset.stderr
