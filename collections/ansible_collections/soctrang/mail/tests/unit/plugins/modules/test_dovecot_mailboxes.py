"""soctrang.mail.dovecot_mailboxes: welcome messages over LMTP and the managers' grants.

Stand-ins, and why: the module's I/O is Dovecot 2.4's LMTP socket and its
doveadm, and this controller (Debian 12) has only Dovecot 2.3, which cannot
serve a 2.4 mail store. So an LMTP listener on a UNIX socket here (`lmtp`)
speaks the protocol as Dovecot's does and delivers to <home>/Maildir/new, and
doveadm is the stand-in of doveadm_stand_in.py, writing the dovecot-acl files
in Dovecot's format. What is real: the module's LMTP client on a real socket,
the message bytes it sends, its reading of the mail store and of the
dovecot-acl files, and the doveadm command lines it runs. molecule/mail proves
the same module against the real Dovecot 2.4 (a welcomed mailbox, a manager
reading the unit's mail under shared/).
"""

from __future__ import annotations

import json
import socketserver
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from ansible_collections.soctrang.mail.plugins.modules import dovecot_mailboxes

DOMAIN = "soctrang.gov.vn"
SENDER = f"postmaster@{DOMAIN}"
RIGHTS = ["lookup", "read", "write", "write-seen", "write-deleted", "insert", "expunge"]
LETTERS = "lrwstie"


def person(uid: str, name: str, **overrides) -> dict:
    return {
        "id": f"stttt-{uid}",
        "kind": "person",
        "uid": uid,
        "mail": f"{uid}@{DOMAIN}",
        "state": "active",
        "name": name,
        "quota_bytes": 2147483648,
        "managers": [],
        **overrides,
    }


def unit(uid: str, managers: list[str], **overrides) -> dict:
    return person(uid, "Sở Thông tin và Truyền thông", kind="unit", id="stttt", managers=managers, **overrides)


@dataclass
class Delivery:
    sender: str
    recipient: str
    data: bytes


@dataclass
class LMTPStandIn:
    socket_path: Path
    vmail: Path
    refuse: set[str] = field(default_factory=set)
    deliveries: list[Delivery] = field(default_factory=list)
    connections: int = 0


class LMTPHandler(socketserver.StreamRequestHandler):
    """One LMTP session as Dovecot's lmtp answers it; delivery writes Maildir/new/."""

    def reply(self, text: str) -> None:
        self.wfile.write(text.encode() + b"\r\n")

    def handle(self) -> None:
        stand_in: LMTPStandIn = self.server.stand_in
        stand_in.connections += 1
        self.reply("220 mail1 Dovecot ready.")
        sender, recipients = "", []
        while line := self.rfile.readline():
            command = line.decode("utf-8").rstrip("\r\n")
            verb = command.split(" ", 1)[0].upper()
            if verb == "LHLO":
                self.reply("250-mail1\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 PIPELINING")
            elif verb == "MAIL":
                sender, recipients = command.split("<", 1)[1].split(">", 1)[0], []
                self.reply("250 2.1.0 OK")
            elif verb == "RCPT":
                recipient = command.split("<", 1)[1].split(">", 1)[0]
                if recipient in stand_in.refuse:
                    self.reply(f"550 5.1.1 <{recipient}> User doesn't exist: {recipient}")
                else:
                    recipients.append(recipient)
                    self.reply("250 2.1.5 OK")
            elif verb == "DATA":
                self.reply("354 OK")
                data = b"".join(iter(self.rfile.readline, b".\r\n")).replace(b"\r\n..", b"\r\n.")
                for recipient in recipients:
                    self.deliver(stand_in, sender, recipient, data)
                    self.reply(f"250 2.0.0 <{recipient}> Saved")
            elif verb == "RSET":
                self.reply("250 2.0.0 OK")
            elif verb == "QUIT":
                self.reply("221 2.0.0 Bye")
                return
            else:
                self.reply("500 5.5.1 Unknown command")

    @staticmethod
    def deliver(stand_in: LMTPStandIn, sender: str, recipient: str, data: bytes) -> None:
        local_part, domain = recipient.split("@")
        new = stand_in.vmail / domain / local_part / "Maildir" / "new"
        new.mkdir(parents=True, exist_ok=True)
        # Saved with LF line ends, as Dovecot saves (mail_save_crlf = no).
        (new / f"{len(stand_in.deliveries)}.M1P1.mail1").write_bytes(data.replace(b"\r\n", b"\n"))
        stand_in.deliveries.append(Delivery(sender, recipient, data))


