"""Reading the province policy from group_vars the way Ansible ranks it, for the tools.

Ansible loads the top-level group_vars/ through playbooks/group_vars (playbook
group_vars): above an inventory's group_vars/all, below its group_vars/<group>.
The command-line tools (make addresses) read the same files in the same order,
so they and the playbooks can never disagree on the domain or the naming table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .state import Policy

# The policy keys the address rules read, and the group_vars variables they come from.
POLICY_VARIABLES = {
    "domain": "soctrang_mail_domain",
    "unit_naming": "soctrang_unit_naming",
    "reserved": "soctrang_reserved_local_parts",
    "ranks": "soctrang_leadership_ranks",
    "mailbox_quota": "soctrang_mailbox_quota",
}


def _var_files(group_vars: Path, group: str) -> list[Path]:
    single = [p for p in (group_vars / f"{group}.yml", group_vars / f"{group}.yaml") if p.is_file()]
    folder = group_vars / group
    nested = sorted(p for p in folder.rglob("*") if p.suffix in (".yml", ".yaml")) if folder.is_dir() else []
    return single + nested


def _load(paths: list[Path], into: dict[str, Any]) -> None:
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: group_vars files must hold a mapping of variables")
        into.update(data)


def load_variables(repo: Path, inventory: Path) -> dict[str, Any]:
    variables: dict[str, Any] = {}
    inventory_vars = inventory / "group_vars"
    _load(_var_files(inventory_vars, "all"), variables)
    _load(_var_files(repo / "group_vars", "all"), variables)
    if inventory_vars.is_dir():
        groups = sorted({p.stem for p in inventory_vars.iterdir()} - {"all"})
        for group in groups:
            _load(_var_files(inventory_vars, group), variables)
    return variables


def load_policy(repo: Path, inventory: Path) -> Policy:
    variables = load_variables(repo, inventory)
    return Policy.from_vars({key: variables.get(var) for key, var in POLICY_VARIABLES.items() if var in variables})
