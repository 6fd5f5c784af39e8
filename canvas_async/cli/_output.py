"""What the command prints: tables and JSON on stdout, progress and errors on stderr.

Plain text is written straight to the streams. ``rich`` draws what needs a
terminal's width and colours (tables that fold, progress redrawn in place,
coloured plans); it is imported only when something is drawn, so commands
that print a line or two start fast. Colour follows rich's rules: none when
the stream is not a terminal or ``NO_COLOR`` is set, always with
``FORCE_COLOR``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from enum import Enum
from typing import IO, TYPE_CHECKING, Any, Final

import attrs

from canvas_async._text import printable, safe_json

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress as RichProgress
    from rich.progress import Task, TaskID
    from rich.text import Text

    from canvas_async.bulk import Progress


PROG: Final = "canvas-async"
#: Up to this many accounts, a line names them instead of counting them.
NAMED: Final = 3
#: The plain progress line's bar, in characters.
_BAR: Final = 20


def _jsonable(value: Any) -> Any:
    """Return what ``json`` writes for ``value``: attrs models by field, ids and times as text."""
    if attrs.has(type(value)):
        return {
            a.name: getattr(value, a.name)
            for a in attrs.fields(type(value))
            if a.init and not a.name.startswith("_")
        }
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def grouped(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Group ``(text, account)`` pairs by text, in order of first appearance."""
    groups: dict[str, list[str]] = {}
    for text, label in pairs:
        groups.setdefault(text, []).append(label)
    return groups


def named(labels: Sequence[str]) -> str:
    """Name the accounts ``labels`` are, up to :data:`NAMED` of them; else count them."""
    return ", ".join(labels) if len(labels) <= NAMED else f"{len(labels):,} accounts"


def _console(stream: IO[str]) -> Console:
    from rich.console import Console  # noqa: PLC0415 - only when something is drawn

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            # rich would exit 1 here; the command ends as every closed pipe does (main()).
            raise BrokenPipeError

    return _Console(file=stream, highlight=False, emoji=False)


