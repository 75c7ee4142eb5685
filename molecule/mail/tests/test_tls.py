"""Every listener offers only the province's TLS policy (issue 9, section 4).

testssl.sh 3.2 (Debian trixie, in the scanner container of this scenario) scans
the protocols and every cipher of each port of the mail store, the MTA and the
directory (`-p -E`); a port that offers a protocol or a cipher outside
group_vars/all/tls_policy.yml fails. Port 25 is the policy's one written
exception (opportunistic TLS from the internet): there only what no one should
use at all (SSL, export, NULL, anonymous, RC4, DES, MD5) fails.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

POLICY_FILE = Path(__file__).resolve().parents[3] / "group_vars" / "all" / "tls_policy.yml"
# (server, port, STARTTLS protocol or None for TLS from the first byte)
LISTENERS = [
    ("mail", 25, "smtp"),
    ("mail", 465, None),
    ("mail", 587, "smtp"),
    ("mail", 143, "imap"),
    ("mail", 993, None),
    ("mail", 110, "pop3"),
    ("mail", 995, None),
    ("mail", 4190, "sieve"),
    ("ldap", 389, "ldap"),
    ("ldap", 636, None),
]
OPPORTUNISTIC_PORTS = {25}
PROTOCOL_IDS = {"SSLv2": "SSLv2", "SSLv3": "SSLv3", "TLS1": "TLSv1", "TLS1_1": "TLSv1.1", "TLS1_2": "TLSv1.2",
                "TLS1_3": "TLSv1.3"}  # fmt: skip
PROTOCOL_ORDER = ["SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
CIPHER_ID = re.compile(r"^cipher-(ssl2|ssl3|tls1|tls1_1|tls1_2|tls1_3)_x[0-9a-f]+$")
CIPHER_FINDING = re.compile(r"^(?:SSLv\d|TLS \d(?:\.\d)?)\s+x[0-9a-f]+\s+(\S+)")
CIPHER_PROTOCOLS = {"ssl2": "SSLv2", "ssl3": "SSLv3", "tls1": "TLSv1", "tls1_1": "TLSv1.1", "tls1_2": "TLSv1.2",
                    "tls1_3": "TLSv1.3"}  # fmt: skip
NEVER = ("NULL", "EXP", "RC4", "DES-CBC-", "MD5", "ADH", "AECDH", "anon")


def container(server: str) -> str:
    return os.environ[f"MAILTEST_{server.upper()}_CONTAINER"]


def scan(server: str, port: int, starttls: str | None) -> list[dict]:
    """testssl.sh -p -E against one port, from the scanner: its JSON findings."""
    report = f"/tmp/testssl-{server}-{port}.json"  # inside the scanner container
    command = ["testssl", "--quiet", "--color", "0", "--warnings", "off", "--ip", "one", "-p", "-E",
               "--overwrite", "--jsonfile", report]  # fmt: skip
    if starttls:
        command += ["--starttls", starttls]
    scanner = os.environ["MAILTEST_SCANNER_CONTAINER"]
    subprocess.run(["podman", "exec", scanner, *command, f"{container(server)}:{port}"],
                   capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    found = subprocess.run(["podman", "exec", scanner, "cat", report], capture_output=True, text=True, check=True)
    return json.loads(found.stdout)


@pytest.fixture(scope="module")
def scans() -> dict[int, list[dict]]:
    # testssl runs many short openssl clients: four ports at a time on two cores.
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {port: pool.submit(scan, server, port, starttls) for server, port, starttls in LISTENERS}
        return {port: future.result() for port, future in futures.items()}


@pytest.fixture(scope="module")
def policy() -> dict:
    return yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8"))["soctrang_tls_policy"]


def offered_protocols(findings: list[dict]) -> set[str]:
    return {
        PROTOCOL_IDS[item["id"]]
        for item in findings
        if item["id"] in PROTOCOL_IDS and not item["finding"].startswith("not offered")
    }


def offered_ciphers(findings: list[dict]) -> dict[str, set[str]]:
    """OpenSSL cipher names by protocol, from testssl's per-protocol cipher lines:
    id cipher-tls1_2_xc02f, finding 'TLS 1.2   xc02f   ECDHE-RSA-AES128-GCM-SHA256   ...'."""
    ciphers: dict[str, set[str]] = {}
    for item in findings:
        line = CIPHER_ID.match(item["id"])
        if line:
            name = CIPHER_FINDING.match(item["finding"])
            assert name, f"testssl's cipher line changed its form: {item}"
            ciphers.setdefault(CIPHER_PROTOCOLS[line.group(1)], set()).add(name.group(1))
    return ciphers


@pytest.mark.parametrize(("server", "port", "starttls"), LISTENERS, ids=[f"{s}:{p}" for s, p, _ in LISTENERS])
def test_the_listener_offers_only_the_policy(
    scans: dict[int, list[dict]], policy: dict, server: str, port: int, starttls: str | None
) -> None:
    findings = scans[port]
    protocols = offered_protocols(findings)
    ciphers = offered_ciphers(findings)
    assert "TLSv1.2" in protocols or "TLSv1.3" in protocols, f"{server}:{port} offers no TLS at all: {findings[:5]}"
    assert any(ciphers.values()), f"{server}:{port}: the scan found no cipher (did it run?)"
    if port in OPPORTUNISTIC_PORTS:
        assert not protocols & {"SSLv2", "SSLv3"}, protocols
        weak = {name for names in ciphers.values() for name in names if any(mark in name for mark in NEVER)}
        assert not weak, f"{server}:{port} offers {sorted(weak)}"
        return
    allowed_protocols = set(PROTOCOL_ORDER[PROTOCOL_ORDER.index(policy["min_protocol"]) :])
    assert protocols <= allowed_protocols, f"{server}:{port} offers {sorted(protocols - allowed_protocols)}"
    allowed = {"TLSv1.2": set(policy["tls12_ciphers"]), "TLSv1.3": set(policy["tls13_ciphersuites"])}
    for protocol, names in ciphers.items():
        outside = names - allowed.get(protocol, set())
        assert not outside, f"{server}:{port} offers with {protocol}: {sorted(outside)}"
