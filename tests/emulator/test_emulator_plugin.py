"""The pytest plugin: the canvas_emulator fixture, its options, its import cost."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import aiohttp
import pytest

from canvas_async.testing import CanvasEmulator
from tests.emulator.emulator_support import PAYLOADS, Api


async def test_the_fixture_serves_the_samples(
    canvas_emulator: CanvasEmulator, session: aiohttp.ClientSession
) -> None:
    assert canvas_emulator.auth == "keys"
    assert await Api(session, canvas_emulator).ok("list_workflows") == PAYLOADS["Workflows"]


@pytest.mark.canvas_emulator(auth="token", seed="empty", synthetic_accounts=4)
async def test_the_marker_passes_options(canvas_emulator: CanvasEmulator) -> None:
    assert canvas_emulator.auth == "token"
    assert len(canvas_emulator.state.managed_ids) == 4
    assert canvas_emulator.state.workflows == {}


@pytest.mark.parametrize(
    "canvas_emulator", [{"auth": "keys"}, {"auth": "token"}], indirect=True, ids=["keys", "token"]
)
async def test_an_indirect_parameter_passes_options(
    canvas_emulator: CanvasEmulator, request: pytest.FixtureRequest
) -> None:
    assert canvas_emulator.auth == request.node.callspec.id


def test_loading_the_plugin_imports_nothing_heavy() -> None:
    code = (
        "import sys, canvas_async.testing.pytest_plugin;"
        "heavy = ('aiohttp.web', 'canvas_async.testing._server');"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    loaded = subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert loaded == "[]\n"


def test_a_users_suite_in_strict_mode(tmp_path: Path) -> None:
    # What an installed package gives a user: the fixture, with no conftest.
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            """
            import pytest

            @pytest.mark.asyncio
            async def test_default(canvas_emulator):
                assert canvas_emulator.url.endswith("/api")

            @pytest.mark.asyncio
            @pytest.mark.canvas_emulator(auth="token")
            async def test_marker(canvas_emulator):
                assert canvas_emulator.auth == "token"
            """
        )
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "asyncio_mode=strict",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
