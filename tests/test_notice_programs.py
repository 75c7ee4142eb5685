"""roles/dovecot/files: the programs that write to users, and the module they share.

soctrang_notice builds and delivers a notice and reads the programs' settings;
soctrang_password_warning chooses who is warned (Điều 8.2.c); soctrang_quota_warning
answers Dovecot's quota plugin (Điều 7). Their pure parts on fixed dates and
small settings files; dovecot-lda is a stand-in script that records what it is
given. The programs against real servers: molecule/mail. The settings the role
renders from the real policy: tests/test_policy_texts.py.
"""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import soctrang_notice
import soctrang_password_warning as warning
import soctrang_quota_warning as quota

NOW = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
MAX_AGE = timedelta(days=180)
SENDER_NAME = "Hệ thống thư điện tử tỉnh Sóc Trăng"


def account(mail: str, changed: datetime) -> soctrang_notice.Account:
    return soctrang_notice.Account(
        dn=f"uid={mail.split('@', maxsplit=1)[0] or 'x'},ou=people,dc=soctrang,dc=gov,dc=vn", mail=mail, changed=changed
    )


def fake_lda(tmp_path: Path, status: int = 0) -> tuple[Path, Path]:
    """A dovecot-lda that writes its arguments and the message it was given to a file."""
    record = tmp_path / "delivered"
    lda = tmp_path / "dovecot-lda"
    lda.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {record}.argv\ncat > {record}.eml\nexit {status}\n')
    lda.chmod(lda.stat().st_mode | stat.S_IXUSR)
    return lda, record


def settings(lda: str = "/usr/lib/dovecot/dovecot-lda", **notice: str) -> dict:
    return {
        "delivery": {
            "lda": lda,
            "sender_name": SENDER_NAME,
            "sender": "postmaster@soctrang.gov.vn",
            "domain": "soctrang.gov.vn",
        },
        "notice": {
            "subject": "Nhắc đổi mật khẩu: còn {left} ngày",
            "body": "Kính gửi {user}, còn {left} ngày.",
            **notice,
        },
        "ldap": {
            "uris": ["ldaps://ldap1.soctrang.gov.vn"],
            "starttls": False,
            "ca_file": "/etc/ssl/certs/ca.pem",
            "bind_dn": "cn=dovecot,ou=services,dc=soctrang,dc=gov,dc=vn",
            "password_file": "/etc/dovecot/private/ldap-bind-password",
            "people_base": "ou=people,dc=soctrang,dc=gov,dc=vn",
        },
        "max_age_days": 180,
        "warn_days": [14, 7, 3, 1],
    }


