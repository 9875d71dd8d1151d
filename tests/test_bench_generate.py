"""The benchmark corpus is valid hyoka content: `build.py check --strict` finds no problem at all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]  # the same from bench/ and from tests/
BENCH = ROOT / "bench"
sys.path.insert(0, str(BENCH))

from generate import generate  # noqa: E402


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """200 sheets, generated once for the module."""
    folder = tmp_path_factory.mktemp("corpus")
    return folder, generate(200, folder, seed=7)


def test_generated_sheets_pass_check_strict(corpus: tuple[Path, list[Path]]) -> None:
    tmp_path, files = corpus
    assert len(files) == 200
    # --strict: a warning (cost arithmetic, results year, file name) fails as well as an error.
    proc = subprocess.run([sys.executable, str(ROOT / "build.py"), "--config", str(tmp_path / "site_config.yaml"),
                           "check", "--strict"], capture_output=True, text=True, encoding="utf-8", timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "問題はありません" in proc.stdout, proc.stdout


def test_corpus_has_the_variety_it_claims(corpus: tuple[Path, list[Path]]) -> None:
    files = corpus[1]
    fronts = [yaml.safe_load(p.read_text(encoding="utf-8").split("---\n")[1]) for p in files]
    assert len({f["organization"]["division"] for f in fronts}) >= 10
    assert len({f["organization"]["bureau"] for f in fronts}) >= 5
    assert len({f["evaluation_year"] for f in fronts}) >= 3
    ids = [f["id"] for f in fronts]
    assert len(set(ids)) < len(ids)  # programs repeat across years
    counts = {len(f["indicators"]) for f in fronts}
    assert min(counts) >= 2 and max(counts) <= 8 and len(counts) > 3
    inds = [i for f in fronts for i in f["indicators"]]
    assert any(i["lower_is_better"] for i in inds)
    assert any(v["actual"] is None for i in inds for v in i["values"].values())
    assert len({tuple(f["sdgs"]) for f in fronts}) > 10
    for f in fronts:
        for col in f["costs"].values():
            if col["total"] is not None:
                assert col["total"] == col["operating"] + col["personnel"]
    bodies = [p.read_text(encoding="utf-8").split("---\n", 2)[2] for p in files]
    assert any("\n- " in b for b in bodies) and any("\n1. " in b for b in bodies)


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a = generate(40, tmp_path / "a", seed=3)
    b = generate(40, tmp_path / "b", seed=3)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert [p.relative_to(tmp_path / "a") for p in a] == [p.relative_to(tmp_path / "b") for p in b]


def test_a_build_over_workers_takes_the_shares_from_files_and_equals_render_in_memory(
        corpus: tuple[Path, list[Path]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With more sheets than a build renders in its own process (96), the workers write the
    shares of the combined downloads of the sheets they make the JSON of into a file of the temp
    folder (pipeline.SharesFile), which the build reads and removes: the site is the one rendered
    in memory, and no such file is left in it."""
    from dataclasses import replace

    from hyoka import pipeline
    from hyoka.collect import collect
    from hyoka.config import load_config
    from hyoka.parallel import can_fork
    from hyoka.render import render_site

    folder = corpus[0]
    config = replace(load_config(folder, folder / "site_config.yaml"), output_dir=tmp_path / "out")
    taken: list[str] = []
    real = pipeline.SharesFile.take

    def take(self: pipeline.SharesFile) -> list:
        taken.append(self.path)
        return real(self)

    monkeypatch.setattr(pipeline.SharesFile, "take", take)
    # The sheets' JSON given out last: the workers take the spans from the back (the build's own
    # process, which keeps its shares in memory, from the front).
    in_turn = pipeline._in_turn
    monkeypatch.setattr(pipeline, "_in_turn", lambda items: in_turn(items)[::-1])
    pipeline.run(config, search=False, jobs=2, cache=False)
    assert bool(taken) == can_fork()
    assert not (config.output_dir / pipeline.SHARES_DIR).exists()
    sheets, _ = pipeline.check(config)
    expected = {p.path: p.text.encode("utf-8") for p in render_site(collect(sheets, config), config.root / "templates")}
    out = config.output_dir
    assert {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.relative_to(out).parts[0] != "assets"} == expected
