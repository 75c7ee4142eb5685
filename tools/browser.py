"""Headless Chromium for the webmail's browser tests: the pages as a user in Sóc Trăng sees them.

    from browser import chromium, open_page, screenshot, wait_visible

    hosts = {"mail.soctrang.gov.vn": "10.89.0.12"}  # the lab container, port 443
    with chromium(ca_file=Path("build/lab-secrets/ca/ca.crt"), hosts=hosts) as driver:
        open_page(driver, "https://mail.soctrang.gov.vn/")
        wait_visible(driver, "#rcmloginuser")
        screenshot(driver, Path("build/browser/webmail"), "01-login")

Debian's `chromium` and `chromium-driver` (tools/lab/host-deps.sh) driven by the pinned
`selenium` (requirements.txt). The driver's path is given, so Selenium Manager never runs
and nothing is ever downloaded.

Each browser gets a throw-away HOME holding its profile and its NSS certificate database,
in which the one CA file given is the only added trust anchor: certificates are really
verified (names, chain, dates), as they are for the province's users, and a certificate
from any other CA gets Chromium's error page. Production's host names are mapped to the
given addresses by Chromium's own resolver (`--host-resolver-rules`), so URLs, cookies,
TLS server names and certificates carry production's names; every other name fails to
resolve, so a test can reach nothing but the servers it names. The browser speaks
Vietnamese to the sites: `Accept-Language: vi-VN,vi`, `navigator.languages` the same;
its UI language is `vi` too, which shows on Chromium's own pages (error pages, form
validation bubbles) only where Debian's `chromium-l10n` is installed.

`open_page` fails on Chromium's own error pages (a refused certificate, an unknown
name), which WebDriver itself reports as a successful page load for certificates.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import subprocess
import tempfile
import unicodedata
from collections.abc import Iterator, Mapping
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import (
    SessionNotCreatedException,
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CERTUTIL = Path("/usr/bin/certutil")
# Which Debian package brings each program, for the message when one is missing.
PACKAGES = {CHROMIUM: "chromium", CHROMEDRIVER: "chromium-driver", CERTUTIL: "libnss3-tools"}

LANGUAGE = "vi"
ACCEPT_LANGUAGES = "vi-VN,vi"
WINDOW_SIZE = (1366, 900)
CA_NICKNAME = "lab-ca"
PAGE_LOAD_SECONDS = 30

# Selenium Manager is never called while the driver's path is given (DriverFinder); should
# that ever change, it would still neither download anything nor report usage statistics.
SELENIUM_MANAGER_ENVIRONMENT = {"SE_OFFLINE": "true", "SE_AVOID_STATS": "true"}

_HOST_NAME = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*")
_TARGET = re.compile(r"\[(?P<v6>[0-9a-fA-F:.]+)\](:(?P<v6port>\d+))?|(?P<v4>[0-9.]+)(:(?P<v4port>\d+))?")
_STEP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_NET_ERROR = re.compile(r"(?:net::)?(ERR_[A-Z0-9_]+)")
# Not the site's fault: an interface of this machine changed during the load (podman).
NETWORK_CHANGED = "ERR_NETWORK_CHANGED"


class BrowserUnavailableError(RuntimeError):
    """Chromium, its driver or certutil is missing or does not start."""


class PageError(AssertionError):
    """The page is not what the test expects: Chromium's error page instead of the site."""


class PageTimeoutError(PageError):
    """What a test waited for did not appear on the page in time."""


def missing_programs() -> list[str]:
    """The programs this module needs that are not installed, with their Debian packages."""
    return [f"{program} ({package})" for program, package in PACKAGES.items() if not os.access(program, os.X_OK)]


def _require_programs() -> None:
    if missing := missing_programs():
        raise BrowserUnavailableError(
            f"not installed: {', '.join(missing)}; run `bash tools/lab/host-deps.sh` (or `make host-deps`) as root"
        )


def _target(name: str, target: str) -> str:
    """`target` as Chromium writes a replacement host: an address, optionally `:port`."""
    match = _TARGET.fullmatch(target)
    address, port = (match["v6"] or match["v4"], match["v6port"] or match["v4port"]) if match else ("", None)
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        parsed = None
    if parsed is None or (port is not None and not 0 < int(port) < 65536):
        examples = "10.89.0.12, 127.0.0.1:8443, [::1]:8443"
        raise ValueError(f"host {name!r}: {target!r} is not an IP address with an optional port ({examples})")
    host = f"[{parsed}]" if parsed.version == 6 else str(parsed)
    return f"{host}:{port}" if port else host