def write(tmp_path: Path, config: object, name: str = "settings.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    return str(path)


# ---------------------------------------------------------------- the directory
def test_the_accounts_that_count_are_active_unmarked_with_a_change_date() -> None:
    assert soctrang_notice.expiry_filter() == (
        "(&(objectClass=socMailbox)(socMailboxState=active)(pwdChangedTime=*)(!(pwdReset=TRUE)))"
    )


def test_one_mailbox_is_searched_by_its_escaped_address() -> None:
    pytest.importorskip("ldap")
    assert soctrang_notice.expiry_filter("a*(b)@soctrang.gov.vn") == (
        f"(&{soctrang_notice.EXPIRY_FILTER}(mail=a\\2a\\28b\\29@soctrang.gov.vn))"
    )


def test_an_entry_without_an_address_reads_as_an_empty_one() -> None:
    found = soctrang_notice.account_of(
        "uid=x,ou=people,dc=soctrang,dc=gov,dc=vn", {"pwdChangedTime": [b"20260301000000Z"]}
    )
    assert found.mail == ""
    assert found.changed == datetime(2026, 3, 1, tzinfo=UTC)


# ---------------------------------------------------------------- who is warned
@pytest.mark.parametrize(
    ("age", "left"),
    [
        (MAX_AGE - timedelta(days=14), 14),
        (MAX_AGE - timedelta(days=13, hours=23), 14),  # 13.96 days left count as 14
        (MAX_AGE - timedelta(hours=5), 1),
        (MAX_AGE, 0),
        (MAX_AGE + timedelta(days=2), -2),
    ],
)
def test_days_left_are_counted_up(age: timedelta, left: int) -> None:
    assert warning.days_left(NOW - age, NOW, MAX_AGE) == left


def test_only_the_warning_days_are_warned_in_the_order_read() -> None:
    accounts = [
        account("seven@soctrang.gov.vn", NOW - MAX_AGE + timedelta(days=7)),
        account("eight@soctrang.gov.vn", NOW - MAX_AGE + timedelta(days=8)),
        account("one@soctrang.gov.vn", NOW - MAX_AGE + timedelta(hours=3)),
        account("", NOW - MAX_AGE + timedelta(days=3)),  # no address: nobody to write to
        account("due@soctrang.gov.vn", NOW - MAX_AGE),  # the directory's job marks it today
        account("fourteen@soctrang.gov.vn", NOW - MAX_AGE + timedelta(days=14)),
    ]
    due = warning.warnings_due(accounts, NOW, MAX_AGE, [14, 7, 3, 1])
    assert [(d.mail, d.left) for d in due] == [
        ("seven@soctrang.gov.vn", 7),
        ("one@soctrang.gov.vn", 1),
        ("fourteen@soctrang.gov.vn", 14),
    ]
    assert due[0].due == accounts[0].changed + MAX_AGE


def test_the_notice_is_told_whom_how_many_days_and_until_when() -> None:
    due = warning.Due(mail="nvan@soctrang.gov.vn", left=3, due=datetime(2026, 6, 30, 23, 59, tzinfo=UTC))
    assert warning.notice_fields(due) == {"user": "nvan@soctrang.gov.vn", "left": 3, "due": "30/06/2026"}


# ---------------------------------------------------------------- the notice
def test_fill_replaces_only_the_fields_it_is_given() -> None:
    text = "Còn {left} ngày cho {user}; {other} và {not a field} giữ nguyên."
    assert soctrang_notice.fill(text, {"left": 3, "user": "a@b"}) == (
        "Còn 3 ngày cho a@b; {other} và {not a field} giữ nguyên."
    )
    assert soctrang_notice.placeholders(text) == {"left", "user", "other"}


def test_a_notice_has_the_headers_of_every_system_message() -> None:
    config = soctrang_notice.check_settings(settings(), soctrang_notice.NOTICE_SCHEMA, "test")
    notice = soctrang_notice.notice_of(config, ("user", "left"), "test")
    message = notice.message("nvan@soctrang.gov.vn", {"user": "nvan@soctrang.gov.vn", "left": 7})
    assert message["From"].addresses[0].display_name == SENDER_NAME
    assert message["From"].addresses[0].addr_spec == "postmaster@soctrang.gov.vn"
    assert message["To"] == "nvan@soctrang.gov.vn"
    assert message["Subject"] == "Nhắc đổi mật khẩu: còn 7 ngày"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"].endswith("@soctrang.gov.vn>")
    assert message["Date"]
    assert message.get_content() == "Kính gửi nvan@soctrang.gov.vn, còn 7 ngày.\n"


def test_a_notice_goes_through_dovecot_lda_with_the_quota_not_enforced(tmp_path: Path) -> None:
    lda, record = fake_lda(tmp_path)
    config = soctrang_notice.check_settings(settings(lda=str(lda)), soctrang_notice.NOTICE_SCHEMA, "test")
    notice = soctrang_notice.notice_of(config, ("user", "left"), "test")
    assert notice.deliver("nvan@soctrang.gov.vn", {"user": "nvan@soctrang.gov.vn", "left": 1}) == 0
    assert Path(f"{record}.argv").read_text().split() == [
        "-d",
        "nvan@soctrang.gov.vn",
        "-f",
        "postmaster@soctrang.gov.vn",
        "-o",
        "quota_enforce=no",
    ]
    assert "Subject: =?utf-8?" in Path(f"{record}.eml").read_text()


def test_a_refused_delivery_is_dovecot_ldas_status(tmp_path: Path) -> None:
    lda, _ = fake_lda(tmp_path, status=75)
    config = soctrang_notice.check_settings(settings(lda=str(lda)), soctrang_notice.NOTICE_SCHEMA, "test")
    notice = soctrang_notice.notice_of(config, ("user", "left"), "test")
    assert notice.deliver("nvan@soctrang.gov.vn", {"user": "x", "left": 1}) == 75


# ---------------------------------------------------------------- the settings
def test_every_missing_or_mistyped_key_is_named(tmp_path: Path) -> None:
    config = settings()
    del config["delivery"]["sender"]
    config["max_age_days"] = True
    config["ldap"]["starttls"] = "no"
    with pytest.raises(soctrang_notice.ConfigError) as error:
        warning.read_settings(write(tmp_path, config))
    assert "delivery.sender is missing" in str(error.value)
    assert "max_age_days must be a number, not True" in str(error.value)
    assert "ldap.starttls must be true or false, not 'no'" in str(error.value)
    assert str(tmp_path) in str(error.value)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"warn_days": [7, 0]}, "warn_days must be a list of whole days above 0"),
        ({"warn_days": [7, True]}, "warn_days must be a list of whole days above 0"),
        ({"max_age_days": 0}, "max_age_days must be at least 1"),
    ],
)
def test_impossible_ages_are_refused(tmp_path: Path, change: dict, problem: str) -> None:
    with pytest.raises(soctrang_notice.ConfigError, match=problem):
        warning.read_settings(write(tmp_path, {**settings(), **change}))