@pytest.fixture
def lmtp(doveadm, tmp_path: Path):
    stand_in = LMTPStandIn(socket_path=tmp_path / "dovecot-lmtp", vmail=doveadm.vmail)
    server = socketserver.ThreadingUnixStreamServer(str(stand_in.socket_path), LMTPHandler)
    server.stand_in = stand_in
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield stand_in
    server.shutdown()
    server.server_close()


def module_args(lmtp: LMTPStandIn, accounts: list[dict], **overrides) -> dict:
    return {
        "accounts": accounts,
        "vmail_dir": str(lmtp.vmail),
        "lmtp_socket": str(lmtp.socket_path),
        "sender": SENDER,
        "welcome_subject": "Chào mừng đến với hệ thống thư điện tử công vụ tỉnh Sóc Trăng",
        "welcome_body": "Kính gửi {name},\n\nHộp thư {address} đã sẵn sàng, dung lượng {quota}.\n",
        "manager_rights": RIGHTS,
        **overrides,
    }


def existing_mailbox(vmail: Path, address: str, acl: str | None = None) -> Path:
    local_part, domain = address.split("@")
    maildir = vmail / domain / local_part / "Maildir"
    (maildir / "cur").mkdir(parents=True)
    if acl is not None:
        (maildir / "dovecot-acl").write_text(acl)
    return maildir


def acl_calls(doveadm) -> list[list[str]]:
    return [call["argv"] for call in doveadm.calls() if call["argv"][0] == "acl"]


def changing_calls(doveadm) -> list[list[str]]:
    """The doveadm calls but `who` (which only looks at the sessions)."""
    return [call["argv"] for call in doveadm.calls() if call["argv"][0] != "who"]


def open_users(doveadm) -> list[str]:
    return [session["user"] for session in doveadm.state()["sessions"]]


def test_new_mailboxes_are_welcomed_in_one_lmtp_session(lmtp, run_module) -> None:
    existing_mailbox(lmtp.vmail, f"ttbinh@{DOMAIN}")
    accounts = [
        person("ntan", "Nguyễn Thị An"),
        person("ttbinh", "Trần Thanh Bình"),
        person("lvcuong", "Lê Văn Cường", state="disabled"),
        person("dcnguyen", "Dương Chí Nguyên"),
    ]

    result = run_module(dovecot_mailboxes, module_args(lmtp, accounts))

    assert result["changed"] is True
    assert result["welcomed"] == [f"ntan@{DOMAIN}", f"dcnguyen@{DOMAIN}"]
    assert lmtp.connections == 1
    assert [(d.sender, d.recipient) for d in lmtp.deliveries] == [
        (SENDER, f"ntan@{DOMAIN}"),
        (SENDER, f"dcnguyen@{DOMAIN}"),
    ]
    assert not (lmtp.vmail / DOMAIN / "lvcuong").exists(), "a disabled mailbox is not created"


def test_the_welcome_message_names_its_reader_address_and_quota(lmtp, run_module) -> None:
    run_module(dovecot_mailboxes, module_args(lmtp, [person("ntan", "Nguyễn Thị An", quota_bytes=5 * 1024**3)]))

    (delivery,) = lmtp.deliveries
    message = message_from_bytes(delivery.data, policy=policy.default)
    raw = message_from_bytes(delivery.data, policy=policy.compat32)

    def header(name: str) -> str:
        # RFC 2047 decoding as mail readers do it (policy.default's parser puts a
        # space between the encoded words of a folded display name).
        return str(make_header(decode_header(raw[name])))

    assert header("From") == f"Hệ thống thư điện tử tỉnh Sóc Trăng <{SENDER}>"
    assert header("To") == f"Nguyễn Thị An <ntan@{DOMAIN}>"
    assert header("Subject") == "Chào mừng đến với hệ thống thư điện tử công vụ tỉnh Sóc Trăng"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"].endswith(f"@{DOMAIN}>")
    assert (
        message.get_content().replace("\r\n", "\n")
        == f"Kính gửi Nguyễn Thị An,\n\nHộp thư ntan@{DOMAIN} đã sẵn sàng, dung lượng 5 GB.\n"
    )


