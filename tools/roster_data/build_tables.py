#!/usr/bin/env python3
"""Rebuild the tables the roster generator vendors (names.json, units.json) from ../shared.

    .venv/bin/python tools/roster_data/build_tables.py ../shared/data

Run by hand when the shared reference data changes; the generator itself reads only
the two JSON files beside this script (CI must not need ../shared at run time).

names.json: published and sampled shares come from vn_names.json; what it does not
give (which given names are male or female, the transliterated Khmer syllables, Hoa
given names, the name-length split by sex) is set below, marked ASSUMPTION.

units.json: the agencies of 2024 and the localities with their communes, from
soctrang_agencies.json and soctrang_units.json; the departments inside each agency
follow the typical national model there (not a verified Sóc Trăng roster). The
regulation's own examples (Sở Thông tin và Truyền thông, Huyện Mỹ Xuyên) are left
out: the lab directory holds them written by hand. Each unit's label is derived with
the repository's own naming rules, so that ids read like the addresses.
"""

from __future__ import annotations

import hashlib
import json
import sys
import unicodedata
from pathlib import Path

import yaml
from ansible_collections.soctrang.mail.plugins.plugin_utils.naming import naming_rules, unit_label

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def words(text: str) -> list[str]:
    """A list of names written as one space-separated string (easier to read and edit)."""
    return text.split()


# The Hoàng/Huỳnh and Vũ/Võ shares are published together; in the South (Sóc Trăng)
# Huỳnh and Võ carry most of them (vn_names.json, southern_note). ASSUMPTION: 85 %.
SOUTHERN_SPLIT = {"Hoàng/Huỳnh": {"Huỳnh": 0.85, "Hoàng": 0.15}, "Vũ/Võ": {"Võ": 0.85, "Vũ": 0.15}}
# Surnames of the sample that are not plausible family names of a roster.
NOT_SURNAMES = {"Văn"}

# Given names of the mixed (all) sample, by the sex they are mostly given to.
# ASSUMPTION (general knowledge); names absent from both sets are left out.
MALE_GIVEN = set(
    words(
        "Huy Tuấn Duy Hoàng Nam Minh Hiếu Dũng Đạt Cường Hùng Tùng Sơn Thành Trung Hải Long Vũ Nguyên Đức Tiến Phúc"
        " Thắng Thịnh Khoa Vinh Hưng Khánh Quân Tài Trí Bảo Phong Toàn Quang Nghĩa Nhân Việt Bình Lâm Tú Trường"
        " Dương Tân Lộc Thái Phú Tín Thiện Phát Sang Thông"
    )
)
FEMALE_GIVEN = {"Thảo", "Ngọc"}
UNISEX_GIVEN = {"Anh", "Linh", "Tâm", "Phương", "An", "Thanh"}
# Common in the Mekong delta, rare in a Hà Nội/HCMC student sample. ASSUMPTION: small weights.
SOUTHERN_MALE_GIVEN = "Phước Lợi Hậu Nhựt Thuận Hòa Kiệt Vĩnh Tấn Trọng Nhơn Thạnh Sáng Hào Em Út Mến Triều Khải Lực"
SOUTHERN_FEMALE_GIVEN = "Xuân Diễm Lan Liên Nhàn Tuyết Cúc Lệ Bích Kiều Trinh Giang Quyên Tiên Em Út Mỹ Hoa Hồng Ly"
SOUTHERN_WEIGHT = 0.45

# Middle names of the (mixed) first-middle sample that are given to girls.
FEMALE_MIDDLE = {"Thị", "Ngọc", "Kim", "Hồng"}
NOT_MIDDLE = {"Văn", "Thị"}  # drawn by their own shares below
# The sample's middles that are the mother's surname: drawn from the surname table instead.
SURNAMES_AS_MIDDLE = {"Nguyễn", "Lê", "Trần", "Vũ", "Huỳnh"}

