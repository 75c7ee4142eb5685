"""Filters for Vietnamese text: folding to address labels and finding legacy encodings."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.soctrang.mail.plugins.plugin_utils.naming import NamingError, person_base
from ansible_collections.soctrang.mail.plugins.plugin_utils.text import (
    ascii_name,
    detect_legacy_encoding,
    fold_to_ascii,
)


def _text(value: object, filter_name: str) -> str:
    if not isinstance(value, str):
        raise AnsibleFilterError(f"{filter_name}: expects text, got {type(value).__name__} {value!r}")
    return value


def soctrang_fold(value: str) -> str:
    return fold_to_ascii(_text(value, "soctrang.mail.fold"))


def soctrang_ascii_name(value: str) -> str:
    return ascii_name(_text(value, "soctrang.mail.ascii_name"))


def soctrang_legacy_encoding(value: str) -> str:
    return detect_legacy_encoding(_text(value, "soctrang.mail.legacy_encoding")) or ""


def soctrang_person_local_part(value: str, given_name: str | None = None) -> str:
    try:
        return person_base(_text(value, "soctrang.mail.person_local_part"), given_name)
    except NamingError as exc:
        raise AnsibleFilterError(f"soctrang.mail.person_local_part: {exc}") from exc


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "fold": soctrang_fold,
            "ascii_name": soctrang_ascii_name,
            "legacy_encoding": soctrang_legacy_encoding,
            "person_local_part": soctrang_person_local_part,
        }
