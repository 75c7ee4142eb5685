"""Shared test set-up.

The import path is configuration, not code: pytest adds tests/ and tools/
(pyproject.toml, pythonpath), and the virtualenv's soctrang-collections.pth
adds collections/, so `ansible_collections.soctrang.mail` imports as it does
inside Ansible.
"""
