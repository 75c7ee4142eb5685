"""A stand-in for `doveadm`, put on PATH by the `doveadm` fixture (conftest.py).

Why a stand-in: the modules call Dovecot 2.4's doveadm, and this controller
(Debian 12) ships Dovecot 2.3, whose doveadm speaks another configuration and
cannot serve a 2.4 mail store. molecule/mail runs the same modules against the
real Dovecot 2.4; these unit tests check the modules' logic around doveadm.

It does only the calls the modules make, and leaves what the real one
leaves where the modules look for it:
- `search -u U mailbox PATTERN all`: one `<mailbox guid> <uid>` line per
  message of the folders matching PATTERN (a trailing `*` matches a prefix);
  nothing, exit 0, when none matches.
- `import -u U maildir:PATH FOLDER all`: the messages (files in cur/ and new/)
  of PATH's INBOX go to FOLDER, those of its `.Sub` folders to FOLDER/Sub.
- `acl set -u U INBOX user=X RIGHTS...` / `acl delete -u U INBOX user=X`: the
  line `user=X <letters>` of <home>/Maildir/dovecot-acl, Dovecot's vfile format.
- `who -1`: the header line `username proto pid ip`, then one line per open
  session (connection), as Dovecot 2.4 prints them.
- `kick U`: U's sessions are closed (gone from `who -1`).
- `auth cache flush U...`: nothing to do here; the call is what counts.
Every call is recorded in the log, with the owner of each imported file.
The folders and the open sessions (`sessions`, {"user", "proto"} each) live in
a JSON state file; `fail` in it makes a command fail as doveadm does (message
on stderr, exit 75).
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path

STATE = Path(os.environ["DOVEADM_STAND_IN_STATE"])
LOG = Path(os.environ["DOVEADM_STAND_IN_LOG"])
VMAIL = Path(os.environ["DOVEADM_STAND_IN_VMAIL"])
LETTERS = {
    "lookup": "l",
    "read": "r",
    "write": "w",
    "write-seen": "s",
    "write-deleted": "t",
    "insert": "i",
    "post": "p",
    "expunge": "e",
    "create": "k",
    "delete": "x",
    "admin": "a",
}
COMMANDS = ("search", "import", "acl set", "acl delete", "who", "kick", "auth cache flush")


def load() -> dict:
    return json.loads(STATE.read_text()) if STATE.exists() else {"folders": {}, "sessions": [], "fail": {}}


def save(state: dict) -> None:
    STATE.write_text(json.dumps(state, indent=1))


def record(entry: dict) -> None:
    with LOG.open("a") as log:
        log.write(json.dumps(entry) + "\n")


def acl_path(user: str) -> Path:
    local_part, domain = user.split("@", 1)
    return VMAIL / domain / local_part / "Maildir" / "dovecot-acl"


def search(state: dict, user: str, pattern: str) -> None:
    folders = state["folders"].get(user, {})
    for name, messages in sorted(folders.items()):
        matches = name.startswith(pattern[:-1]) if pattern.endswith("*") else name == pattern
        if matches:
            guid = uuid.uuid5(uuid.NAMESPACE_URL, f"{user}/{name}").hex
            for uid in range(1, len(messages) + 1):
                print(f"{guid} {uid}")


def import_maildir(state: dict, user: str, source: str, folder: str, entry: dict) -> None:
    root = Path(source.removeprefix("maildir:"))
    mailboxes = {"": root, **{path.name[1:]: path for path in root.glob(".*") if path.is_dir()}}
    owners = set()
    folders = state["folders"].setdefault(user, {})
    for name, path in mailboxes.items():
        files = sorted(file for sub in ("cur", "new") for file in (path / sub).glob("*") if file.is_file())
        owners.update((file.stat().st_uid, file.stat().st_gid) for file in files)
        if files:
            target = f"{folder}/{name}" if name else folder
            folders.setdefault(target, []).extend(file.read_bytes().decode("utf-8", "replace") for file in files)
    entry["owners"] = sorted(owners)


def set_acl(user: str, identifier: str, rights: list[str]) -> None:
    path = acl_path(user)
    lines = [
        line for line in (path.read_text().splitlines() if path.exists() else []) if line.split(" ")[0] != identifier
    ]
    letters = "".join(letter for name, letter in LETTERS.items() if name in rights)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in [*lines, f"{identifier} {letters}"]))


def delete_acl(user: str, identifier: str) -> None:
    path = acl_path(user)
    kept = [line for line in path.read_text().splitlines() if line.split(" ")[0] != identifier]
    path.write_text("".join(f"{line}\n" for line in kept))


def who(state: dict) -> None:
    print("username proto pid ip")
    for number, session in enumerate(state["sessions"], start=1):
        print(f"{session['user']} {session['proto']} {1000 + number} 192.0.2.{number}")


def kick(state: dict, user: str) -> None:
    state["sessions"] = [session for session in state["sessions"] if session["user"] != user]


def main(argv: list[str]) -> int:
    state = load()
    entry = {"argv": argv}
    command = next((name for name in COMMANDS if argv[: len(name.split())] == name.split()), argv[0])
    failure = state["fail"].get(command)
    if failure:
        record(entry)
        context = f"doveadm({argv[argv.index('-u') + 1]})" if "-u" in argv else "doveadm"
        print(f"{context}: Error: {failure}", file=sys.stderr)
        return 75
    if command == "search":
        _, _, user, _, pattern, _ = argv
        search(state, user, pattern)
    elif command == "import":
        _, _, user, source, folder, _ = argv
        import_maildir(state, user, source, folder, entry)
    elif command == "acl set":
        _, _, _, user, _, identifier, *rights = argv
        set_acl(user, identifier, rights)
    elif command == "acl delete":
        _, _, _, user, _, identifier = argv
        delete_acl(user, identifier)
    elif argv == ["who", "-1"]:
        who(state)
    elif command == "kick":
        _, user = argv
        kick(state, user)
    elif command == "auth cache flush" and len(argv) > 3:
        pass  # No cache here. (Flushing all of it, with no user, is no call the modules make.)
    else:
        print(f"doveadm stand-in: {' '.join(argv)} is not a call the modules make", file=sys.stderr)
        return 64
    record(entry)
    save(state)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
