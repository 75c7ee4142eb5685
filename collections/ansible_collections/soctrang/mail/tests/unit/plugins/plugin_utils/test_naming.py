"""Điều 3 and 11.4: every example of the regulation comes out of the default naming table."""

from __future__ import annotations

import pytest
from ansible_collections.soctrang.mail.plugins.plugin_utils.naming import (
    NamingError,
    leadership_rank,
    person_base,
    size_to_bytes,
    unit_label,
)
from helpers import LAB, addresses, files, province_policy, run

REGULATION_UNITS = files(
    stttt="""
        id: stttt
        name: Sở Thông tin và Truyền thông
        kind: so
        units:
          - {id: pcds, name: Phòng Chuyển đổi số, kind: phong}
          - {id: ttcns, name: Trung tâm Công nghệ số, kind: trungtam}
        """,
    myxuyen="""
        id: myxuyen
        name: Huyện Mỹ Xuyên
        kind: huyen
        units:
          - {id: thanhphu, name: Xã Thạnh Phú, kind: xa}
          - {id: pvhtt, name: Phòng Văn hóa - Thông tin, kind: phong}
        """,
)


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("stttt", "sotttt"),  # Điều 3.1
        ("pcds", "phongcds.sotttt"),  # Điều 3.1
        ("myxuyen", "myxuyen"),  # Điều 3.2
        ("thanhphu", "xathanhphu.myxuyen"),  # Điều 3.2
        ("pvhtt", "pvhtt.myxuyen"),  # Điều 3.2
        ("ttcns", "ttcns.sotttt"),  # Điều 11.4
    ],
)
def test_regulation_unit_examples_with_default_table(unit: str, expected: str) -> None:
    assert addresses(run(REGULATION_UNITS))[unit] == expected


def test_person_example_of_dieu_3_3() -> None:
    assert person_base("Dương Chí Nguyên") == "dcnguyen"


@pytest.mark.parametrize(
    ("name", "given", "expected"),
    [
        ("Dương Sà Kha", "Sà Kha", "dsakha"),  # a Khmer given name of two words
        ("Dương Sà Kha", None, "dskha"),  # without it, the last word is the given name
        ("Thạch Thị Sa Rươl", "Sa Rươl", "ttsaruol"),
        ("Nguyễn Thị Hương Giang", None, "nthgiang"),
        ("Đặng Đức", None, "dduc"),  # đ -> d in initials and in the given name
        ("NGUYỄN  VĂN\u00a0AN", None, "nvan"),  # capitals, double and no-break spaces
        ("Nguye\u0302\u0303n Văn An", None, "nvan"),  # decomposed (NFD) input
    ],
)
def test_person_derivation(name: str, given: str | None, expected: str) -> None:
    assert person_base(name, given) == expected


def test_given_name_must_end_the_full_name() -> None:
    with pytest.raises(NamingError, match="not the end of the full name"):
        person_base("Dương Sà Kha", "Sà")


@pytest.mark.parametrize(
    ("name", "kind", "parent", "expected"),
    [
        ("Sở Kế hoạch và Đầu tư", "so", None, "sokhdt"),
        ("Sở Giáo dục và Đào tạo", "so", None, "sogddt"),
        ("Văn phòng", "vanphong", "so", "vanphong"),
        ("Văn phòng Ủy ban nhân dân tỉnh", "vanphong", None, "vpubndt"),
        ("Phòng Tài chính - Kế hoạch", "phong", "huyen", "ptckh"),
        ("Phòng Tài chính - Kế hoạch", "phong", "so", "phongtckh"),
        ("Phòng Kinh tế", "phong", "thixa", "pkt"),
        ("Xã Hòa Tú 1", "xa", "huyen", "xahoatu1"),
        ("Xã Hòa Tú II", "xa", "huyen", "xahoatuii"),
        ("Phường 5", "phuong", "thanhpho", "phuong5"),
        ("Thị trấn Long Phú", "thitran", "huyen", "thitranlongphu"),
        ("Thị xã Vĩnh Châu", "thixa", None, "vinhchau"),
        ("Thành phố Sóc Trăng", "thanhpho", None, "soctrang"),
    ],
)
def test_unit_labels(name: str, kind: str, parent: str | None, expected: str) -> None:
    assert unit_label(name, province_policy().rules[kind], parent) == expected


def test_lab_directory_gives_the_regulation_examples() -> None:
    from ansible_collections.soctrang.mail.plugins.plugin_utils.directory import read_directory

    got = set(addresses(run(read_directory(LAB))).values())
    assert {"sotttt", "phongcds.sotttt", "ttcns.sotttt", "myxuyen", "xathanhphu.myxuyen", "pvhtt.myxuyen"} <= got
    assert {"dcnguyen", "dcnguyen1", "dsakha", "ttsaruol", "lvthanh", "lvthanh1"} <= got


@pytest.mark.parametrize(
    ("position", "rank_above"),
    [
        ("Giám đốc", "Phó Giám đốc"),
        ("Phó Giám đốc", "Trưởng phòng"),
        ("Chủ tịch", "Phó Chủ tịch"),
        ("Trưởng phòng", "Chuyên viên"),
        ("Phó Trưởng phòng", ""),
        ("Giám đốc Sở Tài chính", "Giám đốc Trung tâm"),
    ],
)
def test_leadership_ranks(position: str, rank_above: str) -> None:
    ranks = province_policy().ranks
    assert leadership_rank(position, ranks) < leadership_rank(rank_above, ranks)


def test_pho_giam_doc_is_not_taken_for_giam_doc() -> None:
    ranks = province_policy().ranks
    assert leadership_rank("phó giám đốc", ranks) == leadership_rank("Phó Giám đốc", ranks)
    assert leadership_rank("Phó Giám đốc", ranks) > leadership_rank("Giám đốc", ranks)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2GiB", 2 * 2**30), ("500 MiB", 500 * 2**20), (1073741824, 2**30), ("1.5GiB", 3 * 2**29), ("2GB", 2 * 10**9)],
)
def test_sizes(value: object, expected: int) -> None:
    assert size_to_bytes(value) == expected


@pytest.mark.parametrize("value", ["2 gigs", "-1GiB", "0", True, "GiB"])
def test_bad_sizes(value: object) -> None:
    with pytest.raises(NamingError):
        size_to_bytes(value)
