"""Vietnamese text as Điều 5.2 wants it (TCVN 6909 Unicode) and as addresses need it.

Three concerns, kept apart because each has its own caller:
- cleaning a name for display and storage (NFC, one kind of space);
- finding what an operator must fix by hand (invisible characters, text that was
  typed or exported in the legacy TCVN3/ABC or VNI encodings and now reads as
  mojibake such as ``NguyÔn V¨n §øc``);
- folding a name to the ASCII letters of an address label (``Đức`` -> ``duc``).
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

from unidecode import unidecode

_LEGACY_TABLE = Path(__file__).with_name("data") / "vn_legacy_encodings.json"

# Characters that render as nothing but change the bytes of a name; a name that
# carries one would give an address nobody can type. Reported, never guessed at.
INVISIBLE_CHARACTERS = frozenset(
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f"
    "\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068"
    "\u2069\u206a\u206b\u206c\u206d\u206e\u206f\u3164\ufeff\uffa0"
)

_SPACES = re.compile(r"[\s\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")

# The Vietnamese letters (TCVN 6909) in lower case, NFC.
_VIETNAMESE_LOWER = frozenset(
    "aàáảãạăằắẳẵặâầấẩẫậbcdđeèéẻẽẹêềếểễệfghiìíỉĩịjklmnoòóỏõọôồốổỗộơờớởỡợpqrstuùúủũụưừứửữựvwxyỳýỷỹỵz"
)

# Vietnamese syllable structure, on the letters with their tone mark removed.
_INITIALS = (
    "ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|b|c|d|đ|g|h|k|l|m|n|p|r|s|t|v|x"  # native
    "|f|j|w|z"  # loan words and transliterations
)
_NUCLEI = (
    "uyê|uya|uyu|uôi|ươi|ươu|iêu|yêu|oai|oay|oao|oeo|uây|"
    "ai|ao|au|ay|âu|ây|eo|êu|ia|iê|iu|oa|oă|oe|oi|ôi|ơi|ua|uâ|uê|ui|uô|uơ|uy|ưa|"
    "ưi|ươ|ưu|yê|"
    "a|ă|â|e|ê|i|o|ô|ơ|u|ư|y"
)
_FINALS = "ng|nh|ch|c|m|n|p|t"
_SYLLABLE = re.compile(rf"^(?:{_INITIALS})?(?:{_NUCLEI})(?:{_FINALS})?$")
_TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


class LegacyTable:
    """Conversion tables between Unicode and the legacy encodings, longest form first."""

    def __init__(self, letters: list[dict[str, str]]) -> None:
        self.decode: dict[str, dict[str, str]] = {}
        self.encode: dict[str, dict[str, str]] = {}
        for encoding in ("tcvn3", "vni"):
            forms = {entry[encoding]: entry["unicode"] for entry in letters}
            # A form equal to its own letter needs no conversion and would make
            # plain Vietnamese text look legacy-encoded.
            self.decode[encoding] = {k: v for k, v in forms.items() if k != v}
            self.encode[encoding] = {entry["unicode"]: entry[encoding] for entry in letters}
        # Characters that occur only in legacy forms, never in Vietnamese text:
        # one of them in a name is strong evidence of mojibake.
        self.foreign_marks = frozenset(
            ch
            for forms in self.decode.values()
            for form in forms
            for ch in form
            if ch.lower() not in _VIETNAMESE_LOWER and not ch.isascii()
        )


@lru_cache(maxsize=1)
def legacy_table() -> LegacyTable:
    data = json.loads(_LEGACY_TABLE.read_text(encoding="utf-8"))
    return LegacyTable(data["letters"])


def clean_spaces(text: str) -> str:
    """NFC, and every run of spaces (NBSP, tabs, ideographic…) as one plain space."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


def invisible_characters(text: str) -> list[str]:
    """The invisible characters in ``text``, as ``U+200B`` names, in order."""
    found: list[str] = []
    for ch in text:
        if ch in INVISIBLE_CHARACTERS or unicodedata.category(ch) == "Cf":
            code = f"U+{ord(ch):04X}"
            if code not in found:
                found.append(code)
    return found


def _strip_tone(syllable: str) -> str:
    decomposed = unicodedata.normalize("NFD", syllable)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONE_MARKS))


def _tone_count(syllable: str) -> int:
    return sum(1 for c in unicodedata.normalize("NFD", syllable) if c in _TONE_MARKS)


@lru_cache(maxsize=65536)  # a province has a few thousand distinct words in its names
def is_vietnamese_syllable(word: str) -> bool:
    """True when ``word`` is spelled like a Vietnamese syllable (one tone at most)."""
    lower = word.lower()
    if not lower or any(ch not in _VIETNAMESE_LOWER for ch in lower):
        return False
    return _tone_count(lower) <= 1 and bool(_SYLLABLE.match(_strip_tone(lower)))


