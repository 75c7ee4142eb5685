#!/usr/bin/env python3
"""Benchmark of logins on the running lab (issue 9, section 3): what a login costs.

    make bench-logins                                   # 1,000 people, 1/8/32 clients
    make lab LAB_PEOPLE=20000 && make bench-logins      # the figures at province scale
    tools/bench_logins.py --people 300 --clients 1,8    # a shorter run

Every login is a new TLS connection, as a mail client opening makes it, each
to another person: first logins (Dovecot's authentication cache flushed
before, so every password goes to slapd) and repeated logins (the same people
again, the cache warm) are reported apart, for IMAPS (993) and SMTP AUTH on
submissions (465), next to the floor measured in the same run: a plain LDAPS
bind of the same people (connect, TLS, bind, unbind - what `ldapwhoami` does).

Then the flood: 32 clients send wrong passwords over IMAPS for other people,
from a container of their own on the lab network (the flood's address is not
the host's, so it is slowed alone, as a guesser on the Internet would be),
while 8 clients log in legitimately from the host; printed: the legitimate
logins' rate and latency under the flood, the flood's attempts per second,
slapd's CPU over the flood, and the client addresses Dovecot then penalises.

The people: those of the lab's hand-over (handover/lab) whom `make lab-smoke`
does not use. Each gets the lab's test password of mailtest.new_password, by
its own password change over LDAP as on a first webmail visit, once; so does
each person the flood aims at, whose lockout the flood then triggers (ppolicy:
it ends by itself after the lockout time). The benchmark clients run on the
same two cores as the servers: their own CPU is part of every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import secrets
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
SECRETS = REPOSITORY / "build" / "lab-secrets"
HANDOVER = REPOSITORY / "handover" / "lab"
MAIL_CONTAINER, LDAP_CONTAINER = "mail1", "ldap1"
FLOOD_CONTAINER = "bench-logins-flood"
LAB_LABEL = "soctrang.lab=make-lab"


# ---------------------------------------------------------------- one login (stdlib only:
# the flood runs this file in a lab container, which has Python but not the venv)
@dataclass(frozen=True)
class Target:
    host: str
    port: int
    server_name: str
    ca_file: str

    def context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca_file)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context


def _connect(target: Target, context: ssl.SSLContext) -> ssl.SSLSocket:
    raw = socket.create_connection((target.host, target.port), timeout=60)
    # Each command is one small write: without this, delayed ACKs add 40 ms to
    # a conversation of several (SMTP's EHLO, AUTH, QUIT) and measure the client.
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return context.wrap_socket(raw, server_hostname=target.server_name)


def _read_until(connection: ssl.SSLSocket, *endings: bytes) -> bytes:
    data = b""
    while not any(ending in data for ending in endings):
        chunk = connection.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def imap_login(target: Target, context: ssl.SSLContext, user: str, password: str) -> bool:
    """IMAPS: greeting, LOGIN, LOGOUT. True when the server said OK to the login."""
    with _connect(target, context) as connection:
        _read_until(connection, b"\r\n")
        quoted = password.replace("\\", "\\\\").replace('"', '\\"')
        connection.sendall(f'a LOGIN "{user}" "{quoted}"\r\n'.encode())
        answer = _read_until(connection, b"\r\na ", b"a OK", b"a NO", b"a BAD")
        accepted = b"a OK" in answer
        if accepted:
            connection.sendall(b"b LOGOUT\r\n")
            _read_until(connection, b"b OK")
        return accepted


def smtp_auth(target: Target, context: ssl.SSLContext, user: str, password: str) -> bool:
    """Submissions (465, implicit TLS): greeting, EHLO, AUTH PLAIN, QUIT."""
    import base64  # noqa: PLC0415 - only this client needs it

    with _connect(target, context) as connection:
        _read_until(connection, b"220 ")
        connection.sendall(b"EHLO bench.lab\r\n")
        _read_until(connection, b"\r\n250 ")
        token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        connection.sendall(f"AUTH PLAIN {token}\r\n".encode())
        answer = _read_until(connection, b"\r\n")
        connection.sendall(b"QUIT\r\n")
        return answer.startswith(b"235")


def _ber_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(encoded)]) + encoded


def _ber(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _ber_length(len(content)) + content


def ldap_bind(target: Target, context: ssl.SSLContext, dn: str, password: str) -> bool:
    """LDAPS simple bind and unbind, as ldapwhoami without the whoami: the floor."""
    bind = _ber(0x60, _ber(0x02, b"\x03") + _ber(0x04, dn.encode()) + _ber(0x80, password.encode()))
    with _connect(target, context) as connection:
        connection.sendall(_ber(0x30, _ber(0x02, b"\x01") + bind))
        answer = connection.recv(4096)
        connection.sendall(_ber(0x30, _ber(0x02, b"\x02") + _ber(0x42, b"")))
    # BindResponse: ... 0x61 len 0x0a 0x01 <resultCode>
    marker = answer.find(b"\x61")
    return marker >= 0 and answer[marker + 2 : marker + 5] == b"\x0a\x01\x00"


# ---------------------------------------------------------------- running clients in parallel
Login = Callable[[Target, ssl.SSLContext, str, str], bool]
_WORKER: dict[str, object] = {}


def _worker_init(login: Login, target: Target) -> None:
    _WORKER.update(login=login, target=target, context=target.context())


def _timed(job: tuple[str, str]) -> tuple[float, bool]:
    user, password = job
    started = time.perf_counter()
    try:
        accepted = _WORKER["login"](_WORKER["target"], _WORKER["context"], user, password)
    except OSError:
        accepted = False
    return time.perf_counter() - started, accepted


@dataclass(frozen=True)
class Figures:
    count: int
    accepted: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000

    def line(self, label: str) -> str:
        refused = f"  REFUSED {self.count - self.accepted}" if self.accepted != self.count else ""
        return (
            f"{label:<34} {self.rate:8.1f}/s   p50 {self.percentile(0.5):6.0f} ms"
            f"   p95 {self.percentile(0.95):6.0f} ms   ({self.count} logins){refused}"
        )


def in_parallel(login: Login, target: Target, jobs: list[tuple[str, str]], clients: int) -> Figures:
    """Each job in its own process of `clients` (Python's TLS holds the GIL)."""
    with multiprocessing.get_context("fork").Pool(clients, _worker_init, (login, target)) as pool:
        started = time.perf_counter()
        results = pool.map(_timed, jobs, chunksize=1)
        seconds = time.perf_counter() - started
    return Figures(len(jobs), sum(ok for _, ok in results), seconds, [latency for latency, _ in results])


def flood(target: Target, users: list[str], clients: int, seconds: float) -> int:
    """Wrong passwords for `users`, from `clients` threads, for `seconds`: the attempts made."""
    deadline = time.monotonic() + seconds
    context = target.context()

    def guesser(offset: int) -> int:
        attempts = 0
        while time.monotonic() < deadline:
            user = users[(offset + attempts * clients) % len(users)]
            with contextlib.suppress(OSError):
                imap_login(target, context, user, "Doan#" + secrets.token_hex(6))
            attempts += 1
        return attempts

    with ThreadPoolExecutor(clients) as threads:
        return sum(threads.map(guesser, range(clients)))


# ---------------------------------------------------------------- the lab
def podman(*arguments: str, stdin: str | None = None) -> str:
    # podman is the lab's container tool; every argument is this file's own.
    return subprocess.run(  # noqa: S603
        ["podman", *arguments],  # noqa: S607 - the lab's own tool, as the Makefile runs it
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def container_address(container: str) -> str:
    return podman("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", container).strip()


def slapd_cpu_seconds() -> float:
    """User + system CPU slapd has used so far (its /proc stat, in clock ticks)."""
    stat = podman("exec", LDAP_CONTAINER, "sh", "-c", "cat /proc/$(pidof slapd)/stat").split()
    return (int(stat[13]) + int(stat[14])) / os.sysconf("SC_CLK_TCK")


def flush_auth_cache() -> None:
    podman("exec", MAIL_CONTAINER, "doveadm", "auth", "cache", "flush")


def benchmark_people(count: int, flood_count: int) -> tuple[list[str], list[str], dict[str, str]]:
    """Legitimate and flood people from the hand-over, minus those of make lab-smoke."""
    from lab_smoke import lab_states, others_than_smoke  # noqa: PLC0415 - needs the controller's venv, unlike the flood
    from mailtest import initial_passwords  # noqa: PLC0415 - nor ldap3

    initial = initial_passwords(HANDOVER, SECRETS / "handover-vault-password")
    candidates = others_than_smoke(initial, lab_states())
    if len(candidates) < count + flood_count:
        sys.exit(f"the lab has {len(candidates)} people to use, {count + flood_count} needed: make lab LAB_PEOPLE=...")
    return candidates[:count], candidates[count : count + flood_count], initial


def give_own_passwords(people: list[str], initial: dict[str, str], ldap: Target) -> dict[str, str]:
    """Each person's lab test password, by their own change where not done yet. A
    person whose test password ppm refuses (it holds a piece of their name) is left out."""
    from mailtest import Lab, ensure_own_password  # noqa: PLC0415 - the same

    lab = Lab.published_lab(ldap.ca_file)

    def own(mail: str) -> str | None:
        try:
            return ensure_own_password(lab, mail.split("@", maxsplit=1)[0], initial[mail])
        except AssertionError:
            return None

    with ThreadPoolExecutor(4) as threads:
        passwords = dict(zip(people, threads.map(own, people), strict=True))
    return {mail: password for mail, password in passwords.items() if password is not None}


def dn_of(mail: str) -> str:
    from mailtest import user_dn  # noqa: PLC0415 - as above: no ldap3 in the clients' processes

    return user_dn(mail.split("@", maxsplit=1)[0])


def measure(label: str, login: Login, target: Target, jobs: list[tuple[str, str]], clients: int) -> Figures:
    figures = in_parallel(login, target, jobs, clients)
    print(figures.line(f"{label}, {clients} client{'s' if clients > 1 else ''}"), flush=True)
    return figures


def run_flood(ca_file: str, flood_people: list[str], clients: int, seconds: float, imaps: Target) -> subprocess.Popen:
    """The flood from a container of its own on the lab network (this file, stdlib only)."""
    image = podman("inspect", "-f", "{{.ImageName}}", MAIL_CONTAINER).strip()
    network = podman(
        "inspect", "-f", "{{range $name, $_ := .NetworkSettings.Networks}}{{$name}}{{end}}", MAIL_CONTAINER
    )
    arguments = ["--host", container_address(MAIL_CONTAINER), "--name", imaps.server_name]
    arguments += ["--clients", str(clients), "--seconds", str(seconds), "--users", ",".join(flood_people)]
    # (the container is removed afterwards; its label lets make lab-destroy find a leftover)
    command = ["podman", "run", "--rm", "--name", FLOOD_CONTAINER, "--label", LAB_LABEL, "--network", network.strip(),
               "-v", f"{Path(__file__).resolve()}:/bench.py:ro", "-v", f"{ca_file}:/ca.crt:ro",
               image, "python3", "/bench.py", "flood", *arguments]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)  # noqa: S603 - this file's own command


def main_benchmark(arguments: argparse.Namespace) -> int:
    ca_file = str(SECRETS / "ca" / "ca.crt")
    imaps = Target("127.0.0.1", 2993, "localhost", ca_file)
    submissions = Target("127.0.0.1", 2465, "localhost", ca_file)
    ldaps = Target("127.0.0.1", 3636, "localhost", ca_file)
    clients = [int(count) for count in arguments.clients.split(",")]

    people, flood_people, initial = benchmark_people(arguments.people, arguments.flood_people)
    print(f"{len(people)} people log in, {len(flood_people)} others are flooded; giving them their own passwords")
    passwords = give_own_passwords(people + flood_people, initial, ldaps)
    people = [mail for mail in people if mail in passwords]
    print(f"{len(people)} of them have their test password")
    jobs = [(mail, passwords[mail]) for mail in people]
    bind_jobs = [(dn_of(mail), passwords[mail]) for mail in people]
    results: dict[str, dict[str, float]] = {}

    for count in clients:
        floor = measure("LDAPS bind (the floor)", ldap_bind, ldaps, bind_jobs, count)
        flush_auth_cache()
        first = measure("IMAPS first logins", imap_login, imaps, jobs, count)
        repeated = measure("IMAPS repeated logins", imap_login, imaps, jobs, count)
        smtp_first = measure("SMTP AUTH first logins", smtp_auth, submissions, jobs, count)
        smtp_repeated = measure("SMTP AUTH repeated logins", smtp_auth, submissions, jobs, count)
        for name, figures in [("ldap_bind", floor), ("imap_first", first), ("imap_repeated", repeated),
                              ("smtp_first", smtp_first), ("smtp_repeated", smtp_repeated)]:  # fmt: skip
            results[f"{name}_{count}"] = {"rate": figures.rate, "p95_ms": figures.percentile(0.95)}

    if arguments.flood_seconds <= 0:
        return write_figures(arguments.json, results)
    print(f"\nflood: {arguments.flood_clients} clients send wrong passwords for {arguments.flood_seconds:.0f} s "
          f"from {FLOOD_CONTAINER}; 8 clients log in meanwhile")  # fmt: skip
    cpu_before, started = slapd_cpu_seconds(), time.monotonic()
    attacker = run_flood(ca_file, flood_people, arguments.flood_clients, arguments.flood_seconds, imaps)
    time.sleep(3)  # the flood under way
    under_flood = []
    while time.monotonic() - started < arguments.flood_seconds - 2:
        under_flood.append(in_parallel(imap_login, imaps, jobs[:200], 8))
    attempts = int(attacker.communicate()[0].strip() or 0)
    elapsed, cpu = time.monotonic() - started, slapd_cpu_seconds() - cpu_before
    legit = Figures(sum(f.count for f in under_flood), sum(f.accepted for f in under_flood),
                    sum(f.seconds for f in under_flood), [x for f in under_flood for x in f.latencies])  # fmt: skip
    print(legit.line("IMAPS logins under the flood, 8"))
    print(f"{'flood attempts':<34} {attempts / elapsed:8.1f}/s   ({attempts} wrong passwords in {elapsed:.0f} s)")
    print(f"{'slapd CPU during the flood':<34} {100 * cpu / elapsed:8.1f} % of one core")
    print("penalised client addresses (doveadm penalty):")
    print(podman("exec", MAIL_CONTAINER, "doveadm", "penalty").rstrip())
    results["flood"] = {"legit_rate": legit.rate, "legit_p95_ms": legit.percentile(0.95),
                        "attempts_per_s": attempts / elapsed, "slapd_cpu_percent": 100 * cpu / elapsed}  # fmt: skip
    return write_figures(arguments.json, results)


def write_figures(path: str | None, results: dict[str, dict[str, float]]) -> int:
    if path:
        Path(path).write_text(json.dumps(results, indent=1))
    return 0


def main_flood(arguments: argparse.Namespace) -> int:
    target = Target(arguments.host, 993, arguments.name, "/ca.crt")
    print(flood(target, arguments.users.split(","), arguments.clients, arguments.seconds))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command")
    parser.add_argument("--people", type=int, default=1000, help="distinct people logging in (default 1000)")
    parser.add_argument("--clients", default="1,8,32", help="parallel clients, comma-separated (default 1,8,32)")
    parser.add_argument("--flood-people", type=int, default=200, help="people the flood aims at (default 200)")
    parser.add_argument("--flood-clients", type=int, default=32)
    parser.add_argument("--flood-seconds", type=float, default=60, help="0: no flood")
    parser.add_argument("--json", help="also write the figures to this file")
    attack = commands.add_parser("flood", help="(inside the flood's container) send wrong passwords")
    attack.add_argument("--host", required=True)
    attack.add_argument("--name", required=True)
    attack.add_argument("--users", required=True)
    attack.add_argument("--clients", type=int, required=True)
    attack.add_argument("--seconds", type=float, required=True)
    arguments = parser.parse_args()
    return main_flood(arguments) if arguments.command == "flood" else main_benchmark(arguments)


if __name__ == "__main__":
    sys.exit(main())