def test_a_second_run_welcomes_nobody_again(lmtp, run_module) -> None:
    accounts = [person("ntan", "Nguyễn Thị An"), unit("sotttt", [f"ntan@{DOMAIN}"])]
    run_module(dovecot_mailboxes, module_args(lmtp, accounts))

    again = run_module(dovecot_mailboxes, module_args(lmtp, accounts))

    assert again["changed"] is False
    assert again["welcomed"] == []
    assert again["grants_changed"] == {}
    assert lmtp.connections == 1


def test_a_new_unit_mailbox_is_welcomed_and_granted_to_its_managers(lmtp, doveadm, run_module) -> None:
    managers = [f"ntan@{DOMAIN}", f"DCNguyen@{DOMAIN}"]
    accounts = [unit("sotttt", managers)]

    result = run_module(dovecot_mailboxes, module_args(lmtp, accounts))

    assert result["welcomed"] == [f"sotttt@{DOMAIN}"]
    assert result["grants_changed"] == {f"sotttt@{DOMAIN}": [f"dcnguyen@{DOMAIN}", f"ntan@{DOMAIN}"]}
    assert acl_calls(doveadm) == [
        ["acl", "set", "-u", f"sotttt@{DOMAIN}", "INBOX", f"user=dcnguyen@{DOMAIN}", *RIGHTS],
        ["acl", "set", "-u", f"sotttt@{DOMAIN}", "INBOX", f"user=ntan@{DOMAIN}", *RIGHTS],
    ]
    acl = (doveadm.vmail / DOMAIN / "sotttt" / "Maildir" / "dovecot-acl").read_text()
    assert acl == f"user=dcnguyen@{DOMAIN} {LETTERS}\nuser=ntan@{DOMAIN} {LETTERS}\n"


def test_grants_follow_the_managers_listed_now(lmtp, doveadm, run_module) -> None:
    existing_mailbox(
        lmtp.vmail,
        f"sotttt@{DOMAIN}",
        acl=(
            f"owner lrwstipekxa\nuser=ntan@{DOMAIN} lr\n"
            f"user=retired@{DOMAIN} {LETTERS}\nuser=dcnguyen@{DOMAIN} {LETTERS}\n"
        ),
    )
    accounts = [unit("sotttt", [f"ntan@{DOMAIN}", f"dcnguyen@{DOMAIN}"])]

    result = run_module(dovecot_mailboxes, module_args(lmtp, accounts), diff=True)

    assert result["grants_changed"] == {f"sotttt@{DOMAIN}": [f"dcnguyen@{DOMAIN}", f"ntan@{DOMAIN}"]}
    assert acl_calls(doveadm) == [
        ["acl", "set", "-u", f"sotttt@{DOMAIN}", "INBOX", f"user=ntan@{DOMAIN}", *RIGHTS],
        ["acl", "delete", "-u", f"sotttt@{DOMAIN}", "INBOX", f"user=retired@{DOMAIN}"],
    ]
    assert result["diff"]["before"] == {
        f"sotttt@{DOMAIN}": [f"dcnguyen@{DOMAIN}", f"ntan@{DOMAIN}", f"retired@{DOMAIN}"]
    }
    again = run_module(dovecot_mailboxes, module_args(lmtp, accounts))
    assert again["changed"] is False
    assert len(acl_calls(doveadm)) == 2


def test_a_disabled_unit_keeps_its_grants_untouched(lmtp, doveadm, run_module) -> None:
    existing_mailbox(lmtp.vmail, f"sotttt@{DOMAIN}", acl=f"user=ntan@{DOMAIN} {LETTERS}\n")

    result = run_module(dovecot_mailboxes, module_args(lmtp, [unit("sotttt", [], state="disabled")]))

    assert result["changed"] is False
    assert changing_calls(doveadm) == []


def test_check_mode_reports_the_same_lists_and_changes_nothing(lmtp, doveadm, run_module) -> None:
    existing_mailbox(lmtp.vmail, f"sotttt@{DOMAIN}", acl=f"user=retired@{DOMAIN} {LETTERS}\n")
    accounts = [person("ntan", "Nguyễn Thị An"), unit("sotttt", [f"ntan@{DOMAIN}"])]

    result = run_module(dovecot_mailboxes, module_args(lmtp, accounts), check_mode=True, diff=True)

    assert result["changed"] is True
    assert result["welcomed"] == [f"ntan@{DOMAIN}"]
    assert result["grants_changed"] == {f"sotttt@{DOMAIN}": [f"ntan@{DOMAIN}"]}
    assert result["sessions_ended"] == []
    assert result["diff"]["after"] == {
        "welcomed": [f"ntan@{DOMAIN}"],
        "sessions_ended": [],
        f"sotttt@{DOMAIN}": [f"ntan@{DOMAIN}"],
    }
    assert lmtp.connections == 0
    assert changing_calls(doveadm) == []
    assert not (lmtp.vmail / DOMAIN / "ntan").exists()


