"""和暦 ↔ 西暦 fiscal years."""

import pytest

from hyoka.era import fiscal_year_label, parse_wareki_year, short_wareki, wareki


@pytest.mark.parametrize(("text", "year"), [
    ("令和元年度", 2019), ("平成31年度", 2019), ("令和6年度", 2024), ("令和7年度", 2025),
    ("平成30年度", 2018), ("R5", 2023), ("Ｒ６", 2024), ("令和５年度", 2024 - 1), ("H31", 2019),
    ("平成元年度", 1989), ("昭和64年", 1989), ("令和 6 年度", 2024),
])
def test_parse(text: str, year: int) -> None:
    assert parse_wareki_year(text) == year


@pytest.mark.parametrize("text", ["2024", "令和", "大正5年度", "令和0年度", "", "R"])
def test_parse_rejects(text: str) -> None:
    assert parse_wareki_year(text) is None


def test_labels() -> None:
    assert wareki(2019) == "令和元年度"
    assert wareki(2018) == "平成30年度"
    assert wareki(2024) == "令和6年度"
    assert fiscal_year_label(2024) == "令和6年度（2024年度）"
    assert short_wareki(2023) == "R5"
    assert wareki(1900) == "1900年度"
