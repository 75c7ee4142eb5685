"""The province's address policy for the command-line tools, read by Ansible itself.

The policy is one variable, ``soctrang_address_policy`` (group_vars/all/address_rules.yml).
The playbooks hand it to the lookup ``soctrang.mail.mail_state``; the tools (``make
addresses``, the roster importer and generator, the benchmarks, the tests) read the
same variable here through Ansible's own inventory and variable manager, with the
playbooks' folder as the base directory, so that playbooks/group_vars (the link to
the top-level group_vars/) ranks exactly as it does for ``ansible-playbook``. No
precedence is written here: an inventory that deviates from the province does it
for Ansible and for the tools at once.

Ansible remembers, per process, which group_vars files an inventory folder holds
(as within one ansible-playbook run): a process sees them as they were when it
first read that inventory.

Reading it costs a tool 0.3-0.5 s: Ansible's import once per process, then the
inventory and its variables at each call (docs/contracts.md §3).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .state import Policy

POLICY_VARIABLE = "soctrang_address_policy"

# What an inventory folder holds besides inventory sources; Ansible ignores it too
# (ansible.cfg, inventory_ignore_patterns).
_NOT_INVENTORY = frozenset(("directory", "addresses.yml", "addresses.yaml", "group_vars", "host_vars"))


class PolicyError(ValueError):
    """The inventory's hosts do not see one policy, or it is missing."""


def _ansible(repo: Path) -> tuple[Any, Any, Any, Any]:
    # Ansible reads its configuration when its constants are first imported: the
    # repository's ansible.cfg, as `make` and ansible-playbook use it (an
    # ANSIBLE_CONFIG already set wins, as it does for ansible-playbook).
    os.environ.setdefault("ANSIBLE_CONFIG", str(repo / "ansible.cfg"))
    # Imported here, after ANSIBLE_CONFIG, and only by the tools that read a policy.
    from ansible.inventory.manager import InventoryManager  # noqa: PLC0415 - after ANSIBLE_CONFIG
    from ansible.parsing.dataloader import DataLoader  # noqa: PLC0415 - after ANSIBLE_CONFIG
    from ansible.plugins.loader import init_plugin_loader  # noqa: PLC0415 - after ANSIBLE_CONFIG
    from ansible.template import Templar  # noqa: PLC0415 - after ANSIBLE_CONFIG
    from ansible.utils.collection_loader import AnsibleCollectionConfig  # noqa: PLC0415 - after ANSIBLE_CONFIG
    from ansible.vars.manager import VariableManager  # noqa: PLC0415 - after ANSIBLE_CONFIG

    if AnsibleCollectionConfig.collection_finder is None:
        init_plugin_loader()  # what every ansible command does first (inventory plugins by FQCN)
    return DataLoader, InventoryManager, VariableManager, Templar


def _sources(inventory: Path | None) -> list[str]:
    """``-i <inventory>``; nothing when the folder holds no inventory source (only implicit localhost)."""
    if inventory is None:
        return []
    if inventory.is_file():
        return [str(inventory)]
    holds = {p.name for p in inventory.iterdir() if not p.name.startswith(".")} if inventory.is_dir() else set()
    return [str(inventory)] if holds - _NOT_INVENTORY else []


def _plain(value: object) -> object:
    """Ansible's tagged containers as plain dicts, lists and strings."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def _policy_variable(repo: Path, inventory: Path | None) -> dict[str, Any]:
    DataLoader, InventoryManager, VariableManager, Templar = _ansible(repo)  # noqa: N806 - classes
    loader = DataLoader()
    loader.set_basedir(str(repo / "playbooks"))  # playbooks/group_vars, as for ansible-playbook playbooks/<any>.yml
    hosts_of = InventoryManager(loader=loader, sources=_sources(inventory))
    variables_of = VariableManager(loader=loader, inventory=hosts_of)
    hosts = hosts_of.get_hosts() or [hosts_of.get_host("localhost")]
    seen: dict[str, Any] = {}
    for host in hosts:
        variables = variables_of.get_vars(host=host, include_hostvars=False)
        if POLICY_VARIABLE not in variables:
            raise PolicyError(
                f"{inventory or repo}: host {host.name} has no {POLICY_VARIABLE} (group_vars/all/address_rules.yml)"
            )
        policy = _plain(Templar(loader=loader, variables=variables).template(variables[POLICY_VARIABLE]))
        first = next(iter(seen.items()), None)
        if first and first[1] != policy:
            raise PolicyError(
                f"{inventory}: hosts {first[0]} and {host.name} see different values of {POLICY_VARIABLE} "
                "(one of its variables is set for a group that not every host is in): the address policy "
                "is one for the whole inventory; set it in group_vars/<a group every host is in>.yml"
            )
        seen[host.name] = policy
    return next(iter(seen.values()))


def load_policy_variable(repo: Path, inventory: Path | None) -> dict[str, Any]:
    """``soctrang_address_policy`` as every host of ``inventory`` (a folder or its hosts file) sees it
    when a playbook of ``repo``/playbooks runs against it; None: no inventory, the province's own."""
    where = Path(inventory).resolve() if inventory is not None else None
    return _policy_variable(Path(repo).resolve(), where)


def load_policy(repo: Path, inventory: Path | None) -> Policy:
    """The address policy of ``inventory`` (None: the province's own), for the playbooks of ``repo``."""
    return Policy.from_vars(load_policy_variable(repo, inventory))
