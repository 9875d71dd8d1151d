"""Jinja environment (autoescape, StrictUndefined) and one context per page type."""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from operator import itemgetter
from pathlib import Path
from types import BuiltinFunctionType, FunctionType, MethodType
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemBytecodeCache, FileSystemLoader, StrictUndefined, TemplateError
from jinja2.compiler import CodeGenerator
from jinja2.runtime import Context
from jinja2.utils import internalcode
from markupsafe import Markup, escape

from . import search
from .collect import Site, summarize
from .era import fiscal_year_label, short_wareki, wareki
from .history import changes
from .markdown import render_markdown
from .model import Number, Sheet
from .problems import Problem, ProblemsFound
from .schema import BODY_SECTIONS, EVALUATION_GROUPS, INDICATOR_KINDS, SDG_NAMES, SHEET

# Markup(text) for a str known to be markup, made in C (Markup.__new__ looks for __html__ first).
markup: Callable[[str], Markup] = functools.partial(str.__new__, Markup)  # type: ignore[assignment]


@dataclass(frozen=True)
class Page:
    """One output file: its site-relative path and its text."""

    path: str
    text: str  # bytes for the feed of opendata.web_files(encoded=True): what the build writes


class _GroupedText(dict):  # type: ignore[type-arg]
    """Numbers written with thousands separators (1,640), memoised: format() with "," takes a slow
    path (≈ 3 % of rendering a sheet page, where most numbers recur: a target in every year, the
    program's other sheets). Use int_text[n] for an int (never a bool: True and 1 are one key)
    and float_text[x] for a float that is not whole (never equal to an int key)."""

    def __missing__(self, x: Number) -> str:
        text = f"{x:,}"
        if len(self) < 100_000:  # bounded; a corpus's distinct numbers fit many times
            self[x] = text
        return text


int_text = _GroupedText()
float_text = _GroupedText()


def fmt_number(value: Any, digits: int | None = None) -> str:
    """Thousands separators; floats keep their meaningful decimals (or `digits`)."""
    if digits is None and type(value) is int:  # the common case first (same result as below)
        return int_text[value]
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if digits is not None:
        return f"{value:,.{digits}f}"
    if isinstance(value, float) and not value.is_integer():
        return float_text[value] if type(value) is float else f"{value:,}"
    return f"{int(value):,}"


def fmt_man_yen(value: Any) -> str:
    """千円 → a readable 「約6,490万円」 (or 「約1.2億円」)."""
    if value is None:
        return ""
    yen = value * 1000
    if yen >= 100_000_000:
        return f"約{yen / 100_000_000:,.1f}億円".replace(".0億", "億")
    if yen >= 10_000:
        return f"約{round(yen / 10_000):,}万円"
    return f"{int(yen):,}円"


try:  # markupsafe's C escaping of a str to a str (the very str when nothing is to be replaced)
    from markupsafe import _escape_inner as escape_text  # type: ignore[attr-defined]
except ImportError:  # another markupsafe: escape() gives the same text
    def escape_text(text: str) -> str:
        return str(escape(text))


def output_escape(value: Any, _str: type = str, _markup: type = Markup,
                  _escape_str: Callable[[str], str] = escape_text) -> str:
    """What a template writes for `{{ value }}`: the text of escape(value).

    Jinja's output is `escape(value)`, a Markup made for each of the ≈ 170 values of a sheet
    page, only to be joined into one string. A str is escaped straight to a str here and a
    Markup (the filters' and htmlparts' markup) is written as it is; anything else (numbers,
    Undefined, objects with __html__) goes through escape() as before. Same text, ≈ 8 % of a
    sheet page's time (tests/test_render.py holds it equal to escape()).
    """
    kind = type(value)
    if kind is _str:
        return _escape_str(value)
    if kind is _markup:
        return value
    return escape(value)


CODEGEN_VERSION = 1  # change with what _CodeGenerator writes (the bytecode cache's file names)


