#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# ansible-test validate-modules wants DOCUMENTATION, EXAMPLES and RETURN above the imports:
# ruff: noqa: E402
"""Archive the mailboxes of retired addresses, verify, then remove; or restore one archive."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mailbox_archive
short_description: Archive retired mailboxes before they are removed, and restore an archive
description:
  - Runs on the mail store as root.
  - O(mode=archive) takes every address in O(addresses) whose mailbox still exists under
    O(vmail_dir), writes the whole mailbox (Maildir, Sieve scripts) to a gzip-compressed
    tar archive in O(archive_dir), reads the archive back and compares every message file
    (name and size) with the mailbox on disk, writes a manifest (JSON) with the archive's
    SHA-256 beside it, and only then removes the mailbox. Nothing is removed without a
    verified archive. Addresses without a mailbox are reported in RV(without_mailbox);
    their directory entries may be removed.
  - O(mode=restore) imports the messages of O(archive) into the folder O(folder) of the
    mailbox O(restore_into) with C(doveadm import), and checks that the folder then holds
    as many messages as the manifest lists. A folder that already holds them is left alone.
  - Maildir is a standard format; any archive can also be read without Dovecot.
options:
  mode:
    description:
      - C(archive) archives, verifies and removes the mailboxes of O(addresses).
      - C(restore) imports the messages of O(archive) into O(restore_into).
    type: str
    choices: [archive, restore]
    default: archive
  addresses:
    description: Retired addresses (O(mode=archive)).
    type: list
    elements: str
    default: []
  vmail_dir:
    description: Root of the mailboxes, C(<vmail_dir>/<domain>/<local part>).
    type: path
    required: true
  vmail_user:
    description: Owner of the mailboxes.
    type: str
    default: vmail
  archive_dir:
    description: Where archives and manifests are written; required with O(mode=archive).
    type: path
  archive:
    description:
      - The archive to restore; required with O(mode=restore).
      - Its manifest, the same path with C(.json) appended, must lie beside it.
    type: path
  restore_into:
    description: Address of the mailbox that receives the restored messages; required with O(mode=restore).
    type: str
  folder:
    description: Folder created in O(restore_into) for the restored messages; required with O(mode=restore).
    type: str
author: Sóc Trăng provincial mail operators (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Archive and remove retired mailboxes
  soctrang.mail.mailbox_archive:
    addresses: [vtem@soctrang.gov.vn]
    vmail_dir: /var/vmail
    archive_dir: /var/backups/soctrang-mail-archive
"""

RETURN = r"""
archived:
  description:
    - One record per archived mailbox, as its manifest holds it - address, archive, manifest, format,
      created, messages, bytes, sha256.
    - In check mode only address, with archive null.
  type: list
  elements: dict
  returned: O(mode=archive)
without_mailbox:
  description: Addresses of O(addresses) that have no mailbox (any more).
  type: list
  elements: str
  returned: O(mode=archive)
restored:
  description: Messages imported (O(mode=restore)).
  type: int
  returned: O(mode=restore)
messages_in_folder:
  description: Messages in O(folder) after the run; not in check mode when messages would be imported.
  type: int
  returned: O(mode=restore)
"""


import datetime as dt
import hashlib
import json
import os
import pwd
import shutil
import tarfile
import tempfile
from pathlib import Path

from ansible.module_utils.basic import AnsibleModule

MESSAGE_DIRS = ("cur", "new")


def mailbox_home(vmail_dir: str, address: str) -> Path:
    local_part, domain = address.lower().split("@", 1)
    return Path(vmail_dir) / domain / local_part


def message_files(home: Path) -> dict[str, int]:
    """Relative path -> size of every message file of a mailbox on disk."""
    files: dict[str, int] = {}
    for path in home.rglob("*"):
        if path.is_file() and path.parent.name in MESSAGE_DIRS:
            files[str(path.relative_to(home.parent))] = path.stat().st_size
    return files


def archived_message_files(archive: Path) -> dict[str, int]:
    files: dict[str, int] = {}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile() and Path(member.name).parent.name in MESSAGE_DIRS:
                files[member.name] = member.size
    return files


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def archive_mailbox(module: AnsibleModule, address: str, home: Path, archive_dir: Path) -> dict:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    archive = archive_dir / f"{address}-{stamp}.tar.gz"
    # The rename below would silently replace it: perhaps the only copy of an earlier mailbox.
    for existing in (archive, Path(str(archive) + ".json")):
        if existing.exists():
            module.fail_json(
                msg=f"{existing} exists already (archived in the same second); the mailbox {home} was kept"
            )
    partial = archive.with_suffix(".partial")
    on_disk = message_files(home)
    with tarfile.open(partial, "w:gz") as tar:
        tar.add(home, arcname=home.name)
    in_archive = archived_message_files(partial)
    if in_archive != on_disk:
        missing = sorted(set(on_disk) - set(in_archive))[:5]
        partial.unlink()
        module.fail_json(
            msg=f"the archive of {address} does not match its mailbox (first differences: {missing}); "
            f"the mailbox {home} was kept"
        )
    partial.rename(archive)
    record = {
        "address": address,
        "archive": str(archive),
        "manifest": str(archive) + ".json",
        "format": "tar.gz of the Maildir home (Dovecot 2.4, maildir)",
        "created": stamp,
        "messages": len(on_disk),
        "bytes": sum(on_disk.values()),
        "sha256": sha256_of(archive),
    }
    Path(record["manifest"]).write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    shutil.rmtree(home)
    return record


