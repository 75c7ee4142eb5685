#!/usr/bin/env bash
# What one password hash costs slapd on this machine, for the Argon2id settings
# of roles/slapd and a few others, against salted SHA-512 as the floor.
# Runs slappasswd (the same argon2 module slapd loads) in a throw-away container
# of the lab image; prints milliseconds of one core per hash. A figure, not a
# test: nothing here passes or fails.
#   bash tools/lab/bench-password-hash.sh [hashes per setting, default 20]
set -euo pipefail
count=${1:-20}
image=${SOCTRANG_IMAGE:-localhost/soctrang-trixie:latest}
name=soctrang-bench-hash-$$
trap 'podman rm -f -t 1 "$name" >/dev/null 2>&1 || true' EXIT

podman run -d --name "$name" --label soctrang.molecule=1 "$image" sleep infinity >/dev/null
podman exec "$name" sh -c 'echo "slapd slapd/no_configuration boolean true" | debconf-set-selections &&
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slapd >/dev/null 2>&1'

podman exec -i "$name" python3 - "$count" <<'BENCH'
import subprocess, sys, time

count = int(sys.argv[1])
module = ["-o", "module-path=/usr/lib/ldap"]


def per_hash(args: list[str]) -> float:
    """Milliseconds per slappasswd run with these arguments."""
    start = time.perf_counter()
    for _ in range(count):
        subprocess.run(["slappasswd", *args, "-s", "Bench-Pass#2026"], check=True, capture_output=True)
    return (time.perf_counter() - start) * 1000 / count


floor = per_hash(["-h", "{SSHA}"])
print(f"{'scheme':40} {'ms/hash':>8}")
print(f"{'{SSHA} (process start + a fast hash)':40} {floor:8.1f}   the floor, subtracted below")
for params in ["m=7168 t=5 p=1", "m=19456 t=2 p=1", "m=65536 t=3 p=1", "m=2048 t=1 p=1"]:
    cost = per_hash([*module, "-o", f"module-load=argon2 {params}", "-h", "{ARGON2}"]) - floor
    note = "   <- roles/slapd (olcPasswordHash)" if params == "m=7168 t=5 p=1" else ""
    print(f"{'{ARGON2} argon2id ' + params:40} {cost:8.1f}{note}")
BENCH