def host_resolver_rules(hosts: Mapping[str, str]) -> str:
    """The `--host-resolver-rules` value: each name to its address, every other name unresolved.

    >>> host_resolver_rules({"mail.soctrang.gov.vn": "10.89.0.12"})
    'MAP mail.soctrang.gov.vn 10.89.0.12, MAP * ~NOTFOUND'

    A port after the address (`127.0.0.1:8443`) replaces the URL's port, so that
    https://mail.soctrang.gov.vn/ reaches a server listening on another port. Addresses
    in URLs (https://127.0.0.1/) do not resolve either: name every server.
    """
    if not hosts:
        raise ValueError("hosts: give at least one host name and its address")
    rules = []
    for name, target in hosts.items():
        if not isinstance(name, str) or not _HOST_NAME.fullmatch(name):
            raise ValueError(f"hosts: {name!r} is not a lower-case DNS host name")
        if not isinstance(target, str):
            raise ValueError(f"host {name!r}: {target!r} is not a string")
        rules.append(f"MAP {name} {_target(name, target)}")
    return ", ".join([*rules, "MAP * ~NOTFOUND"])


def _run(command: list[str]) -> None:
    completed = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - argv built here, no shell
    if completed.returncode:
        raise BrowserUnavailableError(f"{' '.join(command)} failed: {(completed.stderr or completed.stdout).strip()}")


def trust_ca(home: Path, ca_file: Path) -> None:
    """Make `ca_file` the trusted CA of the NSS database Chromium reads in `home` (~/.pki/nssdb)."""
    if not ca_file.is_file():
        raise BrowserUnavailableError(f"CA certificate {ca_file} does not exist")
    database = home / ".pki" / "nssdb"
    database.mkdir(parents=True, mode=0o700)
    _run([str(CERTUTIL), "-N", "-d", f"sql:{database}", "--empty-password"])
    # C,,: a CA trusted to issue server certificates; nothing for mail or code signing.
    _run([str(CERTUTIL), "-A", "-d", f"sql:{database}", "-t", "C,,", "-n", CA_NICKNAME, "-i", str(ca_file)])


def _options(home: Path, rules: str, window_size: tuple[int, int]) -> webdriver.ChromeOptions:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    options.accept_insecure_certs = False
    width, height = window_size
    for argument in (
        "--headless",
        f"--user-data-dir={home / 'profile'}",
        f"--host-resolver-rules={rules}",
        # A proxy from the environment would resolve the names itself, bypassing the rules.
        "--no-proxy-server",
        f"--lang={LANGUAGE}",
        f"--window-size={width},{height}",
        "--disable-dev-shm-usage",
        *(["--no-sandbox"] if os.geteuid() == 0 else []),  # Chromium's sandbox refuses root
    ):
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs",
        {
            "intl.accept_languages": ACCEPT_LANGUAGES,
            # No password bubbles over the webmail's login form in screenshots.
            "credentials_enable_service": False,
            "profile.password_manager_enabled": False,
        },
    )
    return options


@contextlib.contextmanager
def chromium(
    *, ca_file: Path, hosts: Mapping[str, str], window_size: tuple[int, int] = WINDOW_SIZE
) -> Iterator[webdriver.Chrome]:
    """A headless Chromium trusting `ca_file` and resolving only `hosts` (name -> address[:port]).

    `ca_file` is the one CA added to Chromium's built-in public roots, which can sign
    nothing here: no name outside `hosts` resolves.

    Everything it writes (profile, certificate database, driver log) lives in a temporary
    HOME removed on exit. Raises BrowserUnavailableError, naming what to install, when a
    program is missing or the browser does not start.
    """
    _require_programs()
    # Selenium takes the driver from this variable over the path given to it.
    if (driver_override := os.environ.get("SE_CHROMEDRIVER", str(CHROMEDRIVER))) != str(CHROMEDRIVER):
        raise BrowserUnavailableError(f"SE_CHROMEDRIVER={driver_override} would replace {CHROMEDRIVER}: unset it")
    rules = host_resolver_rules(hosts)
    os.environ.update(SELENIUM_MANAGER_ENVIRONMENT)
    with tempfile.TemporaryDirectory(prefix="soctrang-browser-", ignore_cleanup_errors=True) as temporary:
        home = Path(temporary)
        trust_ca(home, Path(ca_file))
        log = home / "chromedriver.log"
        # Chromium inherits the driver's environment: its HOME holds the NSS database, and
        # LANGUAGE is what Chromium on Linux reads for its UI language besides --lang.
        environment = {
            **os.environ,
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "LANGUAGE": LANGUAGE,
        }
        service = Service(executable_path=str(CHROMEDRIVER), env=environment, log_output=str(log))
        try:
            driver = webdriver.Chrome(service=service, options=_options(home, rules, window_size))
        except SessionNotCreatedException as error:
            tail = log.read_text(errors="replace").splitlines()[-15:] if log.exists() else []
            raise BrowserUnavailableError(f"Chromium did not start: {error.msg}\n" + "\n".join(tail)) from error
        try:
            driver.set_page_load_timeout(PAGE_LOAD_SECONDS)
            yield driver
        finally:
            driver.quit()


