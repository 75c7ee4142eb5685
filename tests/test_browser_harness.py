"""The browser harness (tools/browser.py) on a real Chromium against HTTPS servers of this test.

No container: the test makes two CAs with openssl (the lab's and a rogue one), serves
HTTPS from threads on 127.0.0.1 with a certificate of each for mail.soctrang.gov.vn, and
maps production's name there with the server's port, so the browser opens
https://mail.soctrang.gov.vn/ as in production. Nothing is skipped: on a machine without
Chromium these tests fail, saying to run tools/lab/host-deps.sh.

Screenshots land in build/test-browser-harness/ to be looked at.
"""

from __future__ import annotations

import http.server
import re
import ssl
import struct
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import browser
import pytest
from helpers import REPO
from selenium.webdriver.common.selenium_manager import SeleniumManager

NAME = "mail.soctrang.gov.vn"
URL = f"https://{NAME}/"
HEADING = "Hệ thống thư điện tử công vụ tỉnh Sóc Trăng"
GREETING = "Xin chào! Đăng nhập để đọc thư, đổi mật khẩu định kỳ."
PAGE = f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Thư điện tử - Sóc Trăng</title></head>
<body style="font-family: sans-serif; margin: 3em">
<h1>{HEADING}</h1><p id="greeting">{GREETING}</p><p id="hidden" style="display: none">Ẩn</p>
</body></html>
""".encode()
SCREENSHOTS = REPO / "build" / "test-browser-harness"


NEW_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
CA_OPTIONS = (
    "-days",
    "2",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign",
)


def openssl(*arguments: str | Path) -> None:
    command = ["openssl", *map(str, arguments)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, f"{' '.join(command)}: {completed.stderr}"


@dataclass(frozen=True)
class Authority:
    """A CA and the certificate it issued to NAME."""

    ca_file: Path
    server_certificate: Path
    server_key: Path


def make_authority(directory: Path, label: str) -> Authority:
    directory.mkdir()
    ca_key, ca_file = directory / "ca.key", directory / "ca.crt"
    key, request, certificate = directory / "server.key", directory / "server.csr", directory / "server.crt"
    extensions = directory / "server.ext"
    extensions.write_text(f"subjectAltName=DNS:{NAME}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n")
    openssl("req", "-x509", *NEW_KEY, "-keyout", ca_key, "-out", ca_file, "-subj", f"/CN={label}", *CA_OPTIONS)
    openssl("req", *NEW_KEY, "-keyout", key, "-out", request, "-subj", f"/CN={NAME}")
    signed_by_ca = ("-CA", ca_file, "-CAkey", ca_key, "-CAcreateserial", "-days", "1")
    openssl("x509", "-req", "-in", request, *signed_by_ca, "-extfile", extensions, "-out", certificate)
    return Authority(ca_file, certificate, key)


@dataclass
class Server:
    """An HTTPS server on 127.0.0.1 and the headers of the requests it answered."""

    port: int
    requests: list[dict[str, str]] = field(default_factory=list)

    @property
    def target(self) -> str:
        """What browser.chromium's hosts map a name to: the address with this server's port."""
        return f"127.0.0.1:{self.port}"


def serve(authority: Authority) -> Iterator[Server]:
    """PAGE over HTTPS with `authority`'s certificate for NAME, until the generator closes."""
    requests: list[dict[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(dict(self.headers.items()))
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)

        def log_message(self, *_: object) -> None:
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(authority.server_certificate, authority.server_key)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Server(server.server_address[1], requests)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def lab_ca(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    return make_authority(tmp_path_factory.mktemp("pki") / "lab", "Soc Trang lab CA (test)")


@pytest.fixture(scope="module")
def rogue_ca(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    return make_authority(tmp_path_factory.mktemp("pki") / "rogue", "Rogue CA (test)")


@pytest.fixture(scope="module")
def lab_server(lab_ca: Authority) -> Iterator[Server]:
    yield from serve(lab_ca)


@pytest.fixture(scope="module")
def rogue_server(rogue_ca: Authority) -> Iterator[Server]:
    yield from serve(rogue_ca)


@pytest.fixture(autouse=True)
def no_selenium_manager(monkeypatch: pytest.MonkeyPatch) -> None:
    """Selenium Manager (which downloads browsers and drivers) must never be asked anything."""

    def refuse(*_: object) -> dict[str, str]:
        raise AssertionError("Selenium Manager was called: tools/browser.py must give the driver's path")

    monkeypatch.setattr(SeleniumManager, "binary_paths", refuse)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n"), f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_trusted_site_opens_under_its_production_name_in_vietnamese(lab_ca: Authority, lab_server: Server) -> None:
    # webmail.soctrang.gov.vn reaches the same server, whose certificate is for mail.* only.
    hosts = {NAME: lab_server.target, "webmail.soctrang.gov.vn": lab_server.target}
    with browser.chromium(ca_file=lab_ca.ca_file, hosts=hosts) as driver:
        assert (
            driver.capabilities["browserVersion"].split(".")[0]
            == driver.capabilities["chrome"]["chromedriverVersion"].split(".")[0]
        ), "Chromium and ChromeDriver must be the same major version"

        browser.open_page(driver, URL)
        assert driver.current_url == URL
        assert browser.wait_visible(driver, "h1", text=HEADING).text == HEADING
        assert GREETING in browser.page_text(driver)
        assert driver.title == "Thư điện tử - Sóc Trăng"
        assert driver.execute_script("return navigator.languages") == ["vi-VN", "vi"]
        request = lab_server.requests[-1]
        assert request["Host"] == NAME  # no port: the URL's own, as in production
        assert request["Accept-Language"].startswith("vi-VN,vi")

        shot = browser.screenshot(driver, SCREENSHOTS, "01-trusted-site")
        assert shot == SCREENSHOTS / "01-trusted-site.png"
        assert png_size(shot)[0] == browser.WINDOW_SIZE[0]

        # The trust is in names too: the right CA, the wrong name.
        with pytest.raises(browser.PageError, match="ERR_CERT_COMMON_NAME_INVALID"):
            browser.open_page(driver, "https://webmail.soctrang.gov.vn/")
        # Names not given do not resolve, however real they are.
        with pytest.raises(browser.PageError, match="ERR_NAME_NOT_RESOLVED"):
            browser.open_page(driver, "https://sso.soctrang.gov.vn/")


@pytest.mark.parametrize(
    ("trusted", "server"),
    [("lab_ca", "rogue_server"), ("rogue_ca", "lab_server")],
    ids=["rogue-certificate", "lab-certificate-without-the-lab-ca"],
)
def test_a_certificate_from_another_ca_gets_chromiums_error_page(
    trusted: str, server: str, request: pytest.FixtureRequest
) -> None:
    ca: Authority = request.getfixturevalue(trusted)
    site: Server = request.getfixturevalue(server)
    with browser.chromium(ca_file=ca.ca_file, hosts={NAME: site.target}) as driver:
        answered = len(site.requests)
        with pytest.raises(browser.PageError, match=f"{URL}: Chromium's error page ERR_CERT_AUTHORITY_INVALID"):
            browser.open_page(driver, URL)
        assert browser.chromium_error(driver) == "ERR_CERT_AUTHORITY_INVALID"
        assert len(site.requests) == answered, "no request may reach a server whose certificate was refused"
        assert HEADING not in browser.page_text(driver)
        browser.screenshot(driver, SCREENSHOTS, f"02-refused-{server}")


def test_waiting_in_vain_says_what_was_awaited_and_what_is_there(lab_ca: Authority, lab_server: Server) -> None:
    with browser.chromium(ca_file=lab_ca.ca_file, hosts={NAME: lab_server.target}) as driver:
        browser.open_page(driver, URL)
        assert browser.chromium_error(driver) is None
        with pytest.raises(browser.PageTimeoutError) as missing:
            browser.wait_visible(driver, "#rcmloginuser", timeout=0.5)
        message = str(missing.value)
        assert "waited 0.5 s for a visible '#rcmloginuser'" in message
        assert URL in message
        assert "0 element(s) match" in message
        assert HEADING in message
        # Present but hidden is not visible.
        with pytest.raises(browser.PageTimeoutError, match="1 element"):
            browser.wait_visible(driver, "#hidden", timeout=0.5)
        # Decomposed input (as some keyboards send it) matches the page's composed text.
        browser.wait_visible(driver, "h1", text="Sóc Trăng".replace("ó", "o\u0301").replace("ă", "a\u0306"))


def test_missing_programs_fail_naming_the_script_to_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser, "PACKAGES", {Path("/nonexistent/chromium"): "chromium"})
    expected = r"/nonexistent/chromium \(chromium\); run `bash tools/lab/host-deps.sh`"
    with pytest.raises(browser.BrowserUnavailableError, match=expected):  # noqa: SIM117 - the raise is on entering
        with browser.chromium(ca_file=Path("/nonexistent/ca.crt"), hosts={NAME: "127.0.0.1"}):
            pass


def test_this_machine_has_the_browser() -> None:
    assert browser.missing_programs() == [], "run `bash tools/lab/host-deps.sh` as root"


@pytest.mark.parametrize(
    ("hosts", "rules"),
    [
        ({NAME: "10.89.0.12"}, f"MAP {NAME} 10.89.0.12, MAP * ~NOTFOUND"),
        (
            {NAME: "127.0.0.1:8443", "sso.soctrang.gov.vn": "127.0.0.1:9443"},
            f"MAP {NAME} 127.0.0.1:8443, MAP sso.soctrang.gov.vn 127.0.0.1:9443, MAP * ~NOTFOUND",
        ),
        ({NAME: "[fd00::12]:443"}, f"MAP {NAME} [fd00::12]:443, MAP * ~NOTFOUND"),
        ({NAME: "[fd00:0::12]"}, f"MAP {NAME} [fd00::12], MAP * ~NOTFOUND"),
    ],
)
def test_host_resolver_rules(hosts: dict[str, str], rules: str) -> None:
    assert browser.host_resolver_rules(hosts) == rules


@pytest.mark.parametrize(
    ("hosts", "problem"),
    [
        ({}, "at least one host"),
        ({"Mail.SocTrang.gov.vn": "10.89.0.12"}, "'Mail.SocTrang.gov.vn' is not a lower-case DNS host name"),
        ({"mail.soctrang.gov.vn, MAP *": "10.89.0.12"}, "is not a lower-case DNS host name"),
        ({NAME: "mail1"}, "'mail1' is not an IP address"),
        ({NAME: "10.89.0.300"}, "'10.89.0.300' is not an IP address"),
        ({NAME: "10.89.0.12:0"}, "'10.89.0.12:0' is not an IP address"),
        ({NAME: "10.89.0.12:65536"}, "'10.89.0.12:65536' is not an IP address"),
        ({NAME: "fd00::12"}, "'fd00::12' is not an IP address"),
        ({NAME: 443}, "443 is not a string"),
    ],
)
def test_host_resolver_rules_refuse(hosts: dict[str, str], problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        browser.host_resolver_rules(hosts)


@pytest.mark.parametrize("step_name", ["", "../login", "a/b", ".hidden", "đăng nhập"])
def test_screenshot_names_are_plain(step_name: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="step name"):
        browser.screenshot(None, tmp_path, step_name)  # type: ignore[arg-type]
    assert not list(tmp_path.iterdir())
