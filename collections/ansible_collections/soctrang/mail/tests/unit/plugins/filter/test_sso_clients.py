"""The relying parties of the SSO portal (filter soctrang.mail.sso_clients), through the registered filter.

The good entries are the production inventory's first two: the e-government portal
over OpenID Connect, and its SAML variant with the kind of SP metadata that
mod_auth_mellon publishes.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.soctrang.mail.plugins.filter.sso_clients import FilterModule
from ansible_collections.soctrang.mail.plugins.plugin_utils.sso_clients import (
    CLAIMS,
    OID_ARC,
    SAML_URI_FORMAT,
    ldap_exported_vars,
)

sso_clients = FilterModule().filters()["sso_clients"]

REPOSITORY = Path(__file__).resolve().parents[8]
PORTAL = "https://sso.soctrang.gov.vn"
EGOV_SECRET = "Bí-mật-của-cổng-egov-4f9c2a7e1b"
SECRETS = {"egov": EGOV_SECRET}
ALL_CLAIMS = ["email", "name", "name_ascii", "family_name", "given_name", "unit", "unit_email", "agency", "position"]
DROP = object()

EGOV: dict[str, Any] = {
    "id": "egov",
    "name": "Cổng dịch vụ công tỉnh Sóc Trăng",
    "owner": "Văn phòng UBND tỉnh",
    "protocol": "oidc",
    "redirect_uris": ["https://egov.soctrang.gov.vn/oidc/callback"],
    "post_logout_redirect_uris": ["https://egov.soctrang.gov.vn/"],
    "logout": {"channel": "back", "uri": "https://egov.soctrang.gov.vn/oidc/backchannel"},
    "public": False,
    "pkce": True,
    "refresh_tokens": True,
    "offline_access": False,
    "claims": ALL_CLAIMS,
}

SP_ENTITY_ID = "https://egov.soctrang.gov.vn/mellon/metadata"
SP_CERTIFICATE = "MIIC+zCCAeOgAwIBAgIUTQ5Y1cH3tF2n0i6cQy3d4c5dY0kwDQYJKoZIhvcNAQELBQAw"


def sp_metadata(
    *,
    entity_id: str = SP_ENTITY_ID,
    acs: str | None = "https://egov.soctrang.gov.vn/mellon/postResponse",
    key_use: str = "signing",
    protocols: str = "urn:oasis:names:tc:SAML:2.0:protocol",
    root: str = "md:EntityDescriptor",
    descriptor: str = "md:SPSSODescriptor",
    before: str = "",
    entity_id_attribute: str = 'entityID="{}"',
) -> str:
    """An SP's metadata as mod_auth_mellon's mellon_create_metadata writes it, in small."""
    service = (
        f'<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" '
        f'Location="{acs}" index="0"/>'
        if acs
        else ""
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
{before}<{root} xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"
  {entity_id_attribute.format(entity_id)}>
  <{descriptor} AuthnRequestsSigned="true" WantAssertionsSigned="true" protocolSupportEnumeration="{protocols}">
    <md:KeyDescriptor use="{key_use}">
      <ds:KeyInfo><ds:X509Data><ds:X509Certificate>{SP_CERTIFICATE}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </md:KeyDescriptor>
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
      Location="https://egov.soctrang.gov.vn/mellon/logout"/>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    {service}
  </{descriptor}>
</{root}>
"""


EGOV_SAML: dict[str, Any] = {
    "id": "egov-saml",
    "name": "Cổng dịch vụ công (SAML)",
    "owner": "Văn phòng UBND tỉnh",
    "protocol": "saml",
    "metadata_file": "sso/egov-saml-metadata.xml",
    "metadata": sp_metadata(),
    "claims": ["email", "name", "unit", "agency", "position"],
}


