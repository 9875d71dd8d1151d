"""Problems found in input: one line each, in Japanese, naming file, line and key."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one place in one file."""

    path: str
    line: int
    key: str
    label: str
    message: str
    hint: str | None = None
    severity: Severity = "error"

    @property
    def is_error(self) -> bool:
        """True for errors, False for warnings."""
        return self.severity == "error"

    def sort_key(self) -> tuple[str, int, str, str]:
        """Order by file, then line, then key."""
        return (self.path, self.line, self.key, self.message)

    def location(self) -> str:
        """`path:line` (line 0 means the file as a whole)."""
        return f"{self.path}:{self.line}" if self.line > 0 else self.path

    def format(self) -> str:
        """`path:line: key（和名）: message`, with a ヒント line where one helps."""
        where = f"{self.key}（{self.label}）: " if self.key else ""
        prefix = "警告: " if self.severity == "warning" else ""
        text = f"{self.location()}: {where}{prefix}{self.message}"
        if self.hint:
            text += f"\n  ヒント: {self.hint}"
        return text

    def format_github(self) -> str:
        """A GitHub Actions annotation, shown on the pull request's line."""
        level = "error" if self.is_error else "warning"
        props = [f"file={_gh_escape(self.path, prop=True)}"]
        if self.line > 0:
            props.append(f"line={self.line}")
        title = f"{self.key}（{self.label}）" if self.key else self.label
        props.append(f"title={_gh_escape(title, prop=True)}")
        message = self.message + (f"\nヒント: {self.hint}" if self.hint else "")
        return f"::{level} {','.join(props)}::{_gh_escape(message)}"


def _gh_escape(text: str, *, prop: bool = False) -> str:
    """GitHub workflow-command escaping (properties also escape : and ,)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Sorted, duplicates removed."""
    return sorted(set(problems), key=Problem.sort_key)


def summary(problems: list[Problem], *, strict: bool = False) -> str:
    """One closing line: counts, and whether the output was updated."""
    errors = sum(p.is_error for p in problems)
    warnings = len(problems) - errors
    parts = []
    if errors:
        parts.append(f"エラー {errors}件")
    if warnings:
        parts.append(f"警告 {warnings}件" + ("（--strict のためエラー扱い）" if strict else ""))
    return "、".join(parts) if parts else "問題はありません"


class ProblemsFound(Exception):
    """Raised by a stage when input problems stop the build."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problems")
        self.problems = sort_problems(problems)

    def __reduce__(self) -> tuple[type, tuple[list[Problem]]]:  # raised in a worker process
        return (type(self), (self.problems,))


class BuildError(Exception):
    """An environment failure (disk, permissions, missing tool) told in Japanese."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __reduce__(self) -> tuple[type, tuple[str, str | None]]:  # raised in a worker process
        return (type(self), (self.message, self.hint))