@attrs.define
class Out:
    """Where output goes, and in which form."""

    json: bool = False
    stdout: IO[str] = attrs.field(factory=lambda: sys.stdout)
    stderr: IO[str] = attrs.field(factory=lambda: sys.stderr)

    @functools.cached_property
    def console(self) -> Console:
        """The rich console on stdout."""
        return _console(self.stdout)

    @functools.cached_property
    def err_console(self) -> Console:
        """The rich console on stderr (progress, questions)."""
        return _console(self.stderr)

    @property
    def terminal(self) -> bool:
        """Whether stdout is a terminal (tables fold to its width there)."""
        return self.stdout.isatty()

    def data(self, value: Any) -> None:
        """Print ``value`` as JSON on stdout, in which no character can drive a terminal."""
        text = json.dumps(value, indent=2, ensure_ascii=False, default=_jsonable)
        self.stdout.write(safe_json(text) + "\n")

    def say(self, data: Any, text: str) -> None:
        """Print ``data`` as JSON with ``--json``, else ``text`` as a line."""
        if self.json:
            self.data(data)
        else:
            self.line(text)

    def table(self, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
        """Print a table on stdout: folded to a terminal's width, plain columns otherwise."""
        text_rows = [["" if c is None else printable(str(c)) for c in row] for row in rows]
        if not text_rows:
            self.info("(none)")
            return
        if not self.terminal:
            from canvas_async.provision._report import format_table  # noqa: PLC0415

            self.line(format_table(headers, text_rows))
            return
        from rich import box  # noqa: PLC0415
        from rich.table import Table  # noqa: PLC0415

        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
        for header in headers:
            table.add_column(header, overflow="fold")
        for row in text_rows:
            table.add_row(*row)
        self.console.print(table)

    def line(self, text: str = "") -> None:
        """Print a line on stdout: as it is, or wrapped at words on a terminal."""
        text = printable(text)
        if self.terminal:
            self.console.print(text, markup=False)
        else:
            self.stdout.write(text + "\n")

    def styled(self, markup: str) -> None:
        """Print a line with rich markup (``[red]...[/]``); plain and unwrapped off a terminal."""
        self.console.print(markup, soft_wrap=not self.terminal)

    def info(self, text: str) -> None:
        """Print a remark for people on stderr (never mixed into JSON on stdout)."""
        text = printable(text)
        if self.stderr.isatty():
            self.err_console.print(text, markup=False)
        else:
            self.stderr.write(text + "\n")
            self.stderr.flush()

    def error(self, text: str) -> None:
        """Print an error on stderr, prefixed with the command's name."""
        self.info(f"{PROG}: error: {text.rstrip()}")


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _counts(progress: Progress) -> str:
    parts = [f"done {progress.done:,}", f"failed {progress.failed:,}"]
    if progress.unknown:
        parts.append(f"unknown {progress.unknown:,}")
    if progress.cancelled:
        parts.append(f"stopped {progress.cancelled:,}")
    return "  ".join(parts)


@attrs.define
class ProgressDisplay(contextlib.AbstractContextManager["ProgressDisplay"]):
    """Progress on stderr: a rich bar redrawn in place on a terminal, plain lines otherwise.

    Plain lines are written when the count crosses every tenth of the total
    or every ``interval`` seconds, and once at the end, so CI logs stay short.
    Both show the counts, the rate in accounts per second and the time left.
    Leaving a ``with`` block closes the display.
    """

    label: str
    stream: IO[str] = attrs.field(factory=lambda: sys.stderr)
    tty: bool = attrs.field(
        default=attrs.Factory(lambda self: self.stream.isatty(), takes_self=True)
    )
    interval: float = 5.0
    clock: Callable[[], float] = time.monotonic
    _started: float | None = None
    _last_draw: float = 0.0
    _last_tenth: int = -1
    _rich: RichProgress | None = None
    _task: TaskID | None = None
    last: Progress | None = None

    def __call__(self, progress: Progress) -> None:
        """Show ``progress`` (the display is a bulk run's ``on_progress``)."""
        self.last = progress
        now = self.clock()
        if self._started is None:
            self._started = now
        final = progress.finished == progress.total
        if self.tty:
            self._draw(progress, now, final=final)
            return
        tenth = progress.finished * 10 // max(progress.total, 1)
        if final or tenth != self._last_tenth or now - self._last_draw >= self.interval:
            self._last_tenth = tenth
            self._last_draw = now
            self.stream.write(self.render(progress, elapsed=now - self._started) + "\n")
            self.stream.flush()

    def _draw(self, progress: Progress, now: float, *, final: bool) -> None:
        if self._rich is None:
            self._rich = _rich_progress(_console(self.stream))
            self._rich.start()
            self._task = self._rich.add_task(self.label, total=progress.total, counts="")
        assert self._task is not None
        self._rich.update(
            self._task, completed=progress.finished, total=progress.total, counts=_counts(progress)
        )
        if final or now - self._last_draw >= 0.1:  # at most ten redraws a second
            self._last_draw = now
            self._rich.refresh()

    def close(self) -> None:
        """End the display: a terminal's bar is drawn a last time and kept."""
        if self._rich is not None:
            self._rich.refresh()
            self._rich.stop()
            self._rich = None

    def __exit__(self, *exc: object) -> None:
        self.close()

    def render(self, progress: Progress, *, elapsed: float = 0.0) -> str:
        """Return one plain line, e.g. ``apply [###...] 30/50 accounts  done 28  failed 2 ...``."""
        total = max(progress.total, 1)
        filled = _BAR * progress.finished // total
        line = (
            f"{self.label} [{'#' * filled}{'.' * (_BAR - filled)}] "
            f"{progress.finished:,}/{progress.total:,} accounts  {_counts(progress)}"
        )
        if elapsed > 0 and progress.finished:
            rate = progress.finished / elapsed
            line += f"  {rate:.1f}/s"
            if progress.finished < progress.total:
                line += f"  ETA {_duration((progress.total - progress.finished) / rate)}"
            else:
                line += f"  in {_duration(elapsed)}"
        return line


def _rich_progress(console: Console) -> RichProgress:
    from rich.progress import (  # noqa: PLC0415 - only on a terminal
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text  # noqa: PLC0415

    class Rate(ProgressColumn):
        """Accounts finished per second."""

        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            return Text("" if speed is None else f"{speed:.1f}/s")

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(bar_width=None),
        MofNCompleteColumn(),
        TextColumn("{task.fields[counts]}"),
        Rate(),
        TimeRemainingColumn(),
        console=console,
        auto_refresh=False,
        expand=True,
    )