def changed(entry: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of `entry` with `changes` (DROP removes a key)."""
    result = copy.deepcopy(entry)
    for key, value in changes.items():
        if value is DROP:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def oidc(**changes: Any) -> list[dict[str, Any]]:
    return [changed(EGOV, **changes)]


def saml(**changes: Any) -> list[dict[str, Any]]:
    return [changed(EGOV_SAML, **changes)]


def problems(clients: object, secrets: object = SECRETS, portal: object = PORTAL) -> list[str]:
    with pytest.raises(AnsibleFilterError) as raised:
        sso_clients(clients, secrets, portal)
    first, *lines = str(raised.value.message).splitlines()
    assert first == f"soctrang.mail.sso_clients: sso_clients has {len(lines)} problem(s):"
    assert all(line.startswith("  - ") for line in lines), lines
    return [line.removeprefix("  - ") for line in lines]


# ---------------------------------------------------------------- good entries


def test_the_e_government_portal_becomes_an_openid_connect_relying_party() -> None:
    result = sso_clients([EGOV, EGOV_SAML], SECRETS, PORTAL)

    assert result["oidcRPMetaDataOptions"] == {
        "egov": {
            "oidcRPMetaDataOptionsDisplayName": "Cổng dịch vụ công tỉnh Sóc Trăng",
            "oidcRPMetaDataOptionsComment": "Văn phòng UBND tỉnh",
            "oidcRPMetaDataOptionsClientID": "egov",
            "oidcRPMetaDataOptionsClientSecret": "$secret:client:egov",
            "oidcRPMetaDataOptionsAuthMethod": "client_secret_basic",
            "oidcRPMetaDataOptionsPublic": 0,
            "oidcRPMetaDataOptionsRequirePKCE": 1,
            "oidcRPMetaDataOptionsRedirectUris": "https://egov.soctrang.gov.vn/oidc/callback",
            "oidcRPMetaDataOptionsPostLogoutRedirectUris": "https://egov.soctrang.gov.vn/",
            "oidcRPMetaDataOptionsLogoutType": "back",
            "oidcRPMetaDataOptionsLogoutUrl": "https://egov.soctrang.gov.vn/oidc/backchannel",
            "oidcRPMetaDataOptionsLogoutSessionRequired": 1,
            "oidcRPMetaDataOptionsLogoutBypassConfirm": 1,
            "oidcRPMetaDataOptionsIDTokenSignAlg": "RS256",
            "oidcRPMetaDataOptionsIDTokenForceClaims": 1,
            "oidcRPMetaDataOptionsAccessTokenJWT": 0,
            "oidcRPMetaDataOptionsRefreshToken": 1,
            "oidcRPMetaDataOptionsAllowOffline": 0,
            "oidcRPMetaDataOptionsBypassConsent": 1,
            "oidcRPMetaDataOptionsUserIDAttr": "mail",
        }
    }
    assert result["oidcRPMetaDataExportedVars"] == {
        "egov": {
            "email": "mail;string;auto",
            "name": "cn;string;auto",
            "name_ascii": "socNameAscii;string;auto",
            "family_name": "sn;string;auto",
            "given_name": "givenName;string;auto",
            "unit": "ou;string;auto",
            "unit_email": "socUnitMail;string;auto",
            "agency": "o;string;auto",
            "position": "title;string;auto",
        }
    }
    # The province's own claims under a declared scope, so that `scope=openid soctrang` is kept.
    assert result["oidcRPMetaDataOptionsExtraClaims"] == {
        "egov": {"soctrang": "name_ascii unit unit_email agency position"}
    }


def test_the_saml_variant_becomes_a_service_provider_with_uri_attributes() -> None:
    result = sso_clients([EGOV, EGOV_SAML], SECRETS, PORTAL)

    assert result["samlSPMetaDataXML"] == {"egov-saml": {"samlSPMetaDataXML": sp_metadata()}}
    assert result["samlSPMetaDataOptions"] == {
        "egov-saml": {
            "samlSPMetaDataOptionsComment": "Cổng dịch vụ công (SAML) - Văn phòng UBND tỉnh",
            "samlSPMetaDataOptionsNameIDFormat": "email",
            "samlSPMetaDataOptionsSignSSOMessage": 1,
            "samlSPMetaDataOptionsCheckSSOMessageSignature": 1,
            "samlSPMetaDataOptionsSignSLOMessage": 1,
            "samlSPMetaDataOptionsCheckSLOMessageSignature": 1,
            "samlSPMetaDataOptionsForceUTF8": 1,
            "samlSPMetaDataOptionsEnableIDPInitiatedURL": 0,
            "samlSPMetaDataOptionsEncryptionMode": "none",
        }
    }
    uri = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
    assert result["samlSPMetaDataExportedAttributes"] == {
        "egov-saml": {
            "mail": f"1;urn:oid:0.9.2342.19200300.100.1.3;{uri};mail",
            "cn": f"1;urn:oid:2.5.4.3;{uri};cn",
            "ou": f"0;urn:oid:2.5.4.11;{uri};ou",
            "o": f"0;urn:oid:2.5.4.10;{uri};o",
            "title": f"0;urn:oid:2.5.4.12;{uri};title",
        }
    }
    assert "egov-saml" not in result["oidcRPMetaDataOptions"]


def test_the_secret_itself_is_never_in_the_result() -> None:
    result = sso_clients([EGOV, EGOV_SAML], SECRETS, PORTAL)

    text = json.dumps(result, ensure_ascii=False)
    assert EGOV_SECRET not in text
    assert text.count("$secret:client:egov") == 1


def test_the_result_is_plain_data_whatever_the_order_of_the_inventory() -> None:
    reordered = changed(EGOV, claims=list(reversed(ALL_CLAIMS)))
    first = sso_clients([EGOV, EGOV_SAML], SECRETS, PORTAL)
    second = sso_clients([EGOV_SAML, reordered], SECRETS, PORTAL)

    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert json.loads(json.dumps(first)) == first


def test_a_public_client_has_no_secret_and_pkce() -> None:
    result = sso_clients(oidc(id="mobile", public=True, pkce=True, logout=DROP), {}, PORTAL)

    options = result["oidcRPMetaDataOptions"]["mobile"]
    assert options["oidcRPMetaDataOptionsPublic"] == 1
    assert options["oidcRPMetaDataOptionsRequirePKCE"] == 1
    assert "oidcRPMetaDataOptionsClientSecret" not in options
    assert "oidcRPMetaDataOptionsAuthMethod" not in options
    assert "oidcRPMetaDataOptionsLogoutUrl" not in options


def test_the_lab_test_client_may_use_http_on_the_loopback_with_a_port() -> None:
    lab = changed(
        EGOV,
        id="lab-test-client",
        name="Bộ kiểm thử (tools/sso_flow.py)",
        owner="Trung tâm Công nghệ số",
        redirect_uris=["http://127.0.0.1:8765/callback", "http://localhost:8765/callback"],
        post_logout_redirect_uris=DROP,
        logout=DROP,
        offline_access=True,
        claims=["email", "name"],
    )
    result = sso_clients([lab], {"lab-test-client": "x" * 32}, PORTAL)

    options = result["oidcRPMetaDataOptions"]["lab-test-client"]
    assert options["oidcRPMetaDataOptionsRedirectUris"] == (
        "http://127.0.0.1:8765/callback http://localhost:8765/callback"
    )
    assert options["oidcRPMetaDataOptionsAllowOffline"] == 1
    assert "oidcRPMetaDataOptionsPostLogoutRedirectUris" not in options
    # Only standard claims: no extra scope to declare.
    assert result["oidcRPMetaDataOptionsExtraClaims"] == {}


def test_defaults_a_given_client_id_and_a_front_channel_logout() -> None:
    entry = changed(
        EGOV,
        client_id="egov.soctrang.gov.vn",
        logout={"uri": "https://egov.soctrang.gov.vn/logout"},
        public=DROP,
        pkce=DROP,
        refresh_tokens=DROP,
        offline_access=DROP,
    )
    options = sso_clients([entry], SECRETS, PORTAL + "/")["oidcRPMetaDataOptions"]["egov"]
    assert options["oidcRPMetaDataOptionsClientID"] == "egov.soctrang.gov.vn"
    assert options["oidcRPMetaDataOptionsLogoutType"] == "back", "back-channel unless front is asked for"
    assert (options["oidcRPMetaDataOptionsPublic"], options["oidcRPMetaDataOptionsRequirePKCE"]) == (0, 1)
    assert (options["oidcRPMetaDataOptionsRefreshToken"], options["oidcRPMetaDataOptionsAllowOffline"]) == (0, 0)
    front = changed(entry, logout={"channel": "front", "uri": "https://egov.soctrang.gov.vn/logout"})
    options = sso_clients([front], SECRETS, PORTAL)["oidcRPMetaDataOptions"]["egov"]
    assert options["oidcRPMetaDataOptionsLogoutType"] == "front"


def test_no_clients_is_an_empty_configuration() -> None:
    result = sso_clients([], {}, PORTAL)
    assert {key: value for key, value in result.items() if key != "ldapExportedVars"} == {
        "oidcRPMetaDataOptions": {},
        "oidcRPMetaDataExportedVars": {},
        "oidcRPMetaDataOptionsExtraClaims": {},
        "samlSPMetaDataXML": {},
        "samlSPMetaDataOptions": {},
        "samlSPMetaDataExportedAttributes": {},
    }


# ---------------------------------------------------------------- the claims table


def test_the_session_reads_every_attribute_that_a_claim_releases() -> None:
    exported = ldap_exported_vars()
    assert exported == sso_clients([], {}, PORTAL)["ldapExportedVars"]
    assert exported["mail"] == "mail", "sub and the NameID are the mail address"
    for claim in CLAIMS.values():
        assert exported[claim.session_variable] == claim.ldap_attribute
    assert set(CLAIMS) == set(ALL_CLAIMS)


def test_every_saml_attribute_is_an_oid_uri_of_its_own() -> None:
    names = [claim.saml_name for claim in CLAIMS.values()]
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"urn:oid:[0-9]+(?:\.[0-9]+)+", name) for name in names)
    assert SAML_URI_FORMAT == "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"


def test_the_project_s_attributes_carry_the_oids_of_the_directory_schema() -> None:
    schema = (REPOSITORY / "roles" / "slapd" / "files" / "soc-mail.schema").read_text(encoding="utf-8")
    declared = dict(re.findall(rf"\(\s*{re.escape(OID_ARC)}(\.1\.\d+)\s+NAME\s+'(\w+)'", schema))
    assert declared[".1.7"] == "socNameAscii"
    assert CLAIMS["name_ascii"].saml_name == f"urn:oid:{OID_ARC}.1.7"
    # socUnitMail is not in the schema yet; its number must still be free (or be its own).
    assert declared.get(".1.9", "socUnitMail") == "socUnitMail"
    assert CLAIMS["unit_email"].saml_name == f"urn:oid:{OID_ARC}.1.9"
    assert CLAIMS["unit_email"].session_variable == "socUnitMail"


# ---------------------------------------------------------------- every problem

HTTP_ONLY_LOOPBACK = "(http:// is allowed only for 127.0.0.1 or localhost with a port, for test clients)"
CLAIM_LIST = "email, name, name_ascii, family_name, given_name, unit, unit_email, agency, position"
NOT_ABSOLUTE = "is not an absolute URI; write it in full, like https://egov.soctrang.gov.vn/callback"
E = "sso_clients[0] (egov)"
S = "sso_clients[0] (egov-saml)"

CASES: list[tuple[str, list[Any], dict[str, Any], str]] = [
    # redirect URIs
    (
        "http redirect URI",
        oidc(redirect_uris=["http://egov.soctrang.gov.vn/cb"]),
        SECRETS,
        f"{E}: redirect_uris[0] 'http://egov.soctrang.gov.vn/cb' must start with https:// {HTTP_ONLY_LOOPBACK}; "
        "write https://egov.soctrang.gov.vn/cb",
    ),
    (
        "loopback without a port",
        oidc(redirect_uris=["http://127.0.0.1/cb"]),
        SECRETS,
        f"{E}: redirect_uris[0] 'http://127.0.0.1/cb' needs its port: http:// is allowed for 127.0.0.1 "
        "with a port only (test clients)",
    ),
    (
        "http on another private address",
        oidc(redirect_uris=["http://10.89.59.50:8080/cb"]),
        SECRETS,
        f"{E}: redirect_uris[0] 'http://10.89.59.50:8080/cb' must start with https:// {HTTP_ONLY_LOOPBACK}; "
        "write https://10.89.59.50:8080/cb",
    ),
    (
        "custom scheme",
        oidc(redirect_uris=["vn.gov.soctrang.app://callback"]),
        SECRETS,
        f"{E}: redirect_uris[0] 'vn.gov.soctrang.app://callback' must start with https:// {HTTP_ONLY_LOOPBACK}; "
        "write https://callback",
    ),
    (
        "fragment",
        oidc(redirect_uris=["https://egov.soctrang.gov.vn/cb#x"]),
        SECRETS,
        f"{E}: redirect_uris[0] 'https://egov.soctrang.gov.vn/cb#x' has a fragment (#…); remove it",
    ),
    (
        "wildcard",
        oidc(redirect_uris=["https://egov.soctrang.gov.vn/*"]),
        SECRETS,
        f"{E}: redirect_uris[0] 'https://egov.soctrang.gov.vn/*' contains '*': LLNG compares redirect URIs "
        "exactly, list each one",
    ),
    (
        "relative",
        oidc(redirect_uris=["/oidc/callback"]),
        SECRETS,
        f"{E}: redirect_uris[0] '/oidc/callback' {NOT_ABSOLUTE}",
    ),
    (
        "no scheme",
        oidc(redirect_uris=["egov.soctrang.gov.vn/cb"]),
        SECRETS,
        f"{E}: redirect_uris[0] 'egov.soctrang.gov.vn/cb' {NOT_ABSOLUTE}",
    ),
    (
        "unclosed IPv6 bracket",
        oidc(redirect_uris=["https://[::1/cb"]),
        SECRETS,
        f"{E}: redirect_uris[0] 'https://[::1/cb' {NOT_ABSOLUTE}",
    ),
    (
        "space",
        oidc(redirect_uris=["https://egov.soctrang.gov.vn/cb https://egov.soctrang.gov.vn/cb2"]),
        SECRETS,
        f"{E}: redirect_uris[0] 'https://egov.soctrang.gov.vn/cb https://egov.soctrang.gov.vn/cb2' contains a "
        "space: LLNG splits its list of URIs on spaces; write it as %20",
    ),
    (
        "not ASCII",
        oidc(redirect_uris=["https://dịchvụcông.soctrang.gov.vn/cb"]),
        SECRETS,
        f"{E}: redirect_uris[0] 'https://dịchvụcông.soctrang.gov.vn/cb' is not ASCII: write the host in punycode "
        "(xn--…) and percent-encode the path",
    ),
    (
        "user information",
        oidc(redirect_uris=["https://admin@egov.soctrang.gov.vn/cb"]),
        SECRETS,
        f"{E}: redirect_uris[0] 'https://admin@egov.soctrang.gov.vn/cb' has user information (…@) before the "
        "host; remove it",
    ),
    (
        "invalid port",
        oidc(redirect_uris=["https://egov.soctrang.gov.vn:99999/cb"]),
        SECRETS,
        f"{E}: redirect_uris[0] 'https://egov.soctrang.gov.vn:99999/cb' has an invalid port; write a number "
        "from 1 to 65535 after the host",
    ),
    (
        "no host",
        oidc(redirect_uris=["https://:8443/cb"]),
        SECRETS,
        f"{E}: redirect_uris[0] 'https://:8443/cb' has no host; write it in full, like "
        "https://egov.soctrang.gov.vn/callback",
    ),
    (
        "on the portal's host",
        oidc(redirect_uris=["https://SSO.soctrang.gov.vn/egov/cb"]),
        SECRETS,
        f"{E}: redirect_uris[0] 'https://SSO.soctrang.gov.vn/egov/cb' is on the portal's own host "
        "sso.soctrang.gov.vn: a relying party needs a host of its own (the portal's cookie is sent to every "
        "page of its host)",
    ),
    (
        "listed twice",
        oidc(redirect_uris=["https://egov.soctrang.gov.vn/cb", "https://egov.soctrang.gov.vn/cb"]),
        SECRETS,
        f"{E}: redirect_uris[1] 'https://egov.soctrang.gov.vn/cb' is listed twice; list it once",
    ),
    (
        "not text",
        oidc(redirect_uris=[42]),
        SECRETS,
        f"{E}: redirect_uris[0] must be a URI (text), got 42",
    ),
    (
        "no redirect URI",
        oidc(redirect_uris=DROP, logout=DROP),
        SECRETS,
        f"{E}: redirect_uris is missing; list the URIs the relying party's operators sent",
    ),
    (
        "redirect URIs not a list",
        oidc(redirect_uris="https://egov.soctrang.gov.vn/cb", logout=DROP),
        SECRETS,
        f"{E}: redirect_uris must be a list of URIs, got 'https://egov.soctrang.gov.vn/cb'",
    ),
    (
        "post-logout URI",
        oidc(post_logout_redirect_uris=["https://egov.soctrang.gov.vn/#bye"]),
        SECRETS,
        f"{E}: post_logout_redirect_uris[0] 'https://egov.soctrang.gov.vn/#bye' has a fragment (#…); remove it",
    ),
    # logout
    (
        "logout over http",
        oidc(logout={"uri": "http://127.0.0.1:8765/logout"}),
        SECRETS,
        f"{E}: logout.uri 'http://127.0.0.1:8765/logout' must start with https://; write https://127.0.0.1:8765/logout",
    ),
    (
        "logout elsewhere",
        oidc(logout={"channel": "back", "uri": "https://other.soctrang.gov.vn/backchannel"}),
        SECRETS,
        f"{E}: logout.uri 'https://other.soctrang.gov.vn/backchannel' must be https and on the host of a "
        "redirect URI (egov.soctrang.gov.vn); the logout endpoint belongs to the relying party",
    ),
    (
        "logout channel",
        oidc(logout={"channel": "both", "uri": "https://egov.soctrang.gov.vn/backchannel"}),
        SECRETS,
        f"{E}: logout.channel 'both' is not back or front",
    ),
    (
        "logout without uri",
        oidc(logout={"channel": "back"}),
        SECRETS,
        f"{E}: logout.uri is missing; write the relying party's logout endpoint, or remove logout",
    ),
    (
        "logout not a mapping",
        oidc(logout="https://egov.soctrang.gov.vn/backchannel"),
        SECRETS,
        f"{E}: logout must be a mapping with channel (back or front) and uri, got "
        "'https://egov.soctrang.gov.vn/backchannel'",
    ),
    (
        "logout unknown key",
        oidc(logout={"channel": "back", "url": "https://egov.soctrang.gov.vn/backchannel"}),
        SECRETS,
        f"{E}: logout: unknown key 'url'; did you mean uri?",
    ),
    # secrets and flags
    (
        "no secret",
        oidc(),
        {},
        f"{E}: no secret for this client: put sso_client_secrets.egov in the vault (ansible-vault "
        "encrypt_string), or set public: true",
    ),
    (
        "empty secret",
        oidc(),
        {"egov": ""},
        f"{E}: no secret for this client: put sso_client_secrets.egov in the vault (ansible-vault "
        "encrypt_string), or set public: true",
    ),
    (
        "public with a secret",
        oidc(public=True),
        SECRETS,
        f"{E}: a public client has no secret: remove sso_client_secrets.egov from the vault, or set public: false",
    ),
    (
        "public without PKCE",
        oidc(public=True, pkce=False),
        {},
        f"{E}: public clients must use pkce: true (a public client has no secret to prove who it is)",
    ),
    (
        "offline without refresh tokens",
        oidc(offline_access=True, refresh_tokens=False),
        SECRETS,
        f"{E}: offline_access needs refresh_tokens: true (offline access is a refresh token)",
    ),
    ("flag not a boolean", oidc(pkce="yes"), SECRETS, f"{E}: pkce must be true or false, got 'yes'"),
    (
        "client_id with a colon",
        oidc(client_id="egov:portal"),
        SECRETS,
        f"{E}: client_id 'egov:portal' must be 1 to 100 letters, digits and . _ ~ - (it is sent in HTTP Basic "
        "authentication); leave it out to use the id",
    ),
    (
        "secret of a saml client",
        saml(),
        {"egov-saml": "x"},
        "sso_client_secrets.egov-saml: egov-saml is a saml client, which has no secret; remove it",
    ),
    (
        "secret of nobody",
        oidc(),
        {**SECRETS, "egvo": "x"},
        "sso_client_secrets.egvo: no client in sso_clients has the id 'egvo'; remove the secret or correct its name",
    ),
    # keys, ids, names, claims, protocol
    ("unknown key", oidc(redirect_uri=["x"]), SECRETS, f"{E}: unknown key 'redirect_uri'; did you mean redirect_uris?"),
    (
        "unknown key without a close one",
        oidc(colour="blue"),
        SECRETS,
        f"{E}: unknown key 'colour'; the keys are id, name, owner, protocol, claims, client_id, redirect_uris, "
        "post_logout_redirect_uris, logout, public, pkce, refresh_tokens, offline_access, metadata, metadata_file",
    ),
    (
        "oidc key on a saml client",
        saml(redirect_uris=["https://egov.soctrang.gov.vn/cb"]),
        {},
        f"{S}: redirect_uris is for oidc clients; remove it (a saml client's endpoints come from its metadata)",
    ),
    (
        "saml key on an oidc client",
        oidc(metadata_file="sso/egov.xml"),
        SECRETS,
        f"{E}: metadata_file is for saml clients; remove it",
    ),
    *[
        (
            f"id {bad!r}",
            oidc(id=bad),
            SECRETS,
            (f"sso_clients[0] ({bad})" if isinstance(bad, str) and bad else "sso_clients[0]")
            + f": id {bad!r} must be 2 to 31 lowercase letters, digits and '-', starting with a letter and "
            "not ending with '-' (e.g. egov)",
        )
        for bad in ("Egov", "e", "egov-", "1egov", "e_gov", "a" * 32, None, 7)
    ],
    ("name missing", oidc(name=DROP), SECRETS, f"{E}: name is missing; write the system's name as its users know it"),
    ("name not text", oidc(name=["Cổng"]), SECRETS, f"{E}: name must be text, got ['Cổng']"),
    (
        "owner missing",
        oidc(owner=DROP),
        SECRETS,
        f"{E}: owner is missing; write who asked for it (the agency or unit that runs the system)",
    ),
    (
        "unknown claim",
        oidc(claims=["email", "unit_name"]),
        SECRETS,
        f"{E}: claim 'unit_name' is unknown; the claims are {CLAIM_LIST}",
    ),
    (
        "claim listed twice",
        oidc(claims=["email", "email"]),
        SECRETS,
        f"{E}: claim 'email' is listed twice; list it once",
    ),
    (
        "claims missing",
        oidc(claims=DROP),
        SECRETS,
        f"{E}: claims is missing; list what the relying party needs, from {CLAIM_LIST} (or [] for none)",
    ),
    (
        "claims not a list",
        oidc(claims="email"),
        SECRETS,
        f"{E}: claims must be a list, from {CLAIM_LIST}; got 'email'",
    ),
    (
        "claim not text",
        oidc(claims=[{"email": True}]),
        SECRETS,
        f"{E}: claim {{'email': True}} is unknown; the claims are {CLAIM_LIST}",
    ),
    ("protocol", oidc(protocol="oauth"), SECRETS, f"{E}: protocol 'oauth' is not oidc or saml"),
    (
        "protocol missing",
        oidc(protocol=DROP),
        SECRETS,
        f"{E}: protocol is missing; write protocol: oidc or protocol: saml",
    ),
    (
        "entry not a mapping",
        ["egov"],
        SECRETS,
        "sso_clients[0]: expected a mapping with id, name, owner, protocol…, got 'egov'",
    ),
    # SAML metadata
    (
        "no metadata",
        saml(metadata=DROP),
        {},
        f"{S}: a saml client needs metadata_file (the SP's metadata, which the role reads into metadata)",
    ),
    (
        "metadata not text",
        saml(metadata={"entityID": SP_ENTITY_ID}),
        {},
        f"{S}: metadata must be the SP's metadata XML as text, got dict",
    ),
    (
        "metadata with a DTD",
        saml(metadata=sp_metadata(before='<!DOCTYPE md [<!ENTITY lol "lol">]>\n')),
        {},
        f"{S}: metadata has a DOCTYPE or ENTITY declaration; SAML metadata needs none, remove it",
    ),
    (
        "metadata not XML",
        saml(metadata="<md:EntityDescriptor entityID='x'>"),
        {},
        f"{S}: metadata is not well-formed XML (unbound prefix: line 1, column 0); use the SP's metadata file "
        "as it publishes it",
    ),
    (
        "metadata of a federation",
        saml(metadata=sp_metadata(root="md:EntitiesDescriptor")),
        {},
        f"{S}: metadata is not a SAML EntityDescriptor with an SPSSODescriptor; use the SP's own metadata",
    ),
    (
        "metadata of an IdP",
        saml(metadata=sp_metadata(descriptor="md:IDPSSODescriptor")),
        {},
        f"{S}: metadata is not a SAML EntityDescriptor with an SPSSODescriptor; use the SP's own metadata",
    ),
    (
        "entityID over http",
        saml(metadata=sp_metadata(entity_id="http://egov.soctrang.gov.vn/mellon/metadata")),
        {},
        f"{S}: metadata entityID 'http://egov.soctrang.gov.vn/mellon/metadata' must start with https://; "
        "write https://egov.soctrang.gov.vn/mellon/metadata",
    ),
    (
        "entityID is the portal's",
        saml(metadata=sp_metadata(entity_id="https://sso.soctrang.gov.vn/saml/metadata")),
        {},
        f"{S}: metadata entityID 'https://sso.soctrang.gov.vn/saml/metadata' is on the portal's own host "
        "sso.soctrang.gov.vn: a relying party needs a host of its own (the portal's cookie is sent to every "
        "page of its host)",
    ),
    (
        "entityID missing",
        saml(metadata=sp_metadata(entity_id_attribute="ID='{}'")),
        {},
        f"{S}: metadata entityID must be a URI (text), got None",
    ),
    (
        "entityID with spaces around =",
        saml(metadata=sp_metadata(entity_id_attribute='entityID = "{}"')),
        {},
        f"{S}: metadata writes entityID with spaces around '='; LLNG finds it only as entityID=\"…\", write it so",
    ),
    (
        "another entityID first",
        saml(metadata=sp_metadata(before='<!-- was entityID="https://old.soctrang.gov.vn/metadata" -->\n')),
        {},
        f"{S}: metadata has an entityID= before the EntityDescriptor's own (in a comment?); LLNG would take the "
        "first one, remove the other",
    ),
    (
        "assertion consumer over http",
        saml(metadata=sp_metadata(acs="http://egov.soctrang.gov.vn/mellon/postResponse")),
        {},
        f"{S}: metadata AssertionConsumerService[0] Location 'http://egov.soctrang.gov.vn/mellon/postResponse' "
        "must start with https://; write https://egov.soctrang.gov.vn/mellon/postResponse",
    ),
    (
        "no assertion consumer",
        saml(metadata=sp_metadata(acs=None)),
        {},
        f"{S}: metadata has no AssertionConsumerService: the portal would not know where to answer",
    ),
    (
        "no signing certificate",
        saml(metadata=sp_metadata(key_use="encryption")),
        {},
        f'{S}: metadata has no signing certificate (KeyDescriptor use="signing" with an X509Certificate): the '
        "portal checks the SP's signed requests; ask the SP for metadata with its certificate",
    ),
    (
        "SAML 1.1 only",
        saml(metadata=sp_metadata(protocols="urn:oasis:names:tc:SAML:1.1:protocol")),
        {},
        f"{S}: metadata's SPSSODescriptor does not support SAML 2.0 (urn:oasis:names:tc:SAML:2.0:protocol)",
    ),
]


@pytest.mark.parametrize(("clients", "secrets", "expected"), [case[1:] for case in CASES], ids=[c[0] for c in CASES])
def test_each_problem_names_the_entry_and_the_fix(clients: list[Any], secrets: dict[str, Any], expected: str) -> None:
    found = problems(clients, secrets)
    assert expected in found, "\n".join(found)


@pytest.mark.parametrize(
    ("clients", "expected"),
    [
        (
            [EGOV, changed(EGOV, name="Bản sao")],
            "sso_clients[1] (egov): id 'egov' is also sso_clients[0]'s; give each client its own id",
        ),
        (
            [EGOV, changed(EGOV, id="egov2", client_id="EGOV")],
            "sso_clients[1] (egov2): client_id 'EGOV' is also sso_clients[0]'s; give each client its own",
        ),
        (
            [EGOV_SAML, changed(EGOV_SAML, id="egov-saml2", metadata=sp_metadata(entity_id=SP_ENTITY_ID.upper()))],
            f"sso_clients[1] (egov-saml2): metadata entityID '{SP_ENTITY_ID.upper()}' is also sso_clients[0]'s; "
            "each SP needs its own entityID",
        ),
    ],
    ids=["id", "client_id", "entityID"],
)
def test_ids_client_ids_and_entity_ids_are_unique_without_regard_to_case(clients: list[Any], expected: str) -> None:
    secrets = {"egov": "x", "egov2": "y"}
    assert expected in problems(clients, secrets)


def test_every_problem_of_every_entry_is_reported_at_once() -> None:
    clients = [
        changed(EGOV, redirect_uris=["http://egov.soctrang.gov.vn/cb"], claims=["unit_name"]),
        changed(EGOV_SAML, metadata=sp_metadata(acs=None)),
    ]
    found = problems(clients, {})

    assert [line.split(":", 1)[0] for line in found] == [
        "sso_clients[0] (egov)",
        "sso_clients[0] (egov)",
        "sso_clients[0] (egov)",
        "sso_clients[1] (egov-saml)",
    ]
    assert any("claim 'unit_name' is unknown" in line for line in found)
    assert any("must start with https://" in line for line in found)
    assert any("no secret for this client" in line for line in found)
    assert any("no AssertionConsumerService" in line for line in found)


def test_no_problem_shows_a_secret() -> None:
    found = problems([changed(EGOV, public=True)], {"egov": EGOV_SECRET, "zzz": EGOV_SECRET})
    assert EGOV_SECRET not in "\n".join(found)


@pytest.mark.parametrize(
    ("clients", "secrets", "portal", "expected"),
    [
        ({"egov": EGOV}, SECRETS, PORTAL, "sso_clients must be a list of clients, got dict"),
        ("egov", SECRETS, PORTAL, "sso_clients must be a list of clients, got str"),
        ([EGOV], None, PORTAL, "sso_client_secrets must be a mapping of client id -> secret"),
        ([EGOV], SECRETS, "sso.soctrang.gov.vn", "portal must be the portal's base URL"),
        ([EGOV], SECRETS, "http://sso.soctrang.gov.vn", "portal must be the portal's base URL"),
        ([EGOV], SECRETS, "https://sso.soctrang.gov.vn/portal/", "portal must be the portal's base URL"),
        ([EGOV], SECRETS, None, "portal must be the portal's base URL"),
    ],
)
def test_wrong_arguments_are_refused_up_front(clients: object, secrets: object, portal: object, expected: str) -> None:
    assert any(expected in line for line in problems(clients, secrets, portal))
