"""The deployment workflow, the pre-commit hook and the VS Code task: valid, and using the
README's commands and the check's real output format."""

from __future__ import annotations

import json
import re

import yaml

from hyoka.problems import Problem

from .conftest import ROOT


def readme_commands() -> tuple[str, str]:
    """The README's two set-up commands (build the site; run the tests)."""
    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    lines = [ln for ln in blocks[0].splitlines() if ln and not ln.startswith("#")]
    assert len(lines) == 2, lines
    return lines[0], lines[1]


def test_workflow_runs_the_readme_commands_then_deploys() -> None:
    flow = yaml.safe_load((ROOT / ".github/workflows/publish.yml").read_text(encoding="utf-8"))
    build, test = readme_commands()
    steps = flow["jobs"]["build"]["steps"]
    runs = [s.get("run", "") for s in steps]
    assert test in runs
    assert any(r.startswith(build) for r in runs), runs
    assert "python3 build.py check --strict --format github" in runs
    # Tests before the check, the check before the build, the build before the upload.
    order = [next(i for i, r in enumerate(runs) if r.startswith(x)) for x in (test, "python3 build.py check", build)]
    assert order == sorted(order)
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("actions/upload-pages-artifact") for u in uses)
    deploy = flow["jobs"]["deploy"]
    assert deploy["needs"] == "build" and deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["steps"][0]["uses"].startswith("actions/deploy-pages")
    assert "pull_request" in flow[True]  # YAML 1.1 reads the key `on` as True


def test_pre_commit_hook() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hooks[0]["id"] == "hyoka-check" and hooks[0]["entry"] == "python3 build.py check"
    assert re.match(hooks[0]["files"], "content/2025/ai-rpa.md")


def test_vscode_task_matches_check_output() -> None:
    text = (ROOT / ".vscode/tasks.json").read_text(encoding="utf-8")
    tasks = json.loads("\n".join(ln for ln in text.splitlines() if not ln.strip().startswith("//")))
    matchers = tasks["tasks"][0]["problemMatcher"]
    error = Problem("content/2025/a.md", 18, "costs.2024.total", "事業費", '数値ではありません: "2,281"').format()
    warning = Problem("content/2025/a.md", 20, "costs.2024.total", "事業費", "総事業費 ≠ …", severity="warning").format()
    found = {}
    for m in matchers:
        for line in (error, warning):
            hit = re.match(m["pattern"]["regexp"].replace("(?!", "(?!"), line)
            if hit:
                found.setdefault(line, []).append((m["severity"], hit.group(1), hit.group(2)))
    assert found[error] == [("error", "content/2025/a.md", "18")]
    assert found[warning] == [("warning", "content/2025/a.md", "20")]
