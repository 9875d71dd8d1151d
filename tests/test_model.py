"""The sheet model: build_sheet's quick constructor and the pickle the load workers send.

model.new sets a frozen dataclass's fields without its __init__ (pipeline.load_and_validate builds
and pickles every Sheet): build_sheet with it must give exactly what build_sheet with the classes'
own __init__s gives, field for field, on the bundled content, the sheets with warnings of the
invalid corpus, and generated sheets.
"""

from __future__ import annotations

import dataclasses
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hyoka import model
from hyoka.config import load_config
from hyoka.load import find_content, load_source
from hyoka.model import BudgetAccount, Plan, Sheet, SourceRef, build_sheet
from hyoka.validate import validate_source

from .conftest import FIXTURES, ROOT


def with_init(cls: type, **values: Any) -> Any:
    """What build_sheet made before model.new: the dataclass's own constructor."""
    return cls(**values)


def same_object(a: Any, b: Any) -> None:
    """Equal values of equal types, every dataclass field set (compare=False ones too: Sheet.data)."""
    assert type(a) is type(b), (a, b)
    if dataclasses.is_dataclass(a):
        assert vars(a).keys() == {f.name for f in dataclasses.fields(a)}
        for f in dataclasses.fields(a):
            same_object(getattr(a, f.name), getattr(b, f.name))
    elif isinstance(a, (tuple, list)):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            same_object(x, y)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            same_object(a[key], b[key])
    else:
        assert a == b


def sheets(content: Path, config: Any) -> list[Sheet]:
    out = []
    for path in find_content(content):
        src, _ = load_source(path, path.name)
        sheet = validate_source(src, config)[0] if src is not None else None
        if sheet is not None:
            out.append(sheet)
    return out


def check(found: list[Sheet]) -> None:
    assert found
    for sheet in found:
        slow = build_sheet(sheet.data, sheet.source, sheet.body, make=with_init)
        same_object(sheet, slow)
        assert sheet == slow and hash(sheet.organization) == hash(slow.organization)
        assert repr(sheet) == repr(slow)
    back = pickle.loads(pickle.dumps(found, protocol=pickle.HIGHEST_PROTOCOL))
    for sheet, copy in zip(found, back, strict=True):
        same_object(sheet, copy)


def test_bundled_content() -> None:
    check(sheets(ROOT / "content", load_config(ROOT)))


def test_sheets_with_warnings(config: Any) -> None:
    check(sheets(FIXTURES / "invalid", config))


def test_generated_sheets(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "bench/generate.py"), "200", str(tmp_path / "c")],
                   check=True, capture_output=True)
    check(sheets(tmp_path / "c/content", load_config(tmp_path / "c")))


def test_a_sheet_without_optional_objects(config: Any) -> None:
    """No plan, budget_account, evaluation, costs or indicators: the classes' defaults."""
    clean = {"id": "x", "evaluation_year": 2025, "results_year": 2024, "title": "t",
             "organization": {"bureau": "b", "division": "d", "section": None}}
    source = SourceRef("x.md")
    same_object(build_sheet(clean, source, ""), build_sheet(clean, source, "", make=with_init))


@pytest.mark.parametrize(("cls", "empty"), [(Plan, model._NO_PLAN), (BudgetAccount, model._NO_ACCOUNT)])
def test_defaults_of_the_empty_objects(cls: type, empty: dict[str, None]) -> None:
    same_object(model.new(cls, **empty), cls())


