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
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from browser import chromium, open_page, page_text, screenshot, wait_visible
from lab_smoke import REPOSITORY, SECRETS, lab_states, others_than_smoke
from mailtest import Lab, initial_passwords, ldap_bind
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

WEBMAIL = "https://mail.soctrang.gov.vn"
SHOTS = REPOSITORY / "build" / "webmail-journey"
PEOPLE_DN = "ou=people,dc=soctrang,dc=gov,dc=vn"
LOCK_AFTER = 5  # ppolicy's lockout_failures (group_vars/all/password_policy.yml)


def container_address(name: str) -> str:
    # podman is the lab's own tool; the arguments are this file's.
    return subprocess.run(  # noqa: S603
        ["podman", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


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
    dn = f"uid={person.split('@', maxsplit=1)[0]},{PEOPLE_DN}"
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

    def step_due_passwords(self, warned: str, warned_password: str, expired: str, expired_password: str) -> str:
        """The lab's two due passwords (README "The lab shows every state")."""
        self.log_in(warned, warned_password)
        wait_visible(self.driver, "#messagelist", timeout=30)
        self.wait_for_text("sẽ hết hạn vào ngày")
        screenshot(self.driver, SHOTS, "04a-expiry-banner")
        self.log_in(expired, expired_password)
        wait_visible(self.driver, "#newpasswd", timeout=20)
        self.wait_for_text("đã hết hạn")
        screenshot(self.driver, SHOTS, "04b-expired")
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
        dn = f"uid={locked.split('@', maxsplit=1)[0]},{PEOPLE_DN}"
        for attribute in ("pwdFailureTime", "pwdAccountLockedTime"):
            as_directory_root(f"dn: {dn}\nchangetype: modify\nreplace: {attribute}\n")
        return f"{disabled} told it is suspended, {locked} told it is locked"


def check(name: str, action: Callable[[], str]) -> bool:
    started = time.perf_counter()
    try:
        detail = action()
    except (AssertionError, OSError, WebDriverException) as error:
        print(f"FAIL  {name}: {error}")
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
    hosts = {"mail.soctrang.gov.vn": container_address("webmail1")}
    passed = True
    with chromium(ca_file=SECRETS / "ca" / "ca.crt", hosts=hosts) as driver:
        journey = Journey(driver, person, password)
        disabled, warned, expired = states["disabled"], states["warned"], states["expired"]
        steps: list[tuple[str, Callable[[], str]]] = [
            ("1. the initial password opens the password page only", journey.step1_initial_password_opens_only_that),
            ("2. refusals say why; a good password is accepted", journey.step2_the_directory_says_why),
            ("3. the new password logs in; the welcome message is there", journey.step3_the_welcome_message),
            ("a password about to expire shows its date; an expired one leads to the password page",
             lambda: journey.step_due_passwords(warned, initial[warned], expired, initial[expired])),
            ("8. disabled and locked people are told why",
             lambda: journey.step8_disabled_and_locked_are_told_why(disabled, initial[disabled], locked)),
        ]  # fmt: skip
        for name, action in steps:
            passed = check(name, action) and passed
    print(f"screenshots: {SHOTS}")
    print("webmail journey: " + ("all steps passed" if passed else "SOME STEPS FAILED"))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
