"""Real servers and stand-ins for the modules' tests.

`slapd`: Debian's slapd (`make unit-packages`), started once per test session
as a foreground process in a temporary folder, listening only on its own
ldapi:/// socket there. Its cn=config is the slapd role's in small: the same
schemas (core, cosine, inetorgperson and the repository's soc-mail.ldif), the
manager identity given to whoever runs the tests over SASL EXTERNAL (root on
the directory host), the argon2, ppolicy and unique modules with a default
policy that locks out after three failed binds.

`doveadm`: the stand-in of doveadm_stand_in.py (it says why) on PATH.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import ldap
import pytest

REPOSITORY = Path(__file__).resolve().parents[8]
SCHEMA = REPOSITORY / "roles" / "slapd" / "files" / "soc-mail.ldif"
SYSTEM_SCHEMAS = Path("/etc/ldap/schema")
MODULES = Path("/usr/lib/ldap")
DOMAIN = "soctrang.gov.vn"
SUFFIX = "dc=soctrang,dc=gov,dc=vn"
POLICY_DN = f"cn=default,ou=policies,{SUFFIX}"
MAX_FAILURES = 3


def _config_ldif(folder: Path, manager: str) -> str:
    includes = "\n".join(
        f"include: file://{path}\n"
        for path in (
            SYSTEM_SCHEMAS / "core.ldif",
            SYSTEM_SCHEMAS / "cosine.ldif",
            SYSTEM_SCHEMAS / "inetorgperson.ldif",
        )
    )
    return (
        textwrap.dedent(
            f"""\
        dn: cn=config
        objectClass: olcGlobal
        cn: config
        olcPidFile: {folder}/slapd.pid

        dn: cn=module{{0}},cn=config
        objectClass: olcModuleList
        cn: module{{0}}
        olcModulePath: {MODULES}
        olcModuleLoad: back_mdb
        olcModuleLoad: argon2 m=1024 t=1 p=1
        olcModuleLoad: ppolicy
        olcModuleLoad: unique

        dn: cn=schema,cn=config
        objectClass: olcSchemaConfig
        cn: schema

        """
        )
        + includes
        + textwrap.dedent(
            f"""
        include: file://{SCHEMA}

        dn: olcDatabase={{-1}}frontend,cn=config
        objectClass: olcDatabaseConfig
        objectClass: olcFrontendConfig
        olcDatabase: {{-1}}frontend
        olcPasswordHash: {{ARGON2}}

        dn: olcDatabase={{0}}config,cn=config
        objectClass: olcDatabaseConfig
        olcDatabase: {{0}}config
        olcRootDN: {manager}

        dn: olcDatabase={{1}}mdb,cn=config
        objectClass: olcDatabaseConfig
        objectClass: olcMdbConfig
        olcDatabase: {{1}}mdb
        olcSuffix: {SUFFIX}
        olcDbDirectory: {folder}/db
        olcRootDN: {manager}
        olcDbMaxSize: 67108864
        olcAccess: to attrs=userPassword by self =xw by anonymous auth by * none
        olcAccess: to * by self read by * none

        dn: olcOverlay={{0}}unique,olcDatabase={{1}}mdb,cn=config
        objectClass: olcOverlayConfig
        objectClass: olcUniqueConfig
        olcOverlay: {{0}}unique
        olcUniqueURI: ldap:///{SUFFIX}?uid,mail,socMailAlias?sub

        dn: olcOverlay={{1}}ppolicy,olcDatabase={{1}}mdb,cn=config
        objectClass: olcOverlayConfig
        objectClass: olcPPolicyConfig
        olcOverlay: {{1}}ppolicy
        olcPPolicyDefault: {POLICY_DN}
        olcPPolicyHashCleartext: TRUE
        olcPPolicyUseLockout: TRUE
        """
        )
    )


TREE_LDIF = textwrap.dedent(
    f"""\
    dn: {SUFFIX}
    objectClass: dcObject
    objectClass: organization
    dc: soctrang
    o: So Thong tin va Truyen thong tinh Soc Trang

    dn: ou=people,{SUFFIX}
    objectClass: organizationalUnit
    ou: people

    dn: ou=units,{SUFFIX}
    objectClass: organizationalUnit
    ou: units

    dn: ou=policies,{SUFFIX}
    objectClass: organizationalUnit
    ou: policies

    dn: {POLICY_DN}
    objectClass: organizationalRole
    objectClass: pwdPolicy
    cn: default
    pwdAttribute: userPassword
    pwdMustChange: TRUE
    pwdLockout: TRUE
    pwdMaxFailure: {MAX_FAILURES}
    pwdLockoutDuration: 900
    pwdFailureCountInterval: 900
    """
)


@dataclass
class Slapd:
    uri: str
    log: Path
    suffix: str = SUFFIX
    max_failures: int = MAX_FAILURES

    def manager(self):
        """A connection as the manager identity (SASL EXTERNAL), as the module makes it."""
        connection = ldap.initialize(self.uri)
        connection.sasl_external_bind_s()
        return connection


def _executable(name: str) -> str:
    found = shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if found is None:
        pytest.fail(f"{name} is not installed: `make unit-packages` installs slapd for these tests", pytrace=False)
    return found


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("slapd")
    (folder / "slapd.d").mkdir()
    (folder / "db").mkdir()
    manager = f"gidNumber={os.getgid()}+uidNumber={os.getuid()},cn=peercred,cn=external,cn=auth"
    (folder / "config.ldif").write_text(_config_ldif(folder, manager), encoding="utf-8")
    (folder / "tree.ldif").write_text(TREE_LDIF, encoding="utf-8")
    slapadd = _executable("slapadd")
    for database, ldif in (("0", "config.ldif"), ("1", "tree.ldif")):
        subprocess.run(
            [slapadd, "-q", "-n", database, "-F", str(folder / "slapd.d"), "-l", str(folder / ldif)],
            check=True,
            capture_output=True,
        )
    uri = "ldapi://" + urllib.parse.quote(str(folder / "ldapi"), safe="")
    log = folder / "slapd.log"
    with log.open("wb") as output:
        # -d keeps slapd in the foreground, a child of this process.
        server = subprocess.Popen(
            [_executable("slapd"), "-d", "0", "-F", str(folder / "slapd.d"), "-h", uri],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    running = Slapd(uri=uri, log=log)
    deadline = time.monotonic() + 10
    while True:
        try:
            running.manager().unbind_s()
            break
        except ldap.LDAPError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"slapd did not start: {log.read_text(errors='replace')}", pytrace=False)
            time.sleep(0.02)
    yield running
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def directory(slapd: Slapd):
    """The session's slapd with ou=people and ou=units empty before and after the test."""

    def empty() -> None:
        connection = slapd.manager()
        for branch in (f"ou=people,{SUFFIX}", f"ou=units,{SUFFIX}"):
            for dn, _ in connection.search_s(branch, ldap.SCOPE_ONELEVEL, "(objectClass=*)", ["1.1"]):
                connection.delete_s(dn)
        connection.unbind_s()

    empty()
    yield slapd
    empty()


