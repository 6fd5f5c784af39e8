"""Async Python SDK for the ConnectMyApps Canvas REST API.

Start with :class:`Canvas`; the models live in :mod:`canvas_async.models`,
Quartz schedules in :mod:`canvas_async.schedule`, fan-out over many accounts
in :mod:`canvas_async.bulk`, desired-state provisioning in
:mod:`canvas_async.provision`, and the emulator for tests in
:mod:`canvas_async.testing`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the names below are imported on first use (see __getattr__)
    from ._auth import AuthStrategy, Flow, KeyAuth, TokenRequest
    from ._catalogue import Difference, DifferenceKind, DriftReport
    from ._client import AccountView, Canvas
    from ._deadline import DeadlineExceededError, deadline
    from ._defaults import DEFAULT_MAX_CONCURRENCY, AuthMode
    from ._errors import (
        APIError,
        AuthenticationError,
        BadRequestError,
        CanvasConnectionError,
        CanvasError,
        CanvasTimeoutError,
        ClientClosedError,
        ConflictError,
        NotBoundError,
        NotFoundError,
        OutcomeUnknownError,
        PermissionDeniedError,
        RateLimitError,
        ServerError,
        TransportError,
        UnexpectedResponseError,
        ValidationError,
    )
    from ._hooks import CallEvent, CallInfo, Hooks
    from ._resources import (
        AccountsAPI,
        ApplicationsAPI,
        MetaAPI,
        RegApplicationsAPI,
        TemplatesAPI,
        WorkflowsAPI,
    )
    from ._retry import Retries
    from ._timeouts import DEFAULT_TIMEOUT, USE_CLIENT_DEFAULT, Timeout, UseClientDefault
    from ._tokens import TokenAuth
    from .models import (
        Account,
        Application,
        Block,
        CredentialField,
        CredentialFieldType,
        CredentialOption,
        EndpointInfo,
        Model,
        PropertyInfo,
        RegApplication,
        Role,
        RunResult,
        RunStarted,
        TemplateState,
        Workflow,
        WorkflowStatus,
        WorkflowTemplate,
    )
    from .schedule import Cron, CronError

__all__ = [
    "DEFAULT_MAX_CONCURRENCY",
    "DEFAULT_TIMEOUT",
    "USE_CLIENT_DEFAULT",
    "APIError",
    "Account",
    "AccountView",
    "AccountsAPI",
    "Application",
    "ApplicationsAPI",
    "AuthMode",
    "AuthStrategy",
    "AuthenticationError",
    "BadRequestError",
    "Block",
    "CallEvent",
    "CallInfo",
    "Canvas",
    "CanvasConnectionError",
    "CanvasError",
    "CanvasTimeoutError",
    "ClientClosedError",
    "ConflictError",
    "CredentialField",
    "CredentialFieldType",
    "CredentialOption",
    "Cron",
    "CronError",
    "DeadlineExceededError",
    "Difference",
    "DifferenceKind",
    "DriftReport",
    "EndpointInfo",
    "Flow",
    "Hooks",
    "KeyAuth",
    "MetaAPI",
    "Model",
    "NotBoundError",
    "NotFoundError",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "PropertyInfo",
    "RateLimitError",
    "RegApplication",
    "RegApplicationsAPI",
    "Retries",
    "Role",
    "RunResult",
    "RunStarted",
    "ServerError",
    "TemplateState",
    "TemplatesAPI",
    "Timeout",
    "TokenAuth",
    "TokenRequest",
    "TransportError",
    "UnexpectedResponseError",
    "UseClientDefault",
    "ValidationError",
    "Workflow",
    "WorkflowStatus",
    "WorkflowTemplate",
    "WorkflowsAPI",
    "__version__",
    "deadline",
]

from ._version import __version__

# The modules public names come from, imported on first use so that
# ``import canvas_async.schedule`` or the command line's ``--help`` does not
# pay for aiohttp (PEP 562).
_SOURCES = (
    "._errors",
    "._auth",
    "._catalogue",
    "._client",
    "._deadline",
    "._defaults",
    "._hooks",
    "._resources",
    "._retry",
    "._timeouts",
    "._tokens",
    ".models",
    ".schedule",
)


def __getattr__(name: str) -> object:
    if name in __all__:
        _load()
        if name in globals():
            return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    # The lazy names too, for dir(), help() and completion (PEP 562).
    return sorted({*globals(), *__all__})


def _load() -> None:
    """Import every public name into the package's namespace."""
    import importlib  # noqa: PLC0415

    wanted = set(__all__)
    for source in _SOURCES:
        module = importlib.import_module(source, __name__)
        for name in wanted.intersection(vars(module)):
            obj = getattr(module, name)
            # Classes defined in private modules present themselves as
            # ``canvas_async.X`` (in reprs, tracebacks and pickles), the
            # public path (as httpx does).
            if isinstance(obj, type) and obj.__module__.startswith("canvas_async._"):
                _resolve_annotations(obj)
                obj.__module__ = "canvas_async"
            globals()[name] = obj


def _resolve_annotations(cls: type) -> None:
    """Evaluate the annotations ``cls`` defines in the module that defines it.

    ``typing.get_type_hints`` reads a class's string annotations in the
    module ``__module__`` names: once that is the package, names such as
    ``uuid`` would not be found there.
    """
    import inspect  # noqa: PLC0415
    import typing  # noqa: PLC0415

    own = inspect.get_annotations(cls)
    if own:
        hints = typing.get_type_hints(cls, include_extras=True)
        cls.__annotations__ = {name: hints[name] for name in own}