# Khmer given names written in Vietnamese syllables (vn_names.json khmer.patterns):
# invented syllables in that spelling, none taken from a person. ASSUMPTION.
KHMER_SYLLABLES = words(
    "Sà Kha Phi Nê Sĩ Sóc Khênh Huôl Cuôl Sước Sang Chanh Phol Sol Mol Thươl Rươl Sa Ri Đa Ra Dên Nang Ni Ny"
    " Pha Na Ty Sô Rinh Mây Sum Sết Chăn Thol Hên Khơl Phươl Xây Som Rây Ol On Sơl Pô Kol Mết Sóc Tha Vy"
    " Kanh Đươl Sê Bô Rum Chây Pơl Sây Kiêm Khom Phêng Sọ Ếch Sa Rát Chol Ken Thi Mia Xa Nhơl Dươl"
)

# Hoa names: Vietnamese-spelled Teochew/Cantonese given names (vn_names.json hoa),
# Sino-Vietnamese middles. ASSUMPTION: weights.
HOA_SURNAME_WEIGHTS = {
    "Lý": 12, "Trần": 10, "Lâm": 10, "Quách": 7, "Tăng": 6, "Triệu": 5, "Hứa": 6, "Mã": 5, "Châu": 5, "Trương": 6,
    "Lưu": 5, "Huỳnh": 5, "Diệp": 4, "Thái": 3, "Vương": 3, "Tô": 3, "La": 2, "Ôn": 2, "Dương": 2, "Ngô": 3,
}  # fmt: skip
HOA_MIDDLE_MALE = words("Hớn Kiến Bửu Quốc Chí Huy Vĩnh Thế Xương Tú Gia Minh")
HOA_MIDDLE_FEMALE = words("Huệ Mỹ Ngọc Cẩm Kim Tú Lệ Thị")
HOA_GIVEN_MALE = words("Sìu Phìn Phát Lợi Sáng Hía Xìa Chín Cường Tài Hưng Minh Hào Kiệt Khải Quyền Sến Hỷ Cầu Lìn")
HOA_GIVEN_FEMALE = words("Múi Hủi Lìn Mùi Tuyết Phụng Hoa Lan Quyên Ngọc Xíu Mẫn Liên Nguyệt Kiều Phấn")

# Full names printed in the reference data as examples (historical figures, places
# named after people, the regulation's own example): the generator never emits
# them. Kept as SHA-256 of the NFC, case-folded name so no real name is listed.
BLOCKED_NAMES = [
    "Lâm Văn Mẫn", "Sơn Kiên", "Thạch Sên", "Thái Rết", "Dương Sà Kha", "Lý Phi Nê", "Lâm Sĩ Pến",
    "Thạch Thị Sa Ri", "Dương Chí Nguyên", "Huỳnh Hữu Nghĩa", "Hồ Đắc Kiện",
]  # fmt: skip


def weights(rows: list[dict[str, object]], keep: set[str] | None = None, scale: float = 1.0) -> dict[str, float]:
    return {str(r["name"]): float(r["pct"]) * scale for r in rows if keep is None or r["name"] in keep}


def merge(*tables: dict[str, float]) -> list[list[object]]:
    total: dict[str, float] = {}
    for table in tables:
        for name, weight in table.items():
            total[name] = total.get(name, 0.0) + weight
    return [[name, round(weight, 3)] for name, weight in sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))]


def kinh_surnames(data: dict) -> list[list[object]]:
    published = data["surnames"]["national_published_shares_pct"]["values"]
    table: dict[str, float] = {}
    for name, pct in published.items():
        for part, share in SOUTHERN_SPLIT.get(name, {name: 1.0}).items():
            table[part] = pct * share
    # The tail beyond the published top 14, shaped like the computed sample.
    sample = data["surnames"]["sample_uit_hcmc_computed"]["values"]
    tail = {r["name"]: r["pct"] for r in sample if r["name"] not in table and r["name"] not in NOT_SURNAMES}
    tail = {k: v for k, v in tail.items() if k not in {"Hoàng", "Huỳnh", "Vũ", "Võ"}}
    rest = 100.0 - sum(table.values())
    scale = rest / sum(tail.values())
    return merge(table, {k: v * scale for k, v in tail.items()})


def kinh_given(data: dict) -> dict[str, list[list[object]]]:
    given = data["given_names"]
    everyone = given["all_uit_sample"]
    southern_male = dict.fromkeys(words(SOUTHERN_MALE_GIVEN), SOUTHERN_WEIGHT)
    southern_female = dict.fromkeys(words(SOUTHERN_FEMALE_GIVEN), SOUTHERN_WEIGHT)
    return {
        "male": merge(
            weights(everyone, MALE_GIVEN),
            weights(everyone, UNISEX_GIVEN, 0.5),
            weights(given["male_(middle Văn)_uit_sample"]),
            southern_male,
        ),
        "female": merge(
            weights(everyone, FEMALE_GIVEN),
            weights(everyone, UNISEX_GIVEN, 0.5),
            weights(given["female_(middle Thị)_uit_sample"]),
            southern_female,
        ),
    }


