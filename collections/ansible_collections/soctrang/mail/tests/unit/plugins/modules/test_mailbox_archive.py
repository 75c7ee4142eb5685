"""soctrang.mail.mailbox_archive on real files: Maildirs in a temporary folder, real tar archives.

Archiving needs nothing but the file system and is tested as it runs on the
mail store. Restoring ends in `doveadm import`/`search`, given here by the
doveadm stand-in (conftest.py, doveadm_stand_in.py: Debian 12 has no Dovecot
2.4); everything before it - the manifest, the checksum, the extraction and its
ownership, the count that decides whether anything is left to do - is real.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import pwd
import tarfile
from pathlib import Path

import pytest
from ansible_collections.soctrang.mail.plugins.modules import mailbox_archive

ADDRESS = "vtem@soctrang.gov.vn"
COLLEAGUE = "ttbinh@soctrang.gov.vn"
FOLDER = "Lưu trữ/vtem"
MESSAGES = {
    "Maildir/cur/1767571200.M1P10.mail1,S=61,W=63:2,S": "Subject: Báo cáo tháng 12\r\n\r\nKính gửi anh chị.\r\n",
    "Maildir/cur/1767571300.M2P10.mail1,S=38,W=40:2,": "Subject: Lịch họp\r\n\r\nThứ hai 8 giờ.\r\n",
    "Maildir/new/1767571400.M3P10.mail1,S=29,W=30": "Subject: Mới\r\n\r\nChưa đọc.\r\n",
    "Maildir/.Sent/cur/1767571500.M4P10.mail1,S=27,W=28:2,S": "Subject: Đã gửi\r\n\r\nTrả lời.\r\n",
}
NOT_MESSAGES = {
    "Maildir/dovecot-uidlist": "3 V1767571200 N5\n",
    "Maildir/dovecot.index.log": "index",
    "Maildir/.Sent/maildirfolder": "",
    "sieve/vacation.sieve": 'require "vacation"; vacation "Tôi nghỉ phép";\n',
}


def make_mailbox(vmail: Path, address: str = ADDRESS) -> Path:
    local_part, domain = address.split("@")
    home = vmail / domain / local_part
    for relative, text in {**MESSAGES, **NOT_MESSAGES}.items():
        path = home / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (home / "Maildir" / "tmp").mkdir()
    return home


def archive_args(vmail: Path, archive_dir: Path, *addresses: str) -> dict:
    return {"mode": "archive", "addresses": list(addresses), "vmail_dir": str(vmail), "archive_dir": str(archive_dir)}


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, Path]:
    """(vmail_dir, archive_dir) of an empty mail store."""
    vmail = tmp_path / "vmail"
    vmail.mkdir()
    return vmail, tmp_path / "backups" / "soctrang-mail-archive"


def test_archive_holds_the_whole_mailbox_and_only_then_it_is_removed(store, run_module) -> None:
    vmail, archive_dir = store
    home = make_mailbox(vmail)
    neighbour = make_mailbox(vmail, COLLEAGUE)

    result = run_module(mailbox_archive, archive_args(vmail, archive_dir, ADDRESS))

    assert result["changed"] is True
    (record,) = result["archived"]
    archive = Path(record["archive"])
    assert archive.parent == archive_dir
    assert archive.name.startswith(f"{ADDRESS}-") and archive.name.endswith(".tar.gz")
    with tarfile.open(archive, "r:gz") as tar:
        archived = {member.name: tar.extractfile(member).read() for member in tar.getmembers() if member.isfile()}
    assert archived == {f"vtem/{name}": text.encode() for name, text in {**MESSAGES, **NOT_MESSAGES}.items()}
    assert not home.exists()
    assert neighbour.is_dir(), "only the named mailbox goes"
    assert result["without_mailbox"] == [ADDRESS], "its directory entry may now be removed"
    assert sorted(path.name for path in archive_dir.iterdir()) == [archive.name, archive.name + ".json"]


def test_the_manifest_names_the_archive_with_its_checksum_and_counts(store, run_module) -> None:
    vmail, archive_dir = store
    make_mailbox(vmail)

    (record,) = run_module(mailbox_archive, archive_args(vmail, archive_dir, ADDRESS))["archived"]

    manifest = json.loads(Path(record["manifest"]).read_text(encoding="utf-8"))
    assert manifest == record
    assert manifest["manifest"] == manifest["archive"] + ".json"
    assert manifest["sha256"] == hashlib.sha256(Path(manifest["archive"]).read_bytes()).hexdigest()
    assert manifest["messages"] == len(MESSAGES)
    assert manifest["bytes"] == sum(len(text.encode()) for text in MESSAGES.values())
    assert manifest["address"] == ADDRESS


def test_the_archive_folder_is_made_for_root_alone(store, run_module) -> None:
    vmail, archive_dir = store
    make_mailbox(vmail)

    run_module(mailbox_archive, archive_args(vmail, archive_dir, ADDRESS))

    assert archive_dir.stat().st_mode & 0o777 == 0o700
    assert archive_dir.stat().st_uid == os.getuid()


def test_a_second_run_changes_nothing(store, run_module) -> None:
    vmail, archive_dir = store
    make_mailbox(vmail)
    run_module(mailbox_archive, archive_args(vmail, archive_dir, ADDRESS))
    written = sorted(archive_dir.iterdir())

    again = run_module(mailbox_archive, archive_args(vmail, archive_dir, ADDRESS))

    assert again["changed"] is False
    assert again["archived"] == []
    assert again["without_mailbox"] == [ADDRESS]
    assert sorted(archive_dir.iterdir()) == written


def test_check_mode_reports_the_mailboxes_and_writes_nothing(store, run_module) -> None:
    vmail, archive_dir = store
    home = make_mailbox(vmail)

    result = run_module(
        mailbox_archive, archive_args(vmail, archive_dir, ADDRESS, "gone@soctrang.gov.vn"), check_mode=True
    )

    assert result["changed"] is True
    assert result["archived"] == [{"address": ADDRESS, "archive": None}]
    assert result["without_mailbox"] == ["gone@soctrang.gov.vn", ADDRESS]
    assert not archive_dir.exists()
    assert sorted(path.relative_to(home) for path in home.rglob("*") if path.is_file()) == sorted(
        Path(name) for name in {**MESSAGES, **NOT_MESSAGES}
    )


def test_addresses_are_matched_without_regard_to_case_and_absent_ones_reported(store, run_module) -> None:
    vmail, archive_dir = store
    home = make_mailbox(vmail)

    result = run_module(
        mailbox_archive, archive_args(vmail, archive_dir, "VTem@SocTrang.gov.vn", "gone@soctrang.gov.vn")
    )

    assert [record["address"] for record in result["archived"]] == [ADDRESS]
    assert result["without_mailbox"] == ["gone@soctrang.gov.vn", ADDRESS]
    assert not home.exists()


def test_nothing_to_archive_is_no_change(store, run_module) -> None:
    vmail, archive_dir = store

    result = run_module(mailbox_archive, archive_args(vmail, archive_dir, "gone@soctrang.gov.vn"))

    assert result["changed"] is False
    assert result["without_mailbox"] == ["gone@soctrang.gov.vn"]


def test_an_archive_that_does_not_match_the_mailbox_keeps_the_mailbox(store, run_module) -> None:
    # A message that is a symbolic link: a file on disk, not a file in the archive.
    vmail, archive_dir = store
    home = make_mailbox(vmail)
    outside = vmail.parent / "elsewhere"
    outside.write_text("Subject: x\r\n\r\ny\r\n")
    (home / "Maildir" / "cur" / "1767571600.M5P10.mail1:2,S").symlink_to(outside)

    result = run_module(mailbox_archive, archive_args(vmail, archive_dir, ADDRESS))

    assert result["failed"] is True
    assert "does not match its mailbox" in result["msg"]
    assert "1767571600.M5P10" in result["msg"], "the message names the differences"
    assert (home / "Maildir" / "cur").is_dir() and len(list((home / "Maildir" / "cur").iterdir())) == 3
    assert list(archive_dir.iterdir()) == [], "no archive, manifest or partial file is left"


def test_an_existing_archive_of_the_same_name_is_never_replaced(store, run_module, monkeypatch) -> None:
    vmail, archive_dir = store
    home = make_mailbox(vmail)
    instant = dt.datetime(2026, 1, 5, 8, 30, tzinfo=dt.UTC)

    class FrozenClock(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return instant

    monkeypatch.setattr(mailbox_archive.dt, "datetime", FrozenClock)
    archive_dir.mkdir(parents=True)
    earlier = archive_dir / f"{ADDRESS}-20260105T083000Z.tar.gz"
    earlier.write_bytes(b"the only copy of an earlier mailbox")

    result = run_module(mailbox_archive, archive_args(vmail, archive_dir, ADDRESS))

    assert result["failed"] is True
    assert str(earlier) in result["msg"]
    assert earlier.read_bytes() == b"the only copy of an earlier mailbox"
    assert home.is_dir()


def test_archive_mode_requires_the_archive_folder(store, run_module) -> None:
    vmail, _ = store
    make_mailbox(vmail)

    result = run_module(mailbox_archive, {"addresses": [ADDRESS], "vmail_dir": str(vmail)})

    assert result["failed"] is True
    assert "archive_dir is required" in result["msg"]


# ---------------------------------------------------------------- restore


@pytest.fixture
def archived(doveadm, run_module) -> Path:
    """vtem's mailbox archived in the stand-in's mail store: the archive's path."""
    make_mailbox(doveadm.vmail)
    result = run_module(mailbox_archive, archive_args(doveadm.vmail, doveadm.vmail.parent / "archive", ADDRESS))
    return Path(result["archived"][0]["archive"])


