"""A Canvas emulator for tests: the Canvas REST API served in-process by ``aiohttp.web``.

::

    from canvas_async.testing import CanvasEmulator, ErrorStatus

    async with CanvasEmulator(auth="token") as emu:
        emu.faults.add(ErrorStatus(503), times=1)
        ...  # point a client at emu.url with emu.consumer / emu.secret_key
        assert [r.status for r in emu.log][:1] == [503]

The names are imported on first use, so that loading the pytest plugin (which
lives in this package) does not import aiohttp.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._dialect import Dialect
    from ._faults import (
        TRANSIENT_FAULTS,
        WRITES,
        Drip,
        DropConnection,
        ErrorEnvelope,
        ErrorStatus,
        Fault,
        FaultRule,
        Faults,
        Hold,
        Latency,
        RandomFaults,
        RateLimit,
        RawAnswer,
    )
    from ._records import (
        AccountRecord,
        ActivationMail,
        ApplicationRecord,
        Block,
        CredentialField,
        RegApplicationRecord,
        RequestRecord,
        RunRecord,
        TemplateRecord,
        WorkflowRecord,
    )
    from ._server import AuthMode, CanvasEmulator
    from ._state import EmulatorState
    from ._time import Clock, ManualClock, SystemClock
    from ._tokens import TokenStore

__all__ = [
    "TRANSIENT_FAULTS",
    "WRITES",
    "AccountRecord",
    "ActivationMail",
    "ApplicationRecord",
    "AuthMode",
    "Block",
    "CanvasEmulator",
    "Clock",
    "CredentialField",
    "Dialect",
    "Drip",
    "DropConnection",
    "EmulatorState",
    "ErrorEnvelope",
    "ErrorStatus",
    "Fault",
    "FaultRule",
    "Faults",
    "Hold",
    "Latency",
    "ManualClock",
    "RandomFaults",
    "RateLimit",
    "RawAnswer",
    "RegApplicationRecord",
    "RequestRecord",
    "RunRecord",
    "SystemClock",
    "TemplateRecord",
    "TokenStore",
    "WorkflowRecord",
]

# Where the names are defined, searched in this order: only the last imports aiohttp.
_MODULES = ("_dialect", "_faults", "_records", "_state", "_time", "_tokens", "_server")


def __getattr__(name: str) -> Any:
    if name in __all__:
        for module in _MODULES:
            names = vars(importlib.import_module(f"{__name__}.{module}"))
            if name in names:
                globals()[name] = names[name]  # later lookups skip this function
                return names[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