def kinh_middles(data: dict) -> dict[str, list[list[object]]]:
    middle = data["middle_names"]
    first = middle["first_middle_name_uit_sample"]["values"]
    male = {r["name"] for r in first if r["name"] not in FEMALE_MIDDLE | NOT_MIDDLE | SURNAMES_AS_MIDDLE}
    after_thi = weights(middle["female_second_middle_after_Thị_uit_sample"])
    return {
        "male": merge(weights(first, male), weights(first, {"Ngọc", "Hồng"}, 0.5)),
        "female": merge(after_thi),
        "after_thi": merge(after_thi),
    }


def khmer_surnames(data: dict) -> list[list[object]]:
    # vn_names.json khmer.surnames.frequencies (ASSUMPTION there); "other 0.08"
    # spread evenly over the also-common surnames not already named.
    named = {"Thạch": 22, "Sơn": 18, "Lâm": 12, "Kim": 10, "Lý": 8, "Trần": 6, "Danh": 5, "Dương": 4, "Châu": 4}
    named["Triệu"] = 3
    others = [s for s in data["khmer"]["surnames"]["also_common"] if s not in named]
    return merge(named, {s: 8 / len(others) for s in others})


def blocked_digest(name: str) -> str:
    return hashlib.sha256(unicodedata.normalize("NFC", name).casefold().encode()).hexdigest()


def build(data: dict) -> dict[str, object]:
    lengths = data["name_length_uit_sample"]
    mix = data["generator_suggestion_ASSUMPTION"]["ethnic_mix_soc_trang"]
    return {
        "about": (
            "Name distributions for tools/generate_roster.py, built by build_names.py from "
            "shared/data/vn_names.json (published surname shares, a sample of 8,753 public names "
            "aggregated there) plus the ASSUMPTION values of build_names.py. Weights are relative."
        ),
        "ethnic_mix": {"kinh": mix["Kinh"], "khmer": mix["Khmer"], "hoa": mix["Hoa"]},
        "sample_name_lengths": dict(lengths),
        "kinh": {
            "surnames": kinh_surnames(data),
            # The sample's 1.2 % / 82.7 % / 15.9 % / 0.2 % for 2/3/4/5 syllables is
            # a male-heavy student body; women carry "Thị + second middle" far more
            # often. ASSUMPTION: split so the mean stays near the sample.
            "syllables": {
                "male": {"2": 0.012, "3": 0.9, "4": 0.086, "5": 0.002},
                "female": {"2": 0.008, "3": 0.7, "4": 0.288, "5": 0.004},
            },
            # Văn / Thị are far commoner among civil servants (older cohorts) than
            # in the student sample (10.9 % / 7.2 %). ASSUMPTION.
            "van_share_male": 0.4,
            "thi_share_female": 0.5,
            # A surname used as a middle name (the mother's): 1.2 % in the sample.
            "surname_as_middle_share": 0.25,
            "middles": kinh_middles(data),
            "given": kinh_given(data),
        },
        "khmer": {
            "surnames": khmer_surnames(data),
            # Officials often carry a Kinh-style name (Lâm Văn Mẫn); the rest a
            # surname + 1-3 transliterated syllables, Thị before a woman's. ASSUMPTION.
            "kinh_style_share": 0.35,
            "van_share_male": 0.7,
            "thi_share_female": 0.6,
            "given_syllables": {"1": 0.5, "2": 0.4, "3": 0.1},
            "syllables": sorted(set(KHMER_SYLLABLES)),
        },
        "hoa": {
            "surnames": merge(HOA_SURNAME_WEIGHTS),
            "middle_share": 0.85,
            "middles": {"male": HOA_MIDDLE_MALE, "female": HOA_MIDDLE_FEMALE},
            "given": {"male": HOA_GIVEN_MALE, "female": HOA_GIVEN_FEMALE},
        },
        "blocked_name_sha256": sorted(blocked_digest(n) for n in BLOCKED_NAMES),
    }