def test_a_lazy_sheet_is_its_sheet_and_loads_the_rest_only_when_read(config: Any) -> None:
    """model.LazySheet (the build cache's unchanged sheets): the stub's fields without loading, the
    others from full() once; equal and hashed as its Sheet (either side of ==), pickled as it."""
    found = sheets(ROOT / "content", load_config(ROOT)) + sheets(FIXTURES / "invalid", config)
    assert found
    for sheet in found:
        calls = []

        def full(sheet: Sheet = sheet, calls: list[int] = calls) -> Sheet:
            calls.append(1)
            return pickle.loads(pickle.dumps(sheet, protocol=pickle.HIGHEST_PROTOCOL))

        lazy = model.lazy_sheet(pickle.loads(pickle.dumps(model.stub_of(sheet))), full)
        assert isinstance(lazy, Sheet)
        # What collect, plan_pages and the cache read: no load.
        assert (lazy.id, lazy.evaluation_year, lazy.results_year, lazy.title, lazy.organization, lazy.plan,
                lazy.sdgs, lazy.direction, lazy.url, lazy.source, lazy.cost(lazy.results_year)) == \
               (sheet.id, sheet.evaluation_year, sheet.results_year, sheet.title, sheet.organization, sheet.plan,
                sheet.sdgs, sheet.direction, sheet.url, sheet.source, sheet.cost(sheet.results_year))
        assert calls == []
        organization = lazy.organization
        assert lazy.indicators == sheet.indicators and lazy.body == sheet.body and lazy.data == sheet.data
        assert calls == [1]
        assert lazy.organization is organization  # what pages already hold stays
        assert lazy.evaluation == sheet.evaluation and calls == [1]
        assert lazy == sheet and sheet == lazy and hash(lazy) == hash(sheet)
        assert lazy != dataclasses.replace(sheet, title=sheet.title + "x")
        with pytest.raises(AttributeError):
            lazy.no_such_field  # noqa: B018
        for other in (pickle.loads(pickle.dumps(model.lazy_sheet(model.stub_of(sheet), full))),
                      pickle.loads(pickle.dumps(lazy))):
            assert type(other) is Sheet
            same_object(other, sheet)


def test_a_snapshot_sheet_is_its_stub_until_given_its_loader(config: Any) -> None:
    """The build cache's site snapshot pickles each sheet once, as its stub (the costs made
    CostYears when read); read further without a loader it fails loudly (a template would
    otherwise render the field as empty)."""
    import io
    found = sheets(ROOT / "content", load_config(ROOT))
    f = io.BytesIO()
    model.snapshot_pickler(f).dump((found, found[:2]))
    loaded, again = pickle.loads(f.getvalue())
    assert again[0] is loaded[0] and again[1] is loaded[1]
    for sheet, snap in zip(found, loaded, strict=True):
        assert type(snap) is model.LazySheet
        assert (snap.id, snap.title, snap.organization, snap.plan, snap.sdgs, snap.direction, snap.source,
                snap.costs) == (sheet.id, sheet.title, sheet.organization, sheet.plan, sheet.sdgs,
                                sheet.direction, sheet.source, sheet.costs)
        with pytest.raises(RuntimeError):
            snap.body  # noqa: B018
        snap.__dict__["_full"] = lambda sheet=sheet: sheet
        assert snap == sheet and snap.body == sheet.body
    assert loaded[0].organization is loaded[1].organization or loaded[0].organization != loaded[1].organization


def test_a_lazy_sheet_whose_load_fails_raises_that_error_again(config: Any) -> None:
    sheet = sheets(ROOT / "content", load_config(ROOT))[0]

    def fails() -> Sheet:
        raise MemoryError("no room")

    lazy = model.lazy_sheet(model.stub_of(sheet), fails)
    for _ in range(2):  # not an AttributeError the second time (Jinja would call it undefined)
        with pytest.raises(MemoryError):
            lazy.body  # noqa: B018
    assert lazy.title == sheet.title


def test_a_lazy_sheet_read_whole_meanwhile_by_another_reader_is_read_whole_once() -> None:
    """The combined downloads are written by a thread of the build (parallel.Beside) while the
    pages are rendered: a LazySheet may be read whole by both at once. The reader that finishes
    second finds the sheet whole already, and keeps what the first gave it."""
    sheet = sheets(ROOT / "content", load_config(ROOT))[0]
    calls: list[int] = []

    def full() -> Sheet:
        calls.append(1)
        if len(calls) == 1:  # the other reader, while this one loads
            assert lazy.purpose == sheet.purpose
            first[:] = [lazy.indicators]
        return pickle.loads(pickle.dumps(sheet))

    first: list[Any] = []
    lazy = model.lazy_sheet(model.stub_of(sheet), full)
    assert lazy.body == sheet.body and lazy == sheet
    assert len(calls) == 2 and lazy.indicators is first[0]
    assert "_full" not in lazy.__dict__
