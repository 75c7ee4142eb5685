"""Real-protocol clients for the end-to-end tests of molecule/ and tools/lab_smoke.py.

Everything here talks to the servers as a user's program would: SMTP
submission with STARTTLS and SASL, IMAP over TLS, ManageSieve, LDAP with the
password-modify extended operation. TLS is always verified against the lab CA
and the server's certificate name, even when the server is reached by address.
The directory server alone (molecule/directory, molecule/mailboxes): see
`Directory` at the end.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import email
import email.policy
import hashlib
import imaplib
import os
import poplib
import smtplib
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import ldap3
import yaml
from ansible.parsing.vault import VaultLib, VaultSecret
from ldap3.core.exceptions import LDAPException
from ldap3.core.results import RESULT_NO_SUCH_OBJECT, RESULT_SUCCESS

DOMAIN = "soctrang.gov.vn"
# Deterministic, policy-compliant passwords the tests give the users (not a
# secret: lab containers only).
NEW_PASSWORD_PREFIX = "Lab#Mail-2025-"  # noqa: S105 - lab containers only, by design known


@dataclass(frozen=True)
class Lab:
    """Where the servers are and how to trust them."""

    mail_address: str
    mail_name: str
    ldap_address: str
    ldap_name: str
    ca_file: str
    smtp_port: int = 25
    submission_port: int = 587
    submissions_port: int = 465
    imap_port: int = 143
    imaps_port: int = 993
    pop3s_port: int = 995
    sieve_port: int = 4190
    ldaps_port: int = 636

    @classmethod
    def published_lab(cls, ca_file: str) -> Lab:
        """The `make lab` containers through their ports published on 127.0.0.1."""
        return cls(
            mail_address="127.0.0.1",
            mail_name="localhost",
            ldap_address="127.0.0.1",
            ldap_name="localhost",
            ca_file=ca_file,
            smtp_port=2525,
            submission_port=2587,
            submissions_port=2465,
            imap_port=2143,
            imaps_port=2993,
            pop3s_port=2995,
            sieve_port=4190,
            ldaps_port=3636,
        )

    @classmethod
    def from_environment(cls) -> Lab:
        return cls(
            mail_address=os.environ["MAILTEST_MAIL_ADDRESS"],
            mail_name=os.environ["MAILTEST_MAIL_NAME"],
            ldap_address=os.environ["MAILTEST_LDAP_ADDRESS"],
            ldap_name=os.environ["MAILTEST_LDAP_NAME"],
            ca_file=os.environ["MAILTEST_CA_FILE"],
            **{
                field: int(os.environ[f"MAILTEST_{field.upper()}"])
                for field in ("smtp_port", "submission_port", "submissions_port", "imap_port", "imaps_port")
                if f"MAILTEST_{field.upper()}" in os.environ
            },
        )

    def tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca_file)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context


def address(local_part: str) -> str:
    return f"{local_part}@{DOMAIN}"


def new_password(local_part: str) -> str:
    # Hex digits only after the prefix: no token of anyone's name or address
    # can appear in it, which the password policy (ppm) would refuse.
    return f"{NEW_PASSWORD_PREFIX}{hashlib.sha256(local_part.encode()).hexdigest()[:8]}"


def initial_passwords(handover_dir: Path, vault_password_file: Path) -> dict[str, str]:
    """Every initial password of the hand-over files (as an agency would read them)."""
    secret = VaultSecret(vault_password_file.read_text(encoding="utf-8").strip().encode())
    vault = VaultLib([("handover", secret)])
    passwords: dict[str, str] = {}
    for path in sorted(handover_dir.rglob("*.yml")):
        data = yaml.safe_load(vault.decrypt(path.read_bytes()))
        for account in data.get("accounts", []):
            passwords[account["mail"]] = account["password"]
    return passwords


# ---------------------------------------------------------------- SMTP
class NamedSMTP(smtplib.SMTP):
    """SMTP to an address, with TLS verified against the server's name."""

    def __init__(self, lab: Lab, port: int, timeout: float = 120) -> None:
        super().__init__(lab.mail_address, port, local_hostname="verify.lab", timeout=timeout)
        self._host = lab.mail_name


