"""Shared set-up of the collection's unit tests.

Modules are run in this process, as Ansible runs them on a host: their arguments
given the way AnsiballZ gives them (`patch_module_args`), their JSON answer read
from stdout after `exit_json`/`fail_json` ends them. Their I/O - files, tar,
slapd, subprocesses - is real; only what cannot run on this controller is
stood in for, and each stand-in says so where it is defined.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

# The repository's ansible.cfg, then Ansible's collection finder, as every ansible
# command sets them up before a collection is imported (and as tests/conftest.py
# does when the whole suite runs): soctrang.mail is then imported through the
# finder, with its metadata, whichever test comes first.
os.environ.setdefault("ANSIBLE_CONFIG", str(Path(__file__).resolve().parents[6] / "ansible.cfg"))

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible.plugins.loader import init_plugin_loader
from ansible.utils.collection_loader import AnsibleCollectionConfig

if AnsibleCollectionConfig.collection_finder is None:
    init_plugin_loader()


@pytest.fixture
def run_module(capsys: pytest.CaptureFixture[str]) -> Callable[..., dict]:
    """`run_module(module, args, check_mode=False, diff=False)` -> the module's result.

    A failed module answers with `failed: true` (and exit code 1) like on a host.
    """

    def run(module: ModuleType, args: dict, *, check_mode: bool = False, diff: bool = False) -> dict:
        capsys.readouterr()
        arguments = {**args, "_ansible_check_mode": check_mode, "_ansible_diff": diff}
        with patch_module_args(arguments), pytest.raises(SystemExit) as ended:
            module.main()
        result = json.loads(capsys.readouterr().out)
        assert (ended.value.code == 0) != bool(result.get("failed")), result
        return result

    return run
