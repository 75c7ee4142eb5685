"""Properties of allocation over arbitrary rosters (hypothesis).

Deterministic, invariant under reordering, unique, stable under additions and
removals, ASCII-only: what makes the ledger trustworthy at 20,000 people.
"""

from __future__ import annotations

import datetime as dt
import random
import re

from helpers import files, ledger_after, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SURNAMES = ["Nguyễn", "Ngô", "Trần", "Trương", "Lê", "Lý", "Thạch", "Sơn", "Đặng", "Dương", "Huỳnh", "Hồ"]
MIDDLES = ["Văn", "Thị", "Minh", "Thanh", "Ngọc", "Chí", "Công", "Hữu"]
GIVENS = ["An", "Ân", "Thanh", "Thành", "Thạnh", "Nguyên", "Nguyễn", "Hòa", "Hoa", "Đức", "Dung", "Dũng"]
POSITIONS = ["", "Giám đốc", "Phó Giám đốc", "Trưởng phòng", "Chuyên viên"]

person_strategy = st.tuples(
    st.sampled_from(SURNAMES),
    st.lists(st.sampled_from(MIDDLES), min_size=0, max_size=2),
    st.sampled_from(GIVENS),
    st.integers(min_value=0, max_value=6),  # request day: few days, many same-day ties
    st.sampled_from(POSITIONS),
)
roster_strategy = st.lists(person_strategy, min_size=1, max_size=40)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LOCAL = re.compile(r"^[a-z0-9]+(\.[a-z0-9]+)*$")


def rows(roster: list[tuple], start: int = 0) -> list[str]:
    out = []
    for i, (surname, middles, given_name, day, position) in enumerate(roster, start):
        name = " ".join([surname, *middles, given_name])
        requested = dt.date(2025, 1, 1) + dt.timedelta(days=day)
        pos = f", position: {position}" if position else ""
        out.append(f"  - {{id: p{i:04d}, name: {name}, requested_on: {requested}{pos}}}")
    return out


def directory(people_rows: list[str]) -> dict[str, str]:
    body = "id: u\nname: Sở Tư pháp\nkind: so\npeople:\n" + "\n".join(people_rows) + "\n"
    return files(u=body) if people_rows else files(u="id: u\nname: Sở Tư pháp\nkind: so\n")


def active(ledger_text: str, documents: dict[str, str]) -> dict[str, str]:
    entries = run(documents, ledger_text).allocation.entries
    return {e.owner: a for a, e in entries.items() if e.state == "active"}


@SETTINGS
@given(roster_strategy, st.randoms(use_true_random=False))
def test_deterministic_and_invariant_under_reordering(roster: list[tuple], rnd: random.Random) -> None:
    listed = rows(roster)
    shuffled = listed[:]
    rnd.shuffle(shuffled)
    assert ledger_after(directory(listed)) == ledger_after(directory(shuffled))


@SETTINGS
@given(roster_strategy)
def test_unique_and_ascii(roster: list[tuple]) -> None:
    result = run(directory(rows(roster)))
    owners = [e.owner for e in result.allocation.entries.values() if e.state == "active"]
    assert len(owners) == len(set(owners)) == len(roster) + 1  # + the unit
    for address in result.allocation.entries:
        local, _, domain = address.partition("@")
        assert address.isascii()
        assert LOCAL.match(local)
        assert domain == "soctrang.gov.vn"


@SETTINGS
@given(roster_strategy, roster_strategy)
def test_stable_under_additions(first: list[tuple], added: list[tuple]) -> None:
    before_rows = rows(first)
    ledger = ledger_after(directory(before_rows))
    before = active(ledger, directory(before_rows))
    after = active(ledger, directory(before_rows + rows(added, start=len(first))))
    assert {owner: after[owner] for owner in before} == before


@SETTINGS
@given(roster_strategy, st.data())
def test_stable_under_removals_and_never_reused(roster: list[tuple], data: st.DataObject) -> None:
    listed = rows(roster)
    ledger = ledger_after(directory(listed))
    before = active(ledger, directory(listed))
    keep = data.draw(st.lists(st.booleans(), min_size=len(listed), max_size=len(listed)))
    kept = [row for row, k in zip(listed, keep, strict=True) if k]
    newcomers = rows(roster, start=1000)  # the same names again, new people
    result = run(directory(kept + newcomers), ledger)
    entries = result.allocation.entries
    for owner, address in before.items():
        assert entries[address].owner == owner  # nobody else ever holds it
    still = {e.owner: a for a, e in entries.items() if e.state == "active"}
    for row in kept:
        owner = row.split("id: ")[1].split(",")[0]
        assert still[owner] == before[owner]
    ledger2 = ledger_after(directory(kept + newcomers), ledger)
    assert run(directory(kept + newcomers), ledger2).allocation.changes == []