class NamedSMTPS(smtplib.SMTP_SSL):
    def __init__(self, lab: Lab, port: int, timeout: float = 120) -> None:
        self._server_name = lab.mail_name
        super().__init__(lab.mail_address, port, local_hostname="verify.lab", timeout=timeout, context=lab.tls())

    def _get_socket(self, host: str, port: int, timeout: float) -> ssl.SSLSocket:
        raw = socket.create_connection((host, port), timeout)
        return self.context.wrap_socket(raw, server_hostname=self._server_name)


def submission(lab: Lab, user: str, password: str) -> smtplib.SMTP:
    """A logged-in submission session on 587 (STARTTLS)."""
    smtp = NamedSMTP(lab, lab.submission_port)
    smtp.ehlo()
    smtp.starttls(context=lab.tls())
    smtp.ehlo()
    smtp.login(user, password)
    return smtp


def simple_message(sender: str, recipient: str, subject: str, body: str = "Nội dung thử nghiệm.") -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Message-ID"] = email.utils.make_msgid(domain=DOMAIN)
    message.set_content(body)
    return message


def message_with_attachment(sender: str, recipient: str, subject: str, size: int) -> EmailMessage:
    message = simple_message(sender, recipient, subject, "Văn bản kèm theo.")
    message.add_attachment(os.urandom(size), maintype="application", subtype="pdf", filename="van-ban.pdf")
    return message


# ---------------------------------------------------------------- IMAP
class NamedIMAP4SSL(imaplib.IMAP4_SSL):
    def __init__(self, lab: Lab, port: int) -> None:
        self._server_name = lab.mail_name
        super().__init__(lab.mail_address, port, ssl_context=lab.tls(), timeout=60)

    def _create_socket(self, timeout: float | None) -> ssl.SSLSocket:
        raw = socket.create_connection((self.host, self.port), timeout)
        return self.ssl_context.wrap_socket(raw, server_hostname=self._server_name)


class NamedPOP3SSL(poplib.POP3_SSL):
    def __init__(self, lab: Lab, port: int) -> None:
        self._server_name = lab.mail_name
        super().__init__(lab.mail_address, port, context=lab.tls(), timeout=30)

    def _create_socket(self, timeout: float) -> ssl.SSLSocket:
        raw = socket.create_connection((self.host, self.port), timeout)
        return self.context.wrap_socket(raw, server_hostname=self._server_name)


def imap_login(lab: Lab, user: str, password: str) -> imaplib.IMAP4_SSL:
    imap = NamedIMAP4SSL(lab, lab.imaps_port)
    imap.login(user, password)
    return imap


def imap_login_refusal(lab: Lab, user: str, password: str) -> str:
    """The server's answer to a refused login (raises if the login succeeds)."""
    accepted, said = _imap_attempt(lab, user, password)
    if accepted:
        raise AssertionError(f"{user} logged in, but should have been refused")
    return said


def quoted(mailbox: str) -> str:
    return '"' + imaplib_utf7(mailbox).replace("\\", "\\\\").replace('"', '\\"') + '"'


def imaplib_utf7(text: str) -> str:
    """IMAP's modified UTF-7 for mailbox names (RFC 3501 5.1.3)."""
    result, pending = [], []

    def flush() -> None:
        if pending:
            encoded = base64.b64encode("".join(pending).encode("utf-16-be")).decode().rstrip("=")
            result.append("&" + encoded.replace("/", ",") + "-")
            pending.clear()

    for character in text:
        if 0x20 <= ord(character) <= 0x7E:
            flush()
            result.append("&-" if character == "&" else character)
        else:
            pending.append(character)
    flush()
    return "".join(result)


