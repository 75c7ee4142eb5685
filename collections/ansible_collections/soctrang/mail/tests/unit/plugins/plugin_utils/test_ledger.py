"""Điều 3.4 and the ledger: clashes, leadership, stability, retirement, renames and merges."""

from __future__ import annotations

import datetime as dt

import pytest
from ansible_collections.soctrang.mail.plugins.plugin_utils.directory import DirectoryError
from ansible_collections.soctrang.mail.plugins.plugin_utils.ledger import LedgerError, parse_ledger
from helpers import addresses, files, ledger_after, run

UNIT = """
id: u
name: Sở Tư pháp
kind: so
people:
{people}
"""


def people(*rows: str) -> dict[str, str]:
    return files(u=UNIT.format(people="\n".join(rows)))


def person(pid: str, name: str, day: str, position: str = "", *, state: str = "present", extra: str = "") -> str:
    pos = f", position: {position}" if position else ""
    return f"  - {{id: {pid}, name: {name}, requested_on: {day}{pos}, state: {state}{extra}}}"


def test_clash_numbering_follows_request_date_not_file_order() -> None:
    later_first = people(
        person("p2", "Nguyễn Thị Thanh", "2025-03-02"),
        person("p1", "Nguyễn Tấn Thành", "2025-03-01"),
        person("p3", "Nguyễn Trung Thạnh", "2025-03-03"),
    )
    got = addresses(run(later_first))
    assert (got["p1"], got["p2"], got["p3"]) == ("ntthanh", "ntthanh1", "ntthanh2")


def test_same_day_leader_gets_the_plain_form() -> None:  # Điều 3.4.b
    got = addresses(
        run(
            people(
                person("a-001", "Dương Công Nguyên", "2024-12-20", "Chuyên viên"),
                person("z-999", "Dương Chí Nguyên", "2024-12-20", "Giám đốc"),
                person("m-500", "Đỗ Chí Nguyên", "2024-12-20", "Phó Giám đốc"),
            )
        )
    )
    assert got == {"u": "sotp", "z-999": "dcnguyen", "m-500": "dcnguyen1", "a-001": "dcnguyen2"}


def test_same_day_same_rank_tie_breaks_on_id() -> None:
    got = addresses(run(people(person("b", "Lê Văn An", "2025-01-01"), person("a", "Lâm Văn An", "2025-01-01"))))
    assert (got["a"], got["b"]) == ("lvan", "lvan1")


def test_earlier_request_beats_rank() -> None:
    got = addresses(
        run(
            people(
                person("boss", "Trần Văn Bình", "2025-02-01", "Giám đốc"),
                person("clerk", "Trương Văn Bình", "2025-01-01", "Văn thư"),
            )
        )
    )
    assert (got["clerk"], got["boss"]) == ("tvbinh", "tvbinh1")


def test_an_address_never_moves_when_an_earlier_request_appears_later() -> None:
    first = people(person("p2", "Nguyễn Văn An", "2025-03-02"))
    ledger = ledger_after(first)
    both = people(person("p2", "Nguyễn Văn An", "2025-03-02"), person("p1", "Ngô Văn An", "2024-01-01", "Giám đốc"))
    got = addresses(run(both, ledger))
    assert (got["p2"], got["p1"]) == ("nvan", "nvan1")


def test_rerun_and_reorder_change_nothing() -> None:
    rows = [person(f"p{i}", name, "2025-01-01") for i, name in enumerate(["Lê An", "Lý An", "Lã An", "Lò An"])]
    ledger = ledger_after(people(*rows))
    again = run(people(*reversed(rows)), ledger, today=dt.date(2027, 1, 1))
    assert again.allocation.changes == []


def test_absent_person_is_retired_and_never_reused() -> None:
    ledger = ledger_after(people(person("p1", "Hồ Văn Nam", "2025-01-01")))
    gone = people(person("p1", "Hồ Văn Nam", "2025-01-01", state="absent"), person("p2", "Hà Văn Nam", "2025-06-01"))
    result = run(gone, ledger)
    entries = result.allocation.entries
    assert entries["hvnam@soctrang.gov.vn"].state == "retired"
    assert entries["hvnam@soctrang.gov.vn"].owner == "p1"
    assert addresses(result)["p2"] == "hvnam1"


def test_person_deleted_from_the_directory_is_retired_too() -> None:
    ledger = ledger_after(people(person("p1", "Hồ Văn Nam", "2025-01-01")))
    result = run(people(), ledger)
    assert result.allocation.entries["hvnam@soctrang.gov.vn"].state == "retired"
    assert [c.action for c in result.allocation.changes] == ["retired"]


def test_returning_person_gets_the_old_address_back() -> None:
    ledger = ledger_after(people(person("p1", "Hồ Văn Nam", "2025-01-01")))
    ledger = ledger_after(people(person("p1", "Hồ Văn Nam", "2025-01-01", state="absent")), ledger)
    assert "state: retired" in ledger
    back = run(people(person("p1", "Hồ Văn Nam", "2025-01-01")), ledger)
    assert addresses(back)["p1"] == "hvnam"
    assert [c.action for c in back.allocation.changes] == ["reactivated"]


def test_disabled_person_keeps_the_address() -> None:
    ledger = ledger_after(people(person("p1", "Hồ Văn Nam", "2025-01-01")))
    result = run(people(person("p1", "Hồ Văn Nam", "2025-01-01", state="disabled")), ledger)
    assert result.allocation.changes == []


