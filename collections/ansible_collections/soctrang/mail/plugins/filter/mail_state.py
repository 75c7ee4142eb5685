"""Filter: the desired state of the mail system, from the directory and its ledger."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

# The rules live in plugin_utils (plain Python), shared with tools/ and the tests.
from ansible_collections.soctrang.mail.plugins.plugin_utils.directory import DirectoryError
from ansible_collections.soctrang.mail.plugins.plugin_utils.ledger import LedgerError
from ansible_collections.soctrang.mail.plugins.plugin_utils.state import (
    Policy,
    StaleLedgerError,
    mail_state,
    state_json,
)


def soctrang_mail_state(
    files: Mapping[str, str],
    ledger_text: str,
    policy: Mapping[str, Any],
    ledger_file: str = "addresses.yml",
    today: str | None = None,
) -> dict[str, Any]:
    if not isinstance(files, Mapping) or not all(isinstance(v, str) for v in files.values()):
        raise AnsibleFilterError(
            "soctrang.mail.mail_state: expects a mapping of directory file path -> YAML text, "
            f"got {type(files).__name__}"
        )
    if not isinstance(ledger_text, str):
        raise AnsibleFilterError(
            f"soctrang.mail.mail_state: ledger_text must be the ledger's text, got {type(ledger_text).__name__}"
        )
    try:
        day = dt.date.fromisoformat(today) if today else None
        return mail_state(
            {str(k): str(v) for k, v in files.items()},
            ledger_text=str(ledger_text),
            ledger_file=str(ledger_file),
            policy=Policy.from_vars(policy),
            today=day,
        )
    except (DirectoryError, LedgerError, StaleLedgerError, ValueError) as exc:
        raise AnsibleFilterError(f"soctrang.mail.mail_state: {exc}") from exc


def soctrang_mail_state_json(
    files: Mapping[str, str],
    ledger_text: str,
    policy: Mapping[str, Any],
    ledger_file: str = "addresses.yml",
    today: str | None = None,
) -> str:
    return state_json(soctrang_mail_state(files, ledger_text, policy, ledger_file, today))


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"mail_state": soctrang_mail_state, "mail_state_json": soctrang_mail_state_json}