def build_names(data: dict) -> dict[str, object]:
    return build(data)


# ---------------------------------------------------------------- units
# Who leads a unit and who works in it, by the unit's kind (and "_top" for a
# top-level unit, whose own people are only its board). staff: the headcount a
# unit reaches before the generator lets it grow beyond (ASSUMPTION, typical
# sizes); deputies: [fewest, most].
SO_STAFF = [["Chuyên viên", 70], ["Chuyên viên chính", 12], ["Cán sự", 5], ["Nhân viên", 5], ["Văn thư", 3], ["", 5]]
VP_STAFF = [["Chuyên viên", 45], ["Văn thư", 12], ["Kế toán", 10], ["Thủ quỹ", 4], ["Lái xe", 8], ["Nhân viên", 12]]
VP_STAFF += [["", 9]]
TT_STAFF = [["Thanh tra viên", 55], ["Thanh tra viên chính", 20], ["Chuyên viên", 20], ["", 5]]
CENTRE_STAFF = [["Viên chức", 45], ["Chuyên viên", 20], ["Kỹ sư", 12], ["Kế toán", 6], ["Nhân viên", 12], ["", 5]]
COMMUNE_STAFF = [
    ["Công chức Văn phòng - Thống kê", 18], ["Công chức Tư pháp - Hộ tịch", 16],
    ["Công chức Địa chính - Xây dựng", 16], ["Công chức Tài chính - Kế toán", 14],
    ["Công chức Văn hóa - Xã hội", 16], ["Chỉ huy trưởng Quân sự", 4], ["Cán bộ", 10], ["Văn thư", 4], ["", 2],
]  # fmt: skip


def role(head: str, deputy: str, deputies: list[int], staff: int, positions: list) -> dict[str, object]:
    return {"head": head, "deputy": deputy, "deputies": deputies, "staff": staff, "positions": positions}


ROLES = {
    "so_top": role("Giám đốc", "Phó Giám đốc", [2, 3], 0, []),
    "ban_top": role("Trưởng ban", "Phó Trưởng ban", [2, 3], 0, []),
    "vanphong_top": role("Chánh Văn phòng", "Phó Chánh Văn phòng", [3, 4], 0, []),
    "thanhtra_top": role("Chánh Thanh tra", "Phó Chánh Thanh tra", [2, 3], 0, []),
    "huyen_top": role("Chủ tịch", "Phó Chủ tịch", [2, 3], 0, []),
    "thixa_top": role("Chủ tịch", "Phó Chủ tịch", [2, 3], 0, []),
    "thanhpho_top": role("Chủ tịch", "Phó Chủ tịch", [2, 3], 0, []),
    "vanphong": role("Chánh Văn phòng", "Phó Chánh Văn phòng", [1, 2], 16, VP_STAFF),
    "thanhtra": role("Chánh Thanh tra", "Phó Chánh Thanh tra", [1, 2], 8, TT_STAFF),
    "phong": role("Trưởng phòng", "Phó Trưởng phòng", [1, 2], 10, SO_STAFF),
    "ban": role("Trưởng ban", "Phó Trưởng ban", [1, 2], 10, SO_STAFF),
    "chicuc": role("Chi cục trưởng", "Phó Chi cục trưởng", [1, 2], 28, SO_STAFF),
    "trungtam": role("Giám đốc Trung tâm", "Phó Giám đốc Trung tâm", [1, 2], 35, CENTRE_STAFF),
    "xa": role("Chủ tịch", "Phó Chủ tịch", [1, 2], 25, COMMUNE_STAFF),
    "phuong": role("Chủ tịch", "Phó Chủ tịch", [1, 2], 25, COMMUNE_STAFF),
    "thitran": role("Chủ tịch", "Phó Chủ tịch", [1, 2], 25, COMMUNE_STAFF),
}

# Every agency has these two first (soctrang_agencies.json departments_inside_a_so).
SO_COMMON = [("vanphong", "Văn phòng"), ("thanhtra", "Thanh tra")]
KHTC = ("phong", "Phòng Kế hoạch - Tài chính")
TCCB = ("phong", "Phòng Tổ chức cán bộ")