def test_no_directory_uri_is_refused(tmp_path: Path) -> None:
    config = settings()
    config["ldap"]["uris"] = []
    with pytest.raises(soctrang_notice.ConfigError, match=r"ldap\.uris must be a list of LDAP URIs"):
        warning.read_settings(write(tmp_path, config))


def test_a_text_with_a_field_the_program_never_fills_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, settings(body="Mật khẩu của {name} còn {left} ngày"))
    with pytest.raises(soctrang_notice.ConfigError, match=r"notice.body uses \{name\}"):
        warning.read_settings(path)


def test_settings_that_are_not_json_say_where(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("{'delivery': 1}", encoding="utf-8")
    with pytest.raises(soctrang_notice.ConfigError, match=f"{path}: not JSON"):
        soctrang_notice.read_settings(str(path), soctrang_notice.NOTICE_SCHEMA)


def test_settings_that_cannot_be_read_say_why(tmp_path: Path) -> None:
    with pytest.raises(soctrang_notice.ConfigError, match="cannot be read"):
        soctrang_notice.read_settings(str(tmp_path / "missing.json"), soctrang_notice.NOTICE_SCHEMA)


def test_settings_must_be_an_object(tmp_path: Path) -> None:
    with pytest.raises(soctrang_notice.ConfigError, match="must be a JSON object, not list"):
        soctrang_notice.read_settings(write(tmp_path, [1, 2]), soctrang_notice.NOTICE_SCHEMA)


def test_good_settings_are_read_whole(tmp_path: Path) -> None:
    read = warning.read_settings(write(tmp_path, settings()))
    assert read.max_age_days == 180
    assert read.warn_days == [14, 7, 3, 1]
    assert read.people_base == "ou=people,dc=soctrang,dc=gov,dc=vn"
    assert read.notice.sender_name == SENDER_NAME


# ---------------------------------------------------------------- the command lines
def test_the_role_validates_the_password_warning_settings_with_the_program(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert warning.main(["--check-config", write(tmp_path, settings())]) == 0
    broken = settings()
    del broken["ldap"]
    assert warning.main(["--check-config", write(tmp_path, broken, "broken.json")]) == 1
    assert "ldap.uris is missing" in capsys.readouterr().err


def test_the_role_validates_the_quota_warning_settings_with_the_program(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = settings(subject="Cảnh báo: hộp thư đã dùng {percent}% dung lượng", body="{user}: {percent}%")
    assert quota.main(["--check-config", write(tmp_path, good)]) == 0
    bad = settings(subject="còn {left} ngày")
    assert quota.main(["--check-config", write(tmp_path, bad, "bad.json")]) == 1
    assert r"notice.subject uses {left}" in capsys.readouterr().err


def test_dovecot_calls_the_quota_warning_with_a_percentage_and_a_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lda, record = fake_lda(tmp_path)
    subject = "Cảnh báo: hộp thư đã dùng {percent}% dung lượng"
    monkeypatch.setattr(quota, "CONFIG", write(tmp_path, settings(lda=str(lda), subject=subject, body="{percent}%")))
    assert quota.main(["80", "nvan@soctrang.gov.vn"]) == 0
    delivered = Path(f"{record}.eml").read_bytes()
    assert b"80%" in delivered
    assert Path(f"{record}.argv").read_text().split()[:2] == ["-d", "nvan@soctrang.gov.vn"]


def test_the_quota_warning_refuses_other_calls(capsys: pytest.CaptureFixture[str]) -> None:
    assert quota.main(["80"]) == quota.USAGE_ERROR
    assert "usage: quota-warning <percent> <user>" in capsys.readouterr().err


def test_the_quota_warning_without_settings_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(quota, "CONFIG", str(tmp_path / "missing.json"))
    assert quota.main(["80", "nvan@soctrang.gov.vn"]) == quota.CONFIG_ERROR
    assert "missing.json: cannot be read" in capsys.readouterr().err


class Directory:
    """The slice of python-ldap's connection the warning job uses, with fixed entries."""

    def __init__(self, entries: list[tuple[str, dict]]) -> None:
        self.entries = entries
        self.searches: list[str] = []
        self.unbound = False

    def search_ext_s(self, base: str, scope: int, search: str, attributes: list[str]) -> list:
        self.searches.append(search)
        return self.entries

    def unbind_s(self) -> None:
        self.unbound = True


def changed_ago(days: float) -> bytes:
    return f"{datetime.now(UTC) - MAX_AGE + timedelta(days=days):%Y%m%d%H%M%SZ}".encode()


@pytest.mark.parametrize("check", [False, True])
def test_a_daily_run_warns_the_due_mailboxes_and_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], check: bool
) -> None:
    pytest.importorskip("ldap")
    lda, record = fake_lda(tmp_path)
    directory = Directory(
        [
            (
                "uid=a,ou=people,dc=soctrang,dc=gov,dc=vn",
                {"mail": [b"a@soctrang.gov.vn"], "pwdChangedTime": [changed_ago(6.5)]},
            ),
            (
                "uid=b,ou=people,dc=soctrang,dc=gov,dc=vn",
                {"mail": [b"b@soctrang.gov.vn"], "pwdChangedTime": [changed_ago(20)]},
            ),
        ]
    )
    monkeypatch.setattr(warning, "connect", lambda settings: directory)
    path = write(tmp_path, settings(lda=str(lda)))
    sent = str(tmp_path / "sent.json")
    run = ["--config", path, "--sent", sent, "--address", "a@soctrang.gov.vn", *(["--check"] if check else [])]
    assert warning.main(run) == 0
    output = capsys.readouterr().out
    verb = "would warn" if check else "warned"
    assert f"{verb} a@soctrang.gov.vn: 7 days left" in output
    assert "b@soctrang.gov.vn" not in output
    assert "2 active passwords read, 1 warned, 0 warned before, 0 not delivered" in output
    assert directory.searches == [f"(&{soctrang_notice.EXPIRY_FILTER}(mail=a@soctrang.gov.vn))"]
    assert directory.unbound
    assert Path(f"{record}.eml").exists() is not check


def test_a_second_run_the_same_day_does_not_warn_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("ldap")
    lda, record = fake_lda(tmp_path)
    entry = {"mail": [b"a@soctrang.gov.vn"], "pwdChangedTime": [changed_ago(6.5)]}
    monkeypatch.setattr(warning, "connect", lambda settings: Directory([("uid=a,ou=people,dc=x", entry)]))
    path, sent = write(tmp_path, settings(lda=str(lda))), str(tmp_path / "state" / "sent.json")
    assert warning.main(["--config", path, "--sent", sent]) == 0
    Path(f"{record}.eml").unlink()
    assert warning.main(["--config", path, "--sent", sent]) == 0
    assert "1 active passwords read, 0 warned, 1 warned before, 0 not delivered" in capsys.readouterr().out
    assert not Path(f"{record}.eml").exists()
    # A password changed meanwhile has another due date: its warnings are new ones.
    entry["pwdChangedTime"] = [changed_ago(6.4)]
    assert warning.main(["--config", path, "--sent", sent]) == 0
    assert Path(f"{record}.eml").exists()


def test_what_was_sent_is_forgotten_once_its_due_date_has_passed(tmp_path: Path) -> None:
    path = str(tmp_path / "sent.json")
    now = datetime(2026, 12, 2, tzinfo=UTC)
    sent = {"a@x": ["2026-12-01T08:00:00/1"], "b@x": ["2026-12-09T08:00:00/7", "2026-11-30T08:00:00/3"]}
    warning.write_sent(path, sent, now)
    assert warning.read_sent(path) == {"b@x": ["2026-12-09T08:00:00/7"]}


def test_a_run_that_cannot_deliver_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("ldap")
    lda, _ = fake_lda(tmp_path, status=75)
    entry = {"mail": [b"a@soctrang.gov.vn"], "pwdChangedTime": [changed_ago(0.5)]}
    monkeypatch.setattr(warning, "connect", lambda settings: Directory([("uid=a,ou=people,dc=x", entry)]))
    path = write(tmp_path, settings(lda=str(lda)))
    sent = str(tmp_path / "sent.json")
    assert warning.main(["--config", path, "--sent", sent, "--max-age-days", "180", "--warn-days", "1"]) == 1
    captured = capsys.readouterr()
    assert "could not deliver the warning to a@soctrang.gov.vn" in captured.err
    assert "1 active passwords read, 0 warned, 0 warned before, 1 not delivered" in captured.out
