"""The synthetic roster generator (tools/generate_roster.py): deterministic, prefix-stable,
realistic in its proportions, and valid for the repository's own directory validator."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from pathlib import Path

import generate_roster as roster
import pytest
import yaml
from ansible_collections.soctrang.mail.plugins.plugin_utils.directory import directory_files
from ansible_collections.soctrang.mail.plugins.plugin_utils.naming import person_base
from ansible_collections.soctrang.mail.plugins.plugin_utils.policy import load_policy
from ansible_collections.soctrang.mail.plugins.plugin_utils.state import plan
from yamllint import linter
from yamllint.config import YamlLintConfig

REPO = Path(__file__).resolve().parent.parent
LAB = REPO / "inventories" / "lab"
SIZE = re.compile(r"^\d+(KiB|MiB|GiB)$")


@pytest.fixture(scope="module")
def big() -> roster.Roster:
    return roster.synthesize(20000, 59)


@pytest.fixture(scope="module")
def lab_avoid() -> set[str]:
    return roster.hand_written_addresses(LAB / "directory", "gen")


def all_units(document: Mapping) -> Iterator[Mapping]:
    yield document
    for child in document.get("units", []):
        yield from all_units(child)


def all_strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield str(key)
            yield from all_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from all_strings(item)


def people_of(docs: Mapping[str, Mapping]) -> dict[str, Mapping]:
    return {p["id"]: p for doc in docs.values() for p in doc.get("people", [])}


# ---------------------------------------------------------------- determinism


def test_same_people_and_seed_give_the_same_documents() -> None:
    assert roster.generate(1500, 59) == roster.generate(1500, 59)


def test_another_seed_gives_another_roster() -> None:
    first, second = people_of(roster.generate(500, 59)), people_of(roster.generate(500, 60))
    assert [p["name"] for p in first.values()] != [p["name"] for p in second.values()]


def test_the_command_writes_byte_identical_files(tmp_path: Path) -> None:
    for run in ("a", "b"):
        assert roster.main(["--people", "800", "--out", str(tmp_path / run)]) == 0
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    assert names and all(name.startswith("gen-") and name.endswith(".yml") for name in names)
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_growing_the_roster_adds_people_without_changing_the_first() -> None:
    small, large = people_of(roster.generate(1000, 59)), people_of(roster.generate(2000, 59))
    assert len(small) == 1000 and len(large) == 2000
    for person_id, person in small.items():
        assert large[person_id] == person


def test_growing_keeps_every_unit_of_the_smaller_roster() -> None:
    small, large = roster.generate(1000, 59), roster.generate(2000, 59)
    assert set(small) <= set(large)
    for name, document in small.items():
        large_units = {u["id"]: u for u in all_units(large[name])}
        for unit in all_units(document):
            assert large_units[unit["id"]]["name"] == unit["name"]
            assert large_units[unit["id"]]["kind"] == unit["kind"]


def test_avoiding_addresses_changes_only_the_people_who_would_take_them() -> None:
    plain = people_of(roster.generate(1500, 59))
    first = next(iter(plain.values()))
    taken = person_base(first["name"], first.get("given_name"))
    avoided = people_of(roster.generate(1500, 59, avoid={taken}))
    changed = [i for i in plain if plain[i]["name"] != avoided[i]["name"]]
    assert changed, "the first person's own address must be avoided"
    assert all(person_base(plain[i]["name"], plain[i].get("given_name")) == taken for i in changed)
    assert all(person_base(p["name"], p.get("given_name")) != taken for p in avoided.values())


# ---------------------------------------------------------------- counts and structure


@pytest.mark.parametrize("count", [0, 1, 7, 250, 3000])
def test_the_roster_has_exactly_the_people_asked_for(count: int) -> None:
    docs = roster.generate(count, 59)
    assert len(people_of(docs)) == count
    assert sum(len(d.get("people", [])) for d in docs.values()) == count


def test_every_id_is_unique_and_carries_the_prefix() -> None:
    docs = roster.generate(3000, 59, prefix="synth")
    unit_ids = [u["id"] for d in docs.values() for u in all_units(d)]
    person_ids = [p["id"] for d in docs.values() for p in d.get("people", [])]
    ids = unit_ids + person_ids
    assert len(ids) == len(set(ids))
    assert all(i.startswith("synth-") for i in ids)
    assert set(docs) == {f"{d['id']}.yml" for d in docs.values()}


def test_every_reference_resolves_within_its_file() -> None:
    for document in roster.generate(3000, 59).values():
        units = {u["id"]: u for u in all_units(document)}
        people = {p["id"]: p for p in document["people"]}
        for person in document["people"]:
            assert person.get("unit", document["id"]) in units
        for unit in units.values():
            for manager in unit["managers"]:
                assert people[manager].get("unit", document["id"]) == unit["id"]


def test_dates_states_and_quotas_are_well_formed() -> None:
    people = people_of(roster.generate(5000, 59)).values()
    for person in people:
        assert isinstance(person["requested_on"], dt.date)
        assert roster.FIRST_DAY <= person["requested_on"] <= roster.LAST_DAY
        assert person.get("state", "present") in ("present", "disabled")
        assert "quota" not in person or SIZE.match(person["quota"])
    years = Counter(p["requested_on"].year for p in people)
    assert set(years) == set(range(2015, 2026))
    states = Counter(p.get("state", "present") for p in people)
    assert 0.005 < states["disabled"] / len(people) < 0.05
    assert 0 < sum("quota" in p for p in people) < 0.03 * len(people)


def test_every_unit_has_a_leader_who_was_drawn_first() -> None:
    heads = {row["head"] for row in roster.load_table("units.json")["roles"].values()}
    for document in roster.generate(4000, 59).values():
        first_in_unit: dict[str, Mapping] = {}
        for person in document["people"]:
            first_in_unit.setdefault(person.get("unit", document["id"]), person)
        for unit in all_units(document):
            assert unit["id"] in first_in_unit, f"{unit['id']} has nobody"
            assert first_in_unit[unit["id"]]["position"] in heads
            assert unit["managers"][0] == first_in_unit[unit["id"]]["id"]


def test_positions_rank_as_the_regulation_expects(big: roster.Roster) -> None:
    positions = Counter(p.position for p in big.people)
    for title in ("Giám đốc", "Phó Giám đốc", "Chủ tịch", "Phó Chủ tịch", "Trưởng phòng", "Phó Trưởng phòng"):
        assert positions[title] > 0, title
    for title in ("Giám đốc Trung tâm", "Chi cục trưởng", "Chánh Văn phòng", "Chánh Thanh tra", "Trưởng ban"):
        assert positions[title] > 0, title
    assert positions["Chuyên viên"] > positions["Trưởng phòng"]
    assert positions[None] > 0, "a few people have no position at all"


def test_the_regulation_examples_written_by_hand_are_never_generated(big: roster.Roster) -> None:
    names = {u.name for u in big.units if u.parent is None}
    assert "Sở Thông tin và Truyền thông" not in names
    assert "Huyện Mỹ Xuyên" not in names
    assert len(names) == len(roster.load_table("units.json")["agencies"]) + 10


# ---------------------------------------------------------------- names


def test_ethnic_mix_follows_the_parameter(big: roster.Roster) -> None:
    shares = Counter(p.ethnicity for p in big.people)
    mix = roster.default_mix()
    assert (mix.kinh, mix.khmer, mix.hoa) == (0.64, 0.31, 0.05)
    for ethnicity, expected in (("kinh", mix.kinh), ("khmer", mix.khmer), ("hoa", mix.hoa)):
        assert shares[ethnicity] / len(big.people) == pytest.approx(expected, abs=0.015)


def test_a_custom_mix_is_respected() -> None:
    mix = roster.Mix.parse("kinh=3,khmer=1")
    assert (mix.kinh, mix.khmer, mix.hoa) == (0.75, 0.25, 0.0)
    people = roster.synthesize(4000, 59, mix=mix).people
    shares = Counter(p.ethnicity for p in people)
    assert shares["hoa"] == 0
    assert shares["khmer"] / len(people) == pytest.approx(0.25, abs=0.025)
    with pytest.raises(ValueError, match="kinh=<share>"):
        roster.Mix.parse("thai=1")


def test_name_lengths_are_realistic(big: roster.Roster) -> None:
    lengths = Counter(p.syllables for p in big.people)
    assert set(lengths) == {2, 3, 4, 5}
    kinh = Counter(p.syllables for p in big.people if p.ethnicity == "kinh")
    total = sum(kinh.values())
    # The sample of vn_names.json: 1.2 % / 82.7 % / 15.9 % / 0.2 %; more women
    # with "Thị + second middle" among civil servants.
    assert 0.74 < kinh[3] / total < 0.86
    assert 0.12 < kinh[4] / total < 0.25
    assert 0.003 < kinh[2] / total < 0.03
    assert 0 < kinh[5] / total < 0.01
    assert all(len(p.name.split(" ")) == p.syllables for p in big.people)


def test_southern_surnames_and_middle_names(big: roster.Roster) -> None:
    kinh = [p for p in big.people if p.ethnicity == "kinh"]
    surnames = Counter(p.name.split(" ")[0] for p in kinh)
    assert surnames.most_common(1)[0][0] == "Nguyễn"
    assert surnames["Huỳnh"] > 3 * surnames["Hoàng"]
    assert surnames["Võ"] > 3 * surnames["Vũ"]
    men = [p for p in kinh if p.sex == "male" and p.syllables == 3]
    women = [p for p in kinh if p.sex == "female" and p.syllables == 3]
    assert sum(p.name.split(" ")[1] == "Văn" for p in men) / len(men) == pytest.approx(0.4, abs=0.05)
    assert sum(p.name.split(" ")[1] == "Thị" for p in women) / len(women) == pytest.approx(0.5, abs=0.05)
    assert not any(p.name.split(" ")[1] == "Thị" for p in men)


def test_khmer_given_names_of_several_words_are_spelled_out(big: roster.Roster) -> None:
    khmer = [p for p in big.people if p.ethnicity == "khmer"]
    several = [p for p in khmer if p.given_name]
    assert 0.25 < len(several) / len(khmer) < 0.5
    assert {len(p.given_name.split(" ")) for p in several} == {2, 3}  # type: ignore[union-attr]
    assert all(p.name.endswith(" " + p.given_name) for p in several)  # type: ignore[operator]
    assert not any(p.given_name for p in big.people if p.ethnicity != "khmer")
    surnames = Counter(p.name.split(" ")[0] for p in khmer)
    assert [s for s, _ in surnames.most_common(2)] == ["Thạch", "Sơn"]


def test_fast_address_derivation_matches_the_address_rules(big: roster.Roster) -> None:
    for person in big.people[:5000]:
        drawn = roster.DrawnName(person.name, person.given_name, person.ethnicity, person.sex, person.syllables)
        assert roster.drawn_base(drawn) == person_base(person.name, person.given_name)


def test_names_printed_in_the_reference_data_are_never_emitted(big: roster.Roster) -> None:
    blocked = set(roster.load_table("names.json")["blocked_name_sha256"])
    assert len(blocked) >= 10
    digests = {hashlib.sha256(p.name.casefold().encode()).hexdigest() for p in big.people}
    assert not digests & blocked


def test_same_day_clashes_with_a_leader_occur(big: roster.Roster) -> None:
    """Điều 3.4.b must really be exercised: one derived address, one day, a leader among them."""
    groups: dict[tuple[dt.date, str], list[roster.Person]] = defaultdict(list)
    for person in big.people[:3000]:
        groups[person.requested_on, person_base(person.name, person.given_name)].append(person)
    ties = [g for g in groups.values() if len(g) > 1 and any(p.leader for p in g) and not all(p.leader for p in g)]
    assert len(ties) >= 3
    busiest_day = Counter(p.requested_on for p in big.people[:3000]).most_common(1)[0][1]
    assert busiest_day >= 50


def test_every_string_is_nfc_without_noise() -> None:
    for document in roster.generate(5000, 59).values():
        for text in all_strings(document):
            assert unicodedata.normalize("NFC", text) == text
            assert text == text.strip() and "  " not in text and "\u00a0" not in text


def test_noise_only_when_asked_and_only_in_a_few_names() -> None:
    clean = people_of(roster.generate(5000, 59))
    noisy = people_of(roster.generate(5000, 59, noise=0.05))
    changed = [i for i in clean if clean[i]["name"] != noisy[i]["name"]]
    assert 0.02 * len(clean) < len(changed) < 0.08 * len(clean)
    assert any(unicodedata.normalize("NFC", noisy[i]["name"]) != noisy[i]["name"] for i in changed)
    for person_id in changed:
        # A slip of typing, not another name: the address rules absorb it.
        was, now = clean[person_id], noisy[person_id]
        assert person_base(now["name"], now.get("given_name")) == person_base(was["name"], was.get("given_name"))
        assert {k: v for k, v in noisy[person_id].items() if k not in ("name", "given_name")} == {
            k: v for k, v in clean[person_id].items() if k not in ("name", "given_name")
        }


def test_noise_can_be_limited_to_some_kinds() -> None:
    clean = people_of(roster.generate(3000, 59))
    noisy = people_of(roster.generate(3000, 59, noise=0.2, noise_kinds=["upper"]))
    changed = [i for i in clean if clean[i]["name"] != noisy[i]["name"]]
    assert changed and all(noisy[i]["name"] == clean[i]["name"].upper() for i in changed)
    with pytest.raises(ValueError, match="choose among"):
        roster.generate(10, 59, noise=0.1, noise_kinds=["typo"])


# ---------------------------------------------------------------- files


def test_rendered_yaml_reads_back_as_the_document() -> None:
    for document in roster.generate(3000, 59, noise=0.05).values():
        # libyaml's loader: the same safe constructors as yaml.safe_load, ten times faster.
        assert yaml.load(roster.render(document, ["a header"]), Loader=yaml.CSafeLoader) == document


def test_rendered_files_pass_the_repository_yamllint() -> None:
    config = YamlLintConfig(file=str(REPO / ".yamllint"))
    # yamllint is slow; a small roster has every shape of line a large one has.
    docs = roster.generate(400, 59, noise=0.05)
    header = roster.header_lines(400, 59, 0.05)
    for name, document in docs.items():
        problems = list(linter.run(roster.render(document, header), config))
        assert not problems, f"{name}: {problems[:3]}"


def test_writing_replaces_older_generated_files_and_keeps_hand_written_ones(tmp_path: Path) -> None:
    (tmp_path / "stttt.yml").write_text("id: stttt\n", encoding="utf-8")
    roster.write_roster(roster.generate(3000, 59), tmp_path, "gen")
    before = {p.name for p in tmp_path.iterdir()}
    removed = roster.write_roster(roster.generate(10, 59), tmp_path, "gen")
    after = {p.name for p in tmp_path.iterdir()}
    assert "stttt.yml" in after
    assert removed and set(removed) == before - after
    assert after == {"stttt.yml", *roster.generate(10, 59)}


def test_hand_written_neighbours_are_read_for_their_addresses(tmp_path: Path) -> None:
    (tmp_path / "stttt.yml").write_text(
        "id: stttt\nname: Sở Thông tin và Truyền thông\nkind: so\npeople:\n"
        "  - {id: a, name: Dương Sà Kha, given_name: Sà Kha}\n  - {id: b, name: Trần Văn Hòa, address: tvhoa2}\n",
        encoding="utf-8",
    )
    (tmp_path / "system-abuse.yml").write_text("id: system-abuse\nname: x\nkind: system\ncode: abuse\n")
    (tmp_path / "broken.yml").write_text("id: [unclosed\n", encoding="utf-8")
    (tmp_path / "gen-sotc.yml").write_text("id: gen-sotc\nname: Sở Tài chính\nkind: so\n", encoding="utf-8")
    assert roster.hand_written_addresses(tmp_path, "gen") == {"sotttt", "dsakha", "tvhoa", "tvhoa2", "abuse"}


def test_the_lab_directory_with_a_generated_roster_is_valid(tmp_path: Path, lab_avoid: set[str]) -> None:
    """The real validator and allocator accept it; the regulation's examples keep their addresses."""
    assert {"dcnguyen", "lvthanh", "sotttt", "myxuyen"} <= lab_avoid
    files = {f"directory/{p.name}": p.read_text(encoding="utf-8") for p in directory_files(LAB)}
    header = roster.header_lines(2500, 59, 0.0)
    for name, document in roster.generate(2500, 59, avoid=lab_avoid).items():
        files[f"directory/{name}"] = roster.render(document, header)
    result = plan(files, "", "addresses.yml", load_policy(REPO, LAB), dt.date(2026, 1, 5))
    active = {e.owner: a.split("@")[0] for a, e in result.allocation.entries.items() if e.state == "active"}
    expected = {"stttt-0001": "dcnguyen", "stttt-0002": "dcnguyen1", "myxuyen-0001": "lvthanh"}
    assert {k: active[k] for k in expected} == expected
    assert sum(owner.startswith("gen-") for owner in active) > 2500
    numbered = [a for owner, a in active.items() if owner.startswith("gen-") and a[-1].isdigit() and "." not in a]
    assert len(numbered) > 100, "clashes (Điều 3.4) must be frequent in a realistic roster"
