"""Shared fixtures: the project root, its config, and throwaway projects."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hyoka.config import load_config
from hyoka.model import SiteConfig

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def config() -> SiteConfig:
    """The project's own site_config.yaml."""
    return load_config(ROOT)


def make_project(tmp: Path, files: dict[str, str | bytes] | None = None,
                 config_file: Path = ROOT / "site_config.yaml") -> SiteConfig:
    """A project in `tmp` using the real templates and assets, a config, and the given content files."""
    shutil.copy(config_file, tmp / "site_config.yaml")
    for name in ("templates", "assets"):
        (tmp / name).symlink_to(ROOT / name)
    for rel, data in (files or {}).items():
        path = tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    return load_config(tmp)


@pytest.fixture
def project(tmp_path: Path):
    """Factory: project(files) → SiteConfig of a fresh temp project."""
    return lambda files=None: make_project(tmp_path, files)