@dataclass
class Doveadm:
    """The stand-in's folders, open sessions, calls and failures."""

    vmail: Path
    state_path: Path
    log_path: Path

    def calls(self) -> list[dict]:
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text().splitlines()]

    def state(self) -> dict:
        return json.loads(self.state_path.read_text())

    def set_folder(self, user: str, folder: str, messages: list[str]) -> None:
        state = self.state()
        state["folders"].setdefault(user, {})[folder] = messages
        self.state_path.write_text(json.dumps(state))

    def open_session(self, user: str, proto: str = "imap") -> None:
        state = self.state()
        state["sessions"].append({"user": user, "proto": proto})
        self.state_path.write_text(json.dumps(state))

    def fail(self, command: str, message: str) -> None:
        state = self.state()
        state["fail"][command] = message
        self.state_path.write_text(json.dumps(state))


@pytest.fixture
def doveadm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Doveadm:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "doveadm"
    stand_in = Path(__file__).with_name("doveadm_stand_in.py")
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{stand_in}" "$@"\n')
    wrapper.chmod(0o755)
    stand = Doveadm(
        vmail=tmp_path / "vmail", state_path=tmp_path / "doveadm-state.json", log_path=tmp_path / "doveadm.log"
    )
    stand.vmail.mkdir()
    stand.state_path.write_text(json.dumps({"folders": {}, "sessions": [], "fail": {}}))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DOVEADM_STAND_IN_STATE", str(stand.state_path))
    monkeypatch.setenv("DOVEADM_STAND_IN_LOG", str(stand.log_path))
    monkeypatch.setenv("DOVEADM_STAND_IN_VMAIL", str(stand.vmail))
    return stand
