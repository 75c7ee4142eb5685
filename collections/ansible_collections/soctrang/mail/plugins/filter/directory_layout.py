"""Filter: where things are in the directory (LDAP), derived from the mail domain."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError

# The one derivation, shared with the module that writes the entries
# (soctrang.mail.ldap_mailboxes derives its suffix from its `domain` the same way).
from ansible_collections.soctrang.mail.plugins.module_utils.ldap_sync import SyncError, suffix_for_domain


def soctrang_ldap_suffix(domain: str) -> str:
    if not isinstance(domain, str):
        raise AnsibleFilterError(f"soctrang.mail.ldap_suffix: expects the mail domain as text, got {domain!r}")
    try:
        return suffix_for_domain(domain)
    except SyncError as exc:
        raise AnsibleFilterError(f"soctrang.mail.ldap_suffix: {exc}") from exc


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"ldap_suffix": soctrang_ldap_suffix}
