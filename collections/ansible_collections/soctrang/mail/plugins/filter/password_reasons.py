"""Filter: the reasons table of a refused new password, as the JSON the webmail and the portal read."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ansible.errors import AnsibleFilterError

NAME = "soctrang.mail.password_reasons_json"
PATTERN_KEYS = frozenset(("stage", "result", "ppolicy", "match", "reason"))


def _fail(message: str) -> AnsibleFilterError:
    return AnsibleFilterError(f"{NAME}: {message}")


def soctrang_password_reasons_json(
    texts: Mapping[str, str],
    patterns: Sequence[Mapping[str, Any]],
    character_classes: Mapping[str, str],
    classes_vi: Mapping[str, Mapping[str, str]],
) -> str:
    """{reasons, patterns, classes} as to_nice_json writes it (sorted keys, indent 4, ASCII)."""
    if not isinstance(texts, Mapping) or not all(
        isinstance(key, str) and isinstance(text, str) and text.strip() for key, text in texts.items()
    ):
        raise _fail(f"the texts must map each reason to a non-empty text, got {texts!r}")
    if "generic" not in texts:
        raise _fail("the texts have no 'generic' reason, shown when no pattern matches")
    if not isinstance(character_classes, Mapping) or not isinstance(classes_vi, Mapping):
        raise _fail("character_classes and classes_vi must be mappings by ppm's class name")
    reasons = {str(key): str(text) for key, text in texts.items()}
    classes = []
    for name, characters in character_classes.items():
        entry = classes_vi.get(name)
        if not isinstance(entry, Mapping) or not entry.get("reason") or not str(entry.get("text", "")).strip():
            raise _fail(f"class {name!r} has no reason and text in classes_vi; add {{reason: ..., text: ...}}")
        reasons[str(entry["reason"])] = str(entry["text"])
        classes.append({"reason": str(entry["reason"]), "characters": str(characters)})
    if isinstance(patterns, (str, bytes)) or not isinstance(patterns, Sequence):
        raise _fail(f"the patterns must be a list, got {type(patterns).__name__}")
    read_patterns = []
    for index, pattern in enumerate(patterns):
        if not isinstance(pattern, Mapping):
            raise _fail(f"pattern {index} is not a mapping: {pattern!r}")
        unknown = sorted(set(pattern) - PATTERN_KEYS)
        if unknown:
            raise _fail(f"pattern {index} has unknown keys {unknown}; known: {sorted(PATTERN_KEYS)}")
        if pattern.get("reason") not in reasons:
            raise _fail(f"pattern {index} names reason {pattern.get('reason')!r}, which has no text")
        read_patterns.append(dict(pattern))
    table = {"reasons": reasons, "patterns": read_patterns, "classes": classes}
    return json.dumps(table, indent=4, sort_keys=True, separators=(",", ": "))


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"password_reasons_json": soctrang_password_reasons_json}
