#!/usr/bin/env python3
"""An OpenID Connect code flow against the lab's single sign-on portal (issue 12).

    .venv/bin/python tools/sso_flow.py                       # two people from the end of the roster
    .venv/bin/python tools/sso_flow.py --person dcnguyen@soctrang.gov.vn --password '...'
    .venv/bin/python tools/sso_flow.py --must-change         # the forced change of an initial password
    .venv/bin/python tools/sso_flow.py --refusals            # disabled and locked people are told why

What a relying party and a browser do, with a plain HTTPS client (stdlib
http.client, as tools/bench_webmail.py; no browser): the discovery document and
the JWKS; /oauth2/authorize with PKCE (S256), state and nonce -> the portal's
login form -> the person's address (or local part) and password posted -> the
redirect to the client's redirect URI with the code (never listened on: the code
is read from the Location) -> the code exchanged at /oauth2/token with the
client's secret and the PKCE verifier -> the ID token's RS256 signature checked
against the JWKS, and its iss, aud, exp, nonce and at_hash -> /oauth2/userinfo
with the access token. The claims are then compared with the person's entry in
the directory, read over LDAPS as the portal's service account (cn=sso): the
name with its diacritics, in NFC. Then the same client authorizes again with the
portal's cookie alone (already signed in: no password), the refresh token is
used once, and (first person) the portal must refuse an authorization without a
PKCE challenge, a wrong PKCE verifier, a code used twice and an unregistered
redirect URI.

Requests go to sso1's lab address with production's name
https://sso.soctrang.gov.vn for SNI, the Host header and the certificate,
verified against the lab CA (build/lab-secrets/ca/ca.crt). The client is the
lab inventory's lab-test-client, its secret in build/lab-secrets/sso/.

The portal's reasons (roles/sso, Soctrang::SSO::Portal): with --must-change, a
new password containing the person's own name is tried first, and the page must
show the province's reason for it (the table the webmail reads, as sso1 has it
installed) before a good one is accepted; with --refusals, a disabled person must
get the disabled text (refusals.json, Dovecot's) and a person locked by slapd
(five wrong passwords over LDAP first) PE21's text.

The people: the ordinary people of the lab's hand-over (tools/lab_smoke.py), from
the end of the list (the benchmarks use its beginning), each given the lab's test
password once by their own change (tools/bench_logins.py give_own_passwords).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import json
import re
import secrets
import sys
import time
import unicodedata
import urllib.parse
from dataclasses import dataclass, field
from html import unescape
from typing import Any

from ansible_collections.soctrang.mail.plugins.plugin_utils.sso_clients import CLAIMS
from bench_logins import SECRETS, Target, container_address
from bench_webmail import NamedHTTPS, Webmail, hidden_fields, updated_cookies
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SSO_CONTAINER = "sso1"
SSO_NAME = "sso.soctrang.gov.vn"  # soctrang_sso_host (group_vars/all/mail_domain.yml)
ISSUER = f"https://{SSO_NAME}"
CLIENT_ID = "lab-test-client"  # inventories/lab/group_vars/sso_servers.yml
REDIRECT_URI = "http://127.0.0.1:8765/callback"
CLIENT_SECRET_FILE = SECRETS / "sso" / f"client-{CLIENT_ID}"
CA_FILE = SECRETS / "ca" / "ca.crt"
SSO_SERVICE_PASSWORD_FILE = SECRETS / "ldap" / "sso"
SSO_SERVICE_DN = "cn=sso,ou=services,dc=soctrang,dc=gov,dc=vn"
COOKIE_NAME = "sso"  # sso_cookie_name
SCOPE = "openid email profile soctrang offline_access"
TIMEZONE_OFFSET = "7"  # what the login page's script sends from a browser in the province
# OIDC claim -> LDAP attribute, from the portal's own table (the lab client gets every claim).
CLAIM_ATTRIBUTES = {claim.oidc_claim: claim.ldap_attribute for claim in CLAIMS.values()}
_FORM = re.compile(r"<form\b[^>]*\bid=\"lform[^\"]*\"[^>]*>", re.IGNORECASE)
_ACTION = re.compile(r'\baction="([^"]*)"', re.IGNORECASE)
_ERROR = re.compile(r'<span[^>]*\btrmsg="(\d+)"', re.IGNORECASE)
# Soctrang::SSO::Portal's error box: trmsg="soctrang", its text in trOver (all.PEsoctrang).
_OUR_ERROR = re.compile(r'<span[^>]*\btrmsg="soctrang"', re.IGNORECASE)
_TROVER = re.compile(r'"trOver"\s*:\s*')
PORTAL_TABLES = "/etc/lemonldap-ng/soctrang"  # roles/sso vars: sso_key_dir


class FlowError(Exception):
    """The portal did not do what a relying party expects."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# ---------------------------------------------------------------- HTTP to the portal
