"""How the directory stores the service accounts' secrets (roles/slapd).

A person's password is hashed by slapd with Argon2id (40 ms of one core per
check), because people choose guessable passwords. A service account's secret
is 16 or more random characters generated for it: no amount of hashing cost
makes guessing it feasible or infeasible, and every login paid that cost once
more for the service (Dovecot binds back as its account after each user bind;
the webmail binds at each login). Its secret is stored as {SSHA512} instead
(slapd's pw-sha2 module: one SHA-512, microseconds).

The salt is drawn from the entry's DN, so that the stored value is the same at
every run (the role writes it with `state: exact`: a second run changes nothing)
and differs from one account to the next. Documented in ssha512.yml.
"""

from __future__ import annotations

import base64
import hashlib

from ansible.errors import AnsibleFilterError

SALT_BYTES = 8  # pw-sha2's own salted schemes use 8 bytes of salt


def ssha512(secret: object, salt_from: object) -> str:
    """`{SSHA512}` + base64(SHA-512(secret + salt) + salt), salt = 8 bytes of SHA-256(salt_from)."""
    if not isinstance(secret, str) or not secret:
        raise AnsibleFilterError("soctrang.mail.ssha512: the secret must be a non-empty string")
    if not isinstance(salt_from, str) or not salt_from:
        raise AnsibleFilterError("soctrang.mail.ssha512: salt_from (the entry's DN) must be a non-empty string")
    salt = hashlib.sha256(salt_from.lower().encode()).digest()[:SALT_BYTES]
    digest = hashlib.sha512(secret.encode() + salt).digest()
    return "{SSHA512}" + base64.b64encode(digest + salt).decode()


class FilterModule:
    """The service accounts' stored secrets."""

    def filters(self) -> dict[str, object]:
        return {"ssha512": ssha512}
