"""write.prune_kept (from a kept.KeptListing made by the process that walks the kept site) removes what
write.prune removes, and finds the same files intact, on random kept sites: files as recorded,
changed or gone, strays, folders where files go and files where folders go, links, empty folders."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest

from hyoka.cache import stat_key
from hyoka.kept import KeptListing, list_tree, summarize_listing
from hyoka.write import prune, prune_kept


def _tree(folder: Path) -> list[tuple[str, str]]:
    return sorted((e[0], e[1]) for e in list_tree(folder))


def _make(root: Path, rng: random.Random) -> tuple[dict[str, tuple], list[str]]:
    """A random kept site, the records of its files (some out of date), and a new site's paths."""
    names = ["a", "b", "c", "sheets", "x-y", "x"]
    paths: set[str] = set()
    for _ in range(rng.randint(1, 25)):
        depth = rng.randint(1, 4)
        paths.add("/".join(rng.choice(names) for _ in range(depth - 1)) + ("/" if depth > 1 else "")
                  + rng.choice(["index.html", "sheet.json", "a", "b"]))
    # No path both a file and a folder above another file.
    paths = {p for p in paths if not any(q.startswith(p + "/") for q in paths)}
    records: dict[str, tuple] = {}
    for rel in sorted(paths):
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(rel, encoding="utf-8")
        records[rel] = ("key", *stat_key(os.lstat(target)))
        fate = rng.random()
        if fate < 0.1:
            target.write_text(rel + " changed by hand", encoding="utf-8")
        elif fate < 0.15:
            target.unlink()
        elif fate < 0.2:
            target.unlink()
            target.mkdir()  # a folder where the file was
            (target / "index.html").write_text("stray", encoding="utf-8")
    for _ in range(rng.randint(0, 4)):  # strays, empty folders, links
        where = root / rng.choice([".", "a", "sheets", "x"])
        where.mkdir(parents=True, exist_ok=True)
        kind = rng.choice(["file", "dir", "link", "dirlink"])
        name = where / f"stray-{rng.randint(0, 99)}"
        if os.path.lexists(name):
            continue
        if kind == "file":
            name.write_text("stray", encoding="utf-8")
        elif kind == "dir":
            name.mkdir()
        elif kind == "link":
            name.symlink_to(root / "nowhere")
        else:
            name.symlink_to(root, target_is_directory=True)
    for rel in rng.sample(sorted(paths), k=min(len(paths), rng.randint(0, 3))):
        records[rel + "-gone"] = ("key", 1, 2, 3)  # a record whose file is not there
    new = [p for p in sorted(paths) if rng.random() < 0.8]
    new += [f"{rng.choice(names)}/new-{i}.html" for i in range(rng.randint(0, 3))]
    if paths and rng.random() < 0.3:
        new.append(sorted(paths)[0] + "/index.html")  # a folder where a file was
    new = [p for p in new if not any(q.startswith(p + "/") for q in new)]
    return records, new


@pytest.mark.parametrize("seed", range(40))
def test_prune_kept_is_prune(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    one = tmp_path / "one"
    one.mkdir()
    records, new = _make(one, rng)
    two = tmp_path / "two"
    shutil.copytree(one, two, symlinks=True, copy_function=os.link)  # the same inodes: the same stats
    assert _tree(one) == _tree(two)
    present = prune(one, new)
    intact = {p for p, st in present.items() if (r := records.get(p)) is not None and r[1:] == st}
    summary = summarize_listing(list_tree(two), records, "stamp")
    assert isinstance(summary, KeptListing) and summary.stamp == "stamp"
    assert prune_kept(two, new, records, summary) == intact
    assert _tree(two) == _tree(one)
    assert all(e[0] in set(new) or e[1] == "d" for e in list_tree(two))


def test_a_usual_kept_site_is_told_in_few_entries(tmp_path: Path) -> None:
    """A kept site whose files are all as recorded: nothing but the files not as recorded."""
    records = {}
    for i in range(50):
        path = tmp_path / "sheets" / f"s{i}" / "2024" / "index.html"
        path.parent.mkdir(parents=True)
        path.write_text(str(i), encoding="utf-8")
        records[path.relative_to(tmp_path).as_posix()] = ("k", *stat_key(os.lstat(path)))
    changed = tmp_path / "sheets" / "s7" / "2024" / "index.html"
    changed.write_text("changed by hand", encoding="utf-8")
    summary = summarize_listing(list_tree(tmp_path), records, None)
    assert summary.not_intact == {"sheets/s7/2024/index.html"}
    assert summary.odd == (("sheets/s7/2024/index.html", "f", stat_key(os.lstat(changed))),)
    assert summary.dirs == ("sheets/s7", "sheets/s7/2024")  # above no file as recorded
