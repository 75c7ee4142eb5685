#!/usr/bin/env python3
"""Prove the directory server's behaviour against the real slapd.

Runs on the directory host (python3-ldap is installed there by the slapd role):
root configures test entries over ldapi:/// (SASL EXTERNAL), then users,
service accounts and anonymous clients act over the TLS listeners exactly as
Dovecot, Postfix, the webmail or a mail client would. Prints one line per
check and exits 1 when any check failed. The test entries are removed at the
end, whatever happened.

Environment: SUFFIX, CA_CERT, LDAP_HOST (a name in the server's certificate)
and SERVICE_PASSWORDS, a root-only JSON file {"dovecot": ..., "postfix": ...,
"sso": ..., "webmail": ...}.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

import ldap
import ldap.modlist

SUFFIX = os.environ["SUFFIX"]
CA_CERT = os.environ["CA_CERT"]
# The host's own name: it is in the certificate, and libldap checks
# "localhost" against the reverse lookup of the loopback address instead.
LDAPS = f"ldaps://{os.environ['LDAP_HOST']}"
LDAP_STARTTLS = f"ldap://{os.environ['LDAP_HOST']}"
PEOPLE = f"ou=people,{SUFFIX}"
SERVICES = f"ou=services,{SUFFIX}"
DOMAIN = ".".join(part.split("=", 1)[1] for part in SUFFIX.split(","))
with open(os.environ["SERVICE_PASSWORDS"], encoding="utf-8") as secrets:
    SERVICE_PASSWORDS: dict[str, str] = json.load(secrets)

NGUYEN = f"uid=dcnguyen,{PEOPLE}"
# The same person's name without the folded copy: the control case that shows
# why socNameAscii must be in the entry (ppm compares raw values).
NGUYEN_UNICODE_ONLY = f"uid=dcnguyen9,{PEOPLE}"
LOCKED = f"uid=lockme,{PEOPLE}"
DISABLED = f"uid=disabledone,{PEOPLE}"
ADMIN_LOCKED = f"uid=adminlocked,{PEOPLE}"
INITIAL = "Khoi-Tao#2024zq"  # written by root, as the provisioning module does
FIRST_OWN = "Tr0ng-Dong#2026"
SECOND_OWN = "Song-Hau#2027w"
THIRD_OWN = "Bac-Lieu#2029k"
EXPIRY_JOB = "/usr/local/sbin/soctrang-password-expiry"
TEST_ENTRIES = [NGUYEN, NGUYEN_UNICODE_ONLY, LOCKED, DISABLED, ADMIN_LOCKED]

failures: list[str] = []


def check(name: str, passed: bool, detail: str = "") -> None:
    """Record and print one check."""
    print(f"{'PASS' if passed else 'FAIL'}  {name}{f'  ({detail})' if detail and not passed else ''}")
    if not passed:
        failures.append(name)


def connect(uri: str, start_tls: bool = False) -> ldap.ldapobject.LDAPObject:
    """A connection that verifies the server against the lab CA."""
    connection = ldap.initialize(uri)
    connection.set_option(ldap.OPT_PROTOCOL_VERSION, 3)
    connection.set_option(ldap.OPT_X_TLS_CACERTFILE, CA_CERT)
    connection.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_DEMAND)
    connection.set_option(ldap.OPT_X_TLS_NEWCTX, 0)
    if start_tls:
        connection.start_tls_s()
    return connection


def root() -> ldap.ldapobject.LDAPObject:
    """root on the directory host: the rootdn of the database."""
    connection = ldap.initialize("ldapi:///")
    connection.sasl_external_bind_s()
    return connection


@contextmanager
def bound(dn: str, password: str, uri: str = LDAPS) -> Iterator[ldap.ldapobject.LDAPObject]:
    """A simple bind over TLS, as a client of the directory does it."""
    connection = connect(uri)
    connection.simple_bind_s(dn, password)
    try:
        yield connection
    finally:
        connection.unbind_s()


def error_of(action: Callable[[], object]) -> type[ldap.LDAPError] | None:
    """The LDAP error class an action ends with, None when it succeeds."""
    try:
        action()
    except ldap.LDAPError as error:
        return type(error)
    return None


def read(connection: ldap.ldapobject.LDAPObject, dn: str, attributes: list[str]) -> dict[str, list[bytes]]:
    """The attributes of one entry that this connection may see ({} if none)."""
    try:
        found = connection.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", attributes)
    except ldap.NO_SUCH_OBJECT:
        return {}
    return found[0][1] if found else {}


def search_or_nothing(connection: ldap.ldapobject.LDAPObject, base: str) -> list:
    """Everything under base that this connection may see; a base it may not
    see answers "no such object", which is nothing too."""
    try:
        return connection.search_s(base, ldap.SCOPE_SUBTREE, "(objectClass=*)")
    except ldap.NO_SUCH_OBJECT:
        return []


def person(uid: str, name: str, *, surname: str, given: str, state: str, ascii_name: str | None) -> list:
    """The add request of a test mailbox, shaped as the provisioning module writes it."""
    attributes: dict[str, list[bytes]] = {
        "objectClass": [b"inetOrgPerson", b"socMailbox"],
        "uid": [uid.encode()],
        "cn": [name.encode()],
        "sn": [surname.encode()],
        "givenName": [given.encode()],
        "mail": [f"{uid}@{DOMAIN}".encode()],
        "socOwnerId": [f"verify-{uid}".encode()],
        "socMailboxState": [state.encode()],
        "socMailQuota": [b"2147483648"],
        "userPassword": [INITIAL.encode()],
        # ppolicy does not set pwdReset on add; the provisioning module does.
        "pwdReset": [b"TRUE"],
    }
    if ascii_name:
        attributes["socNameAscii"] = [ascii_name.encode()]
    return ldap.modlist.addModlist(attributes)


def remove_test_entries(admin: ldap.ldapobject.LDAPObject) -> None:
    for dn in TEST_ENTRIES:
        with suppress(ldap.NO_SUCH_OBJECT):
            admin.delete_s(dn)


def ldappasswd(dn: str, old: str, new: str) -> subprocess.CompletedProcess[str]:
    """The password-modify extended operation with the stock client, as the user."""
    argv = ["ldappasswd", "-x", "-H", LDAPS, "-D", dn, "-w", old, "-a", old, "-s", new]
    return subprocess.run(  # noqa: S603 - fixed argv, values from this script
        argv,
        capture_output=True,
        text=True,
        env={**os.environ, "LDAPTLS_CACERT": CA_CERT, "LDAPTLS_REQCERT": "demand"},
        check=False,
    )


def check_tree(admin: ldap.ldapobject.LDAPObject) -> None:
    for dn in [SUFFIX, PEOPLE, f"ou=units,{SUFFIX}", SERVICES, f"ou=policies,{SUFFIX}"]:
        check(f"entry {dn} exists", bool(read(admin, dn, ["objectClass"])))
    policy = read(
        admin, f"cn=default,ou=policies,{SUFFIX}", ["pwdMinLength", "pwdInHistory", "pwdMaxAge", "pwdMustChange"]
    )
    check(
        "default policy: length 8, history 5, slapd's backstop 180 + 30 days, must change",
        policy.get("pwdMinLength") == [b"8"]
        and policy.get("pwdInHistory") == [b"5"]
        and policy.get("pwdMaxAge") == [str((180 + 30) * 86400).encode()]
        and policy.get("pwdMustChange") == [b"TRUE"],
        repr(policy),
    )


def check_tls() -> None:
    plain = ldap.initialize(LDAP_STARTTLS)
    refused = error_of(lambda: plain.simple_bind_s(f"cn=sso,{SERVICES}", SERVICE_PASSWORDS["sso"]))
    check("plain ldap:// without StartTLS refuses a bind", refused is ldap.CONFIDENTIALITY_REQUIRED, repr(refused))
    with_tls = connect(LDAP_STARTTLS, start_tls=True)
    accepted = error_of(lambda: with_tls.simple_bind_s(f"cn=sso,{SERVICES}", SERVICE_PASSWORDS["sso"]))
    check("ldap:// with StartTLS (lab CA verified) accepts the bind", accepted is None, repr(accepted))
    with_tls.unbind_s()


def check_hash(admin: ldap.ldapobject.LDAPObject) -> None:
    stored = read(admin, NGUYEN, ["userPassword"]).get("userPassword", [b""])[0]
    check(
        "a cleartext password is stored as {ARGON2} argon2id",
        stored.startswith(b"{ARGON2}$argon2id$"),
        stored[:24].decode(),
    )


def check_must_change() -> None:
    with bound(NGUYEN, INITIAL) as user:
        blocked = error_of(lambda: user.search_s(NGUYEN, ldap.SCOPE_BASE))
    check("pwdReset: the user binds but may do nothing but change the password", blocked is not None)

    refusals = {
        "abcdefgh1 (no upper case, no special)": "abcdefgh1",
        "Ab1!xy (shorter than 8)": "Ab1!xy",
        "Nguyen@2026x (own name, ASCII-folded)": "Nguyen@2026x",
        "Dcnguyen#2026 (own uid)": "Dcnguyen#2026",
    }
    for label, password in refusals.items():
        result = ldappasswd(NGUYEN, INITIAL, password)
        output = result.stdout + result.stderr
        check(f"ppolicy refuses {label}", result.returncode != 0 and "Constraint violation" in output, output.strip())

    result = ldappasswd(NGUYEN, INITIAL, FIRST_OWN)
    check("the user sets a compliant password with ldappasswd", result.returncode == 0, result.stderr.strip())
    with bound(NGUYEN, FIRST_OWN) as user:
        state = read(user, NGUYEN, ["pwdReset", "mail"])
    check(
        "after the change pwdReset is gone and the entry is readable",
        "pwdReset" not in state and "mail" in state,
        repr(state),
    )


def check_unicode_only_control() -> None:
    with bound(NGUYEN_UNICODE_ONLY, INITIAL) as user:
        accepted = error_of(lambda: user.passwd_s(NGUYEN_UNICODE_ONLY, INITIAL, "Nguyen@2026x"))
    check(
        "control: without socNameAscii ppm lets Nguyen@2026x through (why the folded name is kept)",
        accepted is None,
        repr(accepted),
    )


def check_history() -> None:
    with bound(NGUYEN, FIRST_OWN) as user:
        changed = error_of(lambda: user.passwd_s(NGUYEN, FIRST_OWN, SECOND_OWN))
    check("a second compliant change is accepted", changed is None, repr(changed))
    with bound(NGUYEN, SECOND_OWN) as user:
        reused = error_of(lambda: user.passwd_s(NGUYEN, SECOND_OWN, FIRST_OWN))
    check("ppolicy refuses a password from the history", reused is ldap.CONSTRAINT_VIOLATION, repr(reused))


def check_user_limits(admin: ldap.ldapobject.LDAPObject) -> None:
    with bound(NGUYEN, SECOND_OWN) as user:
        other = error_of(lambda: user.passwd_s(LOCKED, None, "Other-User#2026"))
        quota = error_of(lambda: user.modify_s(NGUYEN, [(ldap.MOD_REPLACE, "socMailQuota", b"999999999999")]))
        own_mail = error_of(lambda: user.modify_s(NGUYEN, [(ldap.MOD_REPLACE, "mail", f"boss@{DOMAIN}".encode())]))
        own_password_hash = read(user, NGUYEN, ["userPassword"])
    check("a user cannot set another user's password", other is ldap.INSUFFICIENT_ACCESS, repr(other))
    check("a user cannot raise his own quota", quota is ldap.INSUFFICIENT_ACCESS, repr(quota))
    check("a user cannot change his own address", own_mail is ldap.INSUFFICIENT_ACCESS, repr(own_mail))
    check("a user cannot read even his own password hash", "userPassword" not in own_password_hash)

    admin.passwd_s(NGUYEN, None, INITIAL)
    reset = read(admin, NGUYEN, ["pwdReset"]).get("pwdReset")
    check("an administrator's reset sets pwdReset again", reset == [b"TRUE"], repr(reset))


def check_lockout() -> None:
    for _attempt in range(5):
        error_of(lambda: connect(LDAPS).simple_bind_s(LOCKED, "Wrong-Guess#1"))
    refused = error_of(lambda: connect(LDAPS).simple_bind_s(LOCKED, INITIAL))
    check(
        "after 5 failures even the right password is refused (lockout)",
        refused is ldap.INVALID_CREDENTIALS,
        repr(refused),
    )


def check_disabled() -> None:
    refused = error_of(lambda: connect(LDAPS).simple_bind_s(DISABLED, INITIAL))
    check(
        "a disabled mailbox (socMailboxState=disabled) cannot bind", refused is ldap.INVALID_CREDENTIALS, repr(refused)
    )
    refused = error_of(lambda: connect(LDAPS).simple_bind_s(ADMIN_LOCKED, INITIAL))
    check(
        "an administratively locked account (pwdAccountLockedTime) cannot bind",
        refused is ldap.INVALID_CREDENTIALS,
        repr(refused),
    )


def check_services() -> None:
    wanted = ["cn", "mail", "socMailboxState", "pwdReset", "pwdChangedTime", "userPassword", "pwdHistory"]
    seen: dict[str, dict[str, list[bytes]]] = {}
    for service in ["dovecot", "postfix", "sso", "webmail"]:
        with bound(f"cn={service},{SERVICES}", SERVICE_PASSWORDS[service]) as connection:
            seen[service] = read(connection, NGUYEN, wanted)
            others = search_or_nothing(connection, SERVICES)
            written = error_of(lambda c=connection: c.modify_s(NGUYEN, [(ldap.MOD_REPLACE, "cn", b"Changed")]))
        check(f"cn={service} cannot read any userPassword", "userPassword" not in seen[service])
        check(f"cn={service} cannot read the password history", "pwdHistory" not in seen[service])
        check(
            f"cn={service} sees no other service account",
            [dn for dn, _ in others] in ([], [f"cn={service},{SERVICES}"]),
            repr(others),
        )
        check(f"cn={service} cannot write a mailbox", written is ldap.INSUFFICIENT_ACCESS, repr(written))
        check(
            f"cn={service} reads the address and the state",
            "mail" in seen[service] and "socMailboxState" in seen[service],
        )
    check(
        "cn=dovecot reads pwdReset and pwdChangedTime",
        {"pwdReset", "pwdChangedTime"} <= seen["dovecot"].keys(),
        repr(seen["dovecot"].keys()),
    )
    check("cn=webmail reads pwdReset", "pwdReset" in seen["webmail"], repr(seen["webmail"].keys()))
    check("cn=postfix cannot read the password state", "pwdReset" not in seen["postfix"])
    check("cn=sso (read-only identity) cannot read the password state", "pwdReset" not in seen["sso"])


def check_anonymous() -> None:
    anonymous = connect(LDAPS)
    anonymous.simple_bind_s("", "")
    people = search_or_nothing(anonymous, PEOPLE)
    services = search_or_nothing(anonymous, SERVICES)
    check("anonymous reads nothing of the people", people == [], repr(people[:1]))
    check("anonymous reads nothing of the service accounts", services == [], repr(services[:1]))


def check_unique(admin: ldap.ldapobject.LDAPObject) -> None:
    clash = person(
        "dcnguyen8", "Dương Chí Nguyên", surname="Dương", given="Nguyên", state="active", ascii_name="Duong Chi Nguyen"
    )
    clash = [(name, [f"dcnguyen@{DOMAIN}".encode()] if name == "mail" else values) for name, values in clash]
    refused = error_of(lambda: admin.add_s(f"uid=dcnguyen8,{PEOPLE}", clash))
    check(
        "an address already in use cannot be given to a second entry (unique)",
        refused is ldap.CONSTRAINT_VIOLATION,
        repr(refused),
    )
    # slapo-unique compares each attribute with itself only; that an alias is
    # never another mailbox's address is the ledger's guarantee (one namespace).
    alias = f"old.address@{DOMAIN}".encode()
    admin.modify_s(LOCKED, [(ldap.MOD_ADD, "socMailAlias", alias)])
    second = error_of(lambda: admin.modify_s(DISABLED, [(ldap.MOD_ADD, "socMailAlias", alias)]))
    check("an alias cannot be given to a second mailbox (unique)", second is ldap.CONSTRAINT_VIOLATION, repr(second))


def expiry_job(*arguments: str) -> subprocess.CompletedProcess[str]:
    """The daily job of Điều 8.2.c, as the timer runs it, on one test account."""
    argv = [EXPIRY_JOB, "--base", PEOPLE, "--address", f"dcnguyen@{DOMAIN}", *arguments]
    return subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603 - fixed argv


def check_expiry(admin: ldap.ldapobject.LDAPObject) -> None:
    timer = subprocess.run(
        ["/usr/bin/systemctl", "is-enabled", "soctrang-password-expiry.timer"],
        capture_output=True,
        text=True,
        check=False,
    )
    check("the daily password expiry job is enabled", timer.stdout.strip() == "enabled", timer.stdout + timer.stderr)

    # The administrator's reset of check_user_limits left pwdReset: the user
    # first sets an own password, as after any reset.
    with bound(NGUYEN, INITIAL) as user:
        user.passwd_s(NGUYEN, INITIAL, THIRD_OWN)
    young = expiry_job("--max-age-days", "180")
    check(
        "a password changed today is not due; the job says by when it must be changed",
        young.returncode == 0
        and "must be changed by" in young.stdout
        and f"marked dcnguyen@{DOMAIN}" not in young.stdout,
        young.stdout + young.stderr,
    )
    dry = expiry_job("--max-age-days", "0", "--check")
    unmarked = read(admin, NGUYEN, ["pwdReset"])
    check(
        "--check reports a due password and changes nothing",
        dry.returncode == 0 and "would mark" in dry.stdout and "pwdReset" not in unmarked,
        dry.stdout + dry.stderr + repr(unmarked),
    )
    due = expiry_job("--max-age-days", "0")
    marked = read(admin, NGUYEN, ["pwdReset"])
    check(
        "a password older than the maximum age is marked to be changed (pwdReset)",
        due.returncode == 0 and marked.get("pwdReset") == [b"TRUE"],
        due.stdout + due.stderr + repr(marked),
    )
    with bound(NGUYEN, THIRD_OWN) as user:
        blocked = error_of(lambda: user.search_s(NGUYEN, ldap.SCOPE_BASE))
        changed = error_of(lambda: user.passwd_s(NGUYEN, THIRD_OWN, "Khanh-Hoa#2028q"))
    check(
        "after expiry the user may only change the password, and can",
        blocked is not None and changed is None,
        f"{blocked!r} {changed!r}",
    )
    check("the change clears the mark", "pwdReset" not in read(admin, NGUYEN, ["pwdReset"]))


def main() -> int:
    admin = root()
    remove_test_entries(admin)
    try:
        admin.add_s(
            NGUYEN,
            person(
                "dcnguyen",
                "Dương Chí Nguyên",
                surname="Dương",
                given="Nguyên",
                state="active",
                ascii_name="Duong Chi Nguyen",
            ),
        )
        admin.add_s(
            NGUYEN_UNICODE_ONLY,
            person("dcnguyen9", "Dương Chí Nguyên", surname="Dương", given="Nguyên", state="active", ascii_name=None),
        )
        admin.add_s(
            LOCKED, person("lockme", "Lâm Ốc Mễ", surname="Lâm", given="Mễ", state="active", ascii_name="Lam Oc Me")
        )
        admin.add_s(
            DISABLED,
            person("disabledone", "Đinh Sơn", surname="Đinh", given="Sơn", state="disabled", ascii_name="Dinh Son"),
        )
        admin.add_s(
            ADMIN_LOCKED,
            person("adminlocked", "Âu Lạc", surname="Âu", given="Lạc", state="active", ascii_name="Au Lac"),
        )
        admin.modify_s(ADMIN_LOCKED, [(ldap.MOD_ADD, "pwdAccountLockedTime", b"000001010000Z")])
        check_tree(admin)
        check_tls()
        check_hash(admin)
        check_must_change()
        check_unicode_only_control()
        check_history()
        check_user_limits(admin)
        check_lockout()
        check_disabled()
        check_services()
        check_anonymous()
        check_unique(admin)
        check_expiry(admin)
    finally:
        remove_test_entries(admin)
    print(f"{len(failures)} check(s) failed" if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
