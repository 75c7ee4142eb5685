"""The relying parties of the single sign-on portal (LemonLDAP::NG 2.21, Điều 2.3).

Every system that signs its users in through ``sso.<domain>`` is one entry of the
inventory list ``sso_clients``, registered by pull request. This module checks
every entry - every problem of every entry is collected, each naming the entry
as ``sso_clients[i] (<id>)`` and saying what to write instead - and turns the
list into the parts of the LLNG configuration that describe relying parties
(``oidcRPMetaData*``, ``samlSPMetaData*``), as ``roles/sso`` renders them into
``lmConf-<n>.json`` through the module ``soctrang.mail.llng_config``.

What a relying party may learn about a person is one table, ``CLAIMS``: the
OIDC claim, the portal's session variable and the LDAP attribute it comes from,
and the SAML attribute, so that the OIDC and SAML views of a person and the
attributes the portal reads from the directory (``ldap_exported_vars``) cannot
drift apart.

Client secrets never pass through here: a confidential client gets the
placeholder ``$secret:client:<id>``, which ``soctrang.mail.llng_config``
replaces on the SSO host; only whether the vault holds a secret is checked.

Key names and value formats were read in liblemonldap-ng-manager-perl 2.21.2
(``Manager/Build/Attributes.pm``) and liblemonldap-ng-portal-perl
(``Lib/OpenIDConnect.pm``, ``Issuer/OpenIDConnect.pm``, ``Issuer/SAML.pm``).
Plain Python, no Ansible: the filter ``soctrang.mail.sso_clients`` wraps it.
"""

from __future__ import annotations

import difflib
import html
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, urlsplit
from xml.etree import ElementTree

# The project's OID arc (roles/slapd/files/soc-mail.schema, a UUID arc of ITU-T X.667).
OID_ARC = "2.25.276183083555255484389164958006627802428"
SAML_URI_FORMAT = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
# Claims that no standard OIDC scope (profile, email) covers are released under this one.
SOCTRANG_SCOPE = "soctrang"
# The inventory variable that holds the client secrets (in the vault), named in messages.
SECRETS_VARIABLE = "sso_client_secrets"
# OIDC `sub` and the SAML NameID are the mail address: LLNG's whatToTrace (mail) and
# samlNameIDFormatMapEmail, so that the portal's history, brute-force counter and every
# relying party name a person the same way.
USER_ID_SESSION_VARIABLE = "mail"


@dataclass(frozen=True)
class Claim:
    """What a relying party receives for one inventory claim, in both protocols."""

    oidc_claim: str
    session_variable: str  # the portal's session key, filled by ldapExportedVars
    ldap_attribute: str
    saml_name: str  # an OID URI, NameFormat SAML_URI_FORMAT
    saml_friendly_name: str
    oidc_scope: str
    # Every mailbox has it: a SAML assertion without it is refused rather than sent.
    always_present: bool = False


CLAIMS: dict[str, Claim] = {
    "email": Claim("email", "mail", "mail", "urn:oid:0.9.2342.19200300.100.1.3", "mail", "email", True),
    # With its diacritics, NFC, as the directory holds it.
    "name": Claim("name", "cn", "cn", "urn:oid:2.5.4.3", "cn", "profile", True),
    "name_ascii": Claim(
        "name_ascii", "socNameAscii", "socNameAscii", f"urn:oid:{OID_ARC}.1.7", "socNameAscii", SOCTRANG_SCOPE
    ),
    "family_name": Claim("family_name", "sn", "sn", "urn:oid:2.5.4.4", "sn", "profile"),
    "given_name": Claim("given_name", "givenName", "givenName", "urn:oid:2.5.4.42", "givenName", "profile"),
    # Provisioning leaves ou out when the person's unit is the agency itself.
    "unit": Claim("unit", "ou", "ou", "urn:oid:2.5.4.11", "ou", SOCTRANG_SCOPE),
    # The address of the person's unit mailbox; needs the attribute socUnitMail (…1.9)
    # in roles/slapd's schema and its provisioning.
    "unit_email": Claim(
        "unit_email", "socUnitMail", "socUnitMail", f"urn:oid:{OID_ARC}.1.9", "socUnitMail", SOCTRANG_SCOPE
    ),
    "agency": Claim("agency", "o", "o", "urn:oid:2.5.4.10", "o", SOCTRANG_SCOPE),
    "position": Claim("position", "title", "title", "urn:oid:2.5.4.12", "title", SOCTRANG_SCOPE),
}