class _CodeGenerator(CodeGenerator):
    """Jinja's code generator, with `{{ … }}` in autoescaped output written by output_escape."""

    def _output_child_pre(self, node: Any, frame: Any, finalize: Any) -> None:
        if frame.eval_ctx.volatile or not frame.eval_ctx.autoescape:
            super()._output_child_pre(node, frame, finalize)
            return
        self.write("environment.output_escape(")  # `environment` is a local of every render function
        if finalize.src is not None:
            self.write(finalize.src)


class _Context(Context):
    """Jinja's Context, with a quicker `call` for the usual callable.

    A template calls every function through Context.call (≈ 30 calls on a sheet page: the charts,
    tables, sheet.cost, …), which looks for pass_context and the like (jinja_pass_arg) on the
    callable and on its __call__ each time. Here a builtin (it has no attributes of its own), and
    a Python function or a method of one whose function has neither jinja_pass_arg nor a __call__
    of its own in its __dict__, is called at once: what Context.call would do with it. Anything
    else goes to Context.call.
    """

    @internalcode
    def call(__self, __obj: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if __debug__:
            __traceback_hide__ = True  # Jinja's tracebacks leave this frame out
        kind = type(__obj)
        if kind is not BuiltinFunctionType:
            if kind is MethodType:
                fn = __obj.__func__  # type: ignore[attr-defined]
                # A method's __call__ is its type's: only its function's marker counts.
                if type(fn) is not FunctionType or "jinja_pass_arg" in fn.__dict__:
                    return Context.call(__self, __obj, *args, **kwargs)
            elif kind is not FunctionType or ((d := __obj.__dict__) and ("jinja_pass_arg" in d or "__call__" in d)):
                return Context.call(__self, __obj, *args, **kwargs)
        kwargs.pop("_block_vars", None)
        kwargs.pop("_loop_vars", None)
        try:
            return __obj(*args, **kwargs)
        except StopIteration:  # as Context.call
            return __self.environment.undefined(
                "value was undefined because a callable raised a StopIteration exception")


class HyokaEnvironment(Environment):
    """The Jinja Environment, its templates compiled with _CodeGenerator and rendered with _Context."""

    code_generator_class = _CodeGenerator
    context_class = _Context

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.output_escape = output_escape  # an instance attribute: the quickest lookup


def make_env(templates: Path) -> Environment:
    """The one Jinja environment: HTML autoescaped, undefined names are errors."""
    env = HyokaEnvironment(
        loader=FileSystemLoader(str(templates)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # One environment per build: no need to stat every template file again at each page's
        # {% extends %} and {% from … import %} (a new build makes a new environment).
        auto_reload=False,
    )
    env.filters.update(
        num=fmt_number,
        man_yen=fmt_man_yen,
        fy=fiscal_year_label,
        wareki=wareki,
        short_wareki=short_wareki,
        markdown=lambda text: markup(render_markdown(text or "")),
    )
    env.globals.update(
        INDICATOR_KINDS=INDICATOR_KINDS,
        EVALUATION_GROUPS=EVALUATION_GROUPS,
        BODY_SECTIONS=BODY_SECTIONS,
        label_of={path: f.label for path, f in _labels()},
    )
    # Imported here: charts uses fmt_number / fmt_man_yen from this module (no import cycle).
    from . import charts, htmlparts
    env.globals.update(
        indicator_chart_spec=charts.indicator_chart,
        cost_chart_spec=charts.cost_chart,
        bar_chart_spec=charts.bar_chart,
    )
    # The sheet page's charts and tables and `value`, built in Python (hyoka/htmlparts.py).
    env.filters.update(htmlparts.FILTERS)
    env.globals.update(htmlparts.GLOBALS)

    # The macros of templates/components/ as globals, so that pages need no
    # {% from "components/…" import … %}: an import costs every render a template lookup
    # (≈ 10–18 µs each). A macro is imported on its first call, so a template error in it is
    # reported while rendering a page, as the import's was.
    def component(name: str) -> Callable[..., Markup]:
        """The macro `name` of components/<name>.html (imported without context)."""
        macro: Callable[..., Markup] | None = None

        def call(*args: Any, **kwargs: Any) -> Markup:
            nonlocal macro
            if macro is None:
                macro = getattr(env.get_template(f"components/{name}.html").module, name)
            return macro(*args, **kwargs)
        return call

    for name in ("breadcrumbs", "change_list", "sheet_list", "bar_chart", "value"):
        env.globals[name] = component(name)
    return env


def _labels() -> list[tuple[str, Any]]:
    from .schema import walk
    return walk(SHEET)


def _root(path: str) -> str:
    """Relative path from a page to the site root, so the site works under any base path."""
    depth = path.count("/")
    return "../" * depth if depth else "./"


@functools.lru_cache(maxsize=1 << 16)
def href(path: str) -> str:
    """Percent-encode a site-relative path (Japanese group names stay readable in the address bar).

    Cached: every page and the sitemap encode the same few thousand addresses again and again.
    """
    return path if path.isascii() and _PLAIN.fullmatch(path) else quote(path, safe="/#")


_PLAIN = re.compile(r"[A-Za-z0-9_.~/#-]*")  # what quote() leaves as it is


class PageJob(tuple):  # type: ignore[type-arg]
    """One page to render: its template and context, and what its text depends on.

    `deps` lists the inputs beyond templates and configuration: the digests of the sheets the
    page shows and the names/URLs of the groups it links. None means "everything" (re-render on
    any change), the safe default for a new page type. `make`: text = make(**context), for a file
    made without a template.

    A tuple of those fields (path, template, context, deps, root, make), pickled as one made by
    tuple.__new__: the site snapshot holds 12,700 at 10,000 sheets, which as a dataclass (a dict
    each, set by pickle) took 39 ms of a build after one edit to unpickle, and so 25 ms.
    """

    __slots__ = ()

    def __new__(cls, path: str, template: str, context: dict[str, Any], deps: tuple[str, ...] | None = None,
                root: str | None = None, make: Callable[..., str] | None = None) -> PageJob:
        return tuple.__new__(cls, (path, template, context, deps, root, make))

    def __reduce__(self) -> tuple[Any, ...]:
        return tuple.__new__, (PageJob, tuple(self))

    def __repr__(self) -> str:
        return f"PageJob(path={self.path!r}, template={self.template!r}, deps={self.deps!r})"

    # The fields by place (itemgetter: read in C).
    path: str = property(itemgetter(0))  # type: ignore[assignment]
    template: str = property(itemgetter(1))  # type: ignore[assignment]
    context: dict[str, Any] = property(itemgetter(2))  # type: ignore[assignment]
    deps: tuple[str, ...] | None = property(itemgetter(3))  # type: ignore[assignment]
    root: str | None = property(itemgetter(4))  # type: ignore[assignment]
    make: Callable[..., str] | None = property(itemgetter(5))  # type: ignore[assignment]


class Deferred:
    """A value made when a template first reads it (an attribute of it), then kept."""

    __slots__ = ("_make", "_value")

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make: Callable[[], Any] | None = make
        self._value: Any = None

    def get(self) -> Any:
        if self._make is not None:
            try:
                self._value, self._make = self._make(), None
            except AttributeError as exc:  # not to be taken for an attribute this one lacks
                raise RuntimeError(f"{type(exc).__name__}: {exc}") from exc
        return self._value

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.get(), name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Deferred) and self.get() == other.get()

    __hash__ = None  # type: ignore[assignment]


class RenderCache:
    """Texts of pages already rendered, keyed by a fingerprint of their inputs (for serve and
    incremental builds): a page is rendered again only when its fingerprint changes."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[str, str]] = {}  # path → (fingerprint, text)
        self.rendered: list[str] = []  # paths rendered by the last call, for tests and logs
        self.env: tuple[str, Environment] | None = None  # the environment and what it was made from
        # What plan_pages, job_keys, render_pages and render_site reuse from the last call when
        # their inputs are the very same objects (serve: unchanged programs and groups).
        self.memo: dict[str, Any] = {}

    def get(self, path: str, key: str) -> str | None:
        """The cached text of `path` if its fingerprint is still `key`."""
        hit = self.entries.get(path)
        return hit[1] if hit is not None and hit[0] == key else None


def fingerprint(*parts: str) -> str:
    return hashlib.blake2b("\0".join(parts).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def templates_digest(templates: Path) -> str:
    """One hash over every template file: any template edit re-renders every page."""
    files = sorted(p for p in templates.rglob("*") if p.is_file())
    return fingerprint(*(f"{p.relative_to(templates).as_posix()}:{p.read_bytes().hex()}" for p in files))


def sheets_deps_of(sheets: Any) -> tuple[str, ...]:
    return tuple(sheet_dep(s) for s in sheets)


def sheet_dep(sheet: Sheet) -> str:
    """What a page showing `sheet` depends on: its id, year and the hash of its file."""
    return f"{sheet.id}/{sheet.evaluation_year}:{sheet.source.digest}"


def plan_pages(site: Site, memo: dict[str, Any] | None = None) -> list[PageJob]:
    """Every page of the site with its template, context and dependencies, in a stable order.

    `memo` (serve keeps one between rebuilds): a program's jobs are reused when the program is the
    very same object (collect.collect_again keeps unchanged ones) and its 課・分野 pages have the
    same names and URLs; a list page's dependencies when its group is the very same object with
    parents of the same names. The jobs are then equal to new ones.
    """
    cfg = site.config
    jobs: list[PageJob] = []
    # Each sheet is listed on several pages: its dependency string made once, looked up by id
    # (60,000 lookups at 10,000 sheets, in C).
    dep_of: dict[int, str] = {id(s): sheet_dep(s) for s in site.sheets}

    def sheets_deps(sheets: Any) -> tuple[str, ...]:
        try:
            return tuple(map(dep_of.__getitem__, map(id, sheets)))
        except KeyError:  # a sheet not in site.sheets (a group made by hand)
            return tuple(dep_of.get(id(s)) or sheet_dep(s) for s in sheets)

    known_groups: dict[str, tuple[Any, tuple[str, ...], tuple[str, ...]]] = memo.get("groups", {}) if memo else {}
    made_groups: dict[str, tuple[Any, tuple[str, ...], tuple[str, ...]]] = {}

    def group_deps(group: Any, *parents: Any) -> tuple[str, ...]:
        names = tuple([p.name for p in parents])
        hit = known_groups.get(group.url)
        if hit is not None and hit[0] is group and hit[1] == names:
            deps = hit[2]
        else:
            deps = (group.name, group.url, *names, *sheets_deps(group.sheets))
        made_groups[group.url] = (group, names, deps)
        return deps

    def page(path: str, template: str, deps: tuple[str, ...] | None = None, root: str | None = None,
             **ctx: Any) -> None:
        jobs.append(PageJob(path, template, ctx, deps, root))

    # The top page shows the newest year's sheets (their totals, 方針 and 課, and list rows) and
    # links the 方針 and 課 pages, in the site's order: an edit of another year's sheet leaves it
    # as it is, and its summary is made only when it is rendered.
    latest = site.latest_year
    # Each sheet is in one year's group: the pages that show every sheet (the overviews of the
    # lists) depend on all the year pages' dependencies (each year's made once, not 10,000 sheets'
    # strings again after an edit).
    year_deps = [group_deps(group) for group in site.by_year]
    every_sheet = tuple(itertools.chain.from_iterable(year_deps))
    latest_deps = next((deps for group, deps in zip(site.by_year, year_deps, strict=True)
                        if group.name == f"{latest}"), None)
    index_deps = ("index", str(latest), *[f"{g.name}:{g.url}" for g in site.directions],
                  *[f"{b.name}/{d.name}:{d.url}" for b in site.divisions for d in b.children],
                  *(latest_deps[2:] if latest_deps is not None else sheets_deps(site.sheets_in(latest))))
    page("index.html", "pages/index.html", index_deps, year=latest, summary=Deferred(partial(summarize, site, latest)))
    page("years/index.html", "pages/years.html", every_sheet)
    for group, deps in zip(site.by_year, year_deps, strict=True):
        page(f"{group.url}index.html", "pages/year.html", deps, group=group, year=int(group.name))
    page("divisions/index.html", "pages/divisions.html", every_sheet)
    for bureau in site.divisions:
        for division in bureau.children:
            page(f"{division.url}index.html", "pages/group.html", group_deps(division, bureau),
                 group=division, parents=[bureau], kind="divisions")
    page("plan/index.html", "pages/plan.html", every_sheet)
    for goal in site.plan:
        for basic in goal.children:
            for field in basic.children:
                page(f"{field.url}index.html", "pages/group.html", group_deps(field, goal, basic),
                     group=field, parents=[goal, basic], kind="plan")
    page("sdgs/index.html", "pages/sdgs.html", every_sheet)
    for goal in site.sdgs:
        page(f"{goal.url}index.html", "pages/group.html", group_deps(goal), group=goal, parents=[],
             kind="sdgs")
    page("directions/index.html", "pages/directions.html", every_sheet)
    for direction in site.directions:
        page(f"{direction.url}index.html", "pages/group.html", group_deps(direction), group=direction,
             parents=[], kind="directions")
    known: dict[str, tuple[Any, tuple[str, ...], list[PageJob]]] = memo.get("programs", {}) if memo else {}
    made: dict[str, tuple[Any, tuple[str, ...], list[PageJob]]] = {}
    # The programs whose sheets are on other 課 or 分野 groups (objects) than when the memo was
    # made: only theirs are looked at again (10,000 programs' links after an edit, else).
    moved = _moved_programs(site, memo) if known else None
    for program in site.programs.values():
        hit = known.get(program.id)
        if hit is not None and hit[0] is program and moved is not None and program.id not in moved:
            jobs += hit[2]  # its sheets and their groups (so the links) are the very same
            made[program.id] = hit
            continue
        # A program's pages show every year of it (year links, changes) and link its 課 page.
        links = tuple([f"{g.name}:{g.url}" for s in program.sheets
                       for g in (site.division_of(s), site.field_of(s)) if g is not None])
        if hit is not None and hit[0] is program and hit[1] == links:
            jobs += hit[2]
            made[program.id] = hit
            continue
        first = len(jobs)
        deps = (*sheets_deps(program.sheets), *links)
        page(f"{program.url}index.html", "pages/program.html", deps, program=program)
        for sheet in program.sheets:
            page(f"{sheet.url}index.html", "pages/sheet.html", deps, sheet=sheet, program=program)
        made[program.id] = (program, links, jobs[first:])
    if memo is not None:
        memo["programs"] = made
        memo["groups"] = made_groups
        memo["indexes"] = (site._division_of, site._field_of)
    page("search/index.html", "pages/search.html", ())
    # A host serves 404.html at any missing path, so its links must be absolute.
    page("404.html", "pages/404.html", (), root=urlsplit(cfg.base_url or "/").path or "/")
    return jobs


def _moved_programs(site: Site, memo: dict[str, Any]) -> set[str] | None:
    """The ids of the programs with a sheet whose 課 or 分野 group is not the very object it was
    when plan_pages last wrote `memo` and has another name or address; None when that is not
    known (every program is looked at).

    collect.collect_again keeps the groups without an edited sheet (only the edited sheets'
    groups are new, with the same names)."""
    last = memo.get("indexes")
    if last is None:
        return None
    moved: set[str] = set()
    for now, before in zip((site._division_of, site._field_of), last, strict=True):
        if now is before:
            continue
        if now.keys() != before.keys():
            return None
        # A sheet's group is another object when its group had an edited sheet: the links are
        # its name and address.
        moved.update(key[0] for key, g in now.items()
                     if (b := before[key]) is not g and (b.name != g.name or b.url != g.url))
    return moved


def environment(site: Site, templates: Path, bytecode: Path | None = None) -> Environment:
    """The Jinja environment with this site's filters and globals.

    `bytecode`: a folder where compiled templates are kept between builds (Jinja checks each
    against its template's source, so an edited template is compiled again). The files are named
    after _CodeGenerator's version: code compiled by another generator is never loaded.
    """
    env = make_env(templates)
    if bytecode is not None:
        try:
            bytecode.mkdir(parents=True, exist_ok=True)
            env.bytecode_cache = FileSystemBytecodeCache(str(bytecode), f"__hyoka{CODEGEN_VERSION}_%s.cache")
        except OSError:
            pass  # only slower
    cfg = site.config
    env.filters["fy"] = lambda year: fiscal_year_label(year, cfg.year_format)
    env.filters["href"] = href
    env.globals["changes"] = changes
    env.globals["SDG_NAMES"] = SDG_NAMES
    env.globals["search_synonyms"] = lambda sheet: search.sheet_synonyms(sheet, cfg.synonyms)
    return env


def compile_templates(env: Environment, jobs: Sequence[PageJob], templates: Path) -> None:
    """Compile every template the jobs use, once (forked workers then share the compiled code)."""
    for name in sorted({job.template for job in jobs if job.make is None}):
        try:
            env.get_template(name)
        except TemplateError as exc:
            raise ProblemsFound([template_problem(exc, templates, name)]) from None


def render_job(env: Environment, site: Site, templates: Path, job: PageJob) -> str:
    """One page's text."""
    if job.make is not None:
        return job.make(**job.context)
    try:
        return env.get_template(job.template).render(site=site, config=site.config, **job.context,
                                                     root=job.root or _root(job.path), page_path=job.path)
    except TemplateError as exc:
        raise ProblemsFound([template_problem(exc, templates, job.path)]) from None


def job_keys(site: Site, templates: Path, jobs: Sequence[PageJob], salt: str = "",
             memo: dict[str, Any] | None = None) -> list[str]:
    """Each job's fingerprint: templates, configuration, path, and its dependencies (or all sheets).

    `salt` adds what else the texts depend on (the build cache adds hyoka's code: cache.code_stamp).
    `memo` (serve keeps one between rebuilds): a job whose deps are the very same tuple as last
    time (plan_pages reused it) keeps its key, when templates and configuration are the same.
    """
    base = fingerprint(salt, templates_digest(templates), repr(site.config))
    all_sheets = None  # for a job without deps (one made outside plan_pages)
    of_deps: dict[int, str] = {}  # a program's pages share one deps tuple: hash it once
    known: dict[str, tuple[tuple[str, ...], str]] = {}
    if memo is not None:
        if memo.get("keys_base") == base:
            known = memo.get("keys", {})
        memo["keys_base"] = base
    made: dict[str, tuple[tuple[str, ...], str]] = {}
    keys = []
    for job in jobs:
        deps = job.deps
        if deps is None:
            dep_key = all_sheets = all_sheets or fingerprint(*sheets_deps_of(site.sheets))
        else:
            hit = known.get(job.path)
            if hit is not None and hit[0] is deps:
                keys.append(hit[1])
                made[job.path] = hit
                continue
            dep_key = of_deps.get(id(deps)) or of_deps.setdefault(id(deps), fingerprint(*deps))
        key = fingerprint(base, job.path, dep_key)
        keys.append(key)
        if deps is not None:
            made[job.path] = (deps, key)
    if memo is not None:
        memo["keys"] = made
    return keys


def render_pages(site: Site, templates: Path, jobs: list[PageJob],
                 cache: RenderCache | None = None, on_page: Callable[[int], None] | None = None) -> list[Page]:
    """Render jobs to pages, reusing cached texts whose inputs did not change.

    With `cache`, its memo keeps job_keys' keys and the Page objects of the last call (a page
    whose text is the very same string is that Page again).
    """
    memo = cache.memo if cache is not None else None
    if cache is None:
        env = environment(site, templates)
    else:  # keep the compiled templates while neither they nor the configuration change
        made_from = fingerprint(templates_digest(templates), repr(site.config))
        if cache.env is None or cache.env[0] != made_from:
            cache.env = (made_from, environment(site, templates))
        env = cache.env[1]
    keys = job_keys(site, templates, jobs, memo=memo) if cache is not None else None
    pages: list[Page] = []
    if cache is not None:
        cache.rendered = []
    made: dict[str, Page] = memo.get("pages", {}) if memo is not None else {}  # last call's, to reuse
    for i, job in enumerate(jobs):
        if cache is not None and keys is not None:
            text = cache.get(job.path, keys[i])
            if text is not None:
                page = made.get(job.path)
                pages.append(page if page is not None and page.text is text else Page(job.path, text))
                continue
        text = render_job(env, site, templates, job)
        pages.append(Page(job.path, text))
        if on_page is not None:
            on_page(1)
        if cache is not None and keys is not None:
            cache.entries[job.path] = (keys[i], text)
            cache.rendered.append(job.path)
    if cache is not None:
        live = {job.path for job in jobs}
        for stale in [p for p in cache.entries if p not in live]:
            del cache.entries[stale]
    if memo is not None:
        memo["pages"] = {page.path: page for page in pages}
    return pages


def template_problem(exc: TemplateError, templates: Path, page: str) -> Problem:
    """A template mistake as a problem line naming the template file and line (not a traceback)."""
    where, line = getattr(exc, "filename", None), getattr(exc, "lineno", None) or 0
    tb = exc.__traceback__
    while tb is not None:  # the innermost frame inside a template file
        name = tb.tb_frame.f_code.co_filename
        if name.startswith(str(templates)):
            where, line = name, tb.tb_lineno
        tb = tb.tb_next
    rel = Path(where).resolve().relative_to(templates.resolve().parent).as_posix() if where else "templates"
    return Problem(rel, line, "", "テンプレート", f"{page} を作れません: {exc.message or type(exc).__name__}",
                   "テンプレートの書き方を確認してください。")


def render_site(site: Site, templates: Path, cache: RenderCache | None = None,
                on_page: Callable[[int], None] | None = None, data_cache: Any = None,
                deferred: list[Callable[[], list[Page]]] | None = None) -> list[Page]:
    """Every page of the site in memory, in a stable order (`check`, `serve` and tests; `build`
    renders over worker processes straight to disk: pipeline.produce).

    `data_cache` (an opendata.DataCache) keeps each sheet's share of the open data between calls;
    with `deferred`, the combined downloads are left to a function appended to it (see data_files).
    With `cache` (serve keeps one between rebuilds), its memo lets plan_pages and job_keys reuse
    unchanged jobs and the sitemap be kept.
    """
    memo = cache.memo if cache is not None else None
    from . import opendata  # imported here: opendata builds on Page and PageJob from this module
    data = opendata.data_files(site, cache=data_cache, deferred=deferred)
    pages = render_pages(site, templates, [*plan_pages(site, memo), opendata.data_page_job(site, data)], cache,
                         on_page)
    paths = [p.path for p in pages]
    if memo is None:
        return pages + data.pages + opendata.web_files(site, paths)
    # The sitemap lists the pages' paths: while they and the site's address stay, keep it.
    sitemap = memo.get("sitemap")
    same = sitemap is not None and sitemap[0] == opendata.site_url(site.config) and sitemap[1] == paths
    web = opendata.web_files(site, [] if same else paths)
    if same:
        web = [sitemap[2] if p.path == "sitemap.xml" else p for p in web]
    else:
        memo["sitemap"] = (opendata.site_url(site.config), paths,
                           next((p for p in web if p.path == "sitemap.xml"), None))
    return pages + data.pages + web