# (kind, name, departments); a department may carry its own departments.
AGENCIES: list[tuple[str, str, list]] = [
    ("vanphong", "Văn phòng Ủy ban nhân dân tỉnh", [
        ("phong", "Phòng Tổng hợp"), ("phong", "Phòng Kinh tế"), ("phong", "Phòng Khoa giáo - Văn xã"),
        ("phong", "Phòng Nội chính"), ("phong", "Phòng Hành chính - Tổ chức"), ("phong", "Phòng Quản trị - Tài vụ"),
        ("ban", "Ban Tiếp công dân"), ("trungtam", "Trung tâm Phục vụ hành chính công tỉnh"),
        ("trungtam", "Trung tâm Tin học - Công báo"),
    ]),
    ("thanhtra", "Thanh tra tỉnh", [
        ("vanphong", "Văn phòng"), ("phong", "Phòng Nghiệp vụ 1"), ("phong", "Phòng Nghiệp vụ 2"),
        ("phong", "Phòng Nghiệp vụ 3"), ("phong", "Phòng Tiếp công dân và Xử lý đơn thư"),
    ]),
    ("so", "Sở Nội vụ", [
        *SO_COMMON, ("phong", "Phòng Tổ chức, biên chế và tổ chức phi chính phủ"),
        ("phong", "Phòng Xây dựng chính quyền và công tác thanh niên"), ("phong", "Phòng Công chức, viên chức"),
        ("phong", "Phòng Cải cách hành chính"), ("ban", "Ban Tôn giáo"), ("ban", "Ban Thi đua - Khen thưởng"),
        ("chicuc", "Chi cục Văn thư - Lưu trữ"),
    ]),
    ("so", "Sở Tư pháp", [
        *SO_COMMON, ("phong", "Phòng Xây dựng và Kiểm tra văn bản quy phạm pháp luật"),
        ("phong", "Phòng Phổ biến, giáo dục pháp luật"), ("phong", "Phòng Hành chính tư pháp"),
        ("phong", "Phòng Bổ trợ tư pháp"), ("trungtam", "Trung tâm Trợ giúp pháp lý nhà nước"),
        ("trungtam", "Trung tâm Dịch vụ đấu giá tài sản"),
    ]),
    ("so", "Sở Kế hoạch và Đầu tư", [
        *SO_COMMON, ("phong", "Phòng Tổng hợp, Quy hoạch"), ("phong", "Phòng Đăng ký kinh doanh"),
        ("phong", "Phòng Kinh tế ngành"), ("phong", "Phòng Đấu thầu, thẩm định và giám sát đầu tư"),
        ("trungtam", "Trung tâm Xúc tiến đầu tư"),
    ]),
    ("so", "Sở Tài chính", [
        *SO_COMMON, ("phong", "Phòng Quản lý ngân sách"), ("phong", "Phòng Tài chính hành chính sự nghiệp"),
        ("phong", "Phòng Tài chính đầu tư"), ("phong", "Phòng Quản lý giá và công sản"),
        ("phong", "Phòng Tài chính doanh nghiệp"),
    ]),
    ("so", "Sở Công Thương", [
        *SO_COMMON, KHTC, ("phong", "Phòng Quản lý thương mại"), ("phong", "Phòng Quản lý công nghiệp"),
        ("phong", "Phòng Quản lý năng lượng"), ("trungtam", "Trung tâm Khuyến công và Tư vấn phát triển công nghiệp"),
        ("trungtam", "Trung tâm Xúc tiến thương mại"),
    ]),
    ("so", "Sở Nông nghiệp và Phát triển nông thôn", [
        *SO_COMMON, KHTC, ("chicuc", "Chi cục Thủy lợi"), ("chicuc", "Chi cục Trồng trọt và Bảo vệ thực vật"),
        ("chicuc", "Chi cục Chăn nuôi và Thú y"), ("chicuc", "Chi cục Thủy sản"),
        ("chicuc", "Chi cục Phát triển nông thôn"), ("trungtam", "Trung tâm Khuyến nông"),
    ]),
    ("so", "Sở Tài nguyên và Môi trường", [
        *SO_COMMON, ("phong", "Phòng Quản lý đất đai"),
        ("phong", "Phòng Tài nguyên nước, Khoáng sản và Khí tượng thủy văn"),
        ("chicuc", "Chi cục Bảo vệ môi trường"), ("vanphong", "Văn phòng Đăng ký đất đai"),
        ("trungtam", "Trung tâm Quan trắc tài nguyên và môi trường"), ("trungtam", "Trung tâm Phát triển quỹ đất"),
    ]),
    ("so", "Sở Giao thông vận tải", [
        *SO_COMMON, KHTC, ("phong", "Phòng Quản lý vận tải, phương tiện và người lái"),
        ("phong", "Phòng Quản lý kết cấu hạ tầng giao thông"),
        ("ban", "Ban Quản lý dự án công trình giao thông"),
    ]),
    ("so", "Sở Xây dựng", [
        *SO_COMMON, ("phong", "Phòng Quy hoạch - Kiến trúc"),
        ("phong", "Phòng Quản lý nhà và thị trường bất động sản"), ("phong", "Phòng Kinh tế và Vật liệu xây dựng"),
        ("phong", "Phòng Quản lý chất lượng công trình xây dựng"),
        ("trungtam", "Trung tâm Quy hoạch và Kiểm định xây dựng"),
    ]),
    ("so", "Sở Lao động - Thương binh và Xã hội", [
        *SO_COMMON, ("phong", "Phòng Lao động - Việc làm"), ("phong", "Phòng Người có công"),
        ("phong", "Phòng Bảo trợ xã hội"), ("phong", "Phòng Giáo dục nghề nghiệp"),
        ("phong", "Phòng Trẻ em - Bình đẳng giới"), ("trungtam", "Trung tâm Dịch vụ việc làm"),
        ("trungtam", "Trung tâm Công tác xã hội"),
    ]),
    ("so", "Sở Văn hóa, Thể thao và Du lịch", [
        *SO_COMMON, KHTC, ("phong", "Phòng Quản lý văn hóa và Gia đình"),
        ("phong", "Phòng Quản lý thể dục thể thao"), ("phong", "Phòng Quản lý du lịch"),
        ("trungtam", "Trung tâm Văn hóa Nghệ thuật"),
        ("trungtam", "Trung tâm Huấn luyện và Thi đấu thể dục thể thao"),
        ("trungtam", "Trung tâm Thông tin Xúc tiến Du lịch"),
    ]),
    ("so", "Sở Khoa học và Công nghệ", [
        *SO_COMMON, KHTC, ("phong", "Phòng Quản lý khoa học"),
        ("phong", "Phòng Quản lý công nghệ và Thị trường công nghệ"),
        ("chicuc", "Chi cục Tiêu chuẩn Đo lường Chất lượng"),
        ("trungtam", "Trung tâm Thông tin và Ứng dụng khoa học công nghệ"),
    ]),
    ("so", "Sở Giáo dục và Đào tạo", [
        *SO_COMMON, KHTC, TCCB, ("phong", "Phòng Giáo dục Mầm non - Tiểu học"),
        ("phong", "Phòng Giáo dục Trung học"), ("phong", "Phòng Khảo thí và Quản lý chất lượng giáo dục"),
    ]),
    ("so", "Sở Y tế", [
        *SO_COMMON, KHTC, TCCB, ("phong", "Phòng Nghiệp vụ Y"), ("phong", "Phòng Nghiệp vụ Dược"),
        ("chicuc", "Chi cục Dân số - Kế hoạch hóa gia đình"), ("chicuc", "Chi cục An toàn vệ sinh thực phẩm"),
        ("trungtam", "Trung tâm Kiểm soát bệnh tật", [
            ("phong", "Phòng Kế hoạch - Nghiệp vụ"), ("phong", "Phòng Tổ chức - Hành chính"),
        ]),
    ]),
    ("ban", "Ban Dân tộc", [
        *SO_COMMON, ("phong", "Phòng Chính sách dân tộc"), ("phong", "Phòng Kế hoạch - Tổng hợp"),
        ("phong", "Phòng Tuyên truyền và Địa bàn"),
    ]),
    ("ban", "Ban Quản lý các Khu công nghiệp", [
        ("vanphong", "Văn phòng"), ("phong", "Phòng Quản lý doanh nghiệp"), ("phong", "Phòng Quản lý đầu tư"),
        ("phong", "Phòng Quản lý Quy hoạch và Xây dựng"),
    ]),
]  # fmt: skip