def test_the_whole_desired_state_can_come_as_json(lmtp, run_module) -> None:
    state = {"domain": DOMAIN, "accounts": [person("ntan", "Nguyễn Thị An")], "retired": []}

    result = run_module(dovecot_mailboxes, module_args(lmtp, [], accounts_json=json.dumps(state)))

    assert result["welcomed"] == [f"ntan@{DOMAIN}"]


def test_a_failed_doveadm_call_fails_with_its_error(lmtp, doveadm, run_module) -> None:
    existing_mailbox(lmtp.vmail, f"sotttt@{DOMAIN}")
    doveadm.fail("acl set", "Mailbox INBOX: Permission denied")

    result = run_module(dovecot_mailboxes, module_args(lmtp, [unit("sotttt", [f"ntan@{DOMAIN}"])]))

    assert result["failed"] is True
    assert result["msg"].startswith(f"doveadm acl set -u sotttt@{DOMAIN} INBOX user=ntan@{DOMAIN} lookup read")
    assert result["msg"].endswith("Error: Mailbox INBOX: Permission denied")


def test_a_refused_welcome_fails_with_the_address(lmtp, run_module) -> None:
    lmtp.refuse.add(f"dcnguyen@{DOMAIN}")
    accounts = [person("ntan", "Nguyễn Thị An"), person("dcnguyen", "Dương Chí Nguyên")]

    result = run_module(dovecot_mailboxes, module_args(lmtp, accounts))

    assert result["failed"] is True
    assert f"LMTP refused the welcome message for dcnguyen@{DOMAIN}" in result["msg"]
    assert "User doesn't exist" in result["msg"]
    assert [d.recipient for d in lmtp.deliveries] == [f"ntan@{DOMAIN}"]


def test_unknown_rights_fail_before_anything_is_done(lmtp, doveadm, run_module) -> None:
    result = run_module(dovecot_mailboxes, module_args(lmtp, [person("ntan", "An")], manager_rights=["read", "sudo"]))

    assert result["failed"] is True
    assert "unknown rights ['sudo']" in result["msg"]
    assert lmtp.connections == 0
    assert doveadm.calls() == []


def test_a_disabled_accounts_open_sessions_are_ended_and_its_cache_flushed(lmtp, doveadm, run_module) -> None:
    for uid in ("ntan", "lvcuong"):
        existing_mailbox(lmtp.vmail, f"{uid}@{DOMAIN}")
    doveadm.open_session(f"lvcuong@{DOMAIN}")
    doveadm.open_session(f"lvcuong@{DOMAIN}", proto="pop3")
    accounts = [person("ntan", "Nguyễn Thị An"), person("lvcuong", "Lê Văn Cường", state="disabled")]

    result = run_module(dovecot_mailboxes, module_args(lmtp, accounts), diff=True)

    assert result["changed"] is True
    assert result["sessions_ended"] == [f"lvcuong@{DOMAIN}"]
    assert result["diff"]["after"]["sessions_ended"] == [f"lvcuong@{DOMAIN}"]
    assert changing_calls(doveadm) == [
        ["kick", f"lvcuong@{DOMAIN}"],
        ["auth", "cache", "flush", f"lvcuong@{DOMAIN}"],
    ]
    assert open_users(doveadm) == []


def test_an_active_accounts_sessions_are_left_open(lmtp, doveadm, run_module) -> None:
    existing_mailbox(lmtp.vmail, f"ntan@{DOMAIN}")
    doveadm.open_session(f"ntan@{DOMAIN}")
    doveadm.open_session(f"ntan@{DOMAIN}", proto="pop3")

    result = run_module(dovecot_mailboxes, module_args(lmtp, [person("ntan", "Nguyễn Thị An")]))

    assert result["changed"] is False
    assert result["sessions_ended"] == []
    assert changing_calls(doveadm) == []
    assert open_users(doveadm) == [f"ntan@{DOMAIN}", f"ntan@{DOMAIN}"]


