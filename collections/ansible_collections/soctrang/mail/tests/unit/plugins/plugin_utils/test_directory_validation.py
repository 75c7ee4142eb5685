"""A corpus of bad directories: each fails with its own message naming file, entry and fix."""

from __future__ import annotations

import pytest
from ansible_collections.soctrang.mail.plugins.plugin_utils.directory import DirectoryError
from helpers import files, run

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
    # Values YAML reads on its own, unquoted, as something other than the text or
    # date the field needs: each gets its entry, its line and what to write.
    "impossible date": (
        person_file("{id: p1, name: Lê Văn An, requested_on: 2024-13-45}"),
        "person 'p1': requested_on '2024-13-45' (line 5) is not a date: month must be in 1..12; write YYYY-MM-DD",
    ),
    "30 February": (
        person_file("{id: p1, name: Lê Văn An, requested_on: 2024-02-30}"),
        "requested_on '2024-02-30' (line 5) is not a date: day is out of range for month",
    ),
    "impossible time": (
        person_file("{id: p1, name: Lê Văn An, requested_on: 2024-01-02 25:00:00}"),
        "requested_on '2024-01-02 25:00:00' (line 5) is not a date: hour must be in 0..23",
    ),
    "date with a time of day": (
        person_file("{id: p1, name: Lê Văn An, requested_on: 2024-01-02 10:00:00}"),
        "YAML reads it as the date and time 2024-01-02 10:00:00) has a time of day; a request has a date only: "
        "requested_on: 2024-01-02",
    ),
    "yes/no as a date": (
        person_file("{id: p1, name: Lê Văn An, requested_on: yes}"),
        "requested_on 'yes' (line 5: YAML reads it as true (a yes/no value)) is not a date; write YYYY-MM-DD",
    ),
    "number as a date": (
        person_file("{id: p1, name: Lê Văn An, requested_on: 20241220}"),
        "requested_on '20241220' (line 5: YAML reads it as the number 20241220) is not a date",
    ),
    "~ as a date": (
        person_file("{id: p1, name: Lê Văn An, requested_on: ~}"),
        "has no requested_on ('~' on line 5 is YAML for empty)",
    ),
    "yes as a name": (
        person_file("{id: p1, name: yes, requested_on: 2025-01-01}"),
        "name 'yes' (line 5: YAML reads it as true (a yes/no value)) must be text; write it in quotes: name: \"yes\"",
    ),
    "no as a given name": (
        person_file("{id: p1, name: Lê Văn An, given_name: no, requested_on: 2025-01-01}"),
        "given_name 'no' (line 5: YAML reads it as false (a yes/no value)) must be text",
    ),
    "on as a unit name": (
        files(u="id: u\nname: on\nkind: so\n"),
        "unit 'u': unit name 'on' (line 2: YAML reads it as true (a yes/no value)) must be text",
    ),
    "~ as a name": (
        person_file("{id: p1, name: ~, requested_on: 2025-01-01}"),
        "has no name ('~' on line 5 is YAML for empty); write it in full",
    ),
    "date as a name": (
        person_file("{id: p1, name: 2025-01-01, requested_on: 2025-01-01}"),
        "name '2025-01-01' (line 5: YAML reads it as the date 2025-01-01) must be text",
    ),
    "impossible date as a position": (
        person_file("{id: p1, name: Lê Văn An, position: 2024-13-45, requested_on: 2025-01-01}"),
        "position '2024-13-45' (line 5: YAML reads it as a date, and there is no such date (month must be in 1..12))",
    ),
    "number as a position": (
        person_file("{id: p1, name: Lê Văn An, position: 12, requested_on: 2025-01-01}"),
        "position '12' (line 5: YAML reads it as the number 12) must be text; write it in quotes: position: \"12\"",
    ),
    "octal number as an id": (
        person_file("{id: 0042, name: Lê Văn An, requested_on: 2025-01-01}"),
        "people[0]: id '0042' (line 5: YAML reads it as the number 34) must be text; write it in quotes: id: \"0042\"",
    ),
    "date as an id": (
        files(u="id: 2025-01-01\nname: Sở Tư pháp\nkind: so\n"),
        "top-level unit: id '2025-01-01' (line 1: YAML reads it as the date 2025-01-01) must be text",
    ),
    "number as a unit reference": (
        person_file("{id: p1, name: Lê Văn An, unit: 12, requested_on: 2025-01-01}"),
        "unit '12' (line 5: YAML reads it as the number 12) must be text",
    ),
    "no as a state": (
        person_file("{id: p1, name: Lê Văn An, state: no, requested_on: 2025-01-01}"),
        "state 'no' (line 5: YAML reads it as false (a yes/no value)) must be one of present, disabled, absent",
    ),
    "~ as a state": (
        files(u=GOOD_UNIT + "state: ~\n"),
        "state '~' (line 4: YAML reads it as empty (null)) must be one of present, merged, absent",
    ),
    "on as a kind": (
        files(u="id: u\nname: Sở Tư pháp\nkind: on\n"),
        "kind 'on' (line 3: YAML reads it as true (a yes/no value)) must be text",
    ),
    "number as a gso_code": (
        files(u=GOOD_UNIT + "gso_code: 946\n"),
        "gso_code '946' (line 4: YAML reads it as the number 946) must be text",
    ),
    "number as a code": (files(u=GOOD_UNIT + "code: 12\n"), "code '12' (line 4: YAML reads it as the number 12)"),
    "yes as merged_into": (
        files(u=GOOD_UNIT + "state: merged\nmerged_into: yes\n"),
        "merged_into 'yes' (line 5: YAML reads it as true (a yes/no value)) must be text",
    ),
    "yes among the managers": (
        files(u=GOOD_UNIT + "managers: [yes]\n"),
        "'managers' must list ids as text, not 'yes' (line 4: YAML reads it as true (a yes/no value))",
    ),
    "yes as managers_send_as text": (
        files(u=GOOD_UNIT + "managers_send_as: 'yes'\n"),
        "managers_send_as 'yes' must be true or false",
    ),
    "no among the aliases": (
        person_file("{id: p1, name: Lê Văn An, requested_on: 2025-01-01, aliases: [no]}"),
        "alias 'no' (line 5: YAML reads it as false (a yes/no value)) must be text",
    ),
    "number as an address": (
        person_file("{id: p1, name: Lê Văn An, requested_on: 2025-01-01, address: 12}"),
        "address '12' (line 5: YAML reads it as the number 12) must be text",
    ),
    "yes as a quota": (
        person_file("{id: p1, name: Lê Văn An, requested_on: 2025-01-01, quota: yes}"),
        "quota 'yes' (line 5: YAML reads it as true (a yes/no value)) is not a size",
    ),
    "explicit tag that cannot be read": (
        person_file("{id: p1, name: Lê Văn An, requested_on: !!int x}"),
        "directory/u.yml: line 5, column 45: is not valid YAML ('x' cannot be read as int",
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


def problems_of(documents: dict[str, str]) -> list[str]:
    with pytest.raises(DirectoryError) as raised:
        run(documents)
    return [str(p) for p in raised.value.problems]


def test_a_person_without_a_date_has_an_unknown_unit_reported_too() -> None:
    found = problems_of(person_file("{id: p1, name: Lê Văn An, unit: nowhere}"))
    assert found == [
        "directory/u.yml: person 'p1': has no requested_on; give the date of the agency's request (YYYY-MM-DD)",
        "directory/u.yml: person 'p1': unit 'nowhere' is not a unit id in the directory",
    ]


def test_every_problem_of_one_entry_is_reported() -> None:
    found = problems_of(
        person_file(
            "{id: p1, name: Lê Văn 4n, requested_on: 2024-13-45, state: gone, quota: 2 gigs, "
            "position: 12, address: postmaster, unit: nowhere, postion: x}"
        )
    )
    expected = [
        "unknown field 'postion'",
        "name 'Lê Văn 4n' holds characters that are not letters",
        "state 'gone' must be one of",
        "requested_on '2024-13-45' (line 5) is not a date",
        "position '12' (line 5: YAML reads it as the number 12) must be text",
        "address 'postmaster' is reserved",
        "quota: '2 gigs'",
        "unit 'nowhere' is not a unit id",
    ]
    assert len(found) == len(expected), found
    for problem, part in zip(found, expected, strict=True):
        assert problem.startswith("directory/u.yml: person 'p1': ") and part in problem, (problem, part)


def test_problems_of_every_file_and_every_reference_come_in_one_run() -> None:
    found = problems_of(
        files(
            u=GOOD_UNIT + "managers: [ghost]\npeople:\n  - {id: p1, name: NguyÔn V¨n §øc, requested_on: 2025-01-01}\n",
            v="id: v\nname: Sở Y tế\nkind: so\nstate: merged\nmerged_into: nowhere\n"
            "people:\n  - {id: p2, name: Lê Văn An, requested_on: 2024-02-30}\n",
        )
    )
    assert len(found) == 5, found
    assert any("u.yml: person 'p1': name 'NguyÔn V¨n §øc' looks like legacy TCVN3" in p for p in found)
    assert any("v.yml: person 'p2': requested_on '2024-02-30' (line 7) is not a date" in p for p in found)
    assert any("u.yml: unit 'u': manager 'ghost' is not a person or unit id" in p for p in found)
    assert any("v.yml: unit 'v': merged_into 'nowhere' is not a unit id" in p for p in found)
    assert any("v.yml: person 'p2': belongs to unit 'v', which is merged" in p for p in found)


def test_a_broken_unit_does_not_make_its_people_look_broken() -> None:
    # The unit's kind is wrong; its people and the references to it are fine.
    found = problems_of(
        files(
            u="id: u\nname: Sở Tư pháp\nkind: sở\npeople:\n  - {id: p1, name: Lê Văn An, requested_on: 2025-01-01}\n",
            v="id: v\nname: Sở Y tế\nkind: so\nmanagers: [p1]\n"
            "people:\n  - {id: p2, name: Lê Văn Bình, unit: u, requested_on: 2025-01-01}\n",
        )
    )
    assert len(found) == 1 and "kind 'sở' is not in the naming table" in found[0], found


def test_references_are_not_judged_when_a_file_cannot_be_read() -> None:
    # The unit 'w' may well be in the file that is not YAML: only that file is reported.
    found = problems_of(
        files(
            u=GOOD_UNIT + "people:\n  - {id: p1, name: Lê Văn An, unit: w, requested_on: 2025-01-01}\n",
            w="id: w\nname: [Sở Y tế\n",
        )
    )
    assert len(found) == 1 and found[0].startswith("directory/w.yml: line"), found


def test_good_unquoted_values_still_read() -> None:
    documents = files(
        u=GOOD_UNIT
        + "gso_code: '946'\nmanagers_send_as: yes\nmanagers: [p1]\n"
        + "people:\n  - {id: p1, name: Lê Văn An, requested_on: 2025-01-01, quota: 1073741824}\n"
        + "  - {id: p2, name: Lê Văn Bình, requested_on: '31/12/2024'}\n"
    )
    directory = run(documents).directory
    assert directory.units["u"].managers_send_as is True
    assert directory.units["u"].gso_code == "946"
    assert directory.people["p1"].quota_bytes == 2**30
    assert str(directory.people["p2"].requested_on) == "2024-12-31"
