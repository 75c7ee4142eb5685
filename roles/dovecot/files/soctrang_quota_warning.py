#!/usr/bin/python3
"""Tell a user, in Vietnamese, that the mailbox is filling up (Điều 7).

Dovecot's quota plugin runs this (service quota-warning, as the vmail user)
when a delivery or an APPEND crosses a warning threshold:

    quota-warning <percent> <user>
    quota-warning --check-config FILE     (the role's validate: of FILE)

The message goes straight into the user's INBOX through dovecot-lda with the
quota not enforced, so the warning itself is never refused. Its subject and
body come from the settings the role renders (roles/dovecot,
templates/quota-warning.json.j2), with {percent} and {user} filled in here.
"""

from __future__ import annotations

import sys

import soctrang_notice

CONFIG = "/etc/soctrang-mail/quota-warning.json"
FIELDS = ("percent", "user")
USAGE_ERROR = 64  # sysexits EX_USAGE
CONFIG_ERROR = 78  # sysexits EX_CONFIG


def read_notice(path: str) -> soctrang_notice.Notice:
    config = soctrang_notice.read_settings(path, soctrang_notice.NOTICE_SCHEMA)
    return soctrang_notice.notice_of(config, FIELDS, path)


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if len(arguments) == 2 and arguments[0] == "--check-config":
        try:
            read_notice(arguments[1])
        except soctrang_notice.ConfigError as error:
            print(error, file=sys.stderr)
            return 1
        return 0
    if len(arguments) != 2:
        print("usage: quota-warning <percent> <user>", file=sys.stderr)
        return USAGE_ERROR
    percent, user = arguments
    try:
        notice = read_notice(CONFIG)
    except soctrang_notice.ConfigError as error:
        print(error, file=sys.stderr)
        return CONFIG_ERROR
    return notice.deliver(user, {"percent": percent, "user": user})


if __name__ == "__main__":
    sys.exit(main())
