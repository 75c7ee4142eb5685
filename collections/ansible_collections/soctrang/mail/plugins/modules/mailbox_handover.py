# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This is a virtual module: it is entirely implemented by the action plugin
# plugins/action/mailbox_handover.py, which runs on the controller. This file
# only holds its documentation, for ansible-doc (as ansible.builtin.template).

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mailbox_handover
short_description: Hand initial passwords over in vault-encrypted files, one per unit
description:
  - Runs on the controller only (an action plugin; no code is sent to any host), so
    the passwords never leave it in cleartext, and all files are written in one task however many
    units there are.
  - Writes one file per unit, C(<unit>-<date>.yml) in O(directory), encrypted with
    ansible-vault, mode 0600. Each file lists the unit's accounts (mail, owner,
    password) and tells the owner that the first login must change the password.
  - A unit's file of the same day is decrypted and merged, so a second run on one day
    (or a run repeating an interrupted hand-over) adds to it instead of replacing what
    an agency has not received yet.
  - Call it with C(no_log) - O(records) holds cleartext passwords.
author: Sóc Trăng provincial mail operators (!UNKNOWN)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: partial
    details: Lists in RV(files) the files it would write, and reports no change.
  diff_mode:
    support: none
  platform:
    platforms: all
options:
  records:
    description:
      - The C(initial_passwords) that M(soctrang.mail.ldap_mailboxes) returns
        (dn, owner, unit, mail, password).
      - An empty list writes nothing.
    type: list
    elements: dict
    default: []
  directory:
    description:
      - The folder on the controller, C(handover/<environment>); created (mode 0700) if missing.
      - Required when O(records) is not empty.
    type: path
  vault_password_file:
    description:
      - File on the controller holding the vault password the files are encrypted with.
      - Required when O(records) is not empty, except in check mode.
    type: path
  vault_id:
    description: Vault id written in the files' header.
    type: str
    default: handover
  date:
    description: Day in the file names (ISO, C(YYYY-MM-DD)); today by default.
    type: str
seealso:
  - module: soctrang.mail.ldap_mailboxes
"""

EXAMPLES = r"""
- name: Hand the initial passwords over to the units
  soctrang.mail.mailbox_handover:
    records: "{{ mailboxes_result.initial_passwords }}"
    directory: "{{ playbook_dir | dirname }}/handover/production"
    vault_password_file: "{{ lookup('ansible.builtin.env', 'SOCTRANG_HANDOVER_VAULT_PASSWORD_FILE') }}"
  no_log: true
  register: mailboxes_handover
"""

RETURN = r"""
files:
  description: Paths of the files written (in check mode, of the files that would be written).
  type: list
  elements: str
  returned: always
units:
  description: Number of units whose file was written (0 in check mode).
  type: int
  returned: always
accounts:
  description: Number of records handed over (0 in check mode).
  type: int
  returned: always
"""
