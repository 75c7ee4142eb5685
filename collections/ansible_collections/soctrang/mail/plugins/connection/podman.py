# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# ansible-test validate-modules wants DOCUMENTATION, EXAMPLES and RETURN above the imports:
# ruff: noqa: E402
"""The lab's transport: the podman connection of containers.podman, pipelined.

containers.podman's connection runs every module in four `podman exec`/`cp`
calls (make a temporary directory, copy the module in, run it, remove the
directory) because it starts `podman exec` without `-i`, so nothing can reach
the module's standard input, and it declares pipelining impossible. With `-i`
it is possible: the module goes to the container's python on stdin, one
`podman exec` a task. Everything else (file transfers, the mount point) is
containers.podman's.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: podman
short_description: Run tasks in podman containers, pipelined
description:
  - The connection of C(containers.podman.podman), with pipelining - each module is sent on the
    standard input of one C(podman exec -i), instead of copied into the container and run there.
  - Used by the lab (inventories/lab) and every molecule scenario (provisioner connection_options).
author: Trung tâm Công nghệ số, Sở TT&TT Sóc Trăng (!UNKNOWN)
options:
  remote_addr:
    description: The name or ID of the container.
    default: inventory_hostname
    vars:
      - name: ansible_host
      - name: inventory_hostname
      - name: ansible_podman_host
  remote_user:
    description: User to run commands as inside the container.
    ini:
      - section: defaults
        key: remote_user
    env:
      - name: ANSIBLE_REMOTE_USER
    vars:
      - name: ansible_user
  podman_extra_args:
    description: Extra arguments of every podman command.
    default: ""
    ini:
      - section: defaults
        key: podman_extra_args
    vars:
      - name: ansible_podman_extra_args
    env:
      - name: ANSIBLE_PODMAN_EXTRA_ARGS
  podman_executable:
    description: The podman program.
    default: podman
    vars:
      - name: ansible_podman_executable
    env:
      - name: ANSIBLE_PODMAN_EXECUTABLE
  pipelining:
    description: Send modules on standard input (one C(podman exec) a task).
    type: boolean
    default: true
    ini:
      - section: connection
        key: pipelining
    env:
      - name: ANSIBLE_PIPELINING
    vars:
      - name: ansible_pipelining
"""


import shlex

from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.connection import ensure_connect
from ansible_collections.containers.podman.plugins.connection.podman import Connection as PodmanConnection


class Connection(PodmanConnection):
    transport = "soctrang.mail.podman"
    has_pipelining = True

    @ensure_connect
    def exec_command(self, cmd: str, in_data: bytes | None = None, sudoable: bool = False) -> tuple[int, bytes, bytes]:
        if in_data is None:
            return super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        # The pipelined module: podman passes our stdin to the container only with -i.
        arguments = ["exec", "-i", *(["--user", self.user] if self.user else [])]
        command = shlex.split(to_native(cmd, errors="surrogate_or_strict"))
        return self._podman(arguments, command, in_data)