def _badly_cased(word: str) -> bool:
    # Legacy text decoded as Latin-1 puts capitals inside words ("NguyÔn").
    return any(ch.isupper() for ch in word[1:]) and not word.isupper()


def decode_legacy(text: str, encoding: str) -> str:
    """Read ``text`` as if its characters were ``encoding`` (tcvn3 or vni) forms."""
    forms = legacy_table().decode[encoding]
    longest = max(len(f) for f in forms)
    out: list[str] = []
    i = 0
    while i < len(text):
        for size in range(min(longest, len(text) - i), 0, -1):
            letter = forms.get(text[i : i + size])
            if letter is not None:
                out.append(letter)
                i += size
                break
        else:
            out.append(text[i])
            i += 1
    return unicodedata.normalize("NFC", "".join(out))


def _implausible_words(text: str) -> int:
    words = re.findall(r"[^\s\-'.,()/]+", text)
    return sum(1 for w in words if not is_vietnamese_syllable(w) or _badly_cased(w))


@lru_cache(maxsize=65536)  # positions and names repeat: "Chuyên viên", "Nguyễn Văn …"
def detect_legacy_encoding(text: str) -> str | None:
    """Name the legacy encoding ``text`` was typed in, or None for proper Unicode.

    Text is legacy when it holds a character that exists only in legacy forms, or
    when it has words that are not Vietnamese syllables (or are cased like
    mojibake) and reading it as TCVN3 or VNI turns every such word into one.
    Transliterated Khmer names ("Rươl") are not Vietnamese syllables either, so
    the second rule asks that decoding actually repairs the text.
    """
    text = unicodedata.normalize("NFC", text)  # decomposed (NFD) input is Unicode, not mojibake
    table = legacy_table()
    has_foreign_mark = any(ch in table.foreign_marks for ch in text)
    implausible = _implausible_words(text)
    if not has_foreign_mark and implausible == 0:
        return None
    best: tuple[int, str] | None = None
    for encoding in ("tcvn3", "vni"):
        decoded = decode_legacy(text, encoding)
        if decoded == text:
            continue
        left = _implausible_words(decoded)
        if best is None or left < best[0]:
            best = (left, encoding)
    if best is None:
        return None
    left, encoding = best
    if has_foreign_mark or left < implausible:
        return encoding
    return None


@lru_cache(maxsize=65536)  # called per word of every name; the vocabulary is small
def fold_to_ascii(text: str) -> str:
    """Lowercase ASCII letters and digits only: ``Dương Chí Nguyên`` -> ``duongchinguyen``."""
    nfc = unicodedata.normalize("NFC", text).replace("đ", "d").replace("Đ", "D")
    ascii_text = unidecode(nfc).lower()
    return re.sub(r"[^a-z0-9]", "", ascii_text)


def fold_words(text: str) -> list[str]:
    """The words of ``text`` folded to ASCII, punctuation dropped: ``["van", "hoa"]``."""
    words = re.split(r"[\s\-\u2013\u2014_.,;:/()&+'\"]+", clean_spaces(text))
    return [folded for folded in (fold_to_ascii(w) for w in words) if folded]


def ascii_name(text: str) -> str:
    """The name in ASCII with its capitals and spaces: ``Dương Chí Nguyên`` -> ``Duong Chi Nguyen``."""
    nfc = clean_spaces(text).replace("đ", "d").replace("Đ", "D")
    return unidecode(nfc)


def written_case(name: str) -> str:
    """A name typed in capitals, in its written form: ``NGUYỄN VĂN HÙNG`` -> ``Nguyễn Văn Hùng`` (NFC).

    Rosters often type names in capitals; the directory keeps them as they are
    written, since the name is the display name. Each space-separated syllable
    gets its first letter capitalised and the rest lowercased, as does the part
    after an apostrophe (``H'HEN`` -> ``H'Hen``, the Ê Đê spelling); a hyphen
    joins syllables of one word (``Lê-nin``). Not str.title(), which starts a
    new word after every combining mark (decomposed ``Đức`` becomes ``ĐứC``).
    A name with any lowercase letter was written by hand and is returned as it
    is, apart from NFC.
    """
    text = unicodedata.normalize("NFC", name)
    if any(ch.islower() for ch in text) or not any(ch.isupper() for ch in text):
        return text
    syllables = (_capitalised(word) for word in text.split(" "))
    return unicodedata.normalize("NFC", " ".join(syllables))


def _capitalised(word: str) -> str:
    head, apostrophe, rest = word.partition("'")
    if apostrophe and rest:
        return f"{_capitalised(head)}'{_capitalised(rest)}"
    return word[:1].title() + word[1:].lower()
