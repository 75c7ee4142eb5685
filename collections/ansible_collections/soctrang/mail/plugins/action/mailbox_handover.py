"""Write initial passwords to vault-encrypted hand-over files, one per unit.

Runs on the controller (an action plugin, no module): the passwords never
leave it in cleartext and all files are written in one task, however many
units there are. A unit's file of the same day is decrypted and merged, so a
second run on one day (or a run repeating an interrupted hand-over) adds to
it instead of replacing what an agency has not received yet.

Its documentation is the doc-only module plugins/modules/mailbox_handover.py.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml
from ansible.errors import AnsibleActionFail
from ansible.parsing.vault import VaultLib, VaultSecret
from ansible.plugins.action import ActionBase
from ansible_collections.soctrang.mail.plugins.module_utils.private_files import write_private_file

HEADER = (
    "# Initial mailbox passwords of one unit (Điều 4, Điều 8.1.a). Hand each one to its owner\n"
    "# privately; the first login must change it. Open with: ansible-vault view <file>\n"
)


def _unit_file_name(unit: str, day: str) -> str:
    safe = "".join(character if character.isalnum() or character in "-_." else "_" for character in unit)
    return f"{safe or 'unassigned'}-{day}.yml"


def _vault(password_file: str, vault_id: str) -> tuple[VaultLib, VaultSecret]:
    path = Path(password_file)
    if not password_file or not path.is_file():
        raise AnsibleActionFail(
            f"the hand-over vault password file {password_file!r} does not exist: set mailboxes_vault_password_file "
            "(or SOCTRANG_HANDOVER_VAULT_PASSWORD_FILE) to a file holding the password the agencies' files are "
            "encrypted with"
        )
    password = path.read_text(encoding="utf-8").strip()
    if not password:
        raise AnsibleActionFail(f"the hand-over vault password file {password_file} is empty")
    secret = VaultSecret(password.encode("utf-8"))
    return VaultLib([(vault_id, secret)]), secret


def _merged_accounts(path: Path, vault: VaultLib, records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
    """The unit file's accounts with the records merged in, and whether that differs from the file."""
    accounts: dict[str, dict[str, Any]] = {}
    earlier: dict[str, Any] = {}
    if path.exists():
        try:
            earlier = yaml.safe_load(vault.decrypt(path.read_bytes())) or {}
        except Exception as error:
            raise AnsibleActionFail(
                f"{path}: cannot open the existing hand-over file with the vault password ({error}); "
                "move it aside or use the password it was written with"
            ) from error
        accounts = {account["mail"]: account for account in earlier.get("accounts", [])}
    for record in records:
        # str(): values templated from variables are Ansible's tagged strings, which yaml.safe_dump refuses.
        accounts[str(record["mail"])] = {
            "mail": str(record["mail"]),
            "owner": str(record["owner"]),
            "password": str(record["password"]),
            "must_change_at_first_login": True,
        }
    merged = [accounts[mail] for mail in sorted(accounts)]
    return merged, merged != earlier.get("accounts")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("records", "directory", "vault_password_file", "vault_id", "date"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        records = args.get("records") or []
        directory = Path(str(args.get("directory") or ""))
        vault_id = str(args.get("vault_id") or "handover")
        day = str(args.get("date") or dt.date.today().isoformat())
        result.update(changed=False, files=[], units=0, accounts=0)
        if not records:
            return result
        if not args.get("directory"):
            raise AnsibleActionFail("directory is required: the controller folder of the hand-over files")
        if self._task.check_mode:
            result["files"] = sorted({str(directory / _unit_file_name(r["unit"], day)) for r in records})
            return result
        vault, secret = _vault(str(args.get("vault_password_file") or ""), vault_id)
        by_unit: dict[str, list[dict[str, Any]]] = {}
        for record in records:
            by_unit.setdefault(str(record["unit"]), []).append(record)
        written = False
        for unit, unit_records in sorted(by_unit.items()):
            path = directory / _unit_file_name(unit, day)
            accounts, differs = _merged_accounts(path, vault, unit_records)
            # A file that holds these records already is not rewritten (the same records
            # again: no change); it still counts below, so the caller may clear its journal.
            if differs:
                document = {"unit": unit, "date": day, "accounts": accounts}
                text = HEADER + yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
                write_private_file(str(path), vault.encrypt(text, secret, vault_id=vault_id), ".handover-")
                written = True
            result["files"].append(str(path))
        result.update(changed=written, units=len(by_unit), accounts=len(records))
        return result