PROTOCOLS = ("oidc", "saml")
LOGOUT_CHANNELS = ("back", "front")
COMMON_KEYS = ("id", "name", "owner", "protocol", "claims")
OIDC_KEYS = (
    "client_id",
    "redirect_uris",
    "post_logout_redirect_uris",
    "logout",
    "public",
    "pkce",
    "refresh_tokens",
    "offline_access",
)
# metadata_file is read by the role, which hands its text over as metadata.
SAML_KEYS = ("metadata", "metadata_file")
LOGOUT_KEYS = ("channel", "uri")
OIDC_FLAGS = {"public": False, "pkce": True, "refresh_tokens": False, "offline_access": False}

# An LLNG configuration key (samlSPMetaDataOptions' keyTest: ends with a word character).
_ID = re.compile(r"^[a-z](?:[a-z0-9-]{0,29}[a-z0-9])$")
# client_id travels in HTTP Basic authentication: no ':' and nothing to escape.
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._~-]{1,100}$")
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
# How LLNG itself finds an SP's entityID in its metadata (Lib/SAML.pm load_sp_from_conf).
_LLNG_ENTITY_ID = re.compile(r"entityID=(['\"])(.+?)\1", re.IGNORECASE | re.DOTALL)
_DTD = re.compile(r"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_MD = "{urn:oasis:names:tc:SAML:2.0:metadata}"
_DS = "{http://www.w3.org/2000/09/xmldsig#}"
_SAML2_PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol"


class SsoClientsError(ValueError):
    """``sso_clients`` cannot be used; ``problems`` holds every reason, one line each."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"sso_clients has {len(self.problems)} problem(s):\n{lines}")


def secret_placeholder(client_id: str) -> str:
    """What the configuration holds instead of a client's secret (llng_config substitutes it)."""
    return f"$secret:client:{client_id}"


def ldap_exported_vars() -> dict[str, str]:
    """LLNG ``ldapExportedVars``: session variable -> LDAP attribute, for every claim of CLAIMS."""
    exported = {USER_ID_SESSION_VARIABLE: "mail"}
    for claim in CLAIMS.values():
        exported[claim.session_variable] = claim.ldap_attribute
    return exported


# ---------------------------------------------------------------- URIs


def _portal_host(portal: object) -> str:
    try:
        parts = urlsplit(portal) if isinstance(portal, str) else None
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme != "https"
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or "@" in parts.netloc
    ):
        raise SsoClientsError(
            [f"portal must be the portal's base URL, like https://sso.soctrang.gov.vn, got {portal!r}"]
        )
    return parts.hostname


def _scheme_problem(label: str, uri: str, parts: SplitResult, allow_loopback_http: bool) -> str | None:
    scheme = parts.scheme.lower()
    if scheme == "https":
        return None
    rest = uri.split(":", 1)[1].lstrip("/")
    if not allow_loopback_http:
        return f"{label} '{uri}' must start with https://; write https://{rest}"
    if scheme == "http" and parts.hostname in _LOOPBACK_HOSTS:
        if parts.port is not None:
            return None
        return (
            f"{label} '{uri}' needs its port: http:// is allowed for {parts.hostname} with a port only (test clients)"
        )
    return (
        f"{label} '{uri}' must start with https:// (http:// is allowed only for 127.0.0.1 or localhost "
        f"with a port, for test clients); write https://{rest}"
    )


def _form_problem(label: str, uri: str, parts: SplitResult) -> str | None:
    checks = (
        (
            any(character.isspace() for character in uri),
            "contains a space: LLNG splits its list of URIs on spaces; write it as %20",
        ),
        ("*" in uri, "contains '*': LLNG compares redirect URIs exactly, list each one"),
        (not uri.isascii(), "is not ASCII: write the host in punycode (xn--…) and percent-encode the path"),
        (
            not parts.scheme or not parts.netloc,
            "is not an absolute URI; write it in full, like https://egov.soctrang.gov.vn/callback",
        ),
        ("#" in uri, "has a fragment (#…); remove it"),
        ("@" in parts.netloc, "has user information (…@) before the host; remove it"),
    )
    return next((f"{label} '{uri}' {text}" for failed, text in checks if failed), None)


