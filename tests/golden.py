"""Golden pages: build the small fixed site under tests/fixtures/site and compare every page.

Regenerate after an intended change, then review the diff:  python -m tests.golden
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from hyoka.pipeline import run

from .conftest import FIXTURES, make_project

SITE = FIXTURES / "site"
GOLDEN = Path(__file__).resolve().parent / "golden"


def build_fixture_site(tmp: Path) -> Path:
    """Build the fixture site into `tmp`/_site and return that folder."""
    files = {p.relative_to(SITE).as_posix(): p.read_bytes() for p in sorted((SITE / "content").rglob("*.md"))}
    config = make_project(tmp, files, config_file=SITE / "site_config.yaml")
    out = tmp / "_site"
    run(replace(config, output_dir=out), search=False)
    return out


def pages(out: Path) -> dict[str, str]:
    """Every HTML page of a built site by its site-relative path."""
    return {p.relative_to(out).as_posix(): p.read_text(encoding="utf-8") for p in sorted(out.rglob("*.html"))}


def regenerate() -> int:
    """Rewrite tests/golden/ from the current templates and code."""
    with tempfile.TemporaryDirectory() as tmp:
        built = pages(build_fixture_site(Path(tmp)))
    shutil.rmtree(GOLDEN, ignore_errors=True)
    for rel, text in built.items():
        target = GOLDEN / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    print(f"{len(built)} golden pages written to {GOLDEN}")
    return 0


if __name__ == "__main__":
    sys.exit(regenerate())
