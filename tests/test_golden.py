"""Every page of the small fixed site matches its golden copy byte for byte."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from .golden import GOLDEN, build_fixture_site, pages


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, str]:
    return pages(build_fixture_site(tmp_path_factory.mktemp("golden")))


def golden_pages() -> dict[str, str]:
    return {p.relative_to(GOLDEN).as_posix(): p.read_text(encoding="utf-8") for p in sorted(GOLDEN.rglob("*.html"))}


def test_same_set_of_pages(built: dict[str, str]) -> None:
    assert sorted(built) == sorted(golden_pages()), "pages added or removed: run python -m tests.golden"


@pytest.mark.parametrize("rel", sorted(golden_pages()))
def test_page_matches_golden(rel: str, built: dict[str, str]) -> None:
    expected = (GOLDEN / rel).read_text(encoding="utf-8")
    actual = built.get(rel, "")
    if actual != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                            "golden/" + rel, "built/" + rel, n=2))
        pytest.fail(f"{rel} differs from its golden copy (python -m tests.golden to accept):\n{diff[:4000]}")


def test_build_is_deterministic(tmp_path: Path, built: dict[str, str]) -> None:
    assert pages(build_fixture_site(tmp_path)) == built
