"""The address rules of Điều 3: the local part a unit or a person derives.

These functions only derive; whether the derived form is free is the ledger's
business (``ledger.py``), which appends 1, 2, 3… on a clash (Điều 3.4).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from .text import clean_spaces, fold_to_ascii, fold_words

# "và" joins two fields of a unit's name and has no initial of its own
# (Sở Thông tin và Truyền thông -> sotttt).
_SKIPPED_WORDS = frozenset({"va"})
LABEL = re.compile(r"^[a-z0-9]+$")
LOCAL_PART = re.compile(r"^[a-z0-9]+(?:\.[a-z0-9]+)*$")


class NamingError(ValueError):
    """A name from which the rules cannot derive an address."""


@dataclass(frozen=True)
class KindRule:
    """One row of the naming table (``soctrang_unit_naming`` in group_vars)."""

    kind: str
    titles: tuple[str, ...]
    prefix: str
    body: str
    under: Mapping[str, str]
    alone: str | None
    top_level_only: bool

    @classmethod
    def from_table(cls, kind: str, row: Mapping[str, object]) -> KindRule:
        body = str(row.get("body", "initials"))
        if body not in ("initials", "name"):
            raise NamingError(f"naming table: kind {kind!r} has body {body!r}; use 'initials' or 'name'")
        titles = tuple(clean_spaces(str(t)) for t in (row.get("title") or []))  # type: ignore[union-attr]
        under = {str(k): str(v) for k, v in dict(row.get("under") or {}).items()}  # type: ignore[call-overload]
        alone = row.get("alone")
        return cls(
            kind=kind,
            titles=titles,
            prefix=str(row.get("prefix") or ""),
            body=body,
            under=under,
            alone=str(alone) if alone else None,
            top_level_only=bool(row.get("top_level_only", False)),
        )


def naming_rules(table: Mapping[str, Mapping[str, object]]) -> dict[str, KindRule]:
    return {str(kind): KindRule.from_table(str(kind), row) for kind, row in table.items()}


def _without_title(name: str, titles: Sequence[str]) -> str:
    """The name with the kind's leading title word(s) removed, case-insensitively."""
    cleaned = clean_spaces(name)
    folded = cleaned.casefold()
    for title in sorted(titles, key=len, reverse=True):
        t = title.casefold()
        if folded == t:
            return ""
        if folded.startswith(t + " "):
            return cleaned[len(title) + 1 :]
    return cleaned


def _initials(words: Sequence[str]) -> str:
    # Numbers are kept whole: "Phòng 2" -> 2, not "2"'s first digit of "12".
    return "".join(w if w.isdigit() else w[0] for w in words if w not in _SKIPPED_WORDS)


def unit_label(name: str, rule: KindRule, parent_kind: str | None) -> str:
    """The label a unit contributes to its address, before its parent's is appended.

    >>> unit_label("Phòng Văn hóa - Thông tin", rules["phong"], "huyen")
    'pvhtt'
    """
    rest = _without_title(name, rule.titles)
    words = fold_words(rest)
    prefix = rule.under.get(parent_kind or "", rule.prefix)
    if not words:
        if rule.alone:
            return rule.alone
        raise NamingError(f"the name {name!r} has nothing after its title to derive an address from")
    body = _initials(words) if rule.body == "initials" else "".join(words)
    label = prefix + body
    if not LABEL.match(label):
        raise NamingError(f"the name {name!r} derives {label!r}, which is not [a-z0-9]")
    return label


def person_base(full_name: str, given_name: str | None = None) -> str:
    """Điều 3.3: initials of the family and middle names + the whole given name.

    ``given_name`` matters when the given name has several words (Khmer names
    such as "Sà Kha"): Dương Sà Kha -> dsakha, not dskha.
    """
    words = clean_spaces(full_name).split(" ")
    given_words = clean_spaces(given_name).split(" ") if given_name else words[-1:]
    if len(given_words) > len(words) or _casefold_nfc(words[-len(given_words) :]) != _casefold_nfc(given_words):
        raise NamingError(f"the given name {given_name!r} is not the end of the full name {full_name!r}")
    leading = words[: len(words) - len(given_words)]
    initials = "".join(fold_to_ascii(w)[:1] for w in leading)
    base = initials + "".join(fold_to_ascii(w) for w in given_words)
    if not base or not LABEL.match(base):
        raise NamingError(f"the name {full_name!r} derives no address of letters a-z and digits")
    return base


def _casefold_nfc(words: Sequence[str]) -> list[str]:
    return [unicodedata.normalize("NFC", w).casefold() for w in words]


@lru_cache(maxsize=4096)  # a few hundred distinct position titles in a province
def leadership_rank(position: str | None, ranks: tuple[str, ...]) -> int:
    """Điều 3.4.b: 0 for the highest title in ``ranks``, len(ranks) for no title.

    A position matches the longest listed title it starts with, so that
    "Phó Giám đốc" is not taken for "Giám đốc".
    """
    if not position:
        return len(ranks)
    folded = clean_spaces(position).casefold()
    best: tuple[int, int] | None = None  # (title length, rank)
    for rank, title in enumerate(ranks):
        t = clean_spaces(title).casefold()
        if (folded == t or folded.startswith(t + " ")) and (best is None or len(t) > best[0]):
            best = (len(t), rank)
    return best[1] if best else len(ranks)


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_UNITS.update({"KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40})


def size_to_bytes(value: object) -> int:
    """``2GiB`` -> 2147483648. Plain integers are bytes; "GB" means 10^9 bytes."""
    if isinstance(value, bool):
        raise NamingError(f"{value!r} is not a size")
    if isinstance(value, int):
        if value <= 0:
            raise NamingError(f"{value!r} is not a positive size")
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise NamingError(f"{value!r} is not a size such as 2GiB, 500MiB or 1073741824")
    number, unit = match.groups()
    size = int(float(number) * _UNITS[(unit or "").upper()])
    if size <= 0:
        raise NamingError(f"{value!r} is not a positive size")
    return size
