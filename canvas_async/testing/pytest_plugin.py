"""pytest fixtures for code that talks to Canvas: ``canvas_emulator``.

Installed with the package (entry point ``pytest11``), so any test can ask for
``canvas_emulator``: a started :class:`~canvas_async.testing.CanvasEmulator`
with the sample data, closed after the test. Options go through the
``canvas_emulator`` marker, or an indirect parameter (a dict)::

    @pytest.mark.canvas_emulator(auth="token", synthetic_accounts=50)
    async def test_bulk(canvas_emulator): ...

    @pytest.mark.parametrize("canvas_emulator", [{"auth": "keys"}, {"auth": "token"}],
                             indirect=True)
    async def test_both_modes(canvas_emulator): ...

This module is imported by every pytest run in an environment that has the
package, so it imports nothing heavy until the fixture is used.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest

__all__ = ["canvas_emulator", "pytest_configure"]

if TYPE_CHECKING:
    from pytest_asyncio import fixture as _async_fixture

    from canvas_async.testing._server import CanvasEmulator
else:
    try:
        from pytest_asyncio import fixture as _async_fixture
    except ImportError:  # pragma: no cover - e.g. the anyio plugin runs async fixtures
        _async_fixture = pytest.fixture


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``canvas_emulator`` marker."""
    config.addinivalue_line(
        "markers",
        "canvas_emulator(**options): keyword arguments for the canvas_emulator fixture's "
        "CanvasEmulator, e.g. auth='token', seed='empty', synthetic_accounts=10",
    )


@_async_fixture
async def canvas_emulator(request: pytest.FixtureRequest) -> AsyncIterator[CanvasEmulator]:
    """Yield a started Canvas emulator (sample data, key mode unless told otherwise)."""
    from canvas_async.testing._server import CanvasEmulator  # noqa: PLC0415 - lazy on purpose

    options: dict[str, Any] = {}
    marker = request.node.get_closest_marker("canvas_emulator")
    if marker is not None:
        options.update(marker.kwargs)
    options.update(getattr(request, "param", None) or {})
    async with CanvasEmulator(**options) as emulator:
        yield emulator
