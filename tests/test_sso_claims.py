"""The claims a relying party may receive are listed where its operators read them -
the README (English) and the operator guide, §9 (Vietnamese) - exactly as the one
table the portal is configured from (CLAIMS in plugin_utils/sso_clients.py) says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ansible_collections.soctrang.mail.plugins.plugin_utils.sso_clients import CLAIMS

REPO = Path(__file__).resolve().parent.parent
# A table row: | `claim` | `oidc` | `saml name` | ... (the first three cells in backquotes).
ROW = re.compile(r"^\| `([a-z_]+)` \| `([a-z_]+)` \| `([^`]+)` \|", re.MULTILINE)


def documented(path: Path) -> dict[str, tuple[str, str]]:
    rows = ROW.findall(path.read_text(encoding="utf-8"))
    return {claim: (oidc, saml) for claim, oidc, saml in rows if claim in CLAIMS or saml.startswith("urn:")}


@pytest.mark.parametrize("document", ["README.md", "docs/huong-dan-van-hanh.md"])
def test_the_documented_claims_are_the_portals(document: str) -> None:
    wanted = {name: (claim.oidc_claim, claim.saml_name) for name, claim in CLAIMS.items()}
    assert documented(REPO / document) == wanted


def test_the_readme_names_each_claims_directory_attribute() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    for name, claim in CLAIMS.items():
        assert re.search(rf"^\| `{name}` \|.*\| `{claim.ldap_attribute}`", text, re.MULTILINE), name
