"""Incremental rendering: after one sheet edit only the pages that show it are rendered again, and
the result is identical to rendering everything from scratch."""

from __future__ import annotations

from hyoka.collect import collect
from hyoka.pipeline import load_and_validate
from hyoka.render import RenderCache, render_site

from .conftest import ROOT


def _site(config):
    sheets, problems = load_and_validate(config)
    assert not [p for p in problems if p.is_error]
    return collect(sheets, config)


def _copy_content(project):
    files = {f"content/2025/{p.name}": p.read_text(encoding="utf-8") for p in sorted((ROOT / "content/2025").glob("*.md"))}
    return project(files)


def test_one_edit_rerenders_only_dependent_pages(project) -> None:
    config = _copy_content(project)
    cache = RenderCache()
    first = render_site(_site(config), config.root / "templates", cache)
    # Templates make the HTML pages; the data files (hyoka/opendata.py) are generated, never cached.
    assert len(cache.rendered) == len([p for p in first if p.path.endswith(".html")])

    # Nothing changed: nothing is rendered.
    render_site(_site(config), config.root / "templates", cache)
    assert cache.rendered == []

    # One sheet's comment changes: its two pages, and the lists and overviews that show it.
    path = config.content_dir / "2025" / "ai-rpa.md"
    path.write_text(path.read_text(encoding="utf-8").replace("無償の生成AIが利用可", "無償の生成AIも利用可", 1),
                    encoding="utf-8")
    pages = render_site(_site(config), config.root / "templates", cache)
    rendered = sorted(cache.rendered)
    assert "sheets/ai-rpa/2025/index.html" in rendered and "sheets/ai-rpa/index.html" in rendered
    assert "sheets/smartphone-subsidy/2025/index.html" not in rendered
    assert "divisions/市長公室/DX推進課/index.html" in rendered
    assert "sdgs/9/index.html" in rendered and "sdgs/12/index.html" not in rendered  # ai-rpa: goals 9, 11
    assert "plan/6/2/2/index.html" in rendered and "plan/6/2/3/index.html" not in rendered
    assert "404.html" not in rendered
    assert len(rendered) < len(pages) / 2, rendered
    # Byte-identical to a clean render.
    assert [(p.path, p.text) for p in pages] == [(p.path, p.text) for p in render_site(_site(config), config.root / "templates")]


def test_template_or_config_change_rerenders_everything(project) -> None:
    config = _copy_content(project)
    cache = RenderCache()
    render_site(_site(config), config.root / "templates", cache)
    from dataclasses import replace
    site = _site(config)
    pages = render_site(collect(list(site.sheets), replace(config, site_title="別の名前")), config.root / "templates", cache)
    assert len(cache.rendered) == len([p for p in pages if p.path.endswith(".html")])