def subjects(imap: imaplib.IMAP4, mailbox: str = "INBOX") -> list[str]:
    status, _ = imap.select(quoted(mailbox), readonly=True)
    assert status == "OK", f"cannot select {mailbox}"
    _, data = imap.search(None, "ALL")
    found = []
    for number in data[0].split():
        _, fetched = imap.fetch(number, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        header = email.message_from_bytes(fetched[0][1], policy=email.policy.default)
        found.append(" ".join(str(header.get("Subject", "")).split()))
    return found


def wait_for_subject(
    lab: Lab, user: str, password: str, subject: str, *, mailbox: str = "INBOX", seconds: int = 60
) -> None:
    deadline = time.monotonic() + seconds
    while True:
        imap = imap_login(lab, user, password)
        try:
            if any(subject in found for found in subjects(imap, mailbox)):
                return
        finally:
            imap.logout()
        if time.monotonic() > deadline:
            raise AssertionError(f"no message '{subject}' in {user}'s {mailbox} after {seconds} s")
        time.sleep(1)


# ---------------------------------------------------------------- ManageSieve
class ManageSieve:
    """Just enough RFC 5804 to log in and upload scripts, over STARTTLS."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.sock: socket.socket = socket.create_connection((lab.mail_address, lab.sieve_port), timeout=30)
        self.reader = self.sock.makefile("rb")
        self._read_response()
        self._command(b"STARTTLS")
        self.sock = lab.tls().wrap_socket(self.sock, server_hostname=lab.mail_name)
        self.reader = self.sock.makefile("rb")
        self._read_response()

    def _read_response(self) -> tuple[str, str]:
        lines = []
        while True:
            line = self._read_line()
            lines.append(line)
            if line.startswith(("OK", "NO", "BYE")):
                return line.split(" ", 1)[0], "\n".join(lines)

    def _read_line(self) -> str:
        """One response line, with the literals ({n}) it announces read in."""
        line = self.reader.readline().decode("utf-8", "replace").rstrip("\r\n")
        while line.endswith("}") and "{" in line:
            head, _, count = line.rpartition("{")
            literal = self.reader.read(int(count.rstrip("}+"))).decode("utf-8", "replace")
            rest = self.reader.readline().decode("utf-8", "replace").rstrip("\r\n")
            line = head + literal + rest
        return line

    def _command(self, command: bytes) -> tuple[str, str]:
        self.sock.sendall(command + b"\r\n")
        return self._read_response()

    def authenticate(self, user: str, password: str) -> tuple[str, str]:
        token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        return self._command(f'AUTHENTICATE "PLAIN" "{token}"'.encode())

    def login(self, user: str, password: str) -> None:
        status, text = self.authenticate(user, password)
        assert status == "OK", text

    def put_script(self, name: str, script: str) -> tuple[str, str]:
        body = script.encode()
        return self._command(f'PUTSCRIPT "{name}" {{{len(body)}+}}\r\n'.encode() + body)

    def set_active(self, name: str) -> tuple[str, str]:
        return self._command(f'SETACTIVE "{name}"'.encode())

    def logout(self) -> None:
        try:
            self._command(b"LOGOUT")
        finally:
            self.sock.close()


# ---------------------------------------------------------------- every door
# The services a person logs in to, each spoken as a user's program does. An
# attempt answers (accepted, what the server said): the tests of the doors
# (molecule/mail/tests/test_doors.py) try every state of a mailbox at each.
DOORS = ("imap", "pop3", "managesieve", "submission", "submissions", "ldap")


def _imap_attempt(lab: Lab, user: str, password: str) -> tuple[bool, str]:
    imap = NamedIMAP4SSL(lab, lab.imaps_port)
    try:
        imap.login(user, password)
    except imaplib.IMAP4.error as refusal:
        text = str(refusal)
        # imaplib quotes the server's bytes as their repr: give back the UTF-8 text.
        if text.startswith(("b'", 'b"')):
            text = ast.literal_eval(text).decode("utf-8", "replace")
        return False, text
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            imap.logout()
    return True, "OK"


def _pop3_attempt(lab: Lab, user: str, password: str) -> tuple[bool, str]:
    pop = NamedPOP3SSL(lab, lab.pop3s_port)
    try:
        pop.user(user)
        pop.pass_(password)
    except poplib.error_proto as refusal:
        text = refusal.args[0] if refusal.args else b""
        return False, text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    finally:
        with contextlib.suppress(poplib.error_proto, OSError):
            pop.quit()
    return True, "OK"


def _managesieve_attempt(lab: Lab, user: str, password: str) -> tuple[bool, str]:
    sieve = ManageSieve(lab)
    try:
        status, text = sieve.authenticate(user, password)
    finally:
        with contextlib.suppress(OSError):
            sieve.logout()
    return status == "OK", text


def _smtp_attempt(smtp: smtplib.SMTP, mechanism: str, user: str, password: str) -> tuple[bool, str]:
    smtp.ehlo()
    smtp.user, smtp.password = user, password
    answer = {"PLAIN": smtp.auth_plain, "LOGIN": smtp.auth_login}[mechanism]
    try:
        code, text = smtp.auth(mechanism, answer, initial_response_ok=True)
    except smtplib.SMTPAuthenticationError as refusal:
        code, text = refusal.smtp_code, refusal.smtp_error
    return code == 235, f"AUTH {mechanism}: {code} {text.decode('utf-8', 'replace')}"


# One SASL mechanism a port, so that both (LOGIN, PLAIN) are tried at every state.
def _submission_attempt(lab: Lab, user: str, password: str) -> tuple[bool, str]:
    with NamedSMTP(lab, lab.submission_port) as smtp:
        smtp.ehlo()
        smtp.starttls(context=lab.tls())
        return _smtp_attempt(smtp, "LOGIN", user, password)


def _submissions_attempt(lab: Lab, user: str, password: str) -> tuple[bool, str]:
    with NamedSMTPS(lab, lab.submissions_port) as smtp:
        return _smtp_attempt(smtp, "PLAIN", user, password)


def _ldap_attempt(lab: Lab, user: str, password: str) -> tuple[bool, str]:
    """A bind, then a read of the own entry: a must-change bind succeeds, but
    ppolicy lets such a connection do nothing but change its password."""
    dn = user_dn(user.partition("@")[0])
    connection = ldap3.Connection(ldap_server(lab), user=dn, password=password)
    try:
        if not connection.bind():
            return False, f"bind: {_ldap_said(connection)}"
        if not connection.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["mail"]):
            return False, f"bind accepted, read refused: {_ldap_said(connection)}"
        return True, "OK"
    except LDAPException as refusal:
        return False, f"{type(refusal).__name__}: {refusal}"
    finally:
        with contextlib.suppress(LDAPException):
            connection.unbind()


def _ldap_said(connection: ldap3.Connection) -> str:
    return f"{connection.result['description']} {connection.result['message']}".strip()


_ATTEMPTS = {
    "imap": _imap_attempt,
    "pop3": _pop3_attempt,
    "managesieve": _managesieve_attempt,
    "submission": _submission_attempt,
    "submissions": _submissions_attempt,
    "ldap": _ldap_attempt,
}


def login_attempt(lab: Lab, door: str, user: str, password: str) -> tuple[bool, str]:
    """Log in at one door: (accepted, the server's words)."""
    return _ATTEMPTS[door](lab, user, password)


# ---------------------------------------------------------------- LDAP
def ldap_server(lab: Lab) -> ldap3.Server:
    tls = _verified_tls(lab.ca_file, lab.ldap_name)
    return ldap3.Server(lab.ldap_address, port=lab.ldaps_port, use_ssl=True, tls=tls, connect_timeout=10)


def _verified_tls(ca_file: str, server_name: str) -> ldap3.Tls:
    """TLS that trusts the lab CA only and checks the server's certificate name,
    also when the server is reached by address."""
    return ldap3.Tls(
        validate=ssl.CERT_REQUIRED,
        ca_certs_file=ca_file,
        valid_names=[server_name],
        version=ssl.PROTOCOL_TLS_CLIENT,
    )


def user_dn(local_part: str) -> str:
    return f"uid={local_part},ou=people,dc=soctrang,dc=gov,dc=vn"


def ldap_bind(lab: Lab, local_part: str, password: str) -> ldap3.Connection | None:
    connection = ldap3.Connection(ldap_server(lab), user=user_dn(local_part), password=password)
    try:
        return connection if connection.bind() else None
    except LDAPException:
        return None


def change_password(lab: Lab, local_part: str, old: str, new: str) -> None:
    """The user changes the own password as the webmail does: the password-modify
    extended operation (RFC 3062) with the old and the new password in cleartext,
    so that slapd's policy (ppm, history) judges it and slapd hashes it."""
    connection = ldap_bind(lab, local_part, old)
    assert connection is not None, f"{local_part} cannot bind with the old password"
    try:
        assert connection.extend.standard.modify_password(old_password=old, new_password=new), connection.result
    finally:
        connection.unbind()


def ensure_own_password(lab: Lab, local_part: str, initial: str) -> str:
    """Give the user the test password (once), like a user's first visit to the webmail."""
    wanted = new_password(local_part)
    connection = ldap_bind(lab, local_part, wanted)
    if connection is not None:
        connection.unbind()
        return wanted
    change_password(lab, local_part, initial, wanted)
    return wanted


# ---------------------------------------------------------------- the directory server alone
# molecule/directory and molecule/mailboxes: slapd without a mail server. Users,
# service accounts and anonymous clients speak LDAP to it from the controller (LDAPS,
# or StartTLS on ldap://, the server's name checked). Root - slapd's only
# administrator, by SASL EXTERNAL over ldapi:///, which has no network form - acts
# through `podman exec` on the directory host with the OpenLDAP tools, as the
# operators do; so does everything else without a protocol (files, systemctl, slapcat).
#
# ldap3, not python-ldap: libldap checks the certificate against the host of the URI
# and has no option to name the server otherwise, and the controller reaches the
# molecule containers by address only.

# The password policy response control (draft-behera-ldap-password-policy-10, 6.1),
# and the names of its error values, in their order (6.2).
PPOLICY_CONTROL = "1.3.6.1.4.1.42.2.27.8.5.1"
PPOLICY_ERRORS = (
    "passwordExpired",
    "accountLocked",
    "changeAfterReset",
    "passwordModNotAllowed",
    "mustSupplyOldPassword",
    "insufficientPasswordQuality",
    "passwordTooShort",
    "passwordTooYoung",
    "passwordInHistory",
    "passwordTooLong",
)


@dataclass(frozen=True)
class Directory:
    """Where the directory server is, how to trust it, and the container it runs in."""

    address: str
    name: str  # a name in its certificate
    ca_file: str
    container: str
    suffix: str = "dc=soctrang,dc=gov,dc=vn"
    ldap_port: int = 389
    ldaps_port: int = 636

    @classmethod
    def from_environment(cls) -> Directory:
        """The MAILTEST_LDAP_* variables and the CA of `Lab.from_environment`."""
        return cls(
            address=os.environ["MAILTEST_LDAP_ADDRESS"],
            name=os.environ["MAILTEST_LDAP_NAME"],
            ca_file=os.environ["MAILTEST_CA_FILE"],
            container=os.environ["MAILTEST_LDAP_CONTAINER"],
        )

    @property
    def people(self) -> str:
        return f"ou=people,{self.suffix}"

    @property
    def services(self) -> str:
        return f"ou=services,{self.suffix}"

    def service_dn(self, service: str) -> str:
        return f"cn={service},{self.services}"

    def server(self, transport: str = "ldaps") -> ldap3.Server:
        """ldaps: port 636; starttls: ldap:// on 389, for a client that starts TLS
        first; plain: ldap:// without TLS (which the server must refuse)."""
        # No schema read: attribute names go to the server as they are written.
        options = {"get_info": ldap3.NONE, "connect_timeout": 10}
        tls = _verified_tls(self.ca_file, self.name)
        if transport == "ldaps":
            return ldap3.Server(self.address, port=self.ldaps_port, use_ssl=True, tls=tls, **options)
        if transport == "starttls":
            return ldap3.Server(self.address, port=self.ldap_port, tls=tls, **options)
        if transport == "plain":
            return ldap3.Server(self.address, port=self.ldap_port, **options)
        raise ValueError(f"unknown transport {transport!r}: ldaps, starttls or plain")


def directory_bind(
    directory: Directory, dn: str, password: str, *, transport: str = "ldaps", password_policy: bool = False
) -> ldap3.Connection:
    """A simple bind as the directory's clients make it (an empty dn: anonymous).
    The connection comes back bound or not: `result_code` says what the server
    answered, `password_policy_error` what its ppolicy control said when asked for."""
    connection = ldap3.Connection(directory.server(transport), user=dn or None, password=password or None)
    connection.open()
    if transport == "starttls" and not connection.start_tls():
        raise AssertionError(f"StartTLS refused: {_ldap_said(connection)}")
    connection.bind(controls=[(PPOLICY_CONTROL, False, None)] if password_policy else None)
    return connection


@contextlib.contextmanager
def directory_session(directory: Directory, dn: str, password: str, **options: object) -> Iterator[ldap3.Connection]:
    """A connection bound as dn (the test fails when the bind does), unbound afterwards."""
    connection = directory_bind(directory, dn, password, **options)
    try:
        assert connection.bound, f"{dn or 'anonymous'} cannot bind: {_ldap_said(connection)}"
        yield connection
    finally:
        with contextlib.suppress(LDAPException):
            connection.unbind()


def change_own_password(directory: Directory, dn: str, old: str, new: str) -> int:
    """The user changes the own password as the webmail does (password-modify with
    the old and the new password in cleartext, so that ppm and the history judge
    it): the LDAP result code (19: refused by the policy)."""
    with directory_session(directory, dn, old) as user:
        user.extend.standard.modify_password(dn, old, new)
        return result_code(user)


def result_code(connection: ldap3.Connection) -> int:
    """The LDAP result code of the connection's last operation (RFC 4511 4.1.9)."""
    return connection.result["result"]


def password_policy_error(connection: ldap3.Connection) -> str | None:
    """The error of the ppolicy response control to the last operation, by its name
    (`changeAfterReset`, ...); None when the server sent no control or no error."""
    control = (connection.result.get("controls") or {}).get(PPOLICY_CONTROL)
    if not control or not control["value"]:
        return None
    ((_, response),) = _ber_elements(control["value"])  # PasswordPolicyResponseValue ::= SEQUENCE
    for tag, content in _ber_elements(response):
        if tag == 0x81:  # error [1] ENUMERATED
            return PPOLICY_ERRORS[int.from_bytes(content, "big")]
    return None


def _ber_elements(data: bytes) -> Iterator[tuple[int, bytes]]:
    """The (tag, content) pairs of a run of BER elements, definite lengths only."""
    offset = 0
    while offset < len(data):
        tag, length = data[offset], data[offset + 1]
        offset += 2
        if length & 0x80:
            size = length & 0x7F
            length = int.from_bytes(data[offset : offset + size], "big")
            offset += size
        yield tag, data[offset : offset + length]
        offset += length


def ldap_search(
    connection: ldap3.Connection,
    base: str,
    search_filter: str = "(objectClass=*)",
    attributes: list[str] | None = None,
    *,
    scope: str = ldap3.SUBTREE,
) -> list[tuple[str, dict[str, list[str]]]]:
    """(dn, attributes) of what this connection may see under base, every user
    attribute when none are named; a base it may not see answers "no such
    object", which is nothing too. Any other refusal fails the test."""
    connection.search(base, search_filter, scope, attributes=attributes or ldap3.ALL_ATTRIBUTES)
    if result_code(connection) == RESULT_NO_SUCH_OBJECT:
        return []
    assert result_code(connection) == RESULT_SUCCESS, f"search of {base}: {_ldap_said(connection)}"
    return [
        (
            entry["dn"],
            {name: [value.decode() for value in values] for name, values in entry["raw_attributes"].items() if values},
        )
        for entry in connection.response
        if entry["type"] == "searchResEntry"
    ]


def ldap_read(connection: ldap3.Connection, dn: str, attributes: list[str]) -> dict[str, list[str]]:
    """The attributes of one entry that this connection may see ({} if none)."""
    found = ldap_search(connection, dn, attributes=attributes, scope=ldap3.BASE)
    return found[0][1] if found else {}


def on_directory_host(directory: Directory, *command: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """A command as root on the directory host, for what has no protocol."""
    return subprocess.run(  # noqa: S603 - argv of the tests' own commands, no shell
        ["podman", "exec", "-i", directory.container, *command],  # noqa: S607 - podman from PATH, as molecule finds it
        input=stdin, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip


def as_directory_root(
    directory: Directory, tool: str, *arguments: str, ldif: str | None = None
) -> subprocess.CompletedProcess:
    """An OpenLDAP tool (ldapadd, ldapmodify, ldapdelete, ldappasswd, ldapsearch) as root
    over ldapi:/// - the operators' own access, outside the password policy. It exits
    with the LDAP result code (19: constraint violation, 32: no such object)."""
    return on_directory_host(directory, tool, "-Q", "-Y", "EXTERNAL", "-H", "ldapi:///", *arguments, stdin=ldif)


def root_read(directory: Directory, dn: str, attributes: list[str]) -> dict[str, list[str]]:
    """The attributes of one entry as root sees them, password hash included ({} if no such entry)."""
    result = as_directory_root(
        directory, "ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-s", "base", "-b", dn, "(objectClass=*)", *attributes
    )
    if result.returncode == RESULT_NO_SUCH_OBJECT:
        return {}
    assert result.returncode == 0, f"ldapsearch of {dn}: {result.stderr}"
    entries = parse_ldif(result.stdout)
    return entries[0][1] if entries else {}


def ldif_record(dn: str, attributes: dict[str, list[str]]) -> str:
    """One LDIF record (RFC 2849); a value LDIF cannot carry as it is goes in base64."""
    lines = [_ldif_line("dn", dn)]
    lines += [_ldif_line(name, value) for name, values in attributes.items() for value in values]
    return "\n".join(lines) + "\n"


def _ldif_line(name: str, value: str) -> str:
    if value.isascii() and value.isprintable() and not value.startswith((" ", ":", "<")) and not value.endswith(" "):
        return f"{name}: {value}"
    return f"{name}:: {base64.b64encode(value.encode()).decode()}"


def parse_ldif(text: str) -> list[tuple[str, dict[str, list[str]]]]:
    """(dn, attributes) of the entries of unwrapped LDIF (`ldapsearch -o ldif-wrap=no`)."""
    entries = []
    for record in text.strip().split("\n\n"):
        dn, attributes = "", {}
        for line in record.splitlines():
            if not line or line.startswith("#"):
                continue
            name, _, value = line.partition(":")
            value = base64.b64decode(value[1:]).decode() if value.startswith(":") else value.removeprefix(" ")
            if name == "dn":
                dn = value
            else:
                attributes.setdefault(name, []).append(value)
        if dn:
            entries.append((dn, attributes))
    return entries


def service_passwords(secrets_dir: Path) -> dict[str, str]:
    """The lab's service account passwords (soctrang_ldap_service_passwords): the
    files of ansible's password lookup under <secrets>/ldap/, one a service."""
    # Letters and digits only (inventories/lab/group_vars/all/directory.yml): the
    # first word is the password, whatever the lookup writes after it.
    return {path.name: path.read_text(encoding="utf-8").split()[0] for path in sorted((secrets_dir / "ldap").iterdir())}


# ---------------------------------------------------------------- playbooks
def ansible_playbook_command(playbook: Path, *arguments: str) -> list[str]:
    """ansible-playbook of this virtualenv against the inventory of the running
    molecule scenario (MOLECULE_INVENTORY_FILE), as its converge runs."""
    ansible_playbook = Path(sys.executable).with_name("ansible-playbook")
    return [str(ansible_playbook), "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(playbook), *arguments]


def ansible_playbook(
    playbook: Path, *arguments: str, environment: dict[str, str] | None = None, timeout: int = 1200
) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - the virtualenv's ansible-playbook, argv built here
        ansible_playbook_command(playbook, *arguments),
        capture_output=True, text=True, check=False, timeout=timeout, env={**os.environ, **(environment or {})},
    )  # fmt: skip
