"""Shared test set-up.

The import path is configuration, not code: pytest adds tests/ and tools/
(pyproject.toml, pythonpath), and the virtualenv's soctrang-collections.pth
adds collections/, so `ansible_collections.soctrang.mail` imports as it does
inside Ansible.

Ansible reads its configuration once, when first imported: the repository's
ansible.cfg, as `make` sets it, whatever folder pytest runs from (the tools read
the address policy through Ansible: plugin_utils/policy.py).
"""

import os
from pathlib import Path

os.environ.setdefault("ANSIBLE_CONFIG", str(Path(__file__).resolve().parent.parent / "ansible.cfg"))

# Ansible's collection finder first, as every ansible command installs it before
# anything imports a collection: the tests then import soctrang.mail through it,
# with its metadata loaded, whether a test reads the policy through Ansible
# (plugin_utils/policy.py) or loads a module (the collection's tests/unit).
from ansible.plugins.loader import init_plugin_loader
from ansible.utils.collection_loader import AnsibleCollectionConfig

if AnsibleCollectionConfig.collection_finder is None:
    init_plugin_loader()