def test_the_sessions_of_users_no_longer_in_the_desired_state_are_ended(lmtp, doveadm, run_module) -> None:
    existing_mailbox(lmtp.vmail, f"ntan@{DOMAIN}")
    for user in (f"retired@{DOMAIN}", f"ntan@{DOMAIN}", f"daxoa@{DOMAIN}"):
        doveadm.open_session(user)

    result = run_module(dovecot_mailboxes, module_args(lmtp, [person("ntan", "Nguyễn Thị An")]))

    assert result["changed"] is True
    assert result["sessions_ended"] == [f"daxoa@{DOMAIN}", f"retired@{DOMAIN}"]
    assert changing_calls(doveadm) == [
        ["kick", f"daxoa@{DOMAIN}"],
        ["kick", f"retired@{DOMAIN}"],
        ["auth", "cache", "flush", f"daxoa@{DOMAIN}", f"retired@{DOMAIN}"],
    ]
    assert open_users(doveadm) == [f"ntan@{DOMAIN}"]


def test_check_mode_reports_the_sessions_to_end_and_ends_none(lmtp, doveadm, run_module) -> None:
    existing_mailbox(lmtp.vmail, f"lvcuong@{DOMAIN}")
    doveadm.open_session(f"lvcuong@{DOMAIN}")
    accounts = [person("lvcuong", "Lê Văn Cường", state="disabled")]

    result = run_module(dovecot_mailboxes, module_args(lmtp, accounts), check_mode=True, diff=True)

    assert result["changed"] is True
    assert result["sessions_ended"] == [f"lvcuong@{DOMAIN}"]
    assert result["diff"]["after"] == {"welcomed": [], "sessions_ended": [f"lvcuong@{DOMAIN}"]}
    assert changing_calls(doveadm) == []
    assert open_users(doveadm) == [f"lvcuong@{DOMAIN}"]


def test_a_second_run_after_the_kick_ends_nobody(lmtp, doveadm, run_module) -> None:
    existing_mailbox(lmtp.vmail, f"lvcuong@{DOMAIN}")
    doveadm.open_session(f"lvcuong@{DOMAIN}")
    accounts = [person("lvcuong", "Lê Văn Cường", state="disabled")]
    first = run_module(dovecot_mailboxes, module_args(lmtp, accounts))
    assert first["sessions_ended"] == [f"lvcuong@{DOMAIN}"]
    ended = changing_calls(doveadm)

    again = run_module(dovecot_mailboxes, module_args(lmtp, accounts))

    assert again["changed"] is False
    assert again["sessions_ended"] == []
    assert changing_calls(doveadm) == ended


@pytest.mark.parametrize("as_json", [False, True], ids=["accounts", "accounts_json"])
def test_no_accounts_at_all_ends_nobody(lmtp, doveadm, run_module, as_json: bool) -> None:
    doveadm.open_session(f"ntan@{DOMAIN}")
    if as_json:
        args = module_args(lmtp, [], accounts_json=json.dumps({"domain": DOMAIN, "accounts": [], "retired": []}))
    else:
        args = module_args(lmtp, [])

    result = run_module(dovecot_mailboxes, args)

    assert result["changed"] is False
    assert result["sessions_ended"] == []
    assert changing_calls(doveadm) == []
    assert open_users(doveadm) == [f"ntan@{DOMAIN}"]


def test_a_failed_kick_fails_with_doveadms_error(lmtp, doveadm, run_module) -> None:
    existing_mailbox(lmtp.vmail, f"lvcuong@{DOMAIN}")
    doveadm.open_session(f"lvcuong@{DOMAIN}")
    doveadm.fail("kick", "net_connect_unix(/run/dovecot/anvil) failed: Permission denied")
    accounts = [person("lvcuong", "Lê Văn Cường", state="disabled")]

    result = run_module(dovecot_mailboxes, module_args(lmtp, accounts))

    assert result["failed"] is True
    assert result["msg"].startswith(f"doveadm kick lvcuong@{DOMAIN} failed: ")
    assert result["msg"].endswith("Error: net_connect_unix(/run/dovecot/anvil) failed: Permission denied")
    assert changing_calls(doveadm) == [["kick", f"lvcuong@{DOMAIN}"]], "no flush after a failed kick"
    assert open_users(doveadm) == [f"lvcuong@{DOMAIN}"]
