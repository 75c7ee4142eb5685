"""Who reaches what (slapd_access_rules): only TLS carries a bind; each service
account reads what its service needs and nothing of the passwords or of the other
services; anonymous clients read nothing. Each speaks LDAP from the controller
as Dovecot, Postfix, the SSO or the webmail do."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import FIRST_OWN, INITIAL, SERVICES, Entries, nguyen, root_reset_password
from ldap3 import MODIFY_REPLACE
from ldap3.core.results import RESULT_CONFIDENTIALITY_REQUIRED, RESULT_INSUFFICIENT_ACCESS_RIGHTS
from mailtest import (
    Directory,
    change_own_password,
    directory_bind,
    directory_session,
    ldap_read,
    ldap_search,
    result_code,
    root_read,
)

WANTED = ["cn", "mail", "socMailboxState", "pwdReset", "pwdChangedTime", "userPassword", "pwdHistory"]


@pytest.fixture(scope="module")
def mailbox(directory: Directory) -> Iterator[str]:
    """Dương Chí Nguyên with all a service must not see: a password hash, a
    history (one change of his own) and pwdReset again (an administrator's reset)."""
    added = Entries(directory)
    dn = added.add(nguyen())
    try:
        assert change_own_password(directory, dn, INITIAL, FIRST_OWN) == 0
        root_reset_password(directory, dn, INITIAL)
        state = root_read(directory, dn, WANTED)
        assert set(WANTED) <= state.keys(), f"the entry lacks what the tests look for: {sorted(state)}"
        yield dn
    finally:
        added.remove_all()


def seen_by(directory: Directory, password: dict[str, str], service: str, dn: str) -> dict[str, list[str]]:
    with directory_session(directory, directory.service_dn(service), password[service]) as connection:
        return ldap_read(connection, dn, WANTED)


# ---------------------------------------------------------------- TLS only
def test_plain_ldap_without_starttls_refuses_a_bind(directory: Directory, service_password: dict[str, str]) -> None:
    connection = directory_bind(directory, directory.service_dn("sso"), service_password["sso"], transport="plain")
    assert not connection.bound
    assert result_code(connection) == RESULT_CONFIDENTIALITY_REQUIRED, connection.result


def test_ldap_with_starttls_accepts_the_bind(directory: Directory, service_password: dict[str, str]) -> None:
    # The lab CA and the server's name verified (mailtest.Directory.server).
    with directory_session(directory, directory.service_dn("sso"), service_password["sso"], transport="starttls"):
        pass


# ---------------------------------------------------------------- the services
@pytest.mark.parametrize("service", SERVICES)
def test_no_service_reads_a_password_hash(
    directory: Directory, service_password: dict[str, str], mailbox: str, service: str
) -> None:
    assert "userPassword" not in seen_by(directory, service_password, service, mailbox)


@pytest.mark.parametrize("service", SERVICES)
def test_no_service_reads_the_password_history(
    directory: Directory, service_password: dict[str, str], mailbox: str, service: str
) -> None:
    assert "pwdHistory" not in seen_by(directory, service_password, service, mailbox)


@pytest.mark.parametrize("service", SERVICES)
def test_no_service_sees_another_service_account(
    directory: Directory, service_password: dict[str, str], service: str
) -> None:
    own = directory.service_dn(service)
    with directory_session(directory, own, service_password[service]) as connection:
        seen = [dn for dn, _ in ldap_search(connection, directory.services)]
    assert seen in ([], [own]), seen


@pytest.mark.parametrize("service", SERVICES)
def test_no_service_writes_a_mailbox(
    directory: Directory, service_password: dict[str, str], mailbox: str, service: str
) -> None:
    with directory_session(directory, directory.service_dn(service), service_password[service]) as connection:
        connection.modify(mailbox, {"cn": [(MODIFY_REPLACE, ["Changed"])]})
        assert result_code(connection) == RESULT_INSUFFICIENT_ACCESS_RIGHTS, connection.result


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_reads_the_address_and_the_state(
    directory: Directory, service_password: dict[str, str], mailbox: str, service: str
) -> None:
    seen = seen_by(directory, service_password, service, mailbox)
    assert {"mail", "socMailboxState"} <= seen.keys(), sorted(seen)


# Dovecot refuses or explains a login by them, the webmail asks for a new password.
@pytest.mark.parametrize(
    ("service", "password_state"),
    [("dovecot", {"pwdReset", "pwdChangedTime"}), ("webmail", {"pwdReset"}), ("postfix", set()), ("sso", set())],
)
def test_only_dovecot_and_the_webmail_read_the_password_state(
    directory: Directory, service_password: dict[str, str], mailbox: str, service: str, password_state: set[str]
) -> None:
    seen = seen_by(directory, service_password, service, mailbox)
    if password_state:
        assert password_state <= seen.keys(), sorted(seen)
    else:
        # The SSO is a read-only identity: it has no use for the password state.
        assert "pwdReset" not in seen, sorted(seen)


# ---------------------------------------------------------------- anonymous
def test_anonymous_reads_nothing_of_the_people(directory: Directory, mailbox: str) -> None:
    with directory_session(directory, "", "") as anonymous:
        seen = ldap_search(anonymous, directory.people)
    assert seen == [], seen[:1]


def test_anonymous_reads_nothing_of_the_service_accounts(directory: Directory) -> None:
    with directory_session(directory, "", "") as anonymous:
        seen = ldap_search(anonymous, directory.services)
    assert seen == [], seen[:1]