# Nghị định 37/2014 as amended by 108/2020 (soctrang_agencies.json): the same ten
# bodies in every locality, then two by the kind of locality, then Phòng Dân tộc.
LOCALITY_COMMON = [
    ("vanphong", "Văn phòng Hội đồng nhân dân và Ủy ban nhân dân"), ("phong", "Phòng Nội vụ"),
    ("phong", "Phòng Tư pháp"), ("phong", "Phòng Tài chính - Kế hoạch"), ("phong", "Phòng Tài nguyên và Môi trường"),
    ("phong", "Phòng Lao động - Thương binh và Xã hội"), ("phong", "Phòng Văn hóa và Thông tin"),
    ("phong", "Phòng Giáo dục và Đào tạo"), ("phong", "Phòng Y tế"), ("thanhtra", "Thanh tra"),
]  # fmt: skip
LOCALITY_SPECIFIC = {
    "huyen": [("phong", "Phòng Nông nghiệp và Phát triển nông thôn"), ("phong", "Phòng Kinh tế và Hạ tầng")],
    "thixa": [("phong", "Phòng Kinh tế"), ("phong", "Phòng Quản lý đô thị")],
    "thanhpho": [("phong", "Phòng Kinh tế"), ("phong", "Phòng Quản lý đô thị")],
}
LOCALITY_KINDS = {"Huyện": "huyen", "Thị xã": "thixa", "Thành phố": "thanhpho"}
COMMUNE_KINDS = {"Xã": "xa", "Phường": "phuong", "Thị trấn": "thitran"}
# Written by hand in the lab directory (the regulation's examples): never generated.
HAND_WRITTEN = {"Sở Thông tin và Truyền thông", "Huyện Mỹ Xuyên"}


