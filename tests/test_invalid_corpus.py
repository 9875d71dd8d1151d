"""The bad-sheet corpus: each file under fixtures/invalid gives exactly its expected messages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hyoka.pipeline import load_and_validate

from .conftest import FIXTURES, make_project

CORPUS = FIXTURES / "invalid"
CASES = sorted(p for p in CORPUS.iterdir() if p.suffix == ".md" or p.is_dir())


def corpus_output(case: Path, tmp: Path) -> str:
    """Validate one case placed at content/2025/ in a fresh project; the formatted problems."""
    files = ({f"content/2025/{p.name}": p.read_bytes() for p in sorted(case.iterdir())}
             if case.is_dir() else {f"content/2025/{case.name}": case.read_bytes()})
    config = make_project(tmp, files)
    _, problems = load_and_validate(config)
    return "\n".join(p.format() for p in problems) + "\n"


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_corpus_case(case: Path, tmp_path: Path) -> None:
    expected_file = case.with_suffix(".expected") if case.is_file() else CORPUS / f"{case.name}.expected"
    actual = corpus_output(case, tmp_path)
    if os.environ.get("HYOKA_REGEN_CORPUS"):  # regenerate, then review the diff by eye
        expected_file.write_text(actual, encoding="utf-8")
    assert actual == expected_file.read_text(encoding="utf-8")


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40
    for case in CASES:
        expected = (case.with_suffix(".expected") if case.is_file() else CORPUS / f"{case.name}.expected")
        assert expected.read_text(encoding="utf-8").strip(), f"{case.name}: no expected message"
