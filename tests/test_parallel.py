"""The fast paths of the build give the same bytes as the plain ones.

- `build` renders over forked worker processes straight into the output folder
  (`pipeline.produce`); `serve` and the golden tests render in memory (`render_site`). Both must
  write the same files with the same bytes, whatever the number of processes. (`check` renders
  over workers too, keeping only each page's links: tests/test_check.py.)
- Each sheet's JSON is encoded once and nested into sheets.json (`opendata.json_item`).
- The feed and the sitemap are written as text; they must equal what ElementTree made before.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import pytest

from hyoka import opendata, parallel
from hyoka.collect import Site, collect
from hyoka.era import wareki
from hyoka.pipeline import check, load_and_validate, run
from hyoka.problems import BuildError, ProblemsFound
from hyoka.render import href, render_site

from .conftest import FIXTURES, ROOT, make_project
from .xss_site import make_xss_project


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and "assets" not in p.relative_to(folder).parts}


@pytest.fixture
def fixture_config(tmp_path):
    """The two-year fixture site as a project (with the project's templates and assets)."""
    site = FIXTURES / "site"
    files = {p.relative_to(site).as_posix(): p.read_bytes() for p in sorted((site / "content").rglob("*.md"))}
    (tmp_path / "fixture").mkdir()
    return make_project(tmp_path / "fixture", files, config_file=site / "site_config.yaml")


@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_build_over_workers_equals_render_in_memory(fixture_config, tmp_path, jobs: int) -> None:
    config = replace(fixture_config, output_dir=tmp_path / "out", base_url="https://example.jp/hyoka/")
    run(config, search=False, jobs=jobs)
    sheets, _ = check(config)
    expected = {p.path: p.text.encode("utf-8") for p in render_site(collect(sheets, config), config.root / "templates")}
    assert _tree(config.output_dir) == expected


def test_hostile_site_over_workers_equals_render_in_memory(tmp_path) -> None:
    config = make_xss_project(tmp_path)
    config = replace(config, output_dir=tmp_path / "_site")
    run(config, search=False, jobs=2)
    sheets, _ = check(config)
    expected = {p.path: p.text.encode("utf-8") for p in render_site(collect(sheets, config), config.root / "templates")}
    assert _tree(config.output_dir) == expected


def test_parallel_load_equals_sequential(config) -> None:
    one = load_and_validate(config, jobs=1)
    two = load_and_validate(config, jobs=2)
    assert [(s.id, s.evaluation_year, s.source.digest) for s in one[0]] == \
           [(s.id, s.evaluation_year, s.source.digest) for s in two[0]]
    assert one[0] == two[0] and one[1] == two[1]


def test_map_spans_keeps_order_and_reports_errors() -> None:
    items = list(range(100))
    assert [x for part in parallel.map_spans(lambda xs: [x * 2 for x in xs], items, jobs=2, span=7)
            for x in part] == [x * 2 for x in items]

    def fails(xs):
        if 50 in xs:
            raise ProblemsFound([])
        return xs

    with pytest.raises(ProblemsFound):
        list(parallel.map_spans(fails, items, jobs=2, span=10))


@pytest.mark.parametrize("jobs", [2, 3])
def test_the_parent_helps_from_the_front_and_decodes_the_workers_results(jobs) -> None:
    import os
    import time

    parent = os.getpid()
    items = list(range(60))

    def work(xs):
        time.sleep(0.01)
        return [(x * 2, os.getpid()) for x in xs]

    def decode(result):
        assert os.getpid() == parent
        return [(x, pid, "decoded") for x, pid in result]

    got = [r for part in parallel.map_spans(work, items, jobs=jobs, span=3, parent_helps=True, decode=decode)
           for r in part]
    assert [r[0] for r in got] == [x * 2 for x in items]
    mine = [r for r in got if r[1] == parent]
    theirs = [r for r in got if r[1] != parent]
    if not parallel.can_fork():
        assert len(mine) == len(items)
        return
    assert mine and theirs  # both took part: the parent from the front, the workers from the back
    assert got[:len(mine)] == mine and all(len(r) == 2 for r in mine)
    assert all(r[2] == "decoded" for r in theirs)


@pytest.mark.parametrize("in_order", [True, False])
def test_the_parent_helping_reports_a_workers_error_and_death(in_order: bool) -> None:
    import os
    import signal
    import time

    parent = os.getpid()

    def fails_in_a_worker(xs):
        if os.getpid() != parent:
            raise ProblemsFound([])
        time.sleep(0.01)  # the workers take their first spans meanwhile
        return xs

    with pytest.raises(ProblemsFound):
        list(parallel.map_spans(fails_in_a_worker, list(range(100)), jobs=2, span=10, parent_helps=True,
                                in_order=in_order))

    def dies_in_a_worker(xs):
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.01)
        return xs

    with pytest.raises(BuildError):
        list(parallel.map_spans(dies_in_a_worker, list(range(100)), jobs=2, span=10, parent_helps=True,
                                in_order=in_order))


