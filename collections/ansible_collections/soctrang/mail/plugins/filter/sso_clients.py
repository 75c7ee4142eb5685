"""Filter: the single sign-on portal's relying parties, checked, as LemonLDAP::NG configuration.

The rules and the claims table live in plugin_utils/sso_clients.py (plain Python);
this file makes them a filter and turns their problems into AnsibleFilterError.
Documented in sso_clients.yml beside this file.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.soctrang.mail.plugins.plugin_utils.sso_clients import SsoClientsError, sso_clients


def soctrang_sso_clients(clients: object, secrets: object, portal: object) -> dict[str, Any]:
    try:
        return sso_clients(clients, secrets, portal)
    except SsoClientsError as exc:
        raise AnsibleFilterError(f"soctrang.mail.sso_clients: {exc}") from exc


class FilterModule:
    """The relying parties of the single sign-on portal."""

    def filters(self) -> dict[str, Any]:
        return {"sso_clients": soctrang_sso_clients}
