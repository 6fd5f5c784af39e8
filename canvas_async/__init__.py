"""Async Python SDK for the ConnectMyApps Canvas REST API.

Start with :class:`Canvas`; the models live in :mod:`canvas_async.models`,
Quartz schedules in :mod:`canvas_async.schedule`, fan-out over many accounts
in :mod:`canvas_async.bulk`, desired-state provisioning in
:mod:`canvas_async.provision`, and the emulator for tests in
:mod:`canvas_async.testing`.
"""

from __future__ import annotations

from ._auth import AuthStrategy, KeyAuth
from ._catalogue import Difference, DifferenceKind, DriftReport
from ._client import DEFAULT_MAX_CONCURRENCY, AccountView, AuthMode, Canvas
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
    "Difference",
    "DifferenceKind",
    "DriftReport",
    "EndpointInfo",
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
    "RunStarted",
    "ServerError",
    "TemplateState",
    "TemplatesAPI",
    "Timeout",
    "TokenAuth",
    "TransportError",
    "UnexpectedResponseError",
    "UseClientDefault",
    "ValidationError",
    "Workflow",
    "WorkflowStatus",
    "WorkflowTemplate",
    "WorkflowsAPI",
    "__version__",
]

__version__ = "0.1.0.dev0"

# Classes defined in private modules present themselves as ``canvas_async.X``
# (in reprs, tracebacks and pickles), the public path (as httpx does).
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) and _obj.__module__.startswith("canvas_async._"):
        _obj.__module__ = "canvas_async"
del _name, _obj