@pytest.mark.parametrize("parent_helps", [False, True])
def test_one_job_runs_in_this_process(parent_helps) -> None:
    import os

    pids = {pid for part in parallel.map_spans(lambda xs: [os.getpid() for _ in xs], list(range(50)), jobs=1,
                                               span=5, parent_helps=parent_helps) for pid in part}
    assert pids == {os.getpid()}


def test_a_dead_worker_fails_the_stage_instead_of_hanging() -> None:
    import os
    import signal

    def dies(xs):
        os.kill(os.getpid(), signal.SIGKILL)

    with pytest.raises(BuildError) as exc:
        list(parallel.map_spans(dies, list(range(10)), jobs=2, span=2))
    assert "プロセス" in exc.value.message


@pytest.mark.parametrize("kind", ["Background", "Beside"])
def test_background_and_beside_give_the_value_or_raise_the_error_each_time(kind: str) -> None:
    """parallel.Background (a forked process) and parallel.Beside (a thread): the value once done,
    the same when asked again; fn's error raised again at each call."""
    import os
    import threading
    run_apart = getattr(parallel, kind)
    done = run_apart(lambda: (os.getpid(), threading.get_ident(), [1, "二"]))
    pid, ident, value = done.result()
    assert value == [1, "二"]
    assert (pid != os.getpid()) if kind == "Background" else (pid == os.getpid() and ident != threading.get_ident())
    assert done.result() == (pid, ident, [1, "二"])  # asked again: the same answer

    def fails():
        raise ValueError("壊れた")

    failed = run_apart(fails)
    for _ in range(2):  # raised again at each call
        with pytest.raises(ValueError, match="壊れた"):
            failed.result()
    failed.cancel()  # nothing runs on


def test_background_reports_the_death_of_its_process() -> None:
    import os
    import signal

    died = parallel.Background(lambda: os.kill(os.getpid(), signal.SIGKILL))
    with pytest.raises(BuildError) as exc:
        died.result()
    assert "プロセス" in exc.value.message


def test_beside_runs_beside_this_thread_or_here_when_asked(tmp_path) -> None:
    import threading

    started, go = threading.Event(), threading.Event()

    def work():
        started.set()
        assert go.wait(10)  # this thread goes on meanwhile
        return "done"

    done = parallel.Beside(work)
    assert started.wait(10)
    go.set()
    assert done.result() == "done"

    marker = tmp_path / "ran"
    here = parallel.Beside(lambda: marker.write_text("x") and threading.get_ident(), jobs=1)
    assert not marker.exists()  # not run before it is asked for
    assert here.result() == threading.get_ident() and marker.exists()
    unasked = parallel.Beside(lambda: marker.unlink(), jobs=1)
    unasked.wait()  # run here: not started any more
    assert marker.exists()


def test_background_with_one_job_runs_here_when_asked(tmp_path) -> None:
    import os

    marker = tmp_path / "ran"
    done = parallel.Background(lambda: marker.write_text("x") and os.getpid(), jobs=1)
    assert not marker.exists()  # not run before it is asked for
    assert done.result() == os.getpid() and marker.exists()


def test_a_cancelled_background_leaves_no_process() -> None:
    import os
    import time

    slow = parallel.Background(lambda: time.sleep(60), jobs=2)
    pid = slow._pid
    assert pid
    started = time.monotonic()
    slow.cancel()
    assert time.monotonic() - started < 10
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped: no zombie left


def test_a_background_interrupted_while_waited_for_is_stopped_and_reaped() -> None:
    import os
    import signal
    import time

    class Stop(Exception):
        pass

    def stop(*_):
        raise Stop

    slow = parallel.Background(lambda: time.sleep(60), jobs=2)
    pid = slow._pid
    old = signal.signal(signal.SIGALRM, stop)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        started = time.monotonic()
        with pytest.raises(Stop):
            slow.result()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert time.monotonic() - started < 10
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # killed and reaped, not left running
    slow.cancel()  # and nothing left to do
    slow.wait()


