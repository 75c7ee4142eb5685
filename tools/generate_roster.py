#!/usr/bin/env python3
"""Write a deterministic synthetic roster of Sóc Trăng civil servants as directory files.

    tools/generate_roster.py --people 2000 --out inventories/lab/directory
    tools/generate_roster.py --people 20000 --seed 59 --out /tmp/roster --prefix gen --noise

One YAML file per top-level unit (``gen-<unit>.yml``), in the directory format of
docs/contracts.md and issue 2 §2: the real unit structure of the province (agencies
of 2024, localities and their communes; tools/roster_data/units.json) staffed with
fictitious people whose surname, middle and given names are drawn independently
from the distributions in tools/roster_data/names.json (Kinh, Khmer and Hoa names in
the province's proportions). No real person's data is used.

The roster is a prefix-stable stream: person k is the same for every --people ≥ k,
so growing the roster only adds people (and the units they open), never reshuffles.
A unit appears once its head has been drawn, so every unit written has a leader.
Same --people, --seed, options and hand-written neighbours -> byte-identical files.

The regulation's examples are written by hand beside the generated files (Sở TT&TT
``stttt``, Huyện Mỹ Xuyên ``myxuyen``): the generator leaves those units out, and no
generated person derives an address that a hand-written file already derives, so the
examples keep their exact addresses (Điều 3).
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import datetime as dt
import hashlib
import json
import random
import re
import sys
import time
import unicodedata
from collections import deque
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml
from ansible_collections.soctrang.mail.plugins.plugin_utils.directory import (
    DIRECTORY_FOLDER,
    DirectoryLoader,
    directory_folder_files,
    parse_yaml,
)
from ansible_collections.soctrang.mail.plugins.plugin_utils.naming import NamingError, person_base, unit_label
from ansible_collections.soctrang.mail.plugins.plugin_utils.policy import load_policy
from ansible_collections.soctrang.mail.plugins.plugin_utils.text import fold_to_ascii

REPO = Path(__file__).resolve().parent.parent
ROSTER_DATA = Path(__file__).resolve().parent / "roster_data"
FIRST_DAY = dt.date(2015, 1, 1)
LAST_DAY = dt.date(2025, 6, 30)
# Agencies joined the system until the end of 2024; people keep being added after.
LAST_ONBOARDING_DAY = dt.date(2024, 12, 31)
DEFAULT_SEED = 59
DEFAULT_PREFIX = "gen"
DEFAULT_NOISE_SHARE = 0.02

# A new unit opens once the open ones are this full, so a small roster is a few
# agencies fully staffed rather than every agency with one person.
FILL_BEFORE_OPENING = 0.7
# A unit past its typical size still grows, slowly, once the province is staffed.
OVERFLOW_WEIGHT = 0.15
# Request dates (ASSUMPTION): most of a unit asks on the day it joins the system
# (bursts: Điều 3.4.b ties), some in later batches, the rest on their own days.
CAMPAIGN_SHARE = 0.35
SUB_UNIT_JOINS_WITH_PARENT = 0.6
LEADER_ON_ONBOARDING_DAY = 0.85
STAFF_ON_ONBOARDING_DAY = 0.4
STAFF_IN_A_BATCH = 0.25
BATCHES_PER_UNIT = 3
LEADER_MALE_SHARE = 0.72
STAFF_MALE_SHARE = 0.48
DISABLED_SHARE = 0.025
STAFF_QUOTA_SHARE = 0.005
LEADER_QUOTA_SHARE = 0.05
STAFF_QUOTAS = ("3GiB", "5GiB")
LEADER_QUOTAS = ("5GiB", "10GiB")
VAN_THU = "Văn thư"
# Units that big (and every top-level unit) name a Văn thư as a manager of their
# mailbox beside the head (Điều 12).
CLERK_FROM_STAFF = 16
# Random numbers drawn for each person's name, whatever the name needs, so that a
# redrawn name never shifts the names of the people after it.
NAME_DRAWS = 16
NAME_RETRIES = 50
PREFIX_PATTERN = re.compile(r"^[a-z][a-z0-9]*$")


def stream(seed: int, purpose: str) -> random.Random:
    # Synthetic data, not security: a seeded, reproducible generator is the point.
    return random.Random(f"soctrang-roster:{seed}:{purpose}")  # noqa: S311 - reproducible test data


# ---------------------------------------------------------------- tables


@dataclass(frozen=True)
class Weighted:
    """Choices with relative weights; ``pick(u)`` maps a uniform draw in [0, 1) to one."""

    choices: tuple[str, ...]
    cumulative: tuple[float, ...]

    @classmethod
    def of(cls, rows: Sequence[Sequence[object]] | Mapping[str, float] | Sequence[str]) -> Weighted:
        if isinstance(rows, Mapping):
            pairs = [(str(k), float(v)) for k, v in rows.items()]
        else:
            pairs = [(str(r), 1.0) if isinstance(r, str) else (str(r[0]), float(r[1])) for r in rows]  # type: ignore[arg-type]
        total = 0.0
        cumulative = []
        for _, weight in pairs:
            total += weight
            cumulative.append(total)
        return cls(tuple(p[0] for p in pairs), tuple(c / total for c in cumulative))

    def pick(self, u: float) -> str:
        return self.choices[min(bisect.bisect_right(self.cumulative, u), len(self.choices) - 1)]


def between(u: float, first: dt.date, last: dt.date) -> dt.date:
    return first + dt.timedelta(days=int(u * ((last - first).days + 1)))


@dataclass(frozen=True)
class Role:
    """Who leads a unit of a kind and what its staff do (units.json ``roles``)."""

    head: str
    deputy: str
    deputies: tuple[int, int]
    staff: int
    positions: Weighted | None

    @classmethod
    def of(cls, row: Mapping[str, object]) -> Role:
        positions = row["positions"]
        low, high = row["deputies"]  # type: ignore[misc]
        return cls(
            head=str(row["head"]),
            deputy=str(row["deputy"]),
            deputies=(int(low), int(high)),
            staff=int(row["staff"]),  # type: ignore[call-overload]
            positions=Weighted.of(positions) if positions else None,  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class Mix:
    """The ethnic mix of the generated names (defaults: names.json, from the shared data)."""

    kinh: float
    khmer: float
    hoa: float

    @classmethod
    def parse(cls, text: str) -> Mix:
        """``kinh=0.7,khmer=0.25,hoa=0.05`` (shares are normalised)."""
        shares: dict[str, float] = {}
        for part in text.split(","):
            key, _, value = part.partition("=")
            if key.strip() not in ("kinh", "khmer", "hoa"):
                raise ValueError(f"--mix: {part!r}: write kinh=<share>,khmer=<share>,hoa=<share>")
            shares[key.strip()] = float(value)
        total = sum(shares.values())
        if total <= 0 or any(v < 0 for v in shares.values()):
            raise ValueError(f"--mix {text!r}: shares must be positive")
        return cls(**{k: shares.get(k, 0.0) / total for k in ("kinh", "khmer", "hoa")})


@cache
def load_table(name: str) -> dict:
    return json.loads((ROSTER_DATA / name).read_text(encoding="utf-8"))


def default_mix() -> Mix:
    return Mix(**load_table("names.json")["ethnic_mix"])


# ---------------------------------------------------------------- names


@dataclass(frozen=True)
class DrawnName:
    name: str
    given_name: str | None
    ethnicity: str
    sex: str
    syllables: int


def _kinh_tables(data: Mapping) -> dict[str, Weighted]:
    return {
        "surname": Weighted.of(data["surnames"]),
        "male_middle": Weighted.of(data["middles"]["male"]),
        "female_middle": Weighted.of(data["middles"]["female"]),
        "after_thi": Weighted.of(data["middles"]["after_thi"]),
        "male_given": Weighted.of(data["given"]["male"]),
        "female_given": Weighted.of(data["given"]["female"]),
        "male_length": Weighted.of(data["syllables"]["male"]),
        "female_length": Weighted.of(data["syllables"]["female"]),
    }


class NameMaker:
    """Draws a full name from independent surname, middle and given-name tables."""

    def __init__(self, mix: Mix) -> None:
        data = load_table("names.json")
        self.mix = mix
        self.kinh_data = data["kinh"]
        self.kinh = _kinh_tables(data["kinh"])
        khmer = data["khmer"]
        self.khmer_data = khmer
        self.khmer_surname = Weighted.of(khmer["surnames"])
        self.khmer_syllables = Weighted.of(khmer["syllables"])
        self.khmer_length = Weighted.of(khmer["given_syllables"])
        hoa = data["hoa"]
        self.hoa_data = hoa
        self.hoa_surname = Weighted.of(hoa["surnames"])
        self.hoa_middle = {sex: Weighted.of(hoa["middles"][sex]) for sex in ("male", "female")}
        self.hoa_given = {sex: Weighted.of(hoa["given"][sex]) for sex in ("male", "female")}
        self.blocked = frozenset(data["blocked_name_sha256"])

    def ethnicity(self, u: float) -> str:
        if u < self.mix.kinh:
            return "kinh"
        return "khmer" if u < self.mix.kinh + self.mix.khmer else "hoa"

    def draw(self, draws: Iterator[float], male_share: float) -> DrawnName:
        sex = "male" if next(draws) < male_share else "female"
        ethnicity = self.ethnicity(next(draws))
        make = {"kinh": self._kinh, "khmer": self._khmer, "hoa": self._hoa}[ethnicity]
        words, given_words = make(draws, sex)
        given = " ".join(given_words) if len(given_words) > 1 else None
        return DrawnName(" ".join(words), given, ethnicity, sex, len(words))

    def is_blocked(self, name: str) -> bool:
        digest = hashlib.sha256(unicodedata.normalize("NFC", name).casefold().encode()).hexdigest()
        return digest in self.blocked

    def _kinh(self, draws: Iterator[float], sex: str) -> tuple[list[str], list[str]]:
        surname = self.kinh["surname"].pick(next(draws))
        length = int(self.kinh[f"{sex}_length"].pick(next(draws)))
        middles = self._kinh_middles(draws, sex, length - 2)
        given = self.kinh[f"{sex}_given"].pick(next(draws))
        return [surname, *middles, given], [given]

    def _kinh_middles(self, draws: Iterator[float], sex: str, count: int) -> list[str]:
        if count == 0:
            return []
        middles: list[str] = []
        # A 4- or 5-syllable name often carries the mother's surname first.
        if count >= 2 and (count == 3 or next(draws) < self.kinh_data["surname_as_middle_share"]):
            middles.append(self.kinh["surname"].pick(next(draws)))
        left = count - len(middles)
        if sex == "female":
            # After the mother's surname comes a plain middle (Lê Đỗ Ngọc Hân), not Thị.
            thi = left >= 2 or (not middles and next(draws) < self.kinh_data["thi_share_female"])
            first = "Thị" if thi else self.kinh["female_middle"].pick(next(draws))
            rest = [self.kinh["after_thi"].pick(next(draws)) for _ in range(left - 1)]
        else:
            van = left == 1 and next(draws) < self.kinh_data["van_share_male"]
            first = "Văn" if van else self.kinh["male_middle"].pick(next(draws))
            rest = [self.kinh["male_middle"].pick(next(draws)) for _ in range(left - 1)]
        return [*middles, first, *rest]

    def _khmer(self, draws: Iterator[float], sex: str) -> tuple[list[str], list[str]]:
        data = self.khmer_data
        surname = self.khmer_surname.pick(next(draws))
        if next(draws) < data["kinh_style_share"]:
            # Officials often carry a Kinh-style name: Văn / Thị and a Vietnamese given name.
            share = data["van_share_male"] if sex == "male" else data["thi_share_female"]
            middle = "Văn" if sex == "male" else "Thị"
            if next(draws) >= share:
                middle = self.kinh[f"{sex}_middle"].pick(next(draws))
            given = self.kinh[f"{sex}_given"].pick(next(draws))
            return [surname, middle, given], [given]
        given_words = [self.khmer_syllables.pick(next(draws)) for _ in range(int(self.khmer_length.pick(next(draws))))]
        thi = sex == "female" and next(draws) < data["thi_share_female"]
        return [surname, *(["Thị"] if thi else []), *given_words], given_words

    def _hoa(self, draws: Iterator[float], sex: str) -> tuple[list[str], list[str]]:
        surname = self.hoa_surname.pick(next(draws))
        middles = [self.hoa_middle[sex].pick(next(draws))] if next(draws) < self.hoa_data["middle_share"] else []
        given = self.hoa_given[sex].pick(next(draws))
        return [surname, *middles, given], [given]


# ---------------------------------------------------------------- noise

# Realistic slips of typed rosters that the address rules must absorb: decomposed
# Unicode (NFD from some Mac/legacy tools), a no-break space, doubled or stray
# spaces, the old tone placement (Hoà for Hòa, Thuỷ for Thủy), capitals.
_OLD_TONE = {
    "òa": "oà", "óa": "oá", "ỏa": "oả", "õa": "oã", "ọa": "oạ",
    "òe": "oè", "óe": "oé", "ỏe": "oẻ", "õe": "oẽ", "ọe": "oẹ",
    "ùy": "uỳ", "úy": "uý", "ủy": "uỷ", "ũy": "uỹ", "ụy": "uỵ",
}  # fmt: skip
_OLD_TONE_AT_END = re.compile("(" + "|".join(_OLD_TONE) + r")\b")


def _old_tone(text: str) -> str:
    return _OLD_TONE_AT_END.sub(lambda m: _OLD_TONE[m.group(1)], text)


NOISE_KINDS: dict[str, tuple[Callable[[str], str], bool]] = {
    # kind: (change to the full name, whether the given name changes the same way)
    "nfd": (lambda s: unicodedata.normalize("NFD", s), False),
    "nbsp": (lambda s: s.replace(" ", "\u00a0", 1), False),
    "double_space": (lambda s: s.replace(" ", "  ", 1), False),
    "outer_space": (lambda s: f" {s} ", False),
    "old_tone": (_old_tone, True),
    "upper": (str.upper, True),
}


ALL_NOISE_KINDS = tuple(sorted(NOISE_KINDS))


def add_noise(name: str, given_name: str | None, u: float, kinds: Sequence[str]) -> tuple[str, str | None]:
    change, also_given = NOISE_KINDS[kinds[min(int(u * len(kinds)), len(kinds) - 1)]]
    return change(name), (change(given_name) if given_name and also_given else given_name)


# ---------------------------------------------------------------- units


@dataclass(eq=False)
class Unit:
    """A unit of the structure table, and what the roster has put in it so far."""

    id: str
    name: str
    kind: str
    role: Role
    gso_code: str | None
    parent: Unit | None
    children: list[Unit] = field(default_factory=list)
    opened: bool = False
    capacity: int = 0
    staff_count: int = 0
    onboarding: dt.date = FIRST_DAY
    batches: tuple[dt.date, ...] = ()
    managers: list[str] = field(default_factory=list)

    @property
    def top(self) -> Unit:
        return self if self.parent is None else self.parent.top

    def preorder(self) -> Iterator[Unit]:
        yield self
        for child in self.children:
            yield from child.preorder()


def build_unit(node: Mapping, prefix_id: str, parent: Unit | None, roles: Mapping[str, Role]) -> Unit:
    kind = str(node["kind"])
    unit = Unit(
        id=f"{prefix_id}-{node['label']}",
        name=str(node["name"]),
        kind=kind,
        role=roles[kind if parent else f"{kind}_top"],
        gso_code=node.get("gso_code"),
        parent=parent,
    )
    unit.children = [build_unit(child, unit.id, unit, roles) for child in node.get("units", [])]
    return unit


def opening_order(prefix: str, rng: random.Random) -> list[Unit]:
    """Every unit, in the order a growing roster opens them.

    Agencies and localities alternate (a small roster has both kinds), each in a
    seeded order; a top-level unit opens before its departments and communes.
    """
    table = load_table("units.json")
    roles = {kind: Role.of(row) for kind, row in table["roles"].items()}
    groups = [[build_unit(node, prefix, None, roles) for node in table[g]] for g in ("agencies", "localities")]
    for group in groups:
        shuffle(group, rng)
    tops: list[Unit] = []
    for i in range(max(len(g) for g in groups)):
        tops += [g[i] for g in groups if i < len(g)]
    return [unit for top in tops for unit in top.preorder()]


def shuffle(items: list, rng: random.Random) -> None:
    # Fisher-Yates on random() alone: random.shuffle's draws may change between Pythons.
    for i in range(len(items) - 1, 0, -1):
        j = int(rng.random() * (i + 1))
        items[i], items[j] = items[j], items[i]


# ---------------------------------------------------------------- people


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    given_name: str | None
    position: str | None
    unit: Unit
    requested_on: dt.date
    state: str
    quota: str | None
    ethnicity: str
    sex: str
    syllables: int
    leader: bool


@dataclass(frozen=True)
class Slot:
    """A place in a unit waiting for a person: its head, its clerk, a deputy, staff."""

    unit: Unit
    position: str | None
    leader: bool
    manager: bool


@dataclass
class Roster:
    units: list[Unit]
    people: list[Person]
    prefix: str


class RosterBuilder:
    """The prefix-stable stream of people; ``build(n)`` takes its first n."""

    def __init__(
        self, seed: int, prefix: str, *, mix: Mix, noise: float, noise_kinds: Sequence[str], avoid: Collection[str]
    ) -> None:
        self.seed = seed
        self.structure = stream(seed, "structure")
        self.dates = stream(seed, "dates")
        self.attributes = stream(seed, "attributes")
        self.name_draws = stream(seed, "names")
        self.noise_draws = stream(seed, "noise")
        self.noise = noise
        self.noise_kinds = tuple(sorted(noise_kinds))
        self.avoid = frozenset(avoid)
        self.names = NameMaker(mix)
        self.campaigns = [dt.date.fromisoformat(d) for d in load_table("units.json")["campaign_dates"]]
        self.order = opening_order(prefix, self.structure)
        self.prefix = prefix
        self.next_to_open = 0
        self.opened_capacity = 0
        self.slots: deque[Slot] = deque()
        self.staffed: list[Unit] = []
        self.cumulative: list[float] = []
        self.numbers: dict[str, int] = {}
        self.people: list[Person] = []

    def build(self, count: int) -> Roster:
        while len(self.people) < count:
            self.people.append(self.person(self.next_slot()))
        return Roster([u for u in self.order if u.opened], self.people, self.prefix)

    # -- structure

    def next_slot(self) -> Slot:
        if not self.slots and self.should_open():
            self.open(self.order[self.next_to_open])
            self.next_to_open += 1
        if self.slots:
            return self.slots.popleft()
        unit = self.staff_unit(self.structure.random())
        role = unit.role
        position = role.positions.pick(self.attributes.random()) if role.positions else None
        return Slot(unit, position or None, leader=False, manager=False)

    def should_open(self) -> bool:
        if self.next_to_open >= len(self.order):
            return False
        return not self.staffed or len(self.people) >= FILL_BEFORE_OPENING * self.opened_capacity

    def open(self, unit: Unit) -> None:
        role, rng = unit.role, self.structure
        unit.opened = True
        unit.capacity = round(role.staff * (0.7 + 0.6 * rng.random()))
        low, high = role.deputies
        deputies = low + int(rng.random() * (high - low + 1))
        board = [Slot(unit, role.head, leader=True, manager=True)]
        if unit.parent is None or role.staff >= CLERK_FROM_STAFF:
            board.append(Slot(unit, VAN_THU, leader=False, manager=True))
        board += [Slot(unit, role.deputy, leader=True, manager=False) for _ in range(deputies)]
        self.slots.extend(board)
        self.opened_capacity += len(board) + unit.capacity
        self.set_onboarding(unit)
        if unit.capacity:
            self.staffed.append(unit)
            self.reweigh()

    def set_onboarding(self, unit: Unit) -> None:
        rng = self.dates
        if unit.parent is None:
            if rng.random() < CAMPAIGN_SHARE:
                unit.onboarding = self.campaigns[int(rng.random() * len(self.campaigns))]
            else:
                # Earlier years more likely: the minimum of two uniform draws.
                unit.onboarding = between(min(rng.random(), rng.random()), FIRST_DAY, LAST_ONBOARDING_DAY)
        elif rng.random() < SUB_UNIT_JOINS_WITH_PARENT:
            unit.onboarding = unit.parent.onboarding
        else:
            start = unit.parent.onboarding
            unit.onboarding = between(rng.random() / 2, start, LAST_DAY)
        unit.batches = tuple(sorted(between(rng.random(), unit.onboarding, LAST_DAY) for _ in range(BATCHES_PER_UNIT)))

    def reweigh(self) -> None:
        total = 0.0
        self.cumulative = []
        for unit in self.staffed:
            full = unit.staff_count >= unit.capacity
            total += unit.capacity * (OVERFLOW_WEIGHT if full else 1.0)
            self.cumulative.append(total)

    def staff_unit(self, u: float) -> Unit:
        i = min(bisect.bisect_right(self.cumulative, u * self.cumulative[-1]), len(self.staffed) - 1)
        unit = self.staffed[i]
        unit.staff_count += 1
        if unit.staff_count == unit.capacity:
            self.reweigh()
        return unit

    # -- one person

    def person(self, slot: Slot) -> Person:
        unit, top = slot.unit, slot.unit.top
        self.numbers[top.id] = self.numbers.get(top.id, 0) + 1
        person_id = f"{top.id}-{self.numbers[top.id]:04d}"
        if slot.manager:
            unit.managers.append(person_id)
        requested_on = self.request_date(unit, slot.leader)
        state, quota = self.state_and_quota(slot.leader)
        drawn = self.draw_name(slot.leader, len(self.people))
        name, given_name = drawn.name, drawn.given_name
        noise_roll, noise_kind = self.noise_draws.random(), self.noise_draws.random()
        if noise_roll < self.noise:
            name, given_name = add_noise(name, given_name, noise_kind, self.noise_kinds)
        return Person(
            id=person_id,
            name=name,
            given_name=given_name,
            position=slot.position,
            unit=unit,
            requested_on=requested_on,
            state=state,
            quota=quota,
            ethnicity=drawn.ethnicity,
            sex=drawn.sex,
            syllables=drawn.syllables,
            leader=slot.leader,
        )

    def request_date(self, unit: Unit, leader: bool) -> dt.date:
        rng = self.dates
        u, v = rng.random(), rng.random()
        on_onboarding = LEADER_ON_ONBOARDING_DAY if leader else STAFF_ON_ONBOARDING_DAY
        if u < on_onboarding:
            return unit.onboarding
        if not leader and u < on_onboarding + STAFF_IN_A_BATCH:
            return unit.batches[int(v * len(unit.batches))]
        return between(v, unit.onboarding, LAST_DAY)

    def state_and_quota(self, leader: bool) -> tuple[str, str | None]:
        rng = self.attributes
        state_roll, quota_roll, which = rng.random(), rng.random(), rng.random()
        state = "disabled" if not leader and state_roll < DISABLED_SHARE else "present"
        quotas, share = (LEADER_QUOTAS, LEADER_QUOTA_SHARE) if leader else (STAFF_QUOTAS, STAFF_QUOTA_SHARE)
        quota = quotas[int(which * len(quotas))] if quota_roll < share else None
        return state, quota

    def draw_name(self, leader: bool, index: int) -> DrawnName:
        male_share = LEADER_MALE_SHARE if leader else STAFF_MALE_SHARE
        block = [self.name_draws.random() for _ in range(NAME_DRAWS)]
        for attempt in range(NAME_RETRIES):
            drawn = self.names.draw(iter(block), male_share)
            if self.acceptable(drawn):
                return drawn
            # A redraw comes from the person's own stream, so later people keep theirs.
            retry = stream(self.seed, f"retry:{index}:{attempt}")
            block = [retry.random() for _ in range(NAME_DRAWS)]
        raise RuntimeError(f"no acceptable name for person {index} after {NAME_RETRIES} draws")

    def acceptable(self, drawn: DrawnName) -> bool:
        if self.names.is_blocked(drawn.name):
            return False
        return not self.avoid or drawn_base(drawn) not in self.avoid


fold_word = cache(fold_to_ascii)


def drawn_base(drawn: DrawnName) -> str:
    """``person_base`` of a freshly drawn (clean, NFC, single-spaced) name, word by word.

    The same rule as plugin_utils.naming.person_base (the tests hold them equal),
    with each word folded once per run instead of once per person: the name
    vocabulary is small and folding dominated the generator's time.
    """
    words = drawn.name.split(" ")
    given = len(drawn.given_name.split(" ")) if drawn.given_name else 1
    leading, given_words = words[:-given], words[-given:]
    return "".join(fold_word(w)[:1] for w in leading) + "".join(fold_word(w) for w in given_words)


def synthesize(
    people: int,
    seed: int = DEFAULT_SEED,
    *,
    prefix: str = DEFAULT_PREFIX,
    mix: Mix | None = None,
    noise: float = 0.0,
    noise_kinds: Sequence[str] = ALL_NOISE_KINDS,
    avoid: Collection[str] = (),
) -> Roster:
    """The first ``people`` people of the seed's stream, with the units they open.

    ``noise``: the share of names given one realistic typing slip, of ``noise_kinds``
    (keys of NOISE_KINDS).
    ``avoid``: person addresses no generated person may derive (the hand-written
    examples' own), so the examples keep their exact addresses.
    """
    if people < 0:
        raise ValueError(f"people must be 0 or more, not {people}")
    if not PREFIX_PATTERN.match(prefix):
        raise ValueError(f"prefix {prefix!r} must be lowercase letters and digits, starting with a letter")
    unknown = sorted(set(noise_kinds) - set(NOISE_KINDS))
    if unknown or not noise_kinds:
        raise ValueError(f"noise kinds {unknown or 'none'}: choose among {', '.join(ALL_NOISE_KINDS)}")
    builder = RosterBuilder(seed, prefix, mix=mix or default_mix(), noise=noise, noise_kinds=noise_kinds, avoid=avoid)
    return builder.build(people)


# ---------------------------------------------------------------- documents


def unit_document(unit: Unit) -> dict[str, object]:
    document: dict[str, object] = {"id": unit.id, "name": unit.name, "kind": unit.kind}
    if unit.gso_code:
        document["gso_code"] = unit.gso_code
    if unit.managers:
        document["managers"] = list(unit.managers)
    children = [unit_document(child) for child in unit.children if child.opened]
    if children:
        document["units"] = children
    return document


def person_document(person: Person) -> dict[str, object]:
    document: dict[str, object] = {"id": person.id, "name": person.name}
    if person.given_name:
        document["given_name"] = person.given_name
    if person.position:
        document["position"] = person.position
    if person.unit.parent is not None:
        document["unit"] = person.unit.id
    document["requested_on"] = person.requested_on
    if person.state != "present":
        document["state"] = person.state
    if person.quota:
        document["quota"] = person.quota
    return document


def documents(roster: Roster) -> dict[str, dict]:
    """File name -> the directory document (a top-level unit with its people)."""
    tops = {unit.id: unit_document(unit) for unit in roster.units if unit.parent is None}
    for person in roster.people:
        tops[person.unit.top.id].setdefault("people", []).append(person_document(person))  # type: ignore[union-attr]
    return {f"{unit_id}.yml": tops[unit_id] for unit_id in sorted(tops)}


def generate(
    people: int,
    seed: int = DEFAULT_SEED,
    *,
    prefix: str = DEFAULT_PREFIX,
    mix: Mix | None = None,
    noise: float = 0.0,
    noise_kinds: Sequence[str] = ALL_NOISE_KINDS,
    avoid: Collection[str] = (),
) -> dict[str, dict]:
    """File name (``gen-<unit>.yml``) -> the YAML document of that file, as Python data."""
    roster = synthesize(people, seed, prefix=prefix, mix=mix, noise=noise, noise_kinds=noise_kinds, avoid=avoid)
    return documents(roster)


# ---------------------------------------------------------------- YAML

# Plain (unquoted) only for text that starts with a letter or digit, holds nothing
# YAML reads specially and resolves to a string (so 2GiB is plain, "31528" and dates
# are quoted); everything else goes in double quotes (JSON strings are YAML).
_PLAIN = re.compile(r"^[^\W_][\w .,()/'-]*$")
_RESOLVER = yaml.resolver.Resolver()


@cache
def scalar(text: str) -> str:
    plain = (
        _PLAIN.match(text)
        and not text.endswith((" ", ":"))
        and ": " not in text
        and " #" not in text
        and _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == "tag:yaml.org,2002:str"
    )
    return text if plain else json.dumps(text, ensure_ascii=False)


def render_value(value: object) -> str:
    # Concrete types first: the roster is mostly strings, and ABC checks are slow.
    if isinstance(value, str):
        return scalar(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool | int):
        return json.dumps(value)
    return scalar(str(value))


def render_mapping(mapping: Mapping[str, object], indent: str, lines: list[str], first: str | None = None) -> None:
    """Block mapping; ``first`` replaces the indentation of its first line (``"  - "``)."""
    lead = indent if first is None else first
    for key, value in mapping.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            lines.append(f"{lead}{key}:")
            for item in value:
                render_mapping(item, indent + "    ", lines, first=indent + "  - ")
        elif isinstance(value, list):
            lines.append(f"{lead}{key}: [{', '.join(render_value(v) for v in value)}]")
        else:
            lines.append(f"{lead}{key}: {render_value(value)}")
        lead = indent


def render(document: Mapping[str, object], header: Sequence[str] = ()) -> str:
    lines = ["---", *(f"# {line}" if line else "#" for line in header)]
    render_mapping(document, "", lines)
    return "\n".join(lines) + "\n"


def header_lines(people: int, seed: int, noise: float, noise_kinds: Sequence[str] = ALL_NOISE_KINDS) -> list[str]:
    options = f"--people {people} --seed {seed}"
    if noise:
        options += f" --noise --noise-share {noise:g}"
    if noise and sorted(noise_kinds) != list(ALL_NOISE_KINDS):
        options += f" --noise-kinds {','.join(sorted(noise_kinds))}"
    return [
        f"Synthetic roster: tools/generate_roster.py {options}.",
        "Fictitious people in the real unit structure of Sóc Trăng; no real person's",
        "data. Do not edit by hand: regenerate (the same options give the same file).",
    ]


def write_roster(
    docs: Mapping[str, Mapping[str, object]], folder: Path, prefix: str, header: Sequence[str] = ()
) -> list[str]:
    """Write the documents into ``folder``; remove older ``<prefix>-*.yml`` files. Returns the removed names."""
    folder.mkdir(parents=True, exist_ok=True)
    stale = sorted(p.name for p in folder.glob(f"{prefix}-*.yml") if p.name not in docs)
    for name in stale:
        (folder / name).unlink()
    for name, document in docs.items():
        (folder / name).write_text(render(document, header), encoding="utf-8")
    return stale


# ---------------------------------------------------------------- hand-written neighbours


def _person_addresses(people: object) -> Iterator[str]:
    for person in people if isinstance(people, list) else []:
        if not isinstance(person, Mapping):
            continue
        if person.get("address"):
            yield str(person["address"])
        given = person.get("given_name")
        try:
            yield person_base(str(person.get("name", "")), given if isinstance(given, str) else None)
        except NamingError:
            continue  # the validator reports it; it derives nothing to keep clear of


def _units(document: Mapping) -> Iterator[Mapping]:
    yield document
    for child in document.get("units") or []:
        if isinstance(child, Mapping):
            yield from _units(child)


def hand_written_addresses(folder: Path, prefix: str) -> set[str]:
    """The local parts the other directory files of ``folder`` derive (people, top-level units).

    Generated people must not take them: the regulation's examples would lose their
    exact address to an earlier-requested synthetic namesake.
    """
    # The naming table of the inventory the folder belongs to (the province's when it is none).
    rules = load_policy(REPO, folder.parent if folder.name == DIRECTORY_FOLDER else None).rules
    taken: set[str] = set()
    for path in directory_folder_files(folder):
        if path.name.startswith(f"{prefix}-"):
            continue
        # Read as the validator reads it; a file it cannot read (not YAML, a date
        # that does not exist…) is the validator's to report, naming file and line.
        document = parse_yaml(path.read_text(encoding="utf-8"), str(path), [], DirectoryLoader)
        if not isinstance(document, Mapping):
            continue
        if document.get("code"):
            taken.add(str(document["code"]))
        elif document.get("kind") in rules and document.get("name"):
            with contextlib.suppress(NamingError):  # the validator reports it
                taken.add(unit_label(str(document["name"]), rules[str(document["kind"])], None))
        for unit in _units(document):
            taken.update(_person_addresses(unit.get("people")))
    return taken


# ---------------------------------------------------------------- command line


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, required=True, help="how many people (the first N of the stream)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"default {DEFAULT_SEED}")
    parser.add_argument("--out", type=Path, required=True, help="the directory folder to write into")
    parser.add_argument(
        "--prefix", default=DEFAULT_PREFIX, help=f"of unit ids and file names (default {DEFAULT_PREFIX})"
    )
    parser.add_argument("--mix", type=Mix.parse, help="ethnic mix, e.g. kinh=0.72,khmer=0.23,hoa=0.05")
    parser.add_argument("--noise", action="store_true", help="give a few names realistic typing slips")
    parser.add_argument("--noise-share", type=float, default=DEFAULT_NOISE_SHARE, help="with --noise (default 0.02)")
    parser.add_argument(
        "--noise-kinds",
        type=lambda text: [k.strip() for k in text.split(",") if k.strip()],
        default=list(ALL_NOISE_KINDS),
        help=f"with --noise, comma-separated (default all: {','.join(ALL_NOISE_KINDS)})",
    )
    args = parser.parse_args(argv)
    if args.people < 0:
        parser.error("--people must be 0 or more")
    if not PREFIX_PATTERN.match(args.prefix):
        parser.error("--prefix must be lowercase letters and digits, starting with a letter")
    unknown = sorted(set(args.noise_kinds) - set(NOISE_KINDS))
    if unknown or not args.noise_kinds:
        parser.error(f"--noise-kinds {','.join(unknown)}: choose among {','.join(ALL_NOISE_KINDS)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    started = time.perf_counter()
    noise = args.noise_share if args.noise else 0.0
    avoid = hand_written_addresses(args.out, args.prefix)
    roster = synthesize(
        args.people, args.seed, prefix=args.prefix, mix=args.mix, noise=noise, noise_kinds=args.noise_kinds, avoid=avoid
    )
    docs = documents(roster)
    header = header_lines(args.people, args.seed, noise, args.noise_kinds)
    removed = write_roster(docs, args.out, args.prefix, header)
    elapsed = time.perf_counter() - started
    shares = {e: sum(p.ethnicity == e for p in roster.people) for e in ("kinh", "khmer", "hoa")}
    print(
        f"{args.out}: wrote {len(docs)} files, {len(roster.units)} units, {len(roster.people)} people "
        f"({', '.join(f'{k} {v}' for k, v in shares.items())}) in {elapsed:.2f} s"
    )
    for name in removed:
        print(f"{args.out}: removed {name} (no longer generated)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
