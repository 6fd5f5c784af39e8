"""The Canvas REST API as this project implements it: one entry per operation.

Everything the vendor's documentation leaves open and the spec marks
**(assumed)** lives in this module and nowhere else: request paths, query
parameter names, which status a documented error text arrives with, and which
envelope ``State`` an error carries. The SDK builds its requests from this
table and the bundled emulator serves exactly this table, so correcting an
assumption here corrects both (spec: "Route table", "Errors as documented").
"""

from __future__ import annotations

import collections
import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

import attrs

# -- Environments (spec: "Environments") --------------------------------------

ENVIRONMENTS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "dev": "https://canvastest.connectmyapps.com/api",
        "prd": "https://canvas.connectmyapps.com/api",
    }
)

# -- Headers (spec: "Authentication") -------------------------------------------

CONSUMER_HEADER: Final = "Consumer"
SECRET_KEY_HEADER: Final = "SecretKey"
ACCOUNT_HEADER: Final = "ManagedAccountId"
AUTHORIZATION_HEADER: Final = "Authorization"


class Auth(enum.Enum):
    """What an operation needs to be authenticated."""

    NONE = "none"
    """No credentials at all (GetMetaData, Describe)."""
    KEYS = "keys"
    """The ``Consumer``/``SecretKey`` pair, in either mode (Authenticate)."""
    SESSION = "session"
    """Keys in key mode, ``Authorization: Bearer`` in token mode."""
    REFRESH = "refresh"
    """The refresh token, passed in the query string (token mode only)."""


@attrs.frozen(kw_only=True)
class Route:
    """One API operation.

    Attributes:
        key: Unique key of the operation within this table.
        operation: The operation's name as GetMetaData lists it (two routes may
            share one, e.g. ``Workflow`` GET and POST).
        method: HTTP verb.
        path: Path under the base URL, starting with ``/``.
        auth: What the request must carry to be authenticated.
        idempotent: Whether repeating the request after an ambiguous failure
            (sent, but no answer) can do no harm. Non-idempotent requests are
            only retried when the failure proves they never reached the server.
        query: Names of the query parameters the operation takes.
        body: Name of the DTO sent as the JSON body, if any.
        returns: What the success body is, for readers and the emulator.
        label: The operation's name in messages and logs: ``"Accounts"``, or
            ``"Workflow (POST)"`` where two routes share an operation name.
        secrets: Query parameters and body keys whose values are secret
            (besides the authentication's headers): taken out of anything the
            server says back.
    """

    key: str
    operation: str
    method: str
    path: str
    auth: Auth
    idempotent: bool
    query: tuple[str, ...] = ()
    body: str | None = None
    returns: str = "JSON"
    secrets: tuple[str, ...] = ()
    label: str = ""

    @property
    def aliases(self) -> tuple[str, ...]:
        """Other paths the server also answers on: those of its other names
        (:data:`OPERATION_NAMES`)."""
        return tuple(catalogue_path(name) for name in operation_names(self)[1:])


def _r(*routes: Route) -> Mapping[str, Route]:
    shared = collections.Counter(route.operation for route in routes)
    table = {
        route.key: attrs.evolve(
            route,
            label=f"{route.operation} ({route.method})"
            if shared[route.operation] > 1
            else route.operation,
        )
        for route in routes
    }
    if len(table) != len(routes):  # pragma: no cover - guards edits to this module
        raise AssertionError("duplicate route key")
    return MappingProxyType(table)


# Paths are flat action names under the base URL, following the two documented
# request lines (GET <base>/Authenticate, GET <base>/GetMetaData). Every other
# path, and every query parameter name, is assumed.
ROUTES: Final[Mapping[str, Route]] = _r(
    Route(key="get_metadata", operation="GetMetaData", method="GET", path="/GetMetaData",
          auth=Auth.NONE, idempotent=True, returns="JSON array of endpoint descriptors"),
    Route(key="describe", operation="Describe", method="GET", path="/Describe",
          auth=Auth.NONE, idempotent=True, query=("name",),
          returns="JSON array of property descriptors"),
    Route(key="authenticate", operation="Authenticate", method="GET", path="/Authenticate",
          auth=Auth.KEYS, idempotent=True,
          returns="true (key mode) or a token object (token mode)"),
    # Refreshing may rotate the refresh token, so a repeat after an ambiguous
    # failure could present a token the server already consumed.
    Route(key="refresh_access_token", operation="RefreshAccessToken", method="GET",
          path="/RefreshAccessToken", auth=Auth.REFRESH, idempotent=False, query=("token",),
          returns="token object", secrets=("token",)),
    Route(key="delete_token", operation="DeleteToken", method="DELETE", path="/DeleteToken",
          auth=Auth.REFRESH, idempotent=True, query=("refreshToken",), returns="true",
          secrets=("refreshToken",)),
    Route(key="list_accounts", operation="Accounts", method="GET", path="/Accounts",
          auth=Auth.SESSION, idempotent=True, returns="JSON array of Account"),
    Route(key="create_account", operation="Account", method="POST", path="/Account",
          auth=Auth.SESSION, idempotent=False, body="AddAccountApiDto",
          returns="account id as a JSON string"),
    Route(key="list_applications", operation="Applications", method="GET",
          path="/Applications", auth=Auth.SESSION, idempotent=True,
          returns="JSON array of Application"),
    Route(key="list_reg_applications", operation="RegApplications", method="GET",
          path="/RegApplications", auth=Auth.SESSION, idempotent=True,
          returns="JSON array of RegApplication"),
    Route(key="create_reg_application", operation="RegApplication", method="POST",
          path="/RegApplication", auth=Auth.SESSION, idempotent=False,
          body="AddRegApplicationApiDto", returns="id as a JSON string",
          secrets=("credentialsJson",)),
    Route(key="list_workflow_templates", operation="WorkflowTemplates", method="GET",
          path="/WorkflowTemplates", auth=Auth.SESSION, idempotent=True,
          returns="JSON array of WorkflowTemplate"),
    Route(key="list_workflows", operation="Workflows", method="GET", path="/Workflows",
          auth=Auth.SESSION, idempotent=True, returns="JSON array of Workflow"),
    Route(key="get_workflow", operation="Workflow", method="GET", path="/Workflow",
          auth=Auth.SESSION, idempotent=True, query=("id",), returns="Workflow"),
    Route(key="create_workflow", operation="Workflow", method="POST", path="/Workflow",
          auth=Auth.SESSION, idempotent=False, body="AddWorkflowApiDto",
          returns="id as a JSON string"),
    # GET (sic): the documentation lists DeleteWorkflow with the GET verb.
    Route(key="delete_workflow", operation="DeleteWorkflow", method="GET",
          path="/DeleteWorkflow", auth=Auth.SESSION, idempotent=True, query=("id",),
          returns="true"),
    Route(key="run_workflow", operation="RunWorkflow", method="POST", path="/RunWorkflow",
          auth=Auth.SESSION, idempotent=False, body="RunMetadataApiDto",
          returns="text: Workflow will now run"),
    # Sets a state: repeating it leaves the same state, so it may be retried.
    Route(key="workflow_scheduler", operation="WorkflowScheduler", method="POST",
          path="/WorkflowScheduler", auth=Auth.SESSION, idempotent=True,
          body="UpdateWorkfowSchedulerApiDto",
          returns="text: Workflow Scheduler enabled / Workflow Scheduler disabled"),
)  # fmt: skip


