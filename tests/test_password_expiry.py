"""roles/slapd/files/soctrang_password_expiry.py: which passwords the daily job marks.

The job itself runs against the real slapd in molecule/directory; here, the
rule it applies (Điều 8.2.c) on fixed dates. What it shares with the mail
store's password warnings (which accounts count, how pwdChangedTime reads)
comes from soctrang_notice (roles/dovecot/files, on the test path as it is
beside the job on the directory host): the job must read accounts through it.
"""

from __future__ import annotations

import importlib.util
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import soctrang_notice

SCRIPT = Path(__file__).resolve().parent.parent / "roles" / "slapd" / "files" / "soctrang_password_expiry.py"
_spec = importlib.util.spec_from_file_location("soctrang_password_expiry", SCRIPT)
assert _spec is not None and _spec.loader is not None
expiry = importlib.util.module_from_spec(_spec)
# dataclasses look their module up in sys.modules.
sys.modules[_spec.name] = expiry
_spec.loader.exec_module(expiry)

NOW = datetime(2026, 11, 28, 1, 30, tzinfo=UTC)
MAX_AGE = timedelta(days=180)


def account(mail: str, changed: datetime) -> expiry.Account:
    return expiry.Account(
        dn=f"uid={mail.split('@', maxsplit=1)[0]},ou=people,dc=soctrang,dc=gov,dc=vn", mail=mail, changed=changed
    )


def test_a_password_of_exactly_the_maximum_age_is_due() -> None:
    due = expiry.due_accounts([account("a@soctrang.gov.vn", NOW - MAX_AGE)], NOW, MAX_AGE)
    assert [a.mail for a in due] == ["a@soctrang.gov.vn"]


def test_a_password_one_minute_younger_is_not_due() -> None:
    young = account("b@soctrang.gov.vn", NOW - MAX_AGE + timedelta(minutes=1))
    assert expiry.due_accounts([young], NOW, MAX_AGE) == []


def test_due_accounts_come_oldest_first() -> None:
    accounts = [
        account("newer@soctrang.gov.vn", NOW - MAX_AGE - timedelta(days=1)),
        account("fresh@soctrang.gov.vn", NOW - timedelta(days=3)),
        account("oldest@soctrang.gov.vn", NOW - MAX_AGE - timedelta(days=40)),
    ]
    assert [a.mail for a in expiry.due_accounts(accounts, NOW, MAX_AGE)] == [
        "oldest@soctrang.gov.vn",
        "newer@soctrang.gov.vn",
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("20260601083000Z", datetime(2026, 6, 1, 8, 30, tzinfo=UTC)),
        ("20260601083000.123456Z", datetime(2026, 6, 1, 8, 30, 0, 123456, tzinfo=UTC)),
    ],
)
def test_generalized_time_as_slapd_writes_it(value: str, expected: datetime) -> None:
    assert soctrang_notice.parse_generalized_time(value) == expected


def test_an_unreadable_time_names_the_value() -> None:
    with pytest.raises(ValueError, match="2026-06-01"):
        soctrang_notice.parse_generalized_time("2026-06-01")


def test_an_entry_is_read_from_its_ldap_attributes() -> None:
    found = soctrang_notice.account_of(
        "uid=nvan,ou=people,dc=soctrang,dc=gov,dc=vn",
        {"mail": [b"nvan@soctrang.gov.vn"], "pwdChangedTime": [b"20260301000000Z"]},
    )
    assert found == expiry.Account(
        dn="uid=nvan,ou=people,dc=soctrang,dc=gov,dc=vn",
        mail="nvan@soctrang.gov.vn",
        changed=datetime(2026, 3, 1, tzinfo=UTC),
    )


def test_only_active_unmarked_people_with_a_password_date_are_searched() -> None:
    assert expiry.search_filter(None) == (
        "(&(objectClass=socMailbox)(socMailboxState=active)(pwdChangedTime=*)(!(pwdReset=TRUE)))"
    )


def test_the_job_counts_the_accounts_the_warnings_count() -> None:
    assert expiry.Account is soctrang_notice.Account
    assert expiry.search_filter(None) == soctrang_notice.EXPIRY_FILTER


def test_an_operator_names_the_mailbox_by_address_or_uid() -> None:
    pytest.importorskip("ldap")
    assert expiry.search_filter("nvan@soctrang.gov.vn") == (
        f"(&{soctrang_notice.EXPIRY_FILTER}(|(mail=nvan@soctrang.gov.vn)(uid=nvan@soctrang.gov.vn)))"
    )


def test_the_job_reads_every_account_in_one_search_without_referrals() -> None:
    ldap = pytest.importorskip("ldap")

    class Directory:
        def __init__(self) -> None:
            self.searches: list[tuple] = []

        def search_ext_s(self, base: str, scope: int, search: str, attributes: list[str]) -> list:
            self.searches.append((base, scope, search, attributes))
            return [
                ("uid=nvan,ou=people,dc=soctrang,dc=gov,dc=vn", {"pwdChangedTime": [b"20260301000000Z"]}),
                (None, ["ldaps://elsewhere/"]),
            ]

    directory = Directory()
    accounts = expiry.read_accounts(directory, "ou=people,dc=soctrang,dc=gov,dc=vn", None)
    assert [(a.dn, a.mail) for a in accounts] == [("uid=nvan,ou=people,dc=soctrang,dc=gov,dc=vn", "")]
    assert directory.searches == [
        (
            "ou=people,dc=soctrang,dc=gov,dc=vn",
            ldap.SCOPE_SUBTREE,
            soctrang_notice.EXPIRY_FILTER,
            ["mail", "pwdChangedTime"],
        )
    ]