def _host_problem(label: str, uri: str, parts: SplitResult, portal_host: str, allow_loopback_http: bool) -> str | None:
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when it is read
    except ValueError:
        return f"{label} '{uri}' has an invalid port; write a number from 1 to 65535 after the host"
    if not parts.hostname:
        return f"{label} '{uri}' has no host; write it in full, like https://egov.soctrang.gov.vn/callback"
    if parts.hostname == portal_host:
        return (
            f"{label} '{uri}' is on the portal's own host {portal_host}: a relying party needs a host of its "
            "own (the portal's cookie is sent to every page of its host)"
        )
    return _scheme_problem(label, uri, parts, allow_loopback_http)


def _uri_problem(label: str, uri: object, portal_host: str, allow_loopback_http: bool = True) -> str | None:
    """The first thing wrong with one URI of a relying party, or None."""
    if not isinstance(uri, str) or not uri:
        return f"{label} must be a URI (text), got {uri!r}"
    try:
        parts = urlsplit(uri)
    except ValueError:  # an unclosed [ of an IPv6 address
        return f"{label} '{uri}' is not an absolute URI; write it in full, like https://egov.soctrang.gov.vn/callback"
    return _form_problem(label, uri, parts) or _host_problem(label, uri, parts, portal_host, allow_loopback_http)


# ---------------------------------------------------------------- one entry


@dataclass
class _Entry:
    """One entry of sso_clients while it is checked: its problems, and its values once checked."""

    index: int
    raw: Mapping[str, Any]
    problems: list[str]
    name: str | None = None
    owner: str | None = None

    @property
    def id(self) -> str | None:
        value = self.raw.get("id")
        return str(value) if isinstance(value, str) else None

    @property
    def prefix(self) -> str:
        return f"sso_clients[{self.index}] ({self.id})" if self.id else f"sso_clients[{self.index}]"

    def problem(self, text: str) -> None:
        self.problems.append(f"{self.prefix}: {text}")

    def text(self, key: str, hint: str) -> str | None:
        value = self.raw.get(key)
        if value is None:
            self.problem(f"{key} is missing; {hint}")
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem(f"{key} must be text, got {value!r}")
            return None
        return unicodedata.normalize("NFC", " ".join(value.split()))

    def flag(self, key: str) -> bool:
        value = self.raw.get(key, OIDC_FLAGS[key])
        if not isinstance(value, bool):
            self.problem(f"{key} must be true or false, got {value!r}")
            return OIDC_FLAGS[key]
        return value

    def uri_list(self, key: str, portal_host: str, required: bool) -> list[str]:
        value = self.raw.get(key)
        if value is None or value == []:
            if required:
                self.problem(f"{key} is missing; list the URIs the relying party's operators sent")
            return []
        if isinstance(value, str) or not isinstance(value, Sequence):
            self.problem(f"{key} must be a list of URIs, got {value!r}")
            return []
        uris: list[str] = []
        for position, uri in enumerate(value):
            problem = _uri_problem(f"{key}[{position}]", uri, portal_host)
            if problem:
                self.problem(problem)
            elif uri in uris:
                self.problem(f"{key}[{position}] '{uri}' is listed twice; list it once")
            else:
                uris.append(str(uri))
        return uris


def _check_keys(entry: _Entry, protocol: str | None) -> None:
    known = COMMON_KEYS + OIDC_KEYS + SAML_KEYS
    for key in entry.raw:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"; did you mean {close[0]}?" if close else f"; the keys are {', '.join(known)}"
            entry.problem(f"unknown key {key!r}{hint}")
        elif protocol == "saml" and key in OIDC_KEYS:
            entry.problem(f"{key} is for oidc clients; remove it (a saml client's endpoints come from its metadata)")
        elif protocol == "oidc" and key in SAML_KEYS:
            entry.problem(f"{key} is for saml clients; remove it")


def _claims(entry: _Entry) -> list[str]:
    value = entry.raw.get("claims")
    known = ", ".join(CLAIMS)
    if value is None:
        entry.problem(f"claims is missing; list what the relying party needs, from {known} (or [] for none)")
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        entry.problem(f"claims must be a list, from {known}; got {value!r}")
        return []
    claims: list[str] = []
    for claim in value:
        if not isinstance(claim, str) or claim not in CLAIMS:
            entry.problem(f"claim {claim!r} is unknown; the claims are {known}")
        elif claim in claims:
            entry.problem(f"claim {claim!r} is listed twice; list it once")
        else:
            claims.append(str(claim))
    # In the table's order: reordering the inventory's list changes nothing.
    return [claim for claim in CLAIMS if claim in claims]


