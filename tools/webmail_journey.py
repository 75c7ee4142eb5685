#!/usr/bin/env python3
"""A civil servant's first visit to the webmail, in a real browser, against the lab.

    make lab-browser        (or: .venv/bin/python tools/webmail_journey.py)

Headless Chromium (tools/browser.py) opens https://mail.soctrang.gov.vn/ - the
production name, mapped to the lab's webmail1 container, its certificate
verified against the lab CA - and goes through what a person does on the first
day, each step checked on what the page shows, with a screenshot under
build/webmail-journey/:

1. log in with the initial password of the hand-over: only the password page
   opens, and another page asked for leads back to it;
2. a too short password, then one with the person's own name, are refused, each
   with its Vietnamese reason from the directory; a good one is accepted;
3. log out, log in with the new password: the INBOX shows the welcome message;
4. find a colleague in the province's address book by the name typed without
   diacritics (their unit and position shown), write to them with a file 1 MiB
   under Điều 7's limit, and see it arrive in their INBOX over IMAP;
5. the recipient field proposes the colleague from the name typed without
   diacritics; a file 1 MiB over the limit is refused in Vietnamese before it
   is uploaded;
6. "Báo thư nghi ngờ" on a message from outside: it is in Junk, and one report
   of it is in xulythurac@, where a manager of that mailbox reads it;
7. a unit's manager sees the unit's mailbox in the folder list, opens it, and
   sends as the unit (the identity the directory's send-as gives);
then the lab's two due passwords: the one in its warning window shows the date
   it expires, the expired one gets the password page, told why;
8. a disabled person and a locked one cannot log in, and are told why.

The person of steps 1-3 is one of the hand-over whom make lab-smoke and the
benchmarks do not use; when an earlier run changed their password, the
operators' reset (a new password that must be changed, as Điều 8.2.đ has it)
puts them back at step 1. Prints one line per step; exits non-zero when one fails.
"""

from __future__ import annotations

import argparse
import contextlib
import email.header
import imaplib
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from bench_logins import container_address
from browser import chromium, open_page, page_text, screenshot, wait_visible
from lab_smoke import (
    MIB,
    REPOSITORY,
    SECRETS,
    attachment_limit_bytes,
    lab_desired_state,
    lab_states,
    others_than_smoke,
)
from mailtest import (
    Lab,
    NamedSMTP,
    ensure_own_password,
    imap_login,
    initial_passwords,
    ldap_bind,
    quoted,
    simple_message,
    user_dn,
    wait_for_subject,
)
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

WEBMAIL = "https://mail.soctrang.gov.vn"
SHOTS = REPOSITORY / "build" / "webmail-journey"
LOCK_AFTER = 5  # ppolicy's lockout_failures (group_vars/all/password_policy.yml)
REPORT_DESK = "xulythurac"  # Điều 9.4's mailbox (soctrang_reserved_local_parts)
ADDRESS_BOOK = "soctrang"  # the province's address book ($config['ldap_public'] of roles/webmail)
LAB = Lab.published_lab(str(SECRETS / "ca" / "ca.crt"))
FILES = REPOSITORY / "build" / "webmail-journey-files"