def test_a_background_that_cannot_fork_runs_here(monkeypatch) -> None:
    import os

    def no_fork():
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    done = parallel.Background(lambda: os.getpid(), jobs=2)
    assert done.result() == os.getpid()


def test_job_count(monkeypatch) -> None:
    monkeypatch.setenv(parallel.JOBS_ENV, "3")
    assert parallel.job_count() == (3 if parallel.can_fork() else 1)
    assert parallel.job_count(1) == 1
    monkeypatch.delenv(parallel.JOBS_ENV)
    assert parallel.job_count() == (parallel.cpu_count() if parallel.can_fork() else 1)


def _jsonable(value):
    """The former sheet_record's conversion: year keys become strings."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def sheet_record(sheet):
    """One sheet as JSON data, as sheet.json was made before (the reference for sheet_json)."""
    return {**_jsonable(sheet.data), "body": sheet.body.strip("\n")}


def json_array(texts):
    return opendata.json_array_of_items([opendata.json_item(t) for t in texts])


@pytest.mark.parametrize("texts", [[], [{"a": 1}], [{"a": [1, {"b": "x\ny"}], "c": None}, {"d": "」\"\\"}, []]])
def test_json_array_equals_encoding_the_list(texts) -> None:
    assert json_array([opendata.json_text(t) for t in texts]) == opendata.json_text(texts)


# -- the ElementTree versions the text writers replaced (reference) --------------------------------

def _xml(root: ET.Element) -> str:
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _atom_feed_et(site: Site, base: str) -> str:
    cfg = site.config
    feed = ET.Element("feed", {"xmlns": opendata.ATOM_NS, "{http://www.w3.org/XML/1998/namespace}lang": "ja"})
    ET.SubElement(feed, "id").text = f"{base}feed.xml"
    ET.SubElement(feed, "title").text = cfg.site_title
    if cfg.description:
        ET.SubElement(feed, "subtitle").text = cfg.description
    ET.SubElement(feed, "link", rel="self", type="application/atom+xml", href=f"{base}feed.xml")
    ET.SubElement(feed, "link", rel="alternate", type="text/html", href=base)
    dates = [opendata._entry_date(s.evaluation_year) for s in site.sheets]
    ET.SubElement(feed, "updated").text = opendata.build_time() or max(dates)
    author = ET.SubElement(feed, "author")
    ET.SubElement(author, "name").text = cfg.contact.get("name") or cfg.city
    if cfg.contact.get("url"):
        ET.SubElement(author, "uri").text = cfg.contact["url"]
    for s in site.sheets:
        url = base + href(s.url)
        entry = ET.SubElement(feed, "entry")
        ET.SubElement(entry, "id").text = url
        ET.SubElement(entry, "title").text = f"{s.title}（{wareki(s.evaluation_year)}評価）"
        ET.SubElement(entry, "link", rel="alternate", type="text/html", href=url)
        ET.SubElement(entry, "updated").text = opendata._entry_date(s.evaluation_year)
        ET.SubElement(entry, "category", term=str(s.evaluation_year), label=f"{wareki(s.evaluation_year)}評価")
        summary = " ".join(p for p in (s.purpose, s.direction and f"事業の方針: {s.direction}") if p)
        ET.SubElement(entry, "summary").text = summary or s.title
    return _xml(feed)


def _sitemap_et(paths: Iterable[str], base: str) -> str:
    urlset = ET.Element("urlset", xmlns=opendata.SITEMAP_NS)
    for path in sorted(p for p in paths if p.endswith(".html") and p != "404.html"):
        ET.SubElement(ET.SubElement(urlset, "url"), "loc").text = base + href(opendata.page_url(path))
    return _xml(urlset)


@pytest.mark.parametrize("which", ["bundled", "fixture", "hostile"])
def test_feed_and_sitemap_equal_elementtree(which, config, fixture_config, tmp_path, monkeypatch) -> None:
    cfg = {"bundled": lambda: config, "fixture": lambda: fixture_config,
           "hostile": lambda: make_xss_project(tmp_path)}[which]()
    base = 'https://example.jp/a&b<"c">\t/'
    site = collect(check(cfg)[0], replace(cfg, contact={**cfg.contact, "url": "https://x.jp/?a=1&b=\"2\""}))
    paths = [p.path for p in render_site(site, cfg.root / "templates")]
    for epoch in (None, "1767225600"):
        if epoch:
            monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
        assert opendata.atom_feed(site, base) == _atom_feed_et(site, base)
    assert opendata.sitemap(paths, base) == _sitemap_et(paths, base)


def test_bundled_site_files_are_listed_before_rendering(config) -> None:
    """pipeline.output_paths (checked before rendering) names exactly the files produce writes."""
    from hyoka.pipeline import output_paths
    site = collect(check(config)[0], config)
    assert sorted(output_paths(site)) == sorted(p.path for p in render_site(site, ROOT / "templates"))


@pytest.mark.parametrize("sheets", [0, 1, 3])
def test_download_sizes_are_the_files_sizes(config, sheets: int) -> None:
    """The /data/ page's sizes are added up from each sheet's share: they equal the files'."""
    site = collect(check(config)[0][:sheets], config)
    files = opendata.data_files(site)
    texts = {p.path: p.text for p in files.pages}
    assert files.downloads
    for d in files.downloads:
        assert d.size == opendata._size(len(texts[d.path].encode("utf-8"))), d.path


