"""Filters for Vietnamese text: folding to address labels and finding legacy encodings."""

from __future__ import annotations

import os
import sys
from typing import Any

from ansible.errors import AnsibleFilterError

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils"))

from soctrang_mail import (
    NamingError,
    ascii_name,
    detect_legacy_encoding,
    fold_to_ascii,
    person_base,
)


def _text(value: object, filter_name: str) -> str:
    if not isinstance(value, str):
        raise AnsibleFilterError(f"{filter_name}: expects text, got {type(value).__name__} {value!r}")
    return value


def soctrang_fold(value: str) -> str:
    return fold_to_ascii(_text(value, "soctrang_fold"))


def soctrang_ascii_name(value: str) -> str:
    return ascii_name(_text(value, "soctrang_ascii_name"))


def soctrang_legacy_encoding(value: str) -> str:
    return detect_legacy_encoding(_text(value, "soctrang_legacy_encoding")) or ""


def soctrang_person_local_part(value: str, given_name: str | None = None) -> str:
    try:
        return person_base(_text(value, "soctrang_person_local_part"), given_name)
    except NamingError as exc:
        raise AnsibleFilterError(f"soctrang_person_local_part: {exc}") from exc


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "soctrang_fold": soctrang_fold,
            "soctrang_ascii_name": soctrang_ascii_name,
            "soctrang_legacy_encoding": soctrang_legacy_encoding,
            "soctrang_person_local_part": soctrang_person_local_part,
        }
