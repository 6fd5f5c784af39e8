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

_MODULES = {
    "_dialect": ("Dialect",),
    "_faults": ("Drip", "DropConnection", "ErrorEnvelope", "ErrorStatus", "Fault",
                "FaultRule", "Faults", "Hold", "Latency", "RandomFaults", "RateLimit",
                "RawAnswer", "TRANSIENT_FAULTS", "WRITES"),
    "_records": ("AccountRecord", "ActivationMail", "ApplicationRecord", "Block",
                 "CredentialField", "RegApplicationRecord", "RequestRecord", "RunRecord",
                 "TemplateRecord", "WorkflowRecord"),
    "_server": ("AuthMode", "CanvasEmulator"),
    "_state": ("EmulatorState",),
    "_time": ("Clock", "ManualClock", "SystemClock"),
    "_tokens": ("TokenStore",),
}  # fmt: skip
_WHERE = {name: module for module, names in _MODULES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
