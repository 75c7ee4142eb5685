"""The reasons table of a refused new password (filter soctrang.mail.password_reasons_json)."""

from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.soctrang.mail.plugins.filter.password_reasons import FilterModule

password_reasons_json = FilterModule().filters()["password_reasons_json"]

TEXTS = {"generic": "Máy chủ không chấp nhận mật khẩu mới.", "too_short": "Mật khẩu mới phải có ít nhất 8 ký tự."}
PATTERNS = [{"ppolicy": "passwordTooShort", "reason": "too_short"}, {"match": "upperCase$", "reason": "missing_upper"}]
CLASSES = {"upperCase": "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
CLASSES_VI = {"upperCase": {"reason": "missing_upper", "text": "Mật khẩu mới phải có ít nhất một chữ hoa không dấu."}}


def test_the_table() -> None:
    text = password_reasons_json(TEXTS, PATTERNS, CLASSES, CLASSES_VI)
    assert json.loads(text) == {
        "reasons": {**TEXTS, "missing_upper": CLASSES_VI["upperCase"]["text"]},
        "patterns": PATTERNS,
        "classes": [{"reason": "missing_upper", "characters": CLASSES["upperCase"]}],
    }
    # As to_nice_json writes it: the webmail's file did not change with the filter.
    assert text.startswith('{\n    "classes": [') and "\\u1eadt" in text and text.isascii()


@pytest.mark.parametrize(
    ("texts", "patterns", "classes_vi", "message"),
    [
        ({"too_short": "x"}, PATTERNS, CLASSES_VI, "no 'generic'"),
        ({**TEXTS, "in_history": " "}, PATTERNS, CLASSES_VI, "non-empty text"),
        (TEXTS, [{"reason": "too_short", "regex": "x"}], CLASSES_VI, "unknown keys \\['regex'\\]"),
        (TEXTS, [{"reason": "in_history"}], CLASSES_VI, "'in_history', which has no text"),
        (TEXTS, "too_short", CLASSES_VI, "must be a list"),
        (TEXTS, PATTERNS, {}, "class 'upperCase' has no reason"),
    ],
)
def test_bad_tables_are_refused(texts: dict, patterns: object, classes_vi: dict, message: str) -> None:
    with pytest.raises(AnsibleFilterError, match=f"soctrang.mail.password_reasons_json: .*{message}"):
        password_reasons_json(texts, patterns, CLASSES, classes_vi)