# -- Answers: documented texts, and the statuses they are assumed to carry -----
# (spec: "Errors as documented")

UNAUTHORIZED_TEXT: Final = "Unauthorized"
REFRESH_TOKEN_NOT_FOUND_TEXT: Final = "refresh token is not found"
ACCOUNT_EXISTS_TEXT: Final = "Account has already been created"
ADMIN_ROLE_REFUSED_TEXT: Final = "Role Admin is not supported. Please use SuperPartner or User"
# RegApplication: the first missing field's line carries this prefix; every
# missing field, named by its credential field's ``Name``, gets one line.
CREDENTIALS_ERROR_PREFIX: Final = "Authentication Error: "
MISSING_CREDENTIAL_TEXT: Final = "You must enter a value for {name}."
RUN_TEXT: Final = "Workflow will now run"
SCHEDULER_ENABLED_TEXT: Final = "Workflow Scheduler enabled"
SCHEDULER_DISABLED_TEXT: Final = "Workflow Scheduler disabled"

# HTTP status for the plain-text validation errors of Account and RegApplication
# (assumed).
TEXT_ERROR_STATUS: Final = 400

# The JSON error envelope {"State": <code>, "Msg": <text>} and its codes.
# It is an error whatever HTTP status carries it, 200 included (assumed).
ENVELOPE_STATE_KEY: Final = "State"
ENVELOPE_MESSAGE_KEY: Final = "Msg"
UNKNOWN_TEMPLATE_STATE: Final = 500  # documented
NOT_FOUND_STATE: Final = 404  # unknown workflow id (assumed)
BAD_REQUEST_STATE: Final = 400  # e.g. out-of-range blocks (assumed)
FORBIDDEN_STATE: Final = 403  # account outside the organization (assumed)
UNKNOWN_TEMPLATE_TEXT: Final = "Unknown workflow template {id}"


# -- Where the documentation disagrees with itself ------------------------------
# (spec: "Where the documentation disagrees with itself"). The vendor's pages
# and the server's own GetMetaData differ; the client accepts every reading.
# What follows is what the SDK assumes where no reading decides it.

# Operations GetMetaData may list under another name: seed 000's revision calls
# Accounts ``Clients``. Each name is also a path (``/<name>``, as every path in
# the table); the route's own name comes first.
OPERATION_NAMES: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {"list_accounts": ("Accounts", "Clients")}
)

# Query parameters known under two names: the documentation's, then
# GetMetaData's. Either counts as the same parameter when holding the
# catalogue against the table, and servers are to accept both
# (RefreshAccessToken is documented with ``token``, listed with ``refreshToken``).
QUERY_ALIASES: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {"token": ("token", "refreshToken")}
)

# A create whose answer carries no id (Account answers ``""`` per GetMetaData)
# is resolved by reading the listing back and matching on this field (assumed:
# the e-mail is unique per server, which "Account has already been created"
# implies).
READ_BACK_KEYS: Final[Mapping[str, str]] = MappingProxyType({"create_account": "email"})

# Requests sent through ``Canvas.request`` (paths outside this table) are
# retried after an ambiguous failure only for these verbs (RFC 9110 9.2.2);
# they always carry the session's credentials (assumed: every operation but
# GetMetaData and Describe needs them, and those accept them).
IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def operation_names(route: Route) -> tuple[str, ...]:
    """Return every name GetMetaData may list ``route`` under, its own first."""
    return OPERATION_NAMES.get(route.key, (route.operation,))


def catalogue_path(name: str) -> str:
    """Return the path of an operation GetMetaData lists as ``name``: ``/<name>``
    (assumed, like every path of the table)."""
    return "/" + name
