#!/usr/bin/python3
"""Warn users by e-mail, in Vietnamese, that their password must soon be changed (Điều 8.2.c).

Run daily by soctrang-password-warning.timer on the mail store, as root. Reads
the directory as Dovecot's service account (it may read mail, pwdChangedTime
and pwdReset, nothing more) and puts a warning into the INBOX of every active
mailbox whose password reaches the maximum age in exactly one of the warning
days, through dovecot-lda like the quota warnings. On the day itself the
directory's own daily job (roles/slapd, soctrang-password-expiry) marks the
password to be changed.

    soctrang-password-warning [--check] [--address ADDRESS] [--sent FILE]
                              [--max-age-days N] [--warn-days N [N ...]]
    soctrang-password-warning --check-config FILE   (the role's validate: of FILE)

The maximum age, the warning days, the directory and the notice's subject and
body come from the settings the role renders (roles/dovecot,
templates/password-warning.json.j2); the options override the first two for
one run. The notice's {user}, {left} and {due} are filled in here.

Each warning sent is remembered (--sent, a small JSON file: address -> the
warnings of its current due date), so that a second run on the same day, by
hand or by the timer catching up, does not send the same notice again; a
password changed since has another due date and is warned afresh.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import soctrang_notice

CONFIG = "/etc/soctrang-mail/password-warning.json"
SENT = "/var/lib/soctrang-mail/password-warnings-sent.json"
FIELDS = ("user", "left", "due")
SCHEMA: dict[str, type] = {
    **soctrang_notice.NOTICE_SCHEMA,
    "ldap.uris": list,
    "ldap.starttls": bool,
    "ldap.ca_file": str,
    "ldap.bind_dn": str,
    "ldap.password_file": str,
    "ldap.people_base": str,
    "max_age_days": int,
    "warn_days": list,
}


@dataclass(frozen=True)
class Settings:
    notice: soctrang_notice.Notice
    ldap_uris: list[str]
    ldap_starttls: bool
    ldap_ca_file: str
    bind_dn: str
    password_file: str
    people_base: str
    max_age_days: int
    warn_days: list[int]


@dataclass(frozen=True)
class Due:
    """A warning to send: to whom, whole days left, the last day the password works."""

    mail: str
    left: int
    due: datetime


def settings_of(config: dict, source: str) -> Settings:
    """Settings from a parsed settings file; ConfigError names what is wrong."""
    soctrang_notice.check_settings(config, SCHEMA, source)
    ldap_settings = config["ldap"]
    problems = []
    if not ldap_settings["uris"] or not all(isinstance(uri, str) and uri for uri in ldap_settings["uris"]):
        problems.append(f"ldap.uris must be a list of LDAP URIs, not {ldap_settings['uris']!r}")
    if config["max_age_days"] < 1:
        problems.append(f"max_age_days must be at least 1, not {config['max_age_days']!r}")
    warn_days = config["warn_days"]
    if not all(isinstance(day, int) and not isinstance(day, bool) and day > 0 for day in warn_days):
        problems.append(f"warn_days must be a list of whole days above 0, not {warn_days!r}")
    if problems:
        raise soctrang_notice.ConfigError(f"{source}: " + "; ".join(problems))
    return Settings(
        notice=soctrang_notice.notice_of(config, FIELDS, source),
        ldap_uris=list(ldap_settings["uris"]),
        ldap_starttls=ldap_settings["starttls"],
        ldap_ca_file=ldap_settings["ca_file"],
        bind_dn=ldap_settings["bind_dn"],
        password_file=ldap_settings["password_file"],
        people_base=ldap_settings["people_base"],
        max_age_days=config["max_age_days"],
        warn_days=list(warn_days),
    )


def read_settings(path: str) -> Settings:
    return settings_of(soctrang_notice.read_settings(path, SCHEMA), path)


def days_left(changed: datetime, now: datetime, max_age: timedelta) -> int:
    """Whole days until the password is due, counted up: 0.2 days left is 1 day."""
    return math.ceil((changed + max_age - now) / timedelta(days=1))


def warnings_due(
    accounts: Iterable[soctrang_notice.Account], now: datetime, max_age: timedelta, warn_days: Iterable[int]
) -> list[Due]:
    """The accounts with an address whose password has exactly one of `warn_days` left, in the order read."""
    days = set(warn_days)
    due = []
    for account in accounts:
        if not account.mail:
            continue
        left = days_left(account.changed, now, max_age)
        if left in days:
            due.append(Due(mail=account.mail, left=left, due=account.changed + max_age))
    return due


def warning_key(warning: Due) -> str:
    """What one warning is: its due time (a new password has another) and the days it said were left."""
    return f"{warning.due:%Y-%m-%dT%H:%M:%S}/{warning.left}"


def read_sent(path: str) -> dict[str, list[str]]:
    """The warnings sent so far ({} when none were, or the file is unreadable: warning twice beats never)."""
    try:
        with open(path, encoding="utf-8") as sent:
            data = json.load(sent)
    except (OSError, ValueError):
        return {}
    return {str(mail): [str(key) for key in keys] for mail, keys in data.items()} if isinstance(data, dict) else {}


def write_sent(path: str, sent: dict[str, list[str]], now: datetime) -> None:
    """Keeps the warnings of due dates still to come; written whole, then renamed."""
    today = f"{now:%Y-%m-%d}"
    kept = {mail: keys for mail, keys in ((m, [k for k in ks if k[:10] >= today]) for m, ks in sent.items()) if keys}
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(f"{path}.new", "w", encoding="utf-8") as out:
        json.dump(kept, out, sort_keys=True)
    os.replace(f"{path}.new", path)


def notice_fields(warning: Due) -> dict[str, object]:
    return {"user": warning.mail, "left": warning.left, "due": f"{warning.due:%d/%m/%Y}"}


def connect(settings: Settings) -> object:
    import ldap  # noqa: PLC0415 - python3-ldap exists on the mail store only

    connection = ldap.initialize(" ".join(settings.ldap_uris))
    connection.set_option(ldap.OPT_X_TLS_CACERTFILE, settings.ldap_ca_file)
    connection.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_DEMAND)
    connection.set_option(ldap.OPT_X_TLS_NEWCTX, 0)
    if settings.ldap_starttls:
        connection.start_tls_s()
    with open(settings.password_file, encoding="utf-8") as secret:
        connection.simple_bind_s(settings.bind_dn, secret.read().strip())
    return connection


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-age-days", type=int, help="default: the settings' max_age_days")
    parser.add_argument("--warn-days", type=int, nargs="+", help="default: the settings' warn_days")
    parser.add_argument("--address", help="only this mailbox")
    parser.add_argument("--check", action="store_true", help="list who would be warned, send nothing")
    parser.add_argument("--config", default=CONFIG, help=f"the settings file (default {CONFIG})")
    parser.add_argument("--sent", default=SENT, help=f"the warnings sent so far (default {SENT})")
    parser.add_argument("--check-config", metavar="FILE", help="check a settings file and exit")
    options = parser.parse_args(argv)

    try:
        settings = read_settings(options.check_config or options.config)
    except soctrang_notice.ConfigError as error:
        print(error, file=sys.stderr)
        return 1
    if options.check_config:
        return 0

    max_age_days = settings.max_age_days if options.max_age_days is None else options.max_age_days
    warn_days = settings.warn_days if options.warn_days is None else options.warn_days
    now = datetime.now(UTC)
    max_age = timedelta(days=max_age_days)
    connection = connect(settings)
    try:
        accounts = soctrang_notice.read_expiry_accounts(connection, settings.people_base, options.address)
    finally:
        connection.unbind_s()
    sent = read_sent(options.sent)
    warned = failed = already = 0
    for warning in warnings_due(accounts, now, max_age, warn_days):
        if warning_key(warning) in sent.get(warning.mail, []):
            already += 1
        elif options.check:
            print(f"would warn {warning.mail}: {warning.left} days left")
            warned += 1
        elif settings.notice.deliver(warning.mail, notice_fields(warning)) == 0:
            print(f"warned {warning.mail}: {warning.left} days left")
            sent.setdefault(warning.mail, []).append(warning_key(warning))
            warned += 1
        else:
            print(f"could not deliver the warning to {warning.mail}", file=sys.stderr)
            failed += 1
    if not options.check:
        write_sent(options.sent, sent, now)
    readable = sum(1 for account in accounts if account.mail)
    print(f"{readable} active passwords read, {warned} warned, {already} warned before, {failed} not delivered")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
