"""What the end-to-end tests of molecule/mail share: where the servers are, the
hand-over of initial passwords, and the operators' own access to the directory."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from mailtest import Lab, initial_passwords

PEOPLE_BASE = "ou=people,dc=soctrang,dc=gov,dc=vn"


@pytest.fixture(scope="session")
def lab() -> Lab:
    return Lab.from_environment()


@pytest.fixture(scope="session")
def initial() -> dict[str, str]:
    secrets = Path(os.environ["MAILTEST_SECRETS"])
    return initial_passwords(secrets / "handover", secrets / "handover-vault-password")


def directory_modify(ldif: str, *, relax: bool = False) -> None:
    """A change written as the operators write it: ldapmodify on the directory
    server over ldapi, as root (their manage rights, outside the password policy).
    `relax`: the control that lets them touch ppolicy's own attributes."""
    subprocess.run(
        ["podman", "exec", "-i", os.environ["MAILTEST_LDAP_CONTAINER"], "ldapmodify", "-Q", "-Y", "EXTERNAL",
         "-H", "ldapi:///", *(["-e", "relax"] if relax else [])],
        input=ldif, text=True, check=True, capture_output=True,
    )  # fmt: skip


def unlock(local_part: str) -> None:
    """The operators' unlock: the failure count and a lockout go (ppolicy)."""
    dn = f"uid={local_part},{PEOPLE_BASE}"
    for attribute in ("pwdFailureTime", "pwdAccountLockedTime"):
        # Each on its own: deleting an attribute that is not there is an error.
        try:
            directory_modify(f"dn: {dn}\nchangetype: modify\ndelete: {attribute}\n", relax=True)
        except subprocess.CalledProcessError as error:
            if "No such attribute (16)" not in error.stderr:
                raise