def unit_node(kind: str, name: str, parent_kind: str | None, rules: dict, children: list) -> dict[str, object]:
    node: dict[str, object] = {"label": unit_label(name, rules[kind], parent_kind), "name": name, "kind": kind}
    if children:
        node["units"] = [unit_node(c[0], c[1], kind, rules, list(c[2:3] and c[2])) for c in children]
    return node


def commune_node(commune: dict, parent_kind: str, rules: dict) -> dict[str, object]:
    node = unit_node(COMMUNE_KINDS[commune["type"]], commune["name"], parent_kind, rules, [])
    node["gso_code"] = commune["code"]
    return node


def locality_node(district: dict, rules: dict) -> dict[str, object]:
    kind = LOCALITY_KINDS[district["type"]]
    departments = LOCALITY_COMMON + LOCALITY_SPECIFIC[kind] + [("phong", "Phòng Dân tộc")]
    node = unit_node(kind, district["name"], None, rules, departments)
    node["gso_code"] = district["code"]
    node["units"] += [commune_node(c, kind, rules) for c in sorted(district["communes"], key=lambda c: c["code"])]
    return node


def build_units(units: dict, rules: dict) -> dict[str, object]:
    agencies = [unit_node(kind, name, None, rules, subs) for kind, name, subs in AGENCIES if name not in HAND_WRITTEN]
    localities = [locality_node(d, rules) for d in units["districts"] if d["name"] not in HAND_WRITTEN]
    return {
        "about": (
            "Unit structure for tools/generate_roster.py, built by build_tables.py from "
            "shared/data/soctrang_agencies.json and soctrang_units.json. Departments inside an "
            "agency follow the typical national model, not a verified roster."
        ),
        "roles": ROLES,
        "campaign_dates": ["2015-03-16", "2016-01-04", "2019-07-01", "2025-01-02"],
        "agencies": agencies,
        "localities": localities,
    }


def main() -> None:
    shared = Path(sys.argv[1] if len(sys.argv) > 1 else REPO.parent / "shared" / "data")
    names = json.loads((shared / "vn_names.json").read_text(encoding="utf-8"))
    units = json.loads((shared / "soctrang_units.json").read_text(encoding="utf-8"))
    table = yaml.safe_load((REPO / "group_vars" / "all" / "address_rules.yml").read_text(encoding="utf-8"))
    rules = naming_rules(table["soctrang_unit_naming"])
    for name, content in (("names.json", build_names(names)), ("units.json", build_units(units, rules))):
        (HERE / name).write_text(json.dumps(content, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {HERE / name}")


if __name__ == "__main__":
    main()