def _find_content_rglob(content_dir: Path) -> list[Path]:
    """The former find_content (Path.rglob), the reference for the os.walk version."""
    if not content_dir.is_dir():
        return []
    return sorted(p for p in content_dir.rglob("*.md")
                  if not any(part.startswith((".", "_")) for part in p.relative_to(content_dir).parts))


def test_find_content_equals_rglob(tmp_path) -> None:
    import os

    from hyoka.load import find_content, rel_path, rel_paths
    content = tmp_path / "content"
    for name in ["2025/a.md", "2025/a-c.md", "2025/a/b.md", "2025-x/z.md", "2024/B.md", "2024/b.md",
                 "2024/.hidden.md", "2024/_draft.md", "_drafts/x.md", ".git/y.md", "2024/notes.txt",
                 "2024/upper.MD", "2025/sub/deeper/c.md", "2025/日本語.md", "folder.md/inside.md"]:
        (content / name).parent.mkdir(parents=True, exist_ok=True)
        (content / name).write_text("x", encoding="utf-8")
    (content / "2023").mkdir()
    os.mkfifo(content / "2023" / "pipe.md")
    (content / "2023" / "link.md").symlink_to(content / "2025" / "a.md")
    (content / "linked").symlink_to(content / "2024", target_is_directory=True)
    assert find_content(content) == _find_content_rglob(content)
    files = find_content(content)
    assert rel_paths(files, tmp_path) == [rel_path(p, tmp_path) for p in files]
    assert find_content(tmp_path / "missing") == []


