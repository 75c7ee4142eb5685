"""Lookup: the desired state of an inventory's mail system, from its directory files and ledger."""

from __future__ import annotations

import datetime as dt

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible_collections.soctrang.mail.plugins.plugin_utils.directory import DirectoryError
from ansible_collections.soctrang.mail.plugins.plugin_utils.ledger import LedgerError
from ansible_collections.soctrang.mail.plugins.plugin_utils.state import (
    Policy,
    StaleLedgerError,
    inventory_mail_state,
    state_json,
)

DOCUMENTATION = r"""
name: mail_state
author: Trung tâm Công nghệ số, Sở TT&TT Sóc Trăng
version_added: "1.0.0"
short_description: the desired state of every mailbox of an inventory, as one JSON string
description:
  - Finds the organisation directory of an inventory folder - every file ending in C(.yml) or
    C(.yaml) under C(<inventory>/directory/), in sub-folders too, hidden ones left out - and its
    address ledger C(<inventory>/addresses.yml). These are exactly the files C(make addresses)
    reads (one function, C(plugin_utils/directory.py) C(directory_files)).
  - Validates every file, derives every address by the rules of Điều 3 and checks that the
    committed ledger already records them. Fails, naming the file, the entry and the fix, when
    the directory is invalid or the ledger is stale (run C(make addresses)).
  - Returns the desired state of docs/contracts.md (C(domain), C(accounts) in state C(active) or
    C(disabled), and the C(retired) addresses) as one compact JSON string with sorted keys.
    Ansible walks every value of a structure handed between tasks and plays, seconds for 20,000
    accounts; a string it passes as it is. Decode it where it is used (C(from_json), or a
    module's C(accounts_json)).
  - Runs on the controller, like every lookup; compute it once per run (C(run_once)).
options:
  _terms:
    description:
      - The inventory folder, absolute or relative to the working directory; C(inventory_dir) in a play.
      - Exactly one.
    required: true
  policy:
    description:
      - The province's address policy - C(domain), C(unit_naming), C(reserved), C(ranks),
        C(mailbox_quota).
      - The variable C(soctrang_address_policy) (group_vars/all/address_rules.yml) when not given.
    type: dict
    vars:
      - name: soctrang_address_policy
  today:
    description: The day new addresses would be assigned (ISO date), for tests; default today.
    type: str
"""

EXAMPLES = r"""
- name: Compute the desired state once, on the controller
  ansible.builtin.set_fact:
    mailboxes_desired_state_json: >-
      {{ lookup('soctrang.mail.mail_state', inventory_dir, policy=soctrang_address_policy) }}
  run_once: true

- name: Count the mailboxes
  ansible.builtin.debug:
    msg: "{{ (lookup('soctrang.mail.mail_state', inventory_dir) | from_json).accounts | length }} mailboxes"
"""

RETURN = r"""
_raw:
  description:
    - One JSON string - an object with C(domain), C(accounts) (every mailbox that must exist,
      sorted by C(mail), C(state) C(active) or C(disabled)) and C(retired) (C(mail), C(owner)
      of every address that must refuse mail).
  type: list
  elements: str
"""


class LookupModule(LookupBase):
    def run(self, terms: list, variables: dict | None = None, **kwargs: object) -> list[str]:
        self.set_options(var_options=variables, direct=kwargs)
        if len(terms) != 1 or not isinstance(terms[0], str) or not terms[0]:
            raise AnsibleLookupError(f"soctrang.mail.mail_state: give one inventory folder, got {terms!r}")
        inventory = terms[0]
        # Taken from soctrang_address_policy when not given: a variable's value, still to be templated.
        policy = self._templar.template(self.get_option("policy"))
        if not policy:
            raise AnsibleLookupError(
                "soctrang.mail.mail_state: no policy; pass policy=soctrang_address_policy "
                "(group_vars/all/address_rules.yml)"
            )
        today = self.get_option("today")
        try:
            state = inventory_mail_state(
                inventory, Policy.from_vars(policy), today=dt.date.fromisoformat(today) if today else None
            )
        except (DirectoryError, LedgerError, StaleLedgerError, ValueError) as exc:
            raise AnsibleLookupError(f"soctrang.mail.mail_state: {exc}") from exc
        return [state_json(state)]