def _protocol(entry: _Entry) -> str | None:
    value = entry.raw.get("protocol")
    if value is None:
        entry.problem("protocol is missing; write protocol: oidc or protocol: saml")
        return None
    if value not in PROTOCOLS:
        entry.problem(f"protocol {value!r} is not oidc or saml")
        return None
    return str(value)


# ---------------------------------------------------------------- OIDC


def _logout(entry: _Entry, portal_host: str, redirect_uris: list[str]) -> dict[str, Any]:
    value = entry.raw.get("logout")
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        entry.problem(f"logout must be a mapping with channel (back or front) and uri, got {value!r}")
        return {}
    for key in value:
        if key not in LOGOUT_KEYS:
            close = difflib.get_close_matches(str(key), LOGOUT_KEYS, n=1)
            entry.problem(f"logout: unknown key {key!r}; " + (f"did you mean {close[0]}?" if close else "write uri"))
    channel = value.get("channel", "back")
    if channel not in LOGOUT_CHANNELS:
        entry.problem(f"logout.channel {channel!r} is not back or front")
    uri = value.get("uri")
    if uri is None:
        entry.problem("logout.uri is missing; write the relying party's logout endpoint, or remove logout")
        return {}
    problem = _uri_problem("logout.uri", uri, portal_host, allow_loopback_http=False)
    if problem:
        entry.problem(problem)
        return {}
    hosts = sorted({urlsplit(redirect).hostname or "" for redirect in redirect_uris})
    if redirect_uris and urlsplit(uri).hostname not in hosts:
        entry.problem(
            f"logout.uri '{uri}' must be https and on the host of a redirect URI ({', '.join(hosts)}); "
            "the logout endpoint belongs to the relying party"
        )
        return {}
    return {
        "oidcRPMetaDataOptionsLogoutType": channel,
        "oidcRPMetaDataOptionsLogoutUrl": str(uri),
        # The logout token (back) or the URL (front) carries the session id (sid).
        "oidcRPMetaDataOptionsLogoutSessionRequired": 1,
    }


def _oidc_secret(entry: _Entry, public: bool, secrets: Mapping[str, Any]) -> dict[str, Any]:
    client = entry.id
    if client is None:
        return {}  # no id: said already, and no secret can be looked up
    # Only whether a secret exists is looked at; its value is never read into the result.
    value = secrets.get(client)
    has_secret = value is not None and not (isinstance(value, str) and not value)
    if public and has_secret:
        entry.problem(
            f"a public client has no secret: remove {SECRETS_VARIABLE}.{client} from the vault, or set public: false"
        )
    if public:
        return {}
    if not has_secret:
        entry.problem(
            f"no secret for this client: put {SECRETS_VARIABLE}.{client} in the vault "
            "(ansible-vault encrypt_string), or set public: true"
        )
    return {
        "oidcRPMetaDataOptionsClientSecret": secret_placeholder(client),
        "oidcRPMetaDataOptionsAuthMethod": "client_secret_basic",
    }


def _client_id(entry: _Entry) -> str | None:
    value = entry.raw.get("client_id", entry.id)
    if value is None:
        return None  # no id either: said already
    if not isinstance(value, str) or not _CLIENT_ID.match(value):
        entry.problem(
            f"client_id {value!r} must be 1 to 100 letters, digits and . _ ~ - (it is sent in HTTP Basic "
            "authentication); leave it out to use the id"
        )
        return None
    return str(value)


