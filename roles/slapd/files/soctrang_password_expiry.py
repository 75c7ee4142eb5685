#!/usr/bin/python3
"""soctrang-password-expiry: make an expired password a clear "change it" (Điều 8.2.c).

Run daily by soctrang-password-expiry.timer on the directory host, as root,
over ldapi:/// (SASL EXTERNAL). Every active person whose password is older
than the province's maximum age (180 days) and not already marked gets
`pwdReset: TRUE`. From then on Dovecot refuses the mail clients' logins with
the Vietnamese "change your password at the webmail" message, and only the
webmail lets the user in, to change it (roles/dovecot, passdbs 2 and 3).

Why not leave expiry to slapd alone: an expired password fails the bind with
the same result as a wrong one, so no client can tell the user why. slapd's own
pwdMaxAge stays as the backstop, `change_after_expiry_days` later (after that
the user needs the lost-password procedure, Điều 8.2.đ).

    soctrang-password-expiry [--check] [--address ADDRESS] [--max-age-days N]

--check lists what would be marked and changes nothing; --address limits the
run to one mailbox (an operator answering "why can't I log in?").
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

PEOPLE_FILTER = "(&(objectClass=socMailbox)(socMailboxState=active)(pwdChangedTime=*)(!(pwdReset=TRUE)))"
GENERALIZED_TIME_FORMATS = ("%Y%m%d%H%M%SZ", "%Y%m%d%H%M%S.%fZ")


@dataclass(frozen=True)
class Account:
    dn: str
    mail: str
    changed: datetime


def parse_generalized_time(value: str) -> datetime:
    """slapd writes pwdChangedTime as YYYYmmddHHMMSSZ (sometimes with fractions)."""
    for time_format in GENERALIZED_TIME_FORMATS:
        try:
            return datetime.strptime(value, time_format).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise ValueError(f"not a GeneralizedTime slapd writes: {value!r}")


def due_accounts(accounts: Iterable[Account], now: datetime, max_age: timedelta) -> list[Account]:
    """The accounts whose password is at least max_age old at `now`, oldest first."""
    return sorted((account for account in accounts if now - account.changed >= max_age), key=lambda a: a.changed)


def account_of(dn: str, attributes: dict[str, list[bytes]]) -> Account:
    mail = (attributes.get("mail") or [b""])[0].decode()
    changed = parse_generalized_time(attributes["pwdChangedTime"][0].decode())
    return Account(dn=dn, mail=mail, changed=changed)


def search_filter(address: str | None) -> str:
    if not address:
        return PEOPLE_FILTER
    from ldap.filter import escape_filter_chars  # noqa: PLC0415 - python3-ldap exists on the directory host only

    return f"(&{PEOPLE_FILTER}(|(mail={escape_filter_chars(address)})(uid={escape_filter_chars(address)})))"


def read_accounts(connection, base: str, address: str | None) -> list[Account]:
    import ldap  # noqa: PLC0415 - see search_filter

    results = connection.search_ext_s(base, ldap.SCOPE_SUBTREE, search_filter(address), ["mail", "pwdChangedTime"])
    return [account_of(dn, attributes) for dn, attributes in results if dn]


def mark_for_change(connection, accounts: list[Account]) -> None:
    import ldap  # noqa: PLC0415 - see search_filter

    for account in accounts:
        connection.modify_s(account.dn, [(ldap.MOD_REPLACE, "pwdReset", [b"TRUE"])])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, help="where the people are (ou=people,<suffix>)")
    parser.add_argument("--max-age-days", type=int, required=True, help="Điều 8.2.c: 180")
    parser.add_argument("--address", help="only this mailbox (mail or uid)")
    parser.add_argument("--check", action="store_true", help="report, change nothing")
    parser.add_argument("--uri", default="ldapi:///")
    options = parser.parse_args(argv)

    import ldap  # noqa: PLC0415 - see search_filter

    connection = ldap.initialize(options.uri)
    connection.sasl_external_bind_s()
    now = datetime.now(UTC)
    accounts = read_accounts(connection, options.base, options.address)
    due = due_accounts(accounts, now, timedelta(days=options.max_age_days))
    if not options.check:
        mark_for_change(connection, due)
    verb = "would mark" if options.check else "marked"
    for account in due:
        age = (now - account.changed).days
        print(f"{verb} {account.mail}: password unchanged for {age} days (since {account.changed:%Y-%m-%d})")
    if options.address:
        for account in set(accounts) - set(due):
            due_on = account.changed + timedelta(days=options.max_age_days)
            print(f"{account.mail}: password changed {account.changed:%Y-%m-%d}, must be changed by {due_on:%Y-%m-%d}")
    print(
        f"{len(accounts)} active passwords checked, {len(due)} older than {options.max_age_days} days "
        f"{'would be' if options.check else 'were'} marked to be changed (pwdReset)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