def restore_args(vmail: Path, archive_path: Path, **overrides) -> dict:
    args = {
        "mode": "restore",
        "archive": str(archive_path),
        "restore_into": COLLEAGUE,
        "folder": FOLDER,
        "vmail_dir": str(vmail),
        # The mail store's vmail user; here an unprivileged user every Debian has.
        "vmail_user": "nobody",
    }
    return {**args, **overrides}


def imports(doveadm) -> list[dict]:
    return [call for call in doveadm.calls() if call["argv"][0] == "import"]


def test_restore_imports_every_message_into_the_folder(doveadm, archived, run_module) -> None:
    result = run_module(mailbox_archive, restore_args(doveadm.vmail, archived))

    assert result["changed"] is True
    assert result["restored"] == len(MESSAGES)
    assert result["messages_in_folder"] == len(MESSAGES)
    (call,) = imports(doveadm)
    assert call["argv"][:3] == ["import", "-u", COLLEAGUE]
    assert call["argv"][3].startswith(f"maildir:{doveadm.vmail}/.restore-")
    assert call["argv"][3].endswith("/vtem/Maildir")
    assert call["argv"][4:] == [FOLDER, "all"]
    folders = doveadm.state()["folders"][COLLEAGUE]
    assert sorted(folders) == [FOLDER, f"{FOLDER}/Sent"]
    assert sorted(text for texts in folders.values() for text in texts) == sorted(MESSAGES.values())


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to the vmail user needs root, as on the mail store")
def test_restored_files_belong_to_the_vmail_user_and_the_scratch_folder_goes(doveadm, archived, run_module) -> None:
    nobody = pwd.getpwnam("nobody")

    run_module(mailbox_archive, restore_args(doveadm.vmail, archived))

    (call,) = imports(doveadm)
    assert call["owners"] == [[nobody.pw_uid, nobody.pw_gid]]
    assert not list(doveadm.vmail.glob(".restore-*"))