def run_archive(module: AnsibleModule) -> None:
    params = module.params
    if not params["archive_dir"]:
        module.fail_json(msg="archive_dir is required with mode=archive")
    archive_dir = Path(params["archive_dir"])
    to_archive = []
    without_mailbox = []
    for address in sorted({address.lower() for address in params["addresses"]}):
        home = mailbox_home(params["vmail_dir"], address)
        (to_archive if home.is_dir() else without_mailbox).append((address, home))
    archived = []
    if not module.check_mode:
        archive_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        archived = [archive_mailbox(module, address, home, archive_dir) for address, home in to_archive]
    else:
        archived = [{"address": address, "archive": None} for address, _ in to_archive]
    module.exit_json(
        changed=bool(to_archive),
        archived=archived,
        without_mailbox=[address for address, _ in without_mailbox] + [record["address"] for record in archived],
    )


def folder_message_count(module: AnsibleModule, address: str, folder: str) -> int:
    return_code, stdout, stderr = module.run_command(["doveadm", "search", "-u", address, "mailbox", folder, "all"])
    if return_code != 0:
        if "Mailbox doesn't exist" in stderr or "doesn't exist" in stderr:
            return 0
        module.fail_json(msg=f"doveadm search in {address} {folder} failed: {stderr.strip()}")
    return len([line for line in stdout.splitlines() if line.strip()])


def run_restore(module: AnsibleModule) -> None:
    params = module.params
    for required in ("archive", "restore_into", "folder"):
        if not params[required]:
            module.fail_json(msg=f"{required} is required with mode=restore")
    archive = Path(params["archive"])
    manifest_path = Path(str(archive) + ".json")
    if not archive.is_file() or not manifest_path.is_file():
        module.fail_json(msg=f"{archive}: no such archive with its manifest {manifest_path.name}")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if sha256_of(archive) != manifest["sha256"]:
        module.fail_json(msg=f"{archive}: its SHA-256 differs from the manifest; the archive is damaged")
    target, folder = params["restore_into"], params["folder"]
    before = folder_message_count(module, target, folder + "*")
    if before >= manifest["messages"]:
        module.exit_json(changed=False, restored=0, messages_in_folder=before)
    if module.check_mode:
        module.exit_json(changed=True, restored=manifest["messages"])
    owner = pwd.getpwnam(params["vmail_user"])
    with tempfile.TemporaryDirectory(dir=params["vmail_dir"], prefix=".restore-") as scratch:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(scratch, filter="data")
        for root, _, files in os.walk(scratch):
            os.chown(root, owner.pw_uid, owner.pw_gid)
            for name in files:
                os.chown(os.path.join(root, name), owner.pw_uid, owner.pw_gid)
        local_part = manifest["address"].split("@", 1)[0]
        source = f"maildir:{scratch}/{local_part}/Maildir"
        return_code, _, stderr = module.run_command(["doveadm", "import", "-u", target, source, folder, "all"])
        if return_code != 0:
            module.fail_json(msg=f"doveadm import into {target} failed: {stderr.strip()}")
    after = folder_message_count(module, target, folder + "*")
    if after - before < manifest["messages"]:
        module.fail_json(msg=f"restored {after - before} messages of the {manifest['messages']} in the manifest")
    module.exit_json(changed=True, restored=after - before, messages_in_folder=after)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "mode": {"type": "str", "choices": ["archive", "restore"], "default": "archive"},
            "addresses": {"type": "list", "elements": "str", "default": []},
            "vmail_dir": {"type": "path", "required": True},
            "vmail_user": {"type": "str", "default": "vmail"},
            "archive_dir": {"type": "path"},
            "archive": {"type": "path"},
            "restore_into": {"type": "str"},
            "folder": {"type": "str"},
        },
        supports_check_mode=True,
    )
    if module.params["mode"] == "archive":
        run_archive(module)
    else:
        run_restore(module)


if __name__ == "__main__":
    main()