@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    target: str

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError as error:
            raise FlowError(f"{self.target}: HTTP {self.status}, not JSON: {self.text[:200]}") from error


@dataclass
class Browser:
    """One browser's visits to the portal: a kept-alive connection and the portal's cookies."""

    portal: Webmail
    timeout: float = 60
    cookies: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.connection = NamedHTTPS(self.portal, self.timeout)

    def send(self, method: str, target: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Reply:
        sent = {
            "Host": self.portal.name,
            "User-Agent": "soctrang-sso-flow",
            "Accept-Encoding": "identity",
            "Accept-Language": "vi",
        } | (headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        try:
            self.connection.request(method, target, body, sent)
            response = self.connection.getresponse()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            # the server closed the kept-alive connection: a browser opens another
            self.connection.close()
            self.connection.request(method, target, body, sent)
            response = self.connection.getresponse()
        data = response.read()
        self.cookies = updated_cookies(self.cookies, response.headers.get_all("Set-Cookie") or [])
        return Reply(response.status, response.headers, data, target)

    def follow(self, method: str, target: str, body: bytes | None = None, content_type: str = "") -> Reply:
        """A request and the redirects that stay on the portal; a redirect elsewhere is returned."""
        for _ in range(8):
            reply = self.send(method, target, body, {"Content-Type": content_type} if content_type else None)
            location = reply.headers.get("Location")
            if reply.status not in (301, 302, 303, 307) or not location:
                return reply
            absolute = urllib.parse.urljoin(f"https://{self.portal.name}{target}", location)
            parts = urllib.parse.urlsplit(absolute)
            if parts.hostname != self.portal.name:
                return reply
            method, body, content_type = "GET", None, ""
            target = parts.path + (f"?{parts.query}" if parts.query else "")
        raise FlowError(f"{target}: too many redirects")

    def close(self) -> None:
        self.connection.close()


def lab_portal() -> Webmail:
    """sso1 by its lab address, with production's name for SNI, Host and the certificate."""
    return Webmail(container_address(SSO_CONTAINER), SSO_NAME, str(CA_FILE))


# ---------------------------------------------------------------- discovery and keys
@dataclass(frozen=True)
class Provider:
    discovery: dict[str, Any]
    keys: dict[str, rsa.RSAPublicKey]

    def path(self, endpoint: str) -> str:
        parts = urllib.parse.urlsplit(str(self.discovery[endpoint]))
        if parts.hostname != SSO_NAME:
            raise FlowError(f"discovery: {endpoint} {self.discovery[endpoint]} is not on {SSO_NAME}")
        return parts.path + (f"?{parts.query}" if parts.query else "")


def discover(browser: Browser) -> Provider:
    reply = browser.send("GET", "/.well-known/openid-configuration")
    if reply.status != 200:
        raise FlowError(f"discovery: HTTP {reply.status}")
    discovery = reply.json()
    if discovery.get("issuer") != ISSUER:
        raise FlowError(f"discovery: issuer {discovery.get('issuer')!r}, expected {ISSUER}")
    jwks = browser.send("GET", urllib.parse.urlsplit(discovery["jwks_uri"]).path).json()
    keys = {}
    for key in jwks.get("keys", []):
        if key.get("kty") == "RSA":
            numbers = rsa.RSAPublicNumbers(
                int.from_bytes(b64url_decode(key["e"]), "big"), int.from_bytes(b64url_decode(key["n"]), "big")
            )
            keys[key.get("kid", "")] = numbers.public_key()
    if not keys:
        raise FlowError("JWKS: no RSA key")
    return Provider(discovery, keys)


def verified_id_token(provider: Provider, token: str, *, nonce: str, access_token: str | None) -> dict[str, Any]:
    """The ID token's claims after its RS256 signature and its iss, aud, exp, nonce and at_hash are checked."""
    try:
        header_part, payload_part, signature_part = token.split(".")
        header = json.loads(b64url_decode(header_part))
        claims = json.loads(b64url_decode(payload_part))
    except ValueError as error:
        raise FlowError(f"id_token is not a JWS: {error}") from error
    if header.get("alg") != "RS256":
        raise FlowError(f"id_token alg {header.get('alg')!r}, expected RS256")
    key = provider.keys.get(header.get("kid", ""))
    if key is None:
        raise FlowError(f"id_token kid {header.get('kid')!r} is not in the JWKS ({', '.join(provider.keys)})")
    try:
        key.verify(
            b64url_decode(signature_part),
            f"{header_part}.{payload_part}".encode("ascii"),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except InvalidSignature as error:
        raise FlowError("id_token: the signature does not verify with the JWKS key") from error
    audience = claims.get("aud")
    problems = [
        f"iss {claims.get('iss')!r}" if claims.get("iss") != ISSUER else "",
        f"aud {audience!r}" if CLIENT_ID not in (audience if isinstance(audience, list) else [audience]) else "",
        f"exp {claims.get('exp')!r} (expired)"
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= time.time()
        else "",
        f"nonce {claims.get('nonce')!r}" if claims.get("nonce") != nonce else "",
    ]
    if access_token and "at_hash" in claims:
        expected = b64url(hashlib.sha256(access_token.encode("ascii")).digest()[:16])
        problems.append(f"at_hash {claims['at_hash']!r}, expected {expected}" if claims["at_hash"] != expected else "")
    problems = [problem for problem in problems if problem]
    if problems:
        raise FlowError("id_token: " + "; ".join(problems))
    return claims


# ---------------------------------------------------------------- the code flow
@dataclass
class Flow:
    """One authorization request of the test client: its PKCE verifier, state and nonce."""

    verifier: str = field(default_factory=lambda: b64url(secrets.token_bytes(32)))
    state: str = field(default_factory=lambda: secrets.token_hex(12))
    nonce: str = field(default_factory=lambda: secrets.token_hex(12))

    def authorize_target(self, provider: Provider) -> str:
        query = urllib.parse.urlencode(
            {
                "response_type": "code",
                "client_id": CLIENT_ID,
                "redirect_uri": REDIRECT_URI,
                "scope": SCOPE,
                "state": self.state,
                "nonce": self.nonce,
                "code_challenge_method": "S256",
                "code_challenge": b64url(hashlib.sha256(self.verifier.encode("ascii")).digest()),
            }
        )
        return f"{provider.path('authorization_endpoint')}?{query}"

    def code(self, reply: Reply) -> str:
        """The code of the redirect to the client, its state checked."""
        location = reply.headers.get("Location") or ""
        if reply.status not in (302, 303) or not location.startswith(REDIRECT_URI + "?"):
            said = _ERROR.search(reply.text)
            detail = f"portal message PE{said.group(1)}" if said else reply.text[:200]
            raise FlowError(f"no redirect to the client (HTTP {reply.status}, {detail})")
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
        if query.get("state") != [self.state]:
            raise FlowError(f"the redirect's state {query.get('state')} is not the request's")
        if "code" not in query:
            raise FlowError(f"the redirect has no code: {location}")
        return query["code"][0]


def client_secret() -> str:
    return CLIENT_SECRET_FILE.read_text(encoding="utf-8").strip()


def token_request(browser: Browser, provider: Provider, fields: dict[str, str]) -> dict[str, Any]:
    """A token endpoint call of the confidential client (client_secret_basic), on a connection of its own."""
    basic = base64.b64encode(f"{CLIENT_ID}:{client_secret()}".encode()).decode("ascii")
    backend = Browser(browser.portal)
    try:
        reply = backend.send(
            "POST",
            provider.path("token_endpoint"),
            urllib.parse.urlencode(fields).encode(),
            {"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Basic {basic}"},
        )
    finally:
        backend.close()
    answer = reply.json()
    if reply.status != 200:
        raise FlowError(f"token endpoint: HTTP {reply.status}: {answer}")
    return answer


def exchange(browser: Browser, provider: Provider, flow: Flow, code: str) -> dict[str, Any]:
    return token_request(
        browser,
        provider,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": flow.verifier,
        },
    )


def userinfo(browser: Browser, provider: Provider, access_token: str) -> dict[str, Any]:
    backend = Browser(browser.portal)
    try:
        reply = backend.send(
            "GET", provider.path("userinfo_endpoint"), None, {"Authorization": f"Bearer {access_token}"}
        )
    finally:
        backend.close()
    if reply.status != 200:
        raise FlowError(f"userinfo: HTTP {reply.status}: {reply.text[:200]}")
    return reply.json()


def sign_in(browser: Browser, provider: Provider, flow: Flow, user: str, password: str) -> Reply:
    """authorize -> the login form -> the form posted: the reply that redirects to the client."""
    target = flow.authorize_target(provider)
    page = browser.follow("GET", target)
    form_tag = _FORM.search(page.text)
    if page.status != 200 or form_tag is None:
        raise FlowError(f"authorize: no login form (HTTP {page.status}, {page.target})")
    action = unescape(_ACTION.search(form_tag.group(0)).group(1)) if _ACTION.search(form_tag.group(0)) else ""
    post_to = page.target if action in ("", "#") else action
    if post_to.startswith("http"):
        parts = urllib.parse.urlsplit(post_to)
        post_to = parts.path + (f"?{parts.query}" if parts.query else "")
    fields = hidden_fields(page.text) | {"user": user, "password": password, "timezone": TIMEZONE_OFFSET}
    return browser.follow("POST", post_to, urllib.parse.urlencode(fields).encode(), "application/x-www-form-urlencoded")


def post_form(browser: Browser, target: str, fields: dict[str, str]) -> Reply:
    return browser.send(
        "POST", target, urllib.parse.urlencode(fields).encode(), {"Content-Type": "application/x-www-form-urlencoded"}
    )


def portal_table(name: str) -> dict[str, Any]:
    """One of the plugin's JSON files as the role installed it in sso1."""
    from bench_logins import podman  # noqa: PLC0415

    return json.loads(podman("exec", SSO_CONTAINER, "cat", f"{PORTAL_TABLES}/{name}"))


def shown_reason(page: str) -> str | None:
    """The text of the portal's error box when our plugin filled it (HTML-unescaped), else None."""
    found = _TROVER.search(page)
    if not _OUR_ERROR.search(page) or found is None:
        return None
    trover, _ = json.JSONDecoder().raw_decode(page, found.end())
    text = (trover.get("all") or {}).get("PEsoctrang")
    return unescape(text) if isinstance(text, str) else None


def folded(text: str) -> str:
    """Vietnamese without its marks, as ppm compares a name (socNameAscii's folding)."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def own_name_password(mail: str) -> str:
    """A password that meets every class but holds the person's own (family or given) name."""
    names = directory_values(mail)
    words = [folded(word) for key in ("family_name", "given_name") for word in names.get(key, "").split()]
    return f"{max(words, key=len).capitalize()}@2026x"


def must_change_flow(  # noqa: PLR0917 - the flow's own steps, named at the call
    browser: Browser, provider: Provider, user: str, initial: str, new: str, refused: tuple[str, str] | None = None
) -> Result:
    """A person whose password must be changed (pwdReset: new, reset, or marked by the expiry job):
    the initial password -> the portal's change form (PE25) -> with `refused` (a password, the
    reason text it must get), that one first: refused with that text on the form again -> the
    new one, by the person's own change (PE35) -> signed in again with it -> the OIDC request
    goes on to the client."""
    started = time.perf_counter()
    flow = Flow()
    page = browser.follow("GET", flow.authorize_target(provider))
    if _FORM.search(page.text) is None:
        raise FlowError(f"authorize: no login form (HTTP {page.status})")
    form = hidden_fields(page.text) | {"user": user, "password": initial, "timezone": TIMEZONE_OFFSET}
    asked = post_form(browser, page.target, form)
    said = _ERROR.findall(asked.text)
    if said != ["25"] or 'id="formpass"' not in asked.text:
        raise FlowError(f"{user}: the initial password did not lead to the change form (PE{said})")
    if refused is not None:
        bad, reason = refused
        fields = hidden_fields(asked.text) | {"newpassword": bad, "confirmpassword": bad}
        again = post_form(browser, page.target, fields)
        shown = shown_reason(again.text)
        print(f"{user}: {bad!r} refused, the portal says: {shown}")
        if shown != reason:
            raise FlowError(f"{user}: the refusal of {bad!r} showed {shown!r}, the table says {reason!r}")
        if 'id="formpass"' not in again.text:
            raise FlowError(f"{user}: after the refusal the change form is gone")
        asked = again
    changed = post_form(browser, page.target, hidden_fields(asked.text) | {"newpassword": new, "confirmpassword": new})
    said = _ERROR.findall(changed.text)
    if said != ["35"]:
        raise FlowError(f"{user}: the new password was not accepted (PE{said})")
    form = hidden_fields(changed.text) | {"user": user, "password": new, "timezone": TIMEZONE_OFFSET}
    code = flow.code(
        browser.follow("POST", page.target, urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded")
    )
    tokens = exchange(browser, provider, flow, code)
    claims = verified_id_token(provider, tokens["id_token"], nonce=flow.nonce, access_token=tokens.get("access_token"))
    return Result(claims, userinfo(browser, provider, tokens["access_token"]), tokens, time.perf_counter() - started)


@dataclass
class Result:
    id_token: dict[str, Any]
    userinfo: dict[str, Any]
    tokens: dict[str, Any]
    seconds: float


def code_flow(browser: Browser, provider: Provider, user: str | None = None, password: str | None = None) -> Result:
    """A whole code flow: with a password (a login form), or without (the portal's cookie)."""
    started = time.perf_counter()
    flow = Flow()
    if user is None:
        reply = browser.follow("GET", flow.authorize_target(provider))
    else:
        reply = sign_in(browser, provider, flow, user, password or "")
    code = flow.code(reply)
    tokens = exchange(browser, provider, flow, code)
    claims = verified_id_token(provider, tokens["id_token"], nonce=flow.nonce, access_token=tokens.get("access_token"))
    info = userinfo(browser, provider, tokens["access_token"])
    return Result(claims, info, tokens, time.perf_counter() - started)


# ---------------------------------------------------------------- the directory's values
def directory_values(mail: str) -> dict[str, str]:
    """The person's attributes the claims come from, as the portal's service account reads them."""
    import ldap3  # noqa: PLC0415 - the controller's venv; the flow itself needs only the stdlib and cryptography
    from mailtest import Lab, ldap_server  # noqa: PLC0415

    lab = Lab.published_lab(str(CA_FILE))
    password = SSO_SERVICE_PASSWORD_FILE.read_text(encoding="utf-8").strip()
    with ldap3.Connection(ldap_server(lab), user=SSO_SERVICE_DN, password=password, auto_bind=True) as connection:
        connection.search(
            "ou=people,dc=soctrang,dc=gov,dc=vn",
            f"(mail={ldap3.utils.conv.escape_filter_chars(mail)})",
            attributes=sorted(set(CLAIM_ATTRIBUTES.values())),
        )
        if len(connection.entries) != 1:
            raise FlowError(f"{mail}: {len(connection.entries)} entries in the directory")
        entry = connection.entries[0].entry_attributes_as_dict
    return {claim: entry[attribute][0] for claim, attribute in CLAIM_ATTRIBUTES.items() if entry.get(attribute)}


def claim_problems(claims: dict[str, Any], expected: dict[str, str], where: str) -> list[str]:
    problems = []
    for claim in CLAIM_ATTRIBUTES:
        have, want = claims.get(claim), expected.get(claim)
        if have != want:
            problems.append(f"{where} {claim}: {have!r}, the directory has {want!r}")
        elif isinstance(have, str) and not unicodedata.is_normalized("NFC", have):
            problems.append(f"{where} {claim}: {have!r} is not NFC")
    return problems


# ---------------------------------------------------------------- the lab's people
def lab_people(count: int) -> dict[str, str]:
    """`count` ordinary people from the end of the hand-over's list, with their own test password."""
    from bench_logins import HANDOVER, give_own_passwords  # noqa: PLC0415
    from lab_smoke import lab_states, others_than_smoke  # noqa: PLC0415
    from mailtest import initial_passwords  # noqa: PLC0415

    initial = initial_passwords(HANDOVER, SECRETS / "handover-vault-password")
    people = others_than_smoke(initial, lab_states())[-count * 3 :]
    ldap = Target("127.0.0.1", 3636, "localhost", str(CA_FILE))
    given = give_own_passwords(people[::-1], initial, ldap)  # those ppm refuses are left out
    return dict(list(given.items())[:count])


def refusals(browser: Browser, provider: Provider) -> list[str]:
    """What the portal must refuse, for an already signed-in browser: no PKCE challenge, a wrong
    PKCE verifier, the code used twice, a redirect URI that is not registered. The problems found."""
    problems = []
    flow = Flow()
    unchallenged = re.sub(r"&code_challenge(_method)?=[^&]*", "", flow.authorize_target(provider))
    reply = browser.follow("GET", unchallenged)
    if (reply.headers.get("Location") or "").startswith(REDIRECT_URI + "?code="):
        problems.append("an authorization without code_challenge got a code (PKCE is required)")
    flow = Flow()
    code = flow.code(browser.follow("GET", flow.authorize_target(provider)))
    wrong = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": "x" * 43}
    try:
        token_request(browser, provider, wrong)
        problems.append("the token endpoint accepted a wrong code_verifier")
    except FlowError:
        pass
    flow = Flow()
    code = flow.code(browser.follow("GET", flow.authorize_target(provider)))
    exchange(browser, provider, flow, code)
    try:
        exchange(browser, provider, flow, code)
        problems.append("the token endpoint accepted a code twice")
    except FlowError:
        pass
    elsewhere = flow.authorize_target(provider).replace(
        urllib.parse.quote(REDIRECT_URI, safe=""), urllib.parse.quote("http://127.0.0.1:9999/elsewhere", safe="")
    )
    if browser.follow("GET", elsewhere).headers.get("Location"):
        problems.append("an unregistered redirect_uri was redirected to")
    return problems


def show(label: str, value: object) -> None:
    print(f"{label}: {json.dumps(value, ensure_ascii=False, sort_keys=True)}", flush=True)


def run(people: dict[str, str]) -> int:
    portal = lab_portal()
    failures = 0
    browser = Browser(portal)
    provider = discover(browser)
    browser.close()
    show(
        "discovery",
        {
            key: provider.discovery.get(key)
            for key in (
                "issuer",
                "authorization_endpoint",
                "token_endpoint",
                "userinfo_endpoint",
                "jwks_uri",
                "code_challenge_methods_supported",
                "id_token_signing_alg_values_supported",
                "grant_types_supported",
            )
        },
    )
    print(f"JWKS: {len(provider.keys)} RSA key(s), kid {', '.join(provider.keys)}")
    for position, (mail, password) in enumerate(people.items()):
        # The first by full address, the next by local part: both are logins.
        login = mail if position % 2 == 0 else mail.split("@", maxsplit=1)[0]
        browser = Browser(portal)
        try:
            first = code_flow(browser, provider, login, password)
            print(f"\n{mail}: signed in as {login!r}, code flow with password in {first.seconds * 1000:.0f} ms")
            show("  id_token", first.id_token)
            show("  userinfo", first.userinfo)
            expected = directory_values(mail)
            problems = claim_problems(first.userinfo, expected, "userinfo") + claim_problems(
                first.id_token, expected, "id_token"
            )
            if first.id_token.get("sub") != mail:
                problems.append(f"sub {first.id_token.get('sub')!r} is not the address")
            if COOKIE_NAME not in browser.cookies:
                problems.append(f"no {COOKIE_NAME} cookie after the sign-in")
            again = code_flow(browser, provider)
            print(
                f"  already signed in (cookie only, no password): code flow in {again.seconds * 1000:.0f} ms,"
                f" sub {again.id_token.get('sub')}"
            )
            if again.id_token.get("sub") != mail:
                problems.append(f"the cookie-only flow signed in {again.id_token.get('sub')!r}")
            refresh = first.tokens.get("refresh_token")
            if refresh:
                renewed = token_request(browser, provider, {"grant_type": "refresh_token", "refresh_token": refresh})
                print(f"  refresh token: new access token {'yes' if renewed.get('access_token') else 'NO'}")
            else:
                problems.append("no refresh token (offline_access was asked for)")
            if position == 0:
                refused = refusals(browser, provider)
                if not refused:
                    print("  refused: no PKCE challenge, a wrong verifier, a reused code, an unregistered redirect URI")
                problems += refused
            for problem in problems:
                print(f"  FAIL {problem}")
            if not problems:
                print("  claims equal the directory's (NFC)")
            failures += bool(problems)
        except (FlowError, OSError) as error:
            print(f"\n{mail}: FAIL {error}")
            failures += 1
        finally:
            browser.close()
    return 1 if failures else 0


def run_must_change() -> int:
    """The must-change path, for one person from the end of the list still on the initial password."""
    from bench_logins import HANDOVER  # noqa: PLC0415
    from lab_smoke import lab_states, others_than_smoke  # noqa: PLC0415
    from mailtest import Lab, initial_passwords, ldap_bind, new_password  # noqa: PLC0415

    initial = initial_passwords(HANDOVER, SECRETS / "handover-vault-password")
    lab = Lab.published_lab(str(CA_FILE))
    for mail in reversed(others_than_smoke(initial, lab_states())[-60:]):
        connection = ldap_bind(lab, mail.split("@", maxsplit=1)[0], initial[mail])
        if connection is not None:
            connection.unbind()
            break
    else:
        sys.exit("no person at the end of the list is still on the initial password")
    texts = portal_table("password-reasons.json")["reasons"]
    browser = Browser(lab_portal())
    try:
        provider = discover(browser)
        result = must_change_flow(
            browser,
            provider,
            mail,
            initial[mail],
            new_password(mail.split("@", maxsplit=1)[0]),
            refused=(own_name_password(mail), texts["personal_info"]),
        )
    except FlowError as error:
        print(f"{mail}: FAIL {error}")
        return 1
    finally:
        browser.close()
    print(
        f"{mail}: initial password -> change form (PE25) -> own name refused with its reason"
        " -> own change accepted (PE35) -> signed in again -> code,"
        f" in {result.seconds * 1000:.0f} ms; sub {result.id_token.get('sub')}"
    )
    problems = claim_problems(result.userinfo, directory_values(mail), "userinfo")
    for problem in problems:
        print(f"  FAIL {problem}")
    return 1 if problems else 0


def refused_sign_in(browser: Browser, provider: Provider, user: str, password: str) -> str | None:
    """The text the portal's error box shows for a sign-in (ours, or PE<n>'s code)."""
    reply = sign_in(browser, provider, Flow(), user, password)
    if reply.headers.get("Location", "").startswith(REDIRECT_URI):
        raise FlowError(f"{user}: signed in, not refused")
    return shown_reason(reply.text) or "PE" + ",".join(_ERROR.findall(reply.text))


def run_refusals() -> int:
    """A disabled person gets the disabled text; a person slapd has locked, PE21's (with the wait)."""
    from bench_logins import HANDOVER  # noqa: PLC0415
    from lab_smoke import lab_states, others_than_smoke  # noqa: PLC0415
    from mailtest import Lab, initial_passwords, ldap_bind  # noqa: PLC0415

    initial = initial_passwords(HANDOVER, SECRETS / "handover-vault-password")
    states = lab_states()
    lab = Lab.published_lab(str(CA_FILE))
    refusals_texts = portal_table("refusals.json")
    portal = lab_portal()
    failures = 0
    browser = Browser(portal)
    try:
        provider = discover(browser)
        disabled = str(states["disabled"])
        shown = refused_sign_in(browser, provider, disabled, initial.get(disabled, "Khoi-Tao#2026"))
        print(f"{disabled} (disabled): {shown}")
        if shown != refusals_texts["disabled"]:
            print(f"  FAIL the table says {refusals_texts['disabled']!r}")
            failures += 1
        # Locked by slapd: five wrong passwords over LDAP (ppolicy), then the right one at the
        # portal. The person is locked for the policy's minutes; the people at the end of the
        # list, well before the must-change flow's.
        locked = others_than_smoke(initial, states)[-80]
        for _ in range(6):
            ldap_bind(lab, locked.split("@", maxsplit=1)[0], "Sai-Mat-Khau#1")
        browser.close()
        browser = Browser(portal)
        page = sign_in(browser, provider, Flow(), locked, initial[locked])
        said = _ERROR.findall(page.text)
        found = _TROVER.search(page.text)
        trover = json.JSONDecoder().raw_decode(page.text, found.end())[0] if found else {}
        text = (trover.get("vi") or trover.get("all") or {}).get("PE21", "")
        print(f"{locked} (locked by slapd): PE{','.join(said)}: {text}")
        if said != ["21"] or " phút" not in text:
            print("  FAIL expected PE21, whose text says how many minutes to wait")
            failures += 1
    except FlowError as error:
        print(f"FAIL {error}")
        failures += 1
    finally:
        browser.close()
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=2, help="people from the end of the hand-over's list")
    parser.add_argument("--person", help="this address instead (with --password)")
    parser.add_argument("--password", help="the person's current password")
    parser.add_argument(
        "--must-change",
        action="store_true",
        help="instead: a person still on the initial password changes it in the portal (PE25 -> PE35 -> code)",
    )
    parser.add_argument(
        "--refusals", action="store_true", help="instead: a disabled and a locked person are refused with their reason"
    )
    arguments = parser.parse_args()
    if arguments.refusals:
        return run_refusals()
    if arguments.must_change:
        return run_must_change()
    if arguments.person:
        if not arguments.password:
            parser.error("--person needs --password")
        people = {arguments.person: arguments.password}
    else:
        people = lab_people(arguments.people)
    return run(people)


if __name__ == "__main__":
    sys.exit(main())