def _oidc(entry: _Entry, portal_host: str, secrets: Mapping[str, Any], claims: list[str]) -> dict[str, Any]:
    """The RP's oidcRPMetaDataOptions, oidcRPMetaDataExportedVars and oidcRPMetaDataOptionsExtraClaims."""
    flags = {key: entry.flag(key) for key in OIDC_FLAGS}
    if flags["public"] and not flags["pkce"]:
        entry.problem("public clients must use pkce: true (a public client has no secret to prove who it is)")
    if flags["offline_access"] and not flags["refresh_tokens"]:
        entry.problem("offline_access needs refresh_tokens: true (offline access is a refresh token)")
    redirect_uris = entry.uri_list("redirect_uris", portal_host, required=True)
    post_logout = entry.uri_list("post_logout_redirect_uris", portal_host, required=False)
    options: dict[str, Any] = {
        "oidcRPMetaDataOptionsDisplayName": entry.name,
        "oidcRPMetaDataOptionsComment": entry.owner,
        "oidcRPMetaDataOptionsClientID": _client_id(entry),
        **_oidc_secret(entry, flags["public"], secrets),
        "oidcRPMetaDataOptionsPublic": int(flags["public"]),
        "oidcRPMetaDataOptionsRequirePKCE": int(flags["pkce"]),
        "oidcRPMetaDataOptionsRedirectUris": " ".join(redirect_uris),
        **({"oidcRPMetaDataOptionsPostLogoutRedirectUris": " ".join(post_logout)} if post_logout else {}),
        **_logout(entry, portal_host, redirect_uris),
        # Logout asked for by the RP with its own id_token_hint needs no confirmation.
        "oidcRPMetaDataOptionsLogoutBypassConfirm": 1,
        "oidcRPMetaDataOptionsIDTokenSignAlg": "RS256",
        "oidcRPMetaDataOptionsIDTokenForceClaims": 1,
        # Opaque access tokens: checked against the session at each use, so revocable.
        "oidcRPMetaDataOptionsAccessTokenJWT": 0,
        "oidcRPMetaDataOptionsRefreshToken": int(flags["refresh_tokens"]),
        "oidcRPMetaDataOptionsAllowOffline": int(flags["offline_access"]),
        # Every relying party is a province service registered by pull request.
        "oidcRPMetaDataOptionsBypassConsent": 1,
        "oidcRPMetaDataOptionsUserIDAttr": USER_ID_SESSION_VARIABLE,
    }
    exported = {CLAIMS[claim].oidc_claim: f"{CLAIMS[claim].session_variable};string;auto" for claim in claims}
    # Scopes LLNG does not know are dropped (oidcServiceAllowOnlyDeclaredScopes): declaring
    # the province's claims under their own scope makes `scope=… soctrang` valid for this RP.
    extra = [CLAIMS[claim].oidc_claim for claim in claims if CLAIMS[claim].oidc_scope == SOCTRANG_SCOPE]
    return {
        "options": options,
        "exported": exported,
        "extra_claims": {SOCTRANG_SCOPE: " ".join(extra)} if extra else None,
        "client_id": options["oidcRPMetaDataOptionsClientID"],
    }


# ---------------------------------------------------------------- SAML


def _metadata_root(entry: _Entry, text: str) -> ElementTree.Element | None:
    if _DTD.search(text):
        entry.problem("metadata has a DOCTYPE or ENTITY declaration; SAML metadata needs none, remove it")
        return None
    try:
        # No DTD (refused above), hence no entity to expand; the text comes from the inventory.
        root = ElementTree.fromstring(text)  # noqa: S314
    except ElementTree.ParseError as error:
        entry.problem(f"metadata is not well-formed XML ({error}); use the SP's metadata file as it publishes it")
        return None
    return root


