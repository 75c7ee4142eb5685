"""The stored form of the service accounts' secrets (filter soctrang.mail.ssha512)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.soctrang.mail.plugins.filter.service_secrets import FilterModule

ssha512 = FilterModule().filters()["ssha512"]
DN = "cn=dovecot,ou=services,dc=soctrang,dc=gov,dc=vn"


def test_the_value_is_what_pw_sha2_verifies() -> None:
    stored = ssha512("Bí-mật-ngẫu-nhiên-0123456789", DN)
    assert stored.startswith("{SSHA512}")
    raw = base64.b64decode(stored.removeprefix("{SSHA512}"))
    digest, salt = raw[:64], raw[64:]
    assert len(salt) == 8
    assert hashlib.sha512("Bí-mật-ngẫu-nhiên-0123456789".encode() + salt).digest() == digest


def test_the_same_at_every_run_and_different_for_every_entry() -> None:
    assert ssha512("s3cret-of-service", DN) == ssha512("s3cret-of-service", DN.upper())
    other = DN.replace("dovecot", "postfix")
    assert ssha512("s3cret-of-service", DN) != ssha512("s3cret-of-service", other)


@pytest.mark.parametrize(("secret", "salt_from"), [("", DN), (None, DN), ("s3cret", ""), ("s3cret", 7)])
def test_refuses_what_is_not_a_secret_and_a_dn(secret: object, salt_from: object) -> None:
    with pytest.raises(AnsibleFilterError, match=r"soctrang\.mail\.ssha512"):
        ssha512(secret, salt_from)