def chromium_error(driver: webdriver.Chrome) -> str | None:
    """The network error code (`ERR_CERT_AUTHORITY_INVALID`) when Chromium shows its own error page."""
    # Both the certificate interstitial and the network error page show the code in an
    # element of class error-code ("net::ERR_CERT_…", "ERR_NAME_NOT_RESOLVED").
    shown = driver.execute_script(
        "const code = document.querySelector('.error-code'); return code ? code.textContent.trim() : null;"
    )
    match = _NET_ERROR.fullmatch(shown or "")
    return match[1] if match else None


def open_page(driver: webdriver.Chrome, url: str) -> None:
    """Load `url`; PageError naming Chromium's error code when the site is not what loaded.

    One error is loaded again instead: ERR_NETWORK_CHANGED, which Chromium shows when an
    interface of this machine comes or goes meanwhile (a container starting, say).
    """
    try:
        driver.get(url)
        if chromium_error(driver) == NETWORK_CHANGED:
            driver.get(url)
    except WebDriverException as error:
        # A name that does not resolve or a refused connection: "unknown error: net::ERR_…".
        if (code := chromium_error(driver)) is None:
            raise
        raise PageError(f"{url}: Chromium's error page {code} ({error.msg.splitlines()[0]})") from None
    if (code := chromium_error(driver)) is not None:
        raise PageError(f"{url}: Chromium's error page {code} instead of the site (title {driver.title!r})")


def page_text(driver: webdriver.Chrome) -> str:
    """The page's visible text, NFC-normalised (pages may send decomposed Vietnamese)."""
    return unicodedata.normalize("NFC", driver.find_element(By.TAG_NAME, "body").text)


def wait_visible(driver: webdriver.Chrome, css: str, *, text: str | None = None, timeout: float = 10.0) -> WebElement:
    """The first visible element matching `css` (and containing `text`, compared in NFC).

    Chromium's ERR_NETWORK_CHANGED page is reloaded while waiting (see open_page).

    Raises PageTimeoutError after `timeout` seconds, saying where the browser is and what it
    found instead.
    """
    wanted = unicodedata.normalize("NFC", text) if text is not None else None

    def found(_: object) -> WebElement | bool:
        if chromium_error(driver) == NETWORK_CHANGED:
            driver.refresh()  # as a person would: the page, loaded again
            return False
        for element in driver.find_elements(By.CSS_SELECTOR, css):
            if element.is_displayed() and (wanted is None or wanted in unicodedata.normalize("NFC", element.text)):
                return element
        return False

    try:
        return WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(found)
    except TimeoutException:
        matching = driver.find_elements(By.CSS_SELECTOR, css)
        visible = [element.text[:80] for element in matching if element.is_displayed()]
        what = f"a visible {css!r}" + (f" containing {text!r}" if text is not None else "")
        code = chromium_error(driver)
        where = f"Chromium's error page {code} for {driver.current_url}" if code else driver.current_url
        raise PageTimeoutError(
            f"waited {timeout:g} s for {what} on {where} (title {driver.title!r}): "
            f"{len(matching)} element(s) match {css!r}, visible texts {visible!r}; "
            f"the page reads {page_text(driver)[:300]!r}"
        ) from None


def screenshot(driver: webdriver.Chrome, directory: Path, step_name: str) -> Path:
    """Save the window as `directory/<step_name>.png` (directory made when missing); its path."""
    if not _STEP_NAME.fullmatch(step_name):
        raise ValueError(f"screenshot: step name {step_name!r} is not letters, digits, '.', '_' or '-'")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{step_name}.png"
    path.write_bytes(driver.get_screenshot_as_png())
    return path