def _metadata_problems(root: ElementTree.Element, text: str, portal_host: str) -> list[str]:
    """What is wrong with a parsed SP metadata; empty when LLNG can use it."""
    descriptor = root.find(f"{_MD}SPSSODescriptor")
    if root.tag != f"{_MD}EntityDescriptor" or descriptor is None:
        return ["metadata is not a SAML EntityDescriptor with an SPSSODescriptor; use the SP's own metadata"]
    problems = []
    entity_id = root.get("entityID")
    problem = _uri_problem("metadata entityID", entity_id, portal_host, allow_loopback_http=False)
    if problem:
        problems.append(problem)
    found = _LLNG_ENTITY_ID.search(text)
    if entity_id and found is None:
        problems.append(
            "metadata writes entityID with spaces around '='; LLNG finds it only as entityID=\"…\", write it so"
        )
    elif entity_id and found is not None and html.unescape(found.group(2)) != entity_id:
        problems.append(
            "metadata has an entityID= before the EntityDescriptor's own (in a comment?); LLNG would take "
            "the first one, remove the other"
        )
    if _SAML2_PROTOCOL not in (descriptor.get("protocolSupportEnumeration") or "").split():
        problems.append(f"metadata's SPSSODescriptor does not support SAML 2.0 ({_SAML2_PROTOCOL})")
    services = descriptor.findall(f"{_MD}AssertionConsumerService")
    if not services:
        problems.append("metadata has no AssertionConsumerService: the portal would not know where to answer")
    for position, service in enumerate(services):
        location = service.get("Location")
        problem = _uri_problem(
            f"metadata AssertionConsumerService[{position}] Location", location, portal_host, allow_loopback_http=False
        )
        if problem:
            problems.append(problem)
    signing = [
        certificate
        for key in descriptor.findall(f"{_MD}KeyDescriptor")
        if key.get("use") in (None, "signing")
        for certificate in key.iter(f"{_DS}X509Certificate")
        if (certificate.text or "").strip()
    ]
    if not signing:
        problems.append(
            'metadata has no signing certificate (KeyDescriptor use="signing" with an X509Certificate): the '
            "portal checks the SP's signed requests; ask the SP for metadata with its certificate"
        )
    return problems


def _saml(entry: _Entry, portal_host: str, claims: list[str]) -> dict[str, Any]:
    """The SP's samlSPMetaDataXML, samlSPMetaDataOptions and samlSPMetaDataExportedAttributes."""
    text = entry.raw.get("metadata")
    entity_id = None
    if text is None:
        entry.problem("a saml client needs metadata_file (the SP's metadata, which the role reads into metadata)")
    elif not isinstance(text, str) or not text.strip():
        entry.problem(f"metadata must be the SP's metadata XML as text, got {type(text).__name__}")
    else:
        root = _metadata_root(entry, text)
        if root is not None:
            problems = _metadata_problems(root, text, portal_host)
            for problem in problems:
                entry.problem(problem)
            entity_id = None if problems else root.get("entityID")
    options = {
        "samlSPMetaDataOptionsComment": f"{entry.name} - {entry.owner}",
        "samlSPMetaDataOptionsNameIDFormat": "email",
        "samlSPMetaDataOptionsSignSSOMessage": 1,
        "samlSPMetaDataOptionsCheckSSOMessageSignature": 1,
        "samlSPMetaDataOptionsSignSLOMessage": 1,
        "samlSPMetaDataOptionsCheckSLOMessageSignature": 1,
        "samlSPMetaDataOptionsForceUTF8": 1,
        "samlSPMetaDataOptionsEnableIDPInitiatedURL": 0,
        "samlSPMetaDataOptionsEncryptionMode": "none",
    }
    # Issuer/SAML.pm splits the value as mandatory;Name;NameFormat;FriendlyName.
    exported = {
        CLAIMS[claim].session_variable: ";".join(
            (
                "1" if CLAIMS[claim].always_present else "0",
                CLAIMS[claim].saml_name,
                SAML_URI_FORMAT,
                CLAIMS[claim].saml_friendly_name,
            )
        )
        for claim in claims
    }
    return {"xml": str(text) if entity_id else None, "options": options, "exported": exported, "entity_id": entity_id}


# ---------------------------------------------------------------- the list


def _first_holder(seen: dict[str, int], value: str, index: int) -> int | None:
    """The index of the entry that already holds `value` (case-insensitively), else records `index`."""
    key = value.lower()
    if key in seen:
        return seen[key]
    seen[key] = index
    return None


def _secret_problems(secrets: Mapping[Any, Any], oidc_ids: set[str], all_ids: set[str]) -> list[str]:
    problems = []
    for client in secrets:
        if client in all_ids and client not in oidc_ids:
            problems.append(f"{SECRETS_VARIABLE}.{client}: {client} is a saml client, which has no secret; remove it")
        elif client not in all_ids:
            problems.append(
                f"{SECRETS_VARIABLE}.{client}: no client in sso_clients has the id {client!r}; remove the secret "
                "or correct its name"
            )
    return problems


@dataclass
class _Context:
    """What the checks of one entry need to know about the others."""

    portal_host: str
    secrets: Mapping[Any, Any]
    ids: dict[str, int] = field(default_factory=dict)
    client_ids: dict[str, int] = field(default_factory=dict)
    entity_ids: dict[str, int] = field(default_factory=dict)
    oidc_ids: set[str] = field(default_factory=set)


