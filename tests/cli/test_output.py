"""Progress and tables: redrawn in place on a terminal, plain lines otherwise."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime

from canvas_async.bulk import Progress
from canvas_async.cli._output import Out, ProgressDisplay
from canvas_async.provision._report import format_table


def test_a_log_gets_a_line_per_tenth_and_the_last() -> None:
    stream = io.StringIO()
    ticks = iter(range(1000))
    display = ProgressDisplay(
        "apply", stream=stream, tty=False, interval=3600, clock=lambda: float(next(ticks))
    )

    for finished in range(101):
        display(Progress(total=100, done=finished))
    display.close()

    lines = stream.getvalue().splitlines()
    assert len(lines) == 11
    assert "\r" not in stream.getvalue()
    assert lines[-1] == f"apply [{'#' * 20}] 100/100 accounts  done 100  failed 0  1.0/s  in 1m40s"
    assert "ETA 1m30s" in lines[1]  # 10 done in 10 s: 90 left at 1 a second


def test_unknown_and_stopped_counts_show_only_when_there_are_some() -> None:
    display = ProgressDisplay("apply", stream=io.StringIO(), tty=False)

    assert "unknown" not in display.render(Progress(total=2, done=2))
    line = display.render(Progress(total=3, done=1, unknown=1, cancelled=1))
    assert "unknown 1" in line
    assert "stopped 1" in line


def test_tables_align_and_cut_long_cells_but_the_last() -> None:
    table = format_table(["a", "b"], [["x" * 80, "long " * 30], ["y", "z"]], max_width=10)

    lines = table.splitlines()
    assert lines[0] == "a           b"
    assert lines[2].startswith("xxxxxxxxx…  long long")
    assert lines[2].endswith("long")


def test_json_output_turns_ids_times_and_models_into_text() -> None:
    stream = io.StringIO()
    when = datetime(2024, 6, 1, tzinfo=UTC)

    Out(json=True, stdout=stream).data({"id": uuid.UUID(int=1), "at": when, "list": (1, 2)})

    assert '"id": "00000000-0000-0000-0000-000000000001"' in stream.getvalue()
    assert '"at": "2024-06-01T00:00:00+00:00"' in stream.getvalue()


def test_errors_go_to_stderr_with_the_command_name() -> None:
    err = io.StringIO()

    Out(stderr=err, stdout=io.StringIO()).error("first\nsecond")

    assert err.getvalue() == "canvas-async: error: first\nsecond\n"