def test_a_second_restore_changes_nothing(doveadm, archived, run_module) -> None:
    run_module(mailbox_archive, restore_args(doveadm.vmail, archived))

    again = run_module(mailbox_archive, restore_args(doveadm.vmail, archived))

    assert again["changed"] is False
    assert again["restored"] == 0
    assert again["messages_in_folder"] == len(MESSAGES)
    assert len(imports(doveadm)) == 1


def test_a_folder_that_already_holds_the_messages_is_left_alone(doveadm, archived, run_module) -> None:
    doveadm.set_folder(COLLEAGUE, FOLDER, ["restored by hand"] * len(MESSAGES))

    result = run_module(mailbox_archive, restore_args(doveadm.vmail, archived))

    assert result["changed"] is False
    assert imports(doveadm) == []
    searches = [call["argv"] for call in doveadm.calls() if call["argv"][0] == "search"]
    assert searches == [["search", "-u", COLLEAGUE, "mailbox", f"{FOLDER}*", "all"]]


def test_check_mode_restore_reports_and_imports_nothing(doveadm, archived, run_module) -> None:
    result = run_module(mailbox_archive, restore_args(doveadm.vmail, archived), check_mode=True)

    assert result["changed"] is True
    assert result["restored"] == len(MESSAGES)
    assert imports(doveadm) == []
    assert not list(doveadm.vmail.glob(".restore-*"))


def test_a_damaged_archive_is_refused_before_anything_is_imported(doveadm, archived, run_module) -> None:
    with archived.open("ab") as archive:
        archive.write(b"\0")

    result = run_module(mailbox_archive, restore_args(doveadm.vmail, archived))

    assert result["failed"] is True
    assert "SHA-256 differs" in result["msg"]
    assert doveadm.calls() == []


def test_an_archive_without_its_manifest_is_refused(doveadm, archived, run_module) -> None:
    Path(str(archived) + ".json").unlink()

    result = run_module(mailbox_archive, restore_args(doveadm.vmail, archived))

    assert result["failed"] is True
    assert "no such archive with its manifest" in result["msg"]


def test_a_failed_import_fails_the_restore_with_doveadms_words(doveadm, archived, run_module) -> None:
    doveadm.fail("import", "Mailbox Lưu trữ/vtem: Quota exceeded")

    result = run_module(mailbox_archive, restore_args(doveadm.vmail, archived))

    assert result["failed"] is True
    assert "doveadm import into ttbinh@soctrang.gov.vn failed" in result["msg"]
    assert "Quota exceeded" in result["msg"]
    assert not list(doveadm.vmail.glob(".restore-*"))


def test_fewer_messages_than_the_manifest_fail_the_restore(doveadm, archived, run_module) -> None:
    manifest_path = Path(str(archived) + ".json")
    manifest = json.loads(manifest_path.read_text())
    manifest["messages"] += 1
    manifest_path.write_text(json.dumps(manifest))

    result = run_module(mailbox_archive, restore_args(doveadm.vmail, archived))

    assert result["failed"] is True
    assert result["msg"] == f"restored {len(MESSAGES)} messages of the {len(MESSAGES) + 1} in the manifest"


@pytest.mark.parametrize("missing", ["archive", "restore_into", "folder"])
def test_restore_requires_its_arguments(doveadm, archived, run_module, missing: str) -> None:
    result = run_module(mailbox_archive, restore_args(doveadm.vmail, archived, **{missing: None}))

    assert result["failed"] is True
    assert result["msg"] == f"{missing} is required with mode=restore"
