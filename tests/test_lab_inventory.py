"""The committed lab directory is what `make roster` generates, and its ledger is current."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from helpers import LAB, REPO


def test_committed_lab_roster_is_the_generators_output(tmp_path: Path) -> None:
    folder = tmp_path / "directory"
    shutil.copytree(LAB / "directory", folder, ignore=shutil.ignore_patterns("gen-*.yml"))
    header = (LAB / "directory" / "gen-sotc.yml").read_text(encoding="utf-8").splitlines()[1]
    assert "--people" in header, header
    size = int(header.split("--people ")[1].split()[0])
    subprocess.run(
        [sys.executable, str(REPO / "tools" / "generate_roster.py"), "--people", str(size), "--out", str(folder)],
        check=True,
        capture_output=True,
    )
    for generated in sorted(folder.glob("gen-*.yml")):
        committed = LAB / "directory" / generated.name
        assert committed.read_text(encoding="utf-8") == generated.read_text(encoding="utf-8"), generated.name
    assert {p.name for p in folder.glob("gen-*.yml")} == {p.name for p in (LAB / "directory").glob("gen-*.yml")}


def test_lab_ledger_is_current() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "addresses.py"), "check", str(LAB)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
