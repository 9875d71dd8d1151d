"""Command line: `python build.py [build|check|import|import-csv|schema]`; problems → Japanese lines, exit 1."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from .problems import BuildError, Problem, ProblemsFound, summary

ROOT = Path(__file__).resolve().parent.parent


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python build.py",
        description="hyoka: 事務事業評価シートから公開用のウェブサイトを作ります。",
    )
    _common(p, None)
    # `python build.py --no-search` (no command) is a build without the search index, too.
    p.add_argument("--no-search", action="store_true", help="build で検索の索引を作らない")
    p.add_argument("-j", "--jobs", type=int, default=None, help="build で使うプロセスの数（既定: CPU のコア数）")
    p.set_defaults(out=None, strict=False, base_url=None)  # `python build.py` alone means `build`
    # The same options after the command name too (`python build.py check -q`).
    common = argparse.ArgumentParser(add_help=False)
    _common(common, argparse.SUPPRESS)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    b = sub.add_parser("build", help="サイトを作る（既定）", parents=[common])
    b.add_argument("--strict", action="store_true", help="警告もエラーとして扱う")
    b.add_argument("--out", type=Path, help="出力フォルダ（既定: site_config.yaml の output_dir）")
    b.add_argument("--base-url", help="公開先の URL（site_config.yaml の base_url の代わりに使う。例: https://example.github.io/hyoka/）")
    b.add_argument("--no-search", action="store_true", default=argparse.SUPPRESS,
                   help="検索の索引（Pagefind）を作らない（検索ページは結果を表示できません）")
    b.add_argument("--no-cache", action="store_true",
                   help="前回のビルドのキャッシュ（.hyoka-cache/）を使わず、すべてを作り直す")
    b.add_argument("-j", "--jobs", type=int, default=argparse.SUPPRESS,
                   help="読み込みとページ生成に使うプロセスの数（既定: CPU のコア数。1 で並列にしない）")
    c = sub.add_parser("check", help="シートを検査するだけで、サイトは書き出さない", parents=[common])
    c.add_argument("files", nargs="*", type=Path, metavar="FILE",
                   help="このシートだけを検査する（pre-commit 用。省略するとすべてとリンク）")
    c.add_argument("--strict", action="store_true", help="警告もエラーとして扱う（終了コード 1）")
    c.add_argument("--format", dest="fmt", choices=("text", "github"), default="text",
                   help="github: GitHub Actions の注釈（::error file=…,line=…::）で出力する")
    i = sub.add_parser("import", help="評価シートの抽出テキストをシートのファイルに変換", parents=[common])
    i.add_argument("file", type=Path, help="抽出テキスト（例: ../shared/seeds/*.txt）")
    i.add_argument("--out", type=Path, required=True, help="書き出すフォルダ（例: content/2025/）")
    i.add_argument("--ids", type=Path, help="事務事業名 → id の対応表（YAML）")
    i.add_argument("--overwrite", action="store_true", help="同じ名前のファイルがあれば上書きする")
    ic = sub.add_parser("import-csv", help="データの CSV（sheets.csv・indicators.csv・costs.csv）をシートのファイルに戻す",
                        parents=[common])
    ic.add_argument("--from", dest="csv_dir", type=Path, required=True,
                    help="3つの CSV があるフォルダ（例: _site/data/）")
    ic.add_argument("--out", type=Path, help="書き出す内容フォルダ（既定: site_config.yaml の content_dir）")
    ic.add_argument("--overwrite", action="store_true", help="同じ名前のファイルがあれば上書きする")
    n = sub.add_parser("new", help="新しいシートを作る（--from で前年度のシートから）", parents=[common])
    n.add_argument("--from", dest="from_id", metavar="ID", help="この id の最新年度のシートから翌年度のシートを作る")
    n.add_argument("--year", type=int, help="評価年度（西暦。例: 2025）")
    n.add_argument("--division", help="課（例: DX推進課）")
    n.add_argument("--title", help="事務事業名")
    n.add_argument("--id", dest="sheet_id", help="事業ID（半角英小文字・数字・-。省略すると仮の id）")
    n.add_argument("--bureau", help="部局（省略すると同じ課の既存シートから）")
    n.add_argument("--section", help="係")
    v = sub.add_parser("serve", help="編集しながら確認できるプレビュー（http://127.0.0.1:8000/）", parents=[common])
    v.add_argument("--host", default="127.0.0.1", help="待ち受けるアドレス（既定: 127.0.0.1。他の端末に見せるときだけ変更）")
    v.add_argument("--port", type=int, default=8000, help="ポート番号（既定: 8000）")
    v.add_argument("--open", action="store_true", help="ブラウザで開く")
    s = sub.add_parser("schema", help="エディタ用の JSON Schema と項目一覧（docs/fields.md）を書き出す",
                       parents=[common])
    s.add_argument("--out", type=Path, help="出力先（既定: schema/sheet.schema.json）")
    return p


def _common(p: argparse.ArgumentParser, default: object) -> None:
    """Options every command takes; `default` SUPPRESS keeps a subcommand from resetting them."""
    kw = {"default": default} if default is not None else {}
    p.add_argument("--config", type=Path, help="設定ファイル（既定: site_config.yaml）", **kw)
    p.add_argument("--debug", action="store_true", help="予期しない失敗のときに詳細（traceback）を表示", **kw)
    p.add_argument("-q", "--quiet", action="store_true", help="問題以外は表示しない", **kw)
    p.add_argument("-v", "--verbose", action="store_true", help="段階ごとの時間などの詳細も表示する", **kw)


def _print_problems(problems: list[Problem], fmt: str = "text") -> None:
    """Problems to stderr: Japanese lines, or GitHub Actions annotations with `--format github`."""
    for problem in problems:
        print(problem.format_github() if fmt == "github" else problem.format(), file=sys.stderr)


# What the last command loaded (the site; for a build, all it held: pipeline.run's `retain`), left
# for the end of the process: build.py leaves with os._exit, without freeing 10,000 sheets object
# by object (≈ 0.2 s; the system takes the memory back at once).
_LAST: list[object] = []


def exit_now(code: int) -> NoReturn:
    """End the process with `code`. After a build or check that succeeded, once the output is
    flushed, without the interpreter's teardown; otherwise as sys.exit (cleanup handlers run:
    worker processes, temporary folders of serve)."""
    if not _LAST:
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: what Python's own exit reports as 120
            code = code or 120
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    _LAST.clear()
    args = _parser().parse_args(argv)
    command = args.command or "build"
    strict = getattr(args, "strict", False)
    fmt = getattr(args, "fmt", "text")
    listing = None
    if command == "build" and not getattr(args, "no_cache", False):
        # The kept site is walked by another process from now on, while the rest of hyoka is
        # imported (≈ 0.15 s): at 10,000 sheets the walk took 0.3 s, and a build after one edit
        # waited for it when it was started with the build.
        from .kept import start_listing
        listing = start_listing(_root(args), getattr(args, "jobs", None))
    try:
        return _dispatch(command, args, strict, listing)
    except ProblemsFound as exc:
        _print_problems(exc.problems, fmt)
        tail = "サイトは書き出していません（前回の出力はそのままです）。" if command == "build" else ""
        print(f"{summary(exc.problems, strict=strict)}。{tail}", file=sys.stderr)
        return 1
    except BuildError as exc:
        print(f"エラー: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"  ヒント: {exc.hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("中断しました（前回の出力はそのままです）。", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        print(f"予期しないエラーが発生しました: {type(exc).__name__}: {exc}", file=sys.stderr)
        print("  ヒント: --debug を付けて実行すると詳細が表示されます。開発者に知らせてください。",
              file=sys.stderr)
        return 2
    finally:
        if listing is not None:  # (the build took it over: stopped, or waited for)
            listing.cancel()


def _root(args: argparse.Namespace) -> Path:
    """The project root: a config elsewhere makes its folder the root (content/, templates/,
    assets/ beside it)."""
    return args.config.resolve().parent if args.config else ROOT


def _dispatch(command: str, args: argparse.Namespace, strict: bool, listing: Any = None) -> int:
    from . import pipeline
    from .config import load_config

    if command == "serve":
        from .serve import serve
        return serve(_root(args), args.config, args.host, args.port, open_browser=args.open)
    config = load_config(_root(args), args.config) if args.config else load_config(ROOT)
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a))
    if command == "build":
        from dataclasses import replace
        if args.out:
            config = replace(config, output_dir=args.out.resolve())
        if args.base_url:
            config = replace(config, base_url=args.base_url if args.base_url.endswith("/") else args.base_url + "/")
        start = time.perf_counter()
        from .progress import NORMAL, QUIET, VERBOSE, Progress
        level = QUIET if args.quiet else VERBOSE if args.verbose else NORMAL
        result = pipeline.run(config, strict=strict, search=not args.no_search, progress=Progress(level=level),
                              jobs=args.jobs, cache=not getattr(args, "no_cache", False), retain=_LAST, listing=listing)
        _LAST.append(result)
        _print_problems(result.warnings)
        if result.warnings:
            print(f"{summary(result.warnings)}。", file=sys.stderr)
        say(f"{len(result.site.sheets)}件のシートから {result.pages}ページを "
            f"{pipeline.rel_path(config.output_dir, config.root)}/ に書き出しました"
            f"（{time.perf_counter() - start:.1f}秒）。")
        reused = result.reused
        if reused > 0:
            say(f"前回のビルドから変わらない {reused}ページはそのまま使いました（すべて作り直すには --no-cache）。")
        return 0
    if command == "check":
        if args.files:
            return _check_files(config, args.files, strict, args.fmt, say)
        sheets, warnings = pipeline.check_site(config, strict=strict)
        _LAST[:] = [sheets]
        _print_problems(warnings, args.fmt)
        say(f"{len(sheets)}件のシートを検査しました。{summary(warnings)}。")
        return 0
    if command == "import":
        return _import(config, args, say)
    if command == "import-csv":
        return _import_csv(config, args, say)
    if command == "new":
        return _new(config, args, say)
    if command == "schema":
        from .docs import write_fields
        from .jsonschema import write_schema
        for path in (write_schema(config, args.out), write_fields(config)):
            say(f"{pipeline.rel_path(path, config.root)} を書き出しました。")
        return 0
    raise AssertionError(command)  # pragma: no cover


def _check_files(config, files: list[Path], strict: bool, fmt: str, say) -> int:  # type: ignore[no-untyped-def]
    """`check FILE…`: only the named sheets (what a commit changes), and their ids against the rest."""
    from .load import find_content, load_source
    from .pipeline import load_sheet, rel_path
    from .problems import sort_problems
    from .validate import duplicate_id

    named = {f.resolve() for f in files}
    problems: list[Problem] = []
    taken: dict[tuple[str, int], str] = {}  # (id, year) → file, for the sheets not named
    for path in find_content(config.content_dir):
        if path.resolve() not in named:
            src, _ = load_source(path, rel_path(path, config.root))
            if src is not None and isinstance(src.data.get("id"), str):
                taken[(src.data["id"], src.data.get("evaluation_year"))] = src.rel
    for path in files:
        sheet, file_problems = load_sheet(path, config)
        problems += file_problems
        if sheet is not None and (other := taken.get((sheet.id, sheet.evaluation_year))):
            problems.append(duplicate_id(sheet, other))
        elif sheet is not None:
            taken[(sheet.id, sheet.evaluation_year)] = sheet.source.path
    problems = sort_problems(problems)
    if any(p.is_error or strict for p in problems):
        raise ProblemsFound(problems)
    _print_problems(problems, fmt)
    say(f"{len(files)}件のシートを検査しました。{summary(problems)}。")
    return 0


def _import(config, args: argparse.Namespace, say) -> int:  # type: ignore[no-untyped-def]
    """`import`: extracted sheet text → content files, then the written files are validated."""
    from . import importer
    from .pipeline import load_sheet

    try:
        text = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BuildError(f"{args.file} を読めません: {exc}") from None
    ids: dict[str, str] = {}
    if args.ids:
        try:
            ids.update(importer.load_id_map(args.ids))
        except ValueError as exc:
            raise BuildError(str(exc)) from None
    # Ids already in content win: a program keeps its id (its URL) from year to year.
    ids.update(importer.ids_from_content(config.content_dir))
    result = importer.import_text(text, source_name=str(args.file), choices=config.choices,
                                  id_for=lambda title: ids.get(title) or importer.default_id(title))
    for w in result.warnings:
        print(f"{args.file}:{w.line}: 警告: {w.message}", file=sys.stderr)
    written, skipped = importer.write_sheets(result, args.out, overwrite=args.overwrite)
    for path in skipped:
        print(f"{path}: 既にあるため書き出しませんでした（上書きは --overwrite）", file=sys.stderr)
    problems = [q for path in written for q in load_sheet(path, config)[1]]
    _print_problems(problems)
    say(f"{len(written)}件のシートを {args.out} に書き出しました"
        f"（警告 {len(result.warnings)}件、検査の問題 {len(problems)}件）。")
    return 1 if any(p.is_error for p in problems) else 0


def _new(config, args: argparse.Namespace, say) -> int:  # type: ignore[no-untyped-def]
    """`new`: a skeleton from the schema, or (--from) next year's sheet from the latest one."""
    from .era import wareki
    from .importer import default_id
    from .load import find_content, load_source
    from .pipeline import load_sheet, rel_path
    from .scaffold import NewSheet, next_year_text, scaffold
    from .validate import validate_source

    sources = [s for s in (load_source(p, rel_path(p, config.root))[0] for p in find_content(config.content_dir))
               if s is not None]
    if args.from_id:
        mine = [s for s in sources if s.data.get("id") == args.from_id
                and isinstance(s.data.get("evaluation_year"), int)]
        if not mine:
            raise BuildError(f"id「{args.from_id}」のシートが {rel_path(config.content_dir, config.root)}/ にありません",
                             "python build.py check で id を確かめてください。")
        src = max(mine, key=lambda s: s.data["evaluation_year"])
        sheet, problems = validate_source(src, config)
        if sheet is None:
            raise ProblemsFound(problems)
        year = src.data["evaluation_year"] + 1
        sheet_id = args.from_id
        text = next_year_text(src.data, src.body)
    else:
        missing = [opt for opt, v in (("--year", args.year), ("--division", args.division), ("--title", args.title))
                   if not v]
        if missing:
            raise BuildError(f"{'、'.join(missing)} を指定してください",
                             "例: python build.py new --year 2025 --division DX推進課 --title 事業名 --id my-program")
        bureau = args.bureau or next((s.data["organization"].get("bureau") for s in sources
                                      if isinstance(s.data.get("organization"), dict)
                                      and s.data["organization"].get("division") == args.division), None)
        if not bureau:
            raise BuildError(f"課「{args.division}」の部局がわかりません", "--bureau 市長公室 のように部局を指定してください。")
        year, sheet_id = args.year, args.sheet_id or default_id(args.title)
        text = scaffold(NewSheet(sheet_id, year, args.title, bureau, args.division, args.section), config)
    path = config.content_dir / str(year) / f"{sheet_id}.md"
    if path.exists():
        raise BuildError(f"{rel_path(path, config.root)} は既にあります", "既存のシートを編集するか、別の id を指定してください。")
    if any(s.data.get("id") == sheet_id and s.data.get("evaluation_year") == year for s in sources):
        raise BuildError(f"{wareki(year)}に id「{sheet_id}」のシートが既にあります")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    problems = load_sheet(path, config)[1]
    _print_problems(problems)
    say(f"{rel_path(path, config.root)} を作りました。値を書き入れて python build.py check で確かめてください。")
    if not args.sheet_id and not args.from_id:
        say(f"  id「{sheet_id}」は仮の名前です。わかりやすい半角英字の id にするときは、ファイル名と id: の両方を変えてください。")
    return 1 if any(p.is_error for p in problems) else 0


def _import_csv(config, args: argparse.Namespace, say) -> int:  # type: ignore[no-untyped-def]
    """CSV files → content/<year>/<id>.md, then the written files are validated like any sheet."""
    from . import opendata
    from .pipeline import load_sheet, rel_path

    def rel(path: Path) -> str:
        return rel_path(path, config.root)

    out = (args.out or config.content_dir).resolve()
    sheets = opendata.read_csv_folder(args.csv_dir, config, rel)  # nothing is written on problems
    written = opendata.write_content(sheets, out, overwrite=args.overwrite, rel=rel)
    problems = [q for path in written for q in load_sheet(path, config, rel(path))[1]]
    _print_problems(problems)
    if problems:
        print(f"{summary(problems)}。", file=sys.stderr)
    say(f"{len(written)}件のシートを {rel(out)}/ に書き出しました。")
    return 1 if any(p.is_error for p in problems) else 0
