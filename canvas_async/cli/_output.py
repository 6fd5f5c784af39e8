"""What the command prints: tables and JSON on stdout, progress and errors on stderr."""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from enum import Enum
from typing import IO, Any, Final, TypeVar

import attrs

from canvas_async.bulk import Progress
from canvas_async.provision.report import format_table

T = TypeVar("T")

__all__ = ["Out", "ProgressDisplay", "to_jsonable"]

PROG: Final = "canvas-async"


def to_jsonable(value: Any) -> Any:
    """Return ``value`` as JSON-ready data: attrs models by field, ids and times as text."""
    if attrs.has(type(value)):
        return {
            a.name: to_jsonable(getattr(value, a.name))
            for a in attrs.fields(type(value))
            if a.init and not a.name.startswith("_")
        }
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


@attrs.define
class Out:
    """Where output goes, and in which form."""

    json: bool = False
    stdout: IO[str] = attrs.field(factory=lambda: sys.stdout)
    stderr: IO[str] = attrs.field(factory=lambda: sys.stderr)

    def data(self, value: Any) -> None:
        """Print ``value`` as JSON on stdout."""
        json.dump(to_jsonable(value), self.stdout, indent=2, ensure_ascii=False)
        self.stdout.write("\n")

    def table(self, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
        """Print an aligned table on stdout."""
        text_rows = [["" if c is None else str(c) for c in row] for row in rows]
        if not text_rows:
            self.info("(none)")
            return
        self.line(format_table(headers, text_rows))

    def listing(
        self,
        items: Sequence[T],
        headers: Sequence[str],
        row: Callable[[T], Sequence[object]],
    ) -> None:
        """Print ``items`` as JSON with ``--json``, else as a table of ``row(item)``."""
        if self.json:
            self.data(items)
        else:
            self.table(headers, (row(item) for item in items))

    def line(self, text: str = "") -> None:
        """Print a line on stdout."""
        self.stdout.write(text + "\n")

    def info(self, text: str) -> None:
        """Print a remark for people on stderr (never mixed into JSON on stdout)."""
        self.stderr.write(text + "\n")
        self.stderr.flush()

    def error(self, text: str) -> None:
        """Print an error on stderr, prefixed with the command's name."""
        lines = text.rstrip().splitlines() or [""]
        self.stderr.write(f"{PROG}: error: {lines[0]}\n")
        for extra in lines[1:]:
            self.stderr.write(f"{extra}\n")
        self.stderr.flush()


@attrs.define
class ProgressDisplay:
    """A progress bar on stderr: redrawn in place on a terminal, plain lines otherwise.

    Plain lines are written when the count crosses every tenth of the total
    or every ``interval`` seconds, and once at the end, so logs stay short.
    """

    label: str
    stream: IO[str] = attrs.field(factory=lambda: sys.stderr)
    tty: bool | None = None
    interval: float = 5.0
    width: int = 28
    _last_draw: float = 0.0
    _last_tenth: int = -1
    _drawn: bool = False
    _last: Progress | None = None

    def __attrs_post_init__(self) -> None:
        if self.tty is None:
            isatty = getattr(self.stream, "isatty", None)
            self.tty = bool(isatty and isatty())

    def __call__(self, progress: Progress) -> None:
        self.update(progress)

    def update(self, progress: Progress) -> None:
        """Show ``progress``."""
        self._last = progress
        now = time.monotonic()
        final = progress.finished == progress.total
        if self.tty:
            if final or now - self._last_draw >= 0.05:
                self._draw(progress, now)
            return
        tenth = progress.finished * 10 // max(progress.total, 1)
        if final or tenth != self._last_tenth or now - self._last_draw >= self.interval:
            self._last_tenth = tenth
            self._last_draw = now
            self.stream.write(self.render(progress) + "\n")
            self.stream.flush()

    def _draw(self, progress: Progress, now: float) -> None:
        self._last_draw = now
        self._drawn = True
        self.stream.write("\r\x1b[2K" + self.render(progress))
        self.stream.flush()

    def close(self) -> None:
        """End the display: a terminal's in-place line is kept and ended."""
        if self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False

    def render(self, progress: Progress) -> str:
        """Return one line, e.g. ``apply [#######.....] 30/50 done 28 failed 2``."""
        total = max(progress.total, 1)
        filled = self.width * progress.finished // total
        bar = "#" * filled + "." * (self.width - filled)
        parts = [
            f"{self.label} [{bar}] {progress.finished}/{progress.total} accounts",
            f"done {progress.done}",
            f"failed {progress.failed}",
        ]
        if progress.unknown:
            parts.append(f"unknown {progress.unknown}")
        if progress.cancelled:
            parts.append(f"stopped {progress.cancelled}")
        return "  ".join(parts)
