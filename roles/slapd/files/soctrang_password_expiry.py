#!/usr/bin/python3
"""soctrang-password-expiry: make an expired password a clear "change it" (Điều 8.2.c).

Run daily by soctrang-password-expiry.timer on the directory host, as root,
over ldapi:/// (SASL EXTERNAL). Every active person whose password is older
than the province's maximum age (--max-age-days, the unit passes
soctrang_password_policy.max_age_days) and not already marked gets
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

Which accounts count and how their pwdChangedTime reads are shared with the mail
store's password warnings: soctrang_notice.py, installed beside this program
(roles/dovecot/files/soctrang_notice.py, the one copy).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from soctrang_notice import Account, expiry_filter, read_expiry_accounts

# An operator may name the mailbox by its address or by its uid.
ADDRESS_ATTRIBUTES = ("mail", "uid")


def due_accounts(accounts: Iterable[Account], now: datetime, max_age: timedelta) -> list[Account]:
    """The accounts whose password is at least max_age old at `now`, oldest first."""
    return sorted((account for account in accounts if now - account.changed >= max_age), key=lambda a: a.changed)


def search_filter(address: str | None) -> str:
    return expiry_filter(address, ADDRESS_ATTRIBUTES)


def read_accounts(connection: object, base: str, address: str | None) -> list[Account]:
    return read_expiry_accounts(connection, base, address, ADDRESS_ATTRIBUTES)


def mark_for_change(connection: object, accounts: list[Account]) -> None:
    import ldap  # noqa: PLC0415 - python3-ldap exists on the directory host only

    for account in accounts:
        connection.modify_s(account.dn, [(ldap.MOD_REPLACE, "pwdReset", [b"TRUE"])])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, help="where the people are (ou=people,<suffix>)")
    parser.add_argument("--max-age-days", type=int, required=True, help="Điều 8.2.c: the policy's max_age_days")
    parser.add_argument("--address", help="only this mailbox (mail or uid)")
    parser.add_argument("--check", action="store_true", help="report, change nothing")
    parser.add_argument("--uri", default="ldapi:///")
    options = parser.parse_args(argv)

    import ldap  # noqa: PLC0415 - python3-ldap exists on the directory host only

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
