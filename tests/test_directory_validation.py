"""A corpus of bad directories: each fails with its own message naming file, entry and fix."""

from __future__ import annotations

import pytest
from helpers import files, run
from soctrang_mail import DirectoryError

GOOD_UNIT = "id: u\nname: Sở Tư pháp\nkind: so\n"


def person_file(row: str) -> dict[str, str]:
    return files(u=GOOD_UNIT + "people:\n  - " + row + "\n")


BAD = {
    "yaml that does not parse": (files(u="id: u\nname: [Sở Tư pháp\n"), "directory/u.yml: line"),
    "missing unit id": (files(u="name: Sở Tư pháp\nkind: so\n"), "top-level unit: has no 'id'"),
    "missing person id": (person_file("{name: Lê Văn An, requested_on: 2025-01-01}"), "people[0]: has no 'id'"),
    "id that is a number": (files(u="id: 12\nname: Sở Tư pháp\nkind: so\n"), "must be text; write it in quotes"),
    "duplicated id across files": (
        files(u=GOOD_UNIT, v="id: u\nname: Sở Y tế\nkind: so\n"),
        "id 'u': is used twice (also in directory/u.yml)",
    ),
    "person id equal to a unit id": (
        person_file("{id: u, name: Lê Văn An, requested_on: 2025-01-01}"),
        "id 'u': is used twice",
    ),
    "unknown unit reference": (
        person_file("{id: p1, name: Lê Văn An, requested_on: 2025-01-01, unit: nowhere}"),
        "unit 'nowhere' is not a unit id",
    ),
    "unknown manager": (files(u=GOOD_UNIT + "managers: [ghost]\n"), "manager 'ghost' is not a person or unit id"),
    "unknown kind": (files(u="id: u\nname: Sở Tư pháp\nkind: sở\n"), "kind 'sở' is not in the naming table"),
    "misspelt field": (
        person_file("{id: p1, name: Lê Văn An, requested_on: 2025-01-01, postion: x}"),
        "did you mean 'position'",
    ),
    "empty name": (person_file("{id: p1, name: '', requested_on: 2025-01-01}"), "has no name"),
    "name with digits": (person_file("{id: p1, name: Lê Văn 4n, requested_on: 2025-01-01}"), "not letters"),
    "TCVN3 mojibake": (
        person_file("{id: p1, name: NguyÔn V¨n §øc, requested_on: 2025-01-01}"),
        "legacy TCVN3 (ABC) text, not Unicode (TCVN 6909, Điều 5.2); did you mean 'Nguyễn Văn Đức'",
    ),
    "VNI mojibake": (
        person_file("{id: p1, name: Nguyeãn Vaên Ñöùc, requested_on: 2025-01-01}"),
        "legacy VNI text",
    ),
    "invisible character": (
        person_file('{id: p1, name: "Lê Văn\\u200b An", requested_on: 2025-01-01}'),
        "invisible character(s) U+200B",
    ),
    "unparseable date": (
        person_file("{id: p1, name: Lê Văn An, requested_on: 31/13/2025}"),
        "is not a date; write YYYY-MM-DD",
    ),
    "missing date": (person_file("{id: p1, name: Lê Văn An}"), "has no requested_on"),
    "malformed quota": (
        person_file("{id: p1, name: Lê Văn An, requested_on: 2025-01-01, quota: 2 gigs}"),
        "quota: '2 gigs'",
    ),
    "absurd quota": (person_file("{id: p1, name: Lê Văn An, requested_on: 2025-01-01, quota: 20TiB}"), "above 100GiB"),
    "explicit address with bad syntax": (
        person_file("{id: p1, name: Lê Văn An, requested_on: 2025-01-01, address: Lê.An}"),
        "breaks the address syntax",
    ),
    "explicit address in another domain": (
        person_file("{id: p1, name: Lê Văn An, requested_on: 2025-01-01, address: an@gmail.com}"),
        "outside the mail domain",
    ),
    "explicit reserved address": (
        person_file("{id: p1, name: Lê Văn An, requested_on: 2025-01-01, address: postmaster}"),
        "is reserved for system use",
    ),
    "explicit addresses that clash": (
        files(
            u=GOOD_UNIT
            + "people:\n"
            + "  - {id: p1, name: Lê Văn An, requested_on: 2025-01-01, address: anlv}\n"
            + "  - {id: p2, name: Lý Văn An, requested_on: 2025-01-01, address: anlv}\n"
        ),
        "address 'anlv' belongs to 'p1'",
    ),
    "unknown state": (person_file("{id: p1, name: Lê Văn An, requested_on: 2025-01-01, state: gone}"), "state 'gone'"),
    "given name not ending the name": (
        person_file("{id: p1, name: Dương Sà Kha, given_name: Sà, requested_on: 2025-01-01}"),
        "must be the last word(s)",
    ),
    "merged without target": (files(u=GOOD_UNIT + "state: merged\n"), "names no 'merged_into'"),
    "system mailbox without code": (
        files(s="id: s\nname: Hộp thư hệ thống\nkind: system\n"),
        "needs an explicit 'code'",
    ),
    "nested system unit": (
        files(u=GOOD_UNIT + "units:\n  - {id: s, name: X, kind: system, code: postmaster}\n"),
        "only for top-level files",
    ),
    "reserved code on an ordinary unit": (files(u=GOOD_UNIT + "code: abuse\n"), "only kind 'system' may use it"),
    "empty file": (files(u=""), "is empty"),
    "person in a merged unit": (
        files(
            u=GOOD_UNIT
            + "state: merged\nmerged_into: v\npeople:\n  - {id: p1, name: Lê Văn An, requested_on: 2025-01-01}\n",
            v="id: v\nname: Sở Y tế\nkind: so\n",
        ),
        "which is merged; move the person",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_fails_with_its_own_message(case: str) -> None:
    documents, expected = BAD[case]
    with pytest.raises(DirectoryError) as raised:
        run(documents)
    message = str(raised.value)
    assert expected in message, message
    assert "directory/" in message  # every problem names its file
    assert "nothing was changed" in message


def test_every_problem_is_reported_at_once() -> None:
    documents = files(
        u=GOOD_UNIT
        + "people:\n"
        + "  - {id: p1, name: NguyÔn V¨n §øc, requested_on: 2025-01-01}\n"
        + "  - {id: p2, name: Lê Văn An, requested_on: someday}\n"
    )
    with pytest.raises(DirectoryError) as raised:
        run(documents)
    assert len(raised.value.problems) == 2


def test_good_khmer_and_hoa_names_are_not_taken_for_mojibake() -> None:
    documents = person_file("{id: p1, name: Kim Thị Sa Rươl, given_name: Sa Rươl, requested_on: 2025-01-01}")
    assert run(documents).directory.people["p1"].name == "Kim Thị Sa Rươl"


def test_decomposed_unicode_is_accepted_and_stored_nfc() -> None:
    documents = person_file('{id: p1, name: "Bu\u0300i Minh Kha\u0309i", requested_on: 2025-01-01}')
    assert run(documents).directory.people["p1"].name == "Bùi Minh Khải"