def test_moving_a_person_or_fixing_a_name_keeps_the_address() -> None:
    ledger = ledger_after(people(person("p1", "Hồ Văn Nam", "2025-01-01")))
    renamed = run(people(person("p1", "Hồ Văn Nhân", "2025-01-01")), ledger)
    assert renamed.allocation.changes == []


def test_explicit_address_for_an_old_mailbox() -> None:
    got = addresses(run(people(person("p1", "Hồ Văn Nam", "2019-01-01", extra=", address: namhv"))))
    assert got["p1"] == "namhv"


def test_explicit_address_change_keeps_the_old_one_as_alias() -> None:
    ledger = ledger_after(people(person("p1", "Hồ Văn Nam", "2025-01-01")))
    result = run(people(person("p1", "Hồ Văn Nam", "2025-01-01", extra=", address: namhv")), ledger)
    entries = result.allocation.entries
    assert entries["namhv@soctrang.gov.vn"].state == "active"
    assert entries["hvnam@soctrang.gov.vn"].state == "alias"


def test_explicit_address_held_by_someone_else_is_refused() -> None:
    ledger = ledger_after(people(person("p1", "Hồ Văn Nam", "2025-01-01")))
    with pytest.raises(DirectoryError, match="address 'hvnam' belongs to 'p1'"):
        run(
            people(
                person("p1", "Hồ Văn Nam", "2025-01-01"), person("p2", "X Y", "2025-01-02", extra=", address: hvnam")
            ),
            ledger,
        )


def test_reserved_names_are_skipped_by_derivation() -> None:
    got = addresses(run(people(person("p1", "Anh Đức Min", "2025-01-01"))))
    assert got["p1"] == "admin1"  # "admin" is reserved


def test_person_clashing_with_a_unit_address_is_numbered() -> None:
    got = addresses(run(people(person("p1", "Sơn Ông Tư Phương", "2025-01-01"))))
    assert got["u"] == "sotp"
    assert got["p1"] == "sotphuong"


def test_aliases_are_allocated_and_retired_when_removed() -> None:
    with_alias = people(person("p1", "Hồ Văn Nam", "2025-01-01", extra=", aliases: [giamdoc.sotp]"))
    ledger = ledger_after(with_alias)
    assert "giamdoc.sotp@soctrang.gov.vn: {owner: p1, kind: person, state: alias" in ledger
    without = run(people(person("p1", "Hồ Văn Nam", "2025-01-01")), ledger)
    assert without.allocation.entries["giamdoc.sotp@soctrang.gov.vn"].state == "retired"


def test_renamed_unit_gets_a_new_address_and_keeps_the_old_as_alias() -> None:
    before = files(u="id: u\nname: Sở Kế hoạch và Đầu tư\nkind: so\n")
    after = files(u="id: u\nname: Sở Tài chính và Kế hoạch\nkind: so\n")
    result = run(after, ledger_after(before))
    entries = result.allocation.entries
    assert entries["sotckh@soctrang.gov.vn"].state == "active"
    assert entries["sokhdt@soctrang.gov.vn"].state == "alias"
    assert entries["sokhdt@soctrang.gov.vn"].owner == "u"


def test_merged_unit_address_routes_to_the_unit_it_merged_into() -> None:
    before = files(a="id: a\nname: Sở Kế hoạch và Đầu tư\nkind: so\n", b="id: b\nname: Sở Tài chính\nkind: so\n")
    after = files(
        a="id: a\nname: Sở Kế hoạch và Đầu tư\nkind: so\nstate: merged\nmerged_into: b\n",
        b="id: b\nname: Sở Tài chính\nkind: so\n",
    )
    result = run(after, ledger_after(before))
    entry = result.allocation.entries["sokhdt@soctrang.gov.vn"]
    assert (entry.owner, entry.state, entry.target) == ("a", "alias", "b")


def test_unit_clash_asks_for_an_explicit_code() -> None:
    clash = files(
        a="id: a\nname: Sở Tài chính\nkind: so\n",
        b="id: b\nname: Sở Tư chính\nkind: so\n",
    )
    with pytest.raises(DirectoryError, match="give one of them an explicit 'code'"):
        run(clash)


def test_ledger_with_two_active_addresses_for_one_owner_is_refused() -> None:
    text = (
        "addresses:\n"
        "  a@soctrang.gov.vn: {owner: p1, kind: person, state: active, assigned: 2025-01-01}\n"
        "  b@soctrang.gov.vn: {owner: p1, kind: person, state: active, assigned: 2025-01-01}\n"
    )
    with pytest.raises(LedgerError, match="has two active addresses"):
        parse_ledger(text, "addresses.yml")


def test_ledger_edited_by_hand_is_refused() -> None:
    with pytest.raises(LedgerError, match="restore it from git"):
        parse_ledger("addresses:\n  a@soctrang.gov.vn: {owner: p1}\n", "addresses.yml")


def test_numeric_ids_survive_the_ledger_round_trip() -> None:
    docs = files(u='id: "0012"\nname: Sở Y tế\nkind: so\n')
    ledger = ledger_after(docs)
    assert 'owner: "0012"' in ledger
    assert run(docs, ledger).allocation.changes == []