@pytest.mark.parametrize("value", [
    {}, [], "", 0, -1, 1.5, 1e-7, 1e16, 2.0, None, True, False,
    {"a": {"b": [1, {"c": []}, {}], "d": None}, 2024: {"total": 3}, "e": ("x", "y")},
    {"制御\u0000文字\n\t\"\\": "改行\r\n、絵文字😀、\u2028", "f": [[], [[]], {"g": {}}]},
    [{"k": float("inf")}], {True: 1}, {1.5: "float key"}, {None: 0},
])
def test_json_text_equals_json_dumps(value) -> None:
    import json
    try:
        expected = json.dumps(value, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    except ValueError:
        with pytest.raises(ValueError):
            opendata.json_text(value)
        return
    assert opendata.json_text(value) == expected


def test_sheet_json_equals_the_record(config) -> None:
    import json
    for sheet in check(config)[0]:
        assert opendata.sheet_json(sheet) == json.dumps(sheet_record(sheet), ensure_ascii=False,
                                                        indent=2, allow_nan=False) + "\n"


@pytest.mark.parametrize(("spans", "jobs"), [(2, 2), (3, 2), (4, 2), (9, 4), (30, 2)])
def test_the_parent_helping_is_never_left_without_spans(spans, jobs) -> None:
    """The workers are not handed every span before the parent starts (a small load would then
    run on fewer processes than without the parent's help)."""
    import os
    import time

    parent = os.getpid()

    def work(xs):
        time.sleep(0.02)
        return [os.getpid() == parent] * len(xs)

    mine = sum(p for part in parallel.map_spans(work, list(range(spans * 10)), jobs=jobs, span=10,
                                                 parent_helps=True) for p in part) // 10
    if not parallel.can_fork():
        assert mine == spans
        return
    assert 1 <= mine < spans
    assert mine <= spans // jobs + 2  # about its share


def test_rendering_leaves_no_cycles_for_the_collector(config) -> None:
    """A build raises the collector's first threshold (parallel.few_collections): that holds up
    while rendering pages makes no reference cycles. With one environment (as a build has: its
    templates compiled the first time), rendering every page of the bundled site again leaves
    nothing to collect."""
    import gc

    from hyoka import render

    site = collect(check(config)[0], config)
    templates = config.root / "templates"
    env = render.environment(site, templates)
    jobs = render.plan_pages(site)
    for job in jobs:
        render.render_job(env, site, templates, job)
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        texts = [render.render_job(env, site, templates, job) for job in jobs]
        assert len(texts) > 40
        del texts
        assert gc.collect() == 0
    finally:
        if enabled:
            gc.enable()


def test_a_build_collects_after_more_objects_and_restores_the_threshold(config, tmp_path, monkeypatch) -> None:
    import gc

    seen = []
    real_run = __import__("hyoka.pipeline", fromlist=["_run"])._run

    def spy(*args, **kwargs):
        seen.append(gc.get_threshold()[0])
        return real_run(*args, **kwargs)

    monkeypatch.setattr("hyoka.pipeline._run", spy)
    before = gc.get_threshold()
    run(replace(config, output_dir=tmp_path / "out"), search=False, jobs=1, cache=False)
    assert seen == [parallel.YOUNG_THRESHOLD]
    assert gc.get_threshold() == before


def test_shares_file_gives_back_the_shares_and_refuses_a_changed_file(tmp_path) -> None:
    """pipeline.SharesFile: a worker's shares put in a file come back as the same bytes, in order
    (the file removed); a file changed meanwhile fails the build instead of giving wrong downloads."""
    from hyoka.pipeline import SharesFile
    shares = [(("a", 2024, "h1"), ((b"x,1\r\n", b"", "「い」".encode(), b'  {"id": "a"}'), (1, 0, 1))),
              (("b", 2025, "h2"), ((b"", b"y\r\n", b"z\r\n", b'  {"id": "b"}'), (0, 1, 1)))]
    put = SharesFile.put(str(tmp_path / "shares"), shares, set())
    back = put.take()
    assert [(k, (tuple(bytes(p) for p in pieces), rows)) for k, (pieces, rows) in back] == shares
    assert list((tmp_path / "shares").iterdir()) == []
    again = SharesFile.put(str(tmp_path / "shares"), shares, set())
    Path(again.path).write_bytes(Path(again.path).read_bytes() + b"!")
    with pytest.raises(BuildError):
        again.take()


@pytest.mark.parametrize("parent_helps", [False, True])
def test_closing_the_results_before_taking_any_stops_the_workers(tmp_path, parent_helps) -> None:
    """map_spans' results closed before the first is taken (its caller failed meanwhile): the
    spans not begun are dropped and, once close() returns, no worker writes any more."""
    import time

    def slow(xs):
        time.sleep(0.02)
        for x in xs:
            (tmp_path / str(x)).touch()
        return xs

    results = parallel.map_spans(slow, list(range(60)), jobs=2, span=1, parent_helps=parent_helps, ahead=8)
    close = getattr(results, "close", None)
    if close is None:  # no workers here: nothing runs before the results are taken
        assert list(tmp_path.iterdir()) == []
        return
    close()
    made = len(list(tmp_path.iterdir()))
    time.sleep(0.3)
    assert len(list(tmp_path.iterdir())) == made < 60


@pytest.mark.parametrize("jobs", [2, 3])
def test_the_parent_helping_gives_each_result_once_as_it_comes(jobs) -> None:
    """map_spans(parent_helps=True, in_order=False): every span's result exactly once (a worker's
    decoded), the parent's own in order, and a worker's as soon as it is there: before the last
    of the parent's own when the parent is slower."""
    import os
    import time

    parent = os.getpid()

    def fn(xs):
        if os.getpid() == parent:
            time.sleep(0.01)  # the workers finish theirs meanwhile
        return [("here" if os.getpid() == parent else "worker", x) for x in xs]

    got = list(parallel.map_spans(fn, list(range(200)), jobs=jobs, span=5, parent_helps=True, ahead=8,
                                  decode=lambda r: [("decoded", x) for _, x in r], in_order=False))
    flat = [pair for part in got for pair in part]
    assert sorted(x for _, x in flat) == list(range(200))
    if not parallel.can_fork():
        return
    kinds = [part[0][0] for part in got]
    assert "decoded" in kinds and "here" in kinds and "worker" not in kinds
    own = [part[0][1] for part in got if part[0][0] == "here"]
    assert own == sorted(own)
    last_own = max(i for i, kind in enumerate(kinds) if kind == "here")
    assert kinds[:last_own].count("decoded") > 0  # a worker's result given between the parent's own