def attachment_file(size: int) -> Path:
    """A file of `size` random bytes (nothing on the way can compress it), made once."""
    path = FILES / f"bao-cao-{size}.pdf"
    if not path.exists() or path.stat().st_size != size:
        FILES.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            for _ in range(size // MIB):
                out.write(secrets.token_bytes(MIB))
            out.write(secrets.token_bytes(size % MIB))
    return path


@contextlib.contextmanager
def searched(
    user: str, password: str, mailbox: str, key: str, text: str
) -> Iterator[tuple[imaplib.IMAP4, list[bytes]]]:
    """The session, `mailbox` selected read-only, and its messages whose `key` (SUBJECT, TEXT) holds `text`."""
    imap = imap_login(LAB, user, password)
    try:
        status, _ = imap.select(quoted(mailbox), readonly=True)
        assert status == "OK", f"cannot select {mailbox}"
        imap.literal = text.encode()
        _, found = imap.search("UTF-8", key)
        yield imap, found[0].split()
    finally:
        imap.logout()


def message_size(user: str, password: str, subject: str) -> int:
    with searched(user, password, "INBOX", "SUBJECT", subject) as (imap, numbers):
        _, data = imap.fetch(numbers[-1], "(RFC822.SIZE)")
        return int(data[0].split(b"RFC822.SIZE ")[1].rstrip(b")"))


def header_of(user: str, password: str, subject: str, header: str) -> str:
    with searched(user, password, "INBOX", "SUBJECT", subject) as (imap, numbers):
        _, data = imap.fetch(numbers[-1], f"(BODY.PEEK[HEADER.FIELDS ({header})])")
        return data[0][1].decode().split(":", 1)[1].strip()


def count_containing(user: str, password: str, mailbox: str, text: str) -> int:
    """Messages of `mailbox` whose text holds `text` (a report quotes the original's subject)."""
    with searched(user, password, mailbox, "TEXT", text) as (_, numbers):
        return len(numbers)


def as_directory_root(ldif: str) -> None:
    """The operators' change over ldapi on the directory host (outside the policy)."""
    subprocess.run(
        ["podman", "exec", "-i", "ldap1", "ldapmodify", "-Q", "-Y", "EXTERNAL", "-H", "ldapi:///", "-e", "relax"],  # noqa: S607
        input=ldif,
        text=True,
        check=True,
        capture_output=True,
    )


def journey_people(initial: dict[str, str]) -> tuple[str, str, str]:
    """The journey's person, a password of theirs that must be changed (the initial
    one, or an operators' reset), and the person step 8 locks out."""
    # From the end of the people make lab-smoke and the benchmarks leave alone.
    people = others_than_smoke(initial, lab_states())
    person, locked = people[-1], people[-2]
    lab = Lab.published_lab(str(SECRETS / "ca" / "ca.crt"))
    connection = ldap_bind(lab, person.split("@", maxsplit=1)[0], initial[person])
    if connection is not None:
        connection.unbind()
        return person, initial[person], locked
    reset = "Cap#Lai-" + secrets.token_hex(4)
    dn = user_dn(person.split("@", maxsplit=1)[0])
    as_directory_root(f"dn: {dn}\nchangetype: modify\nreplace: userPassword\nuserPassword: {reset}\n")
    as_directory_root(f"dn: {dn}\nchangetype: modify\nreplace: pwdReset\npwdReset: TRUE\n")
    return person, reset, locked


class Journey:
    def __init__(self, driver: WebDriver, person: str, password: str) -> None:
        self.driver, self.person, self.password = driver, person, password
        self.local_part = person.split("@", maxsplit=1)[0]

    def log_out(self) -> None:
        """As the user does: the "Thoát" button, when a session is open."""
        buttons = self.driver.find_elements(By.CSS_SELECTOR, "a.logout")
        if buttons and buttons[0].is_displayed():
            buttons[0].click()
            wait_visible(self.driver, "#rcmloginuser", timeout=20)

    def log_in(self, user: str, password: str) -> None:
        self.log_out()
        open_page(self.driver, f"{WEBMAIL}/")
        wait_visible(self.driver, "#rcmloginuser").send_keys(user)
        self.driver.find_element(By.ID, "rcmloginpwd").send_keys(password)
        self.driver.find_element(By.ID, "rcmloginsubmit").click()

    def wait_for_text(self, text: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.text_now():
            if time.monotonic() > deadline:
                raise AssertionError(f"'{text}' not on {self.driver.current_url}: {self.text_now()[:600]}")
            time.sleep(0.3)

    def text_now(self) -> str:
        """The page's text, or "" while a new page replaces it."""
        try:
            return page_text(self.driver)
        except WebDriverException:
            return ""

    def wait_until_idle(self, timeout: float = 20) -> None:
        """Until Roundcube has finished its request (rcmail.busy): a command given meanwhile is dropped."""
        deadline = time.monotonic() + timeout
        while self.driver.execute_script("return rcmail.busy"):
            assert time.monotonic() < deadline, f"Roundcube still busy after {timeout} s on {self.driver.current_url}"
            time.sleep(0.2)

    def on_password_page(self) -> bool:
        return "plugin.password" in self.driver.current_url

    def step1_initial_password_opens_only_that(self) -> str:
        self.log_in(self.person, self.password)
        wait_visible(self.driver, "#newpasswd", timeout=20)
        screenshot(self.driver, SHOTS, "01-must-change")
        open_page(self.driver, f"{WEBMAIL}/?_task=mail&_mbox=INBOX")
        wait_visible(self.driver, "#newpasswd", timeout=20)
        assert self.on_password_page(), self.driver.current_url
        return f"{self.person}: only the password page, the INBOX leads back to it"

    def change(self, new: str) -> None:
        for field, value in (("curpasswd", self.password), ("newpasswd", new), ("confpasswd", new)):
            element = wait_visible(self.driver, f"#{field}")
            element.clear()
            element.send_keys(value)
        self.driver.find_element(By.CSS_SELECTOR, "button.mainaction, input.mainaction").click()

    def step2_the_directory_says_why(self) -> str:
        self.change("Ab#1")
        self.wait_for_text("ít nhất 8 ký tự")
        screenshot(self.driver, SHOTS, "02a-too-short")
        # The person's own local part in it (Điều 8.1.c).
        self.change(f"{self.local_part.capitalize()}#2026x")
        self.wait_for_text("không được chứa")
        screenshot(self.driver, SHOTS, "02b-own-name")
        # New at every run (history), digits only after the prefix (no piece of a name).
        good = f"Lab#Moi-{secrets.randbelow(10**8):08d}"
        self.change(good)
        self.wait_for_text("thành công")
        screenshot(self.driver, SHOTS, "02c-changed")
        self.password = good
        return "too short and own name refused with their reasons; a good password accepted"

    def step3_the_welcome_message(self) -> str:
        self.log_in(self.person, self.password)
        wait_visible(self.driver, "#messagelist", timeout=30)
        self.wait_for_text("Chào mừng")
        screenshot(self.driver, SHOTS, "03-inbox")
        return "logged in with the new password; the INBOX shows the welcome message"

    # ------------------------------------------------------------ writing, with attachments
    def step4_address_book_and_the_largest_attachment(self, colleague: dict, colleague_password: str) -> str:
        """Found without diacritics in the province's address book, written to with a file just under Điều 7's limit."""
        open_page(self.driver, f"{WEBMAIL}/?_task=addressbook")
        wait_visible(self.driver, f'#directorylist a[rel="{ADDRESS_BOOK}"]', timeout=20).click()
        wait_visible(self.driver, "#contacts-table tr", timeout=20)  # its first page is listed
        search = wait_visible(self.driver, "#searchform")
        search.clear()
        search.send_keys(colleague["name_ascii"] + Keys.ENTER)
        wait_visible(self.driver, "#contacts-table tr", text=colleague["name"], timeout=20).click()
        self.driver.switch_to.frame(wait_visible(self.driver, "#contact-frame", timeout=20))
        try:
            # Name, address, unit and position (the GAL of Điều 2.2).
            for shown in (colleague["name"], colleague["mail"], colleague["unit_name"], colleague["position"]):
                if shown:
                    self.wait_for_text(shown)
        finally:
            self.driver.switch_to.default_content()
        screenshot(self.driver, SHOTS, "04a-address-book")
        wait_visible(self.driver, "#taskmenu a.compose").click()  # to the selected contact
        wait_visible(self.driver, "#compose_to .recipient", text=colleague["mail"], timeout=20)
        size = attachment_limit_bytes() - MIB
        subject = f"Báo cáo kèm tệp {size // MIB} MiB {secrets.token_hex(3)}"
        started = time.monotonic()
        self.attach(attachment_file(size))
        # Listed with its size once uploaded (while uploading, the item has class "uploading").
        wait_visible(self.driver, "#attachment-list li:not(.uploading) .attachment-size", timeout=180)
        screenshot(self.driver, SHOTS, "04b-attached")
        self.write_and_send(subject, "Kính gửi anh/chị bản báo cáo đính kèm.")
        sent = time.monotonic() - started
        wait_for_subject(LAB, colleague["mail"], colleague_password, subject, seconds=120)
        arrived = message_size(colleague["mail"], colleague_password, subject)
        assert arrived > size, f"{arrived} bytes arrived, the file alone has {size}"
        return (
            f"found '{colleague['name']}' as '{colleague['name_ascii']}'; {size // MIB} MiB attached and sent in "
            f"{sent:.1f} s, in {colleague['mail']}'s INBOX over IMAP ({arrived / MIB:.1f} MiB)"
        )

    def attach(self, path: Path) -> None:
        # The compose form's file input (hidden behind "Đính kèm"); Chromium uploads what it is given.
        self.driver.find_element(By.ID, "uploadformInput").send_keys(str(path))

    def write_and_send(self, subject: str, body: str) -> None:
        wait_visible(self.driver, "#compose-subject").send_keys(subject)
        wait_visible(self.driver, "#composebody").send_keys(body)
        self.wait_until_idle()
        wait_visible(self.driver, "button.send").click()
        # Sent: Roundcube leaves the compose screen for the message list.
        wait_visible(self.driver, "#messagelist", timeout=180)

    def step5_over_the_limit_is_refused_before_upload(self, colleague: dict) -> str:
        open_page(self.driver, f"{WEBMAIL}/?_task=mail&_action=compose")
        # The recipient field proposes the colleague from the name typed without diacritics, too.
        wait_visible(self.driver, "#compose_to input", timeout=20).send_keys(colleague["name_ascii"])
        wait_visible(self.driver, "#rcmKSearchpane li", text=colleague["name"], timeout=20).click()
        size = attachment_limit_bytes() + MIB
        self.attach(attachment_file(size))
        self.wait_for_text("vượt quá dung lượng tối đa")
        screenshot(self.driver, SHOTS, "05-too-large")
        uploads = self.driver.find_elements(By.CSS_SELECTOR, "#attachment-list li")
        assert not uploads, f"{len(uploads)} uploads began: {[u.text for u in uploads]}"
        proposed = f"'{colleague['name_ascii']}' proposes {colleague['mail']}"
        return f"{proposed}; a {size // MIB} MiB file is refused in Vietnamese, nothing uploaded"

    # ------------------------------------------------------------ Điều 9.4 and Điều 12
    def step6_report_a_suspicious_message(self, desk: str, desk_manager: str, manager_password: str) -> str:
        subject = f"Cập nhật mật khẩu ngay {secrets.token_hex(3)}"
        # From outside, as such messages come: port 25 of the lab's MTA.
        message = simple_message(
            "canhbao@ngan-hang-gia.example", self.person, subject, "Bấm vào liên kết để giữ tài khoản."
        )
        with NamedSMTP(LAB, LAB.smtp_port) as smtp:
            smtp.send_message(message)
        wait_for_subject(LAB, self.person, self.password, subject)
        open_page(self.driver, f"{WEBMAIL}/?_task=mail&_mbox=INBOX")
        wait_visible(self.driver, "#messagelist tr", text=subject, timeout=30).click()
        # Enabled once the message is selected; Roundcube ignores commands while it loads the preview.
        button = wait_visible(self.driver, "a.junk:not(.disabled)", text="Báo thư nghi ngờ", timeout=20)
        self.wait_until_idle()
        button.click()
        self.wait_for_text("Đã báo thư nghi ngờ")
        screenshot(self.driver, SHOTS, "06-reported")
        wait_for_subject(LAB, self.person, self.password, subject, mailbox="Junk")
        # The desk's managers read the report in the desk's mailbox (shared/<desk>).
        deadline = time.monotonic() + 60
        while not count_containing(desk_manager, manager_password, f"shared/{desk}", subject):
            assert time.monotonic() < deadline, f"no report of '{subject}' in {desk} after 60 s"
            time.sleep(1)
        time.sleep(3)  # a second report would come as fast as the first
        reports = count_containing(desk_manager, manager_password, f"shared/{desk}", subject)
        assert reports == 1, f"{reports} reports of '{subject}' reached {desk}"
        return f"moved to Junk; one report reached {desk}, read there by {desk_manager}"

    def step7_manager_sends_as_the_unit(self, unit: str, unit_name: str, manager: str, manager_password: str) -> str:
        self.log_in(manager, manager_password)
        # The unit's mailbox is in the manager's folder list, by the unit's name under
        # the delegated mailboxes' heading; it opens.
        wait_visible(self.driver, "#mailboxlist li a", text="Hộp thư được giao quản lý", timeout=30)
        wait_visible(self.driver, "#mailboxlist li a", text=unit_name, timeout=20).click()
        deadline = time.monotonic() + 20
        while self.driver.execute_script("return rcmail.env.mailbox") != f"shared/{unit}":
            assert time.monotonic() < deadline, f"{unit}'s mailbox did not open"
            time.sleep(0.3)
        self.wait_until_idle()
        screenshot(self.driver, SHOTS, "07a-unit-mailbox")
        open_page(self.driver, f"{WEBMAIL}/?_task=mail&_action=compose&_to={self.person}")
        identities = Select(wait_visible(self.driver, "#_from", timeout=20))
        shown = [option.text for option in identities.options]
        as_unit = next((text for text in shown if unit in text), None)
        assert as_unit is not None, f"no identity for {unit} among {shown}"
        identities.select_by_visible_text(as_unit)
        subject = f"Thư của đơn vị {secrets.token_hex(3)}"
        screenshot(self.driver, SHOTS, "07b-as-the-unit")
        self.write_and_send(subject, "Đơn vị xin thông báo.")
        wait_for_subject(LAB, self.person, self.password, subject)
        sender = str(
            email.header.make_header(email.header.decode_header(header_of(self.person, self.password, subject, "From")))
        )
        assert unit in sender, sender
        return f"{manager} opened {unit} and sent as it (From: {sender})"

    def step_due_passwords(self, warned: str, warned_password: str, expired: str, expired_password: str) -> str:
        """The lab's two due passwords (README "The lab shows every state")."""
        self.log_in(warned, warned_password)
        wait_visible(self.driver, "#mailboxlist", timeout=30)
        self.wait_for_text("sẽ hết hạn vào ngày")
        screenshot(self.driver, SHOTS, "09a-expiry-banner")
        self.log_in(expired, expired_password)
        wait_visible(self.driver, "#newpasswd", timeout=20)
        self.wait_for_text("đã hết hạn")
        screenshot(self.driver, SHOTS, "09b-expired")
        return f"{warned} sees the expiry date; {expired} gets the password page, told it expired"

    def step8_disabled_and_locked_are_told_why(self, disabled: str, disabled_password: str, locked: str) -> str:
        self.log_in(disabled, disabled_password)
        self.wait_for_text("tạm ngưng")
        screenshot(self.driver, SHOTS, "08a-disabled")
        lab = Lab.published_lab(str(SECRETS / "ca" / "ca.crt"))
        for _ in range(LOCK_AFTER):
            assert ldap_bind(lab, locked.split("@", maxsplit=1)[0], "Sai#" + secrets.token_hex(4)) is None
        self.log_in(locked, "Sai#" + secrets.token_hex(4))
        self.wait_for_text("bị khóa")
        screenshot(self.driver, SHOTS, "08b-locked")
        dn = user_dn(locked.split("@", maxsplit=1)[0])
        for attribute in ("pwdFailureTime", "pwdAccountLockedTime"):
            as_directory_root(f"dn: {dn}\nchangetype: modify\nreplace: {attribute}\n")
        return f"{disabled} told it is suspended, {locked} told it is locked"


def check(name: str, action: Callable[[], str], driver: WebDriver | None = None) -> bool:
    """Runs a step; on failure, the page as it was is saved as FAIL-<step>.png beside the others."""
    started = time.perf_counter()
    try:
        detail = action()
    except (AssertionError, OSError, WebDriverException) as error:
        print(f"FAIL  {name}: {error}")
        if driver is not None:
            shot = "FAIL-" + re.sub(r"[^a-z0-9]+", "-", name.lower())[:40].strip("-")
            with contextlib.suppress(WebDriverException):
                print(f"      the page then: {screenshot(driver, SHOTS, shot)}")
        return False
    print(f"ok    {name} ({(time.perf_counter() - started) * 1000:.0f} ms): {detail}")
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--handover", type=Path, default=REPOSITORY / "handover" / "lab")
    arguments = parser.parse_args()
    initial = initial_passwords(arguments.handover, SECRETS / "handover-vault-password")
    person, password, locked = journey_people(initial)
    states = lab_states()
    accounts = {account["mail"]: account for account in lab_desired_state()["accounts"]}
    colleague = accounts[others_than_smoke(initial, states)[-3]]
    unit, manager = states["send_as"]
    desk = next(mail for mail, account in accounts.items() if account["uid"] == REPORT_DESK)
    desk_manager = accounts[desk]["managers"][0]
    own = {
        mail: ensure_own_password(LAB, mail.split("@", maxsplit=1)[0], initial[mail])
        for mail in {colleague["mail"], manager, desk_manager}
    }
    hosts = {"mail.soctrang.gov.vn": container_address("webmail1")}
    passed = True
    with chromium(ca_file=SECRETS / "ca" / "ca.crt", hosts=hosts) as driver:
        journey = Journey(driver, person, password)
        disabled, warned, expired = states["disabled"], states["warned"], states["expired"]
        steps: list[tuple[str, Callable[[], str]]] = [
            ("1. the initial password opens the password page only", journey.step1_initial_password_opens_only_that),
            ("2. refusals say why; a good password is accepted", journey.step2_the_directory_says_why),
            ("3. the new password logs in; the welcome message is there", journey.step3_the_welcome_message),
            ("4. a colleague found without diacritics gets the largest attachment",
             lambda: journey.step4_address_book_and_the_largest_attachment(colleague, own[colleague["mail"]])),
            ("5. an attachment over the limit is refused before it is sent",
             lambda: journey.step5_over_the_limit_is_refused_before_upload(colleague)),
            ("6. a suspicious message is reported and moved to Junk",
             lambda: journey.step6_report_a_suspicious_message(desk, desk_manager, own[desk_manager])),
            ("7. a manager opens the unit mailbox and sends as the unit",
             lambda: journey.step7_manager_sends_as_the_unit(unit, accounts[unit]["name"], manager, own[manager])),
            ("a password about to expire shows its date; an expired one leads to the password page",
             lambda: journey.step_due_passwords(warned, initial[warned], expired, initial[expired])),
            ("8. disabled and locked people are told why",
             lambda: journey.step8_disabled_and_locked_are_told_why(disabled, initial[disabled], locked)),
        ]  # fmt: skip
        for name, action in steps:
            passed = check(name, action, driver) and passed
    print(f"screenshots: {SHOTS}")
    print("webmail journey: " + ("all steps passed" if passed else "SOME STEPS FAILED"))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