def _add_oidc(
    result: dict[str, dict[str, Any]],
    entry: _Entry,
    context: _Context,
    claims: list[str],
) -> None:
    oidc = _oidc(entry, context.portal_host, context.secrets, claims)
    client_id = oidc["client_id"]
    if client_id and (holder := _first_holder(context.client_ids, client_id, entry.index)) is not None:
        entry.problem(f"client_id {client_id!r} is also sso_clients[{holder}]'s; give each client its own")
    if entry.id:
        context.oidc_ids.add(entry.id)
        result["oidcRPMetaDataOptions"][entry.id] = oidc["options"]
        result["oidcRPMetaDataExportedVars"][entry.id] = oidc["exported"]
        if oidc["extra_claims"]:
            result["oidcRPMetaDataOptionsExtraClaims"][entry.id] = oidc["extra_claims"]


def _add_saml(
    result: dict[str, dict[str, Any]],
    entry: _Entry,
    context: _Context,
    claims: list[str],
) -> None:
    saml = _saml(entry, context.portal_host, claims)
    entity_id = saml["entity_id"]
    if entity_id and (holder := _first_holder(context.entity_ids, entity_id, entry.index)) is not None:
        entry.problem(
            f"metadata entityID {entity_id!r} is also sso_clients[{holder}]'s; each SP needs its own entityID"
        )
    if entry.id:
        result["samlSPMetaDataXML"][entry.id] = {"samlSPMetaDataXML": saml["xml"]}
        result["samlSPMetaDataOptions"][entry.id] = saml["options"]
        result["samlSPMetaDataExportedAttributes"][entry.id] = saml["exported"]


def _check_id(entry: _Entry, context: _Context) -> None:
    client = entry.id
    if client is None or not _ID.match(client):
        entry.problem(
            f"id {entry.raw.get('id')!r} must be 2 to 31 lowercase letters, digits and '-', starting with a letter "
            "and not ending with '-' (e.g. egov)"
        )
    elif (holder := _first_holder(context.ids, client, entry.index)) is not None:
        entry.problem(f"id {client!r} is also sso_clients[{holder}]'s; give each client its own id")


def sso_clients(clients: object, secrets: object, portal: object) -> dict[str, Any]:
    """The LLNG configuration keys of every relying party in ``clients``; SsoClientsError otherwise.

    ``secrets``: client id -> secret (only whether one exists is used); ``portal``: the
    portal's base URL (relying parties may not live on its host).
    """
    portal_host = _portal_host(portal)
    if isinstance(clients, str) or not isinstance(clients, Sequence):
        raise SsoClientsError([f"sso_clients must be a list of clients, got {type(clients).__name__}"])
    if not isinstance(secrets, Mapping):
        raise SsoClientsError([f"{SECRETS_VARIABLE} must be a mapping of client id -> secret"])
    problems: list[str] = []
    result: dict[str, dict[str, Any]] = {
        "oidcRPMetaDataOptions": {},
        "oidcRPMetaDataExportedVars": {},
        "oidcRPMetaDataOptionsExtraClaims": {},
        "samlSPMetaDataXML": {},
        "samlSPMetaDataOptions": {},
        "samlSPMetaDataExportedAttributes": {},
    }
    context = _Context(portal_host, secrets)
    for index, raw in enumerate(clients):
        if not isinstance(raw, Mapping):
            problems.append(f"sso_clients[{index}]: expected a mapping with id, name, owner, protocol…, got {raw!r}")
            continue
        entry = _Entry(index, raw, problems)
        _check_id(entry, context)
        entry.name = entry.text("name", "write the system's name as its users know it")
        entry.owner = entry.text("owner", "write who asked for it (the agency or unit that runs the system)")
        protocol = _protocol(entry)
        _check_keys(entry, protocol)
        claims = _claims(entry)
        if protocol == "oidc":
            _add_oidc(result, entry, context, claims)
        elif protocol == "saml":
            _add_saml(result, entry, context, claims)
    all_ids = {raw["id"] for raw in clients if isinstance(raw, Mapping) and isinstance(raw.get("id"), str)}
    problems += _secret_problems(secrets, context.oidc_ids, all_ids)
    if problems:
        raise SsoClientsError(problems)
    return {**result, "ldapExportedVars": ldap_exported_vars()}
