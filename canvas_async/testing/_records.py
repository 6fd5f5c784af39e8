"""The emulator's records, and how they travel as JSON.

Each record holds one object of the server's model with its fields as the
server sends them (spec: "Shapes"); timestamps are kept as the server's own
strings, so a seeded sample answer comes back character for character. Fields
the server keeps but never sends in that shape (a workflow's chain, a
registered application's credentials, an account's phone number) are marked
internal and left out of the JSON.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final, TypeVar

import attrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from canvas_async._convert import camel, converter, pascal

__all__ = [
    "AccountRecord",
    "ActivationMail",
    "ApplicationRecord",
    "Block",
    "CredentialField",
    "RegApplicationRecord",
    "RequestRecord",
    "RunRecord",
    "TemplateRecord",
    "WorkflowRecord",
    "from_wire",
    "to_wire",
]

_WIRE: Final = "canvas_async.testing.wire"
_OMIT_NONE: Final = "canvas_async.testing.omit_none"
_INTERNAL: Final = {_WIRE: None}


@attrs.define
class AccountRecord:
    """An account (a person's login) of an organization."""

    id: uuid.UUID
    first_name: str
    last_name: str
    email: str
    organization_id: uuid.UUID
    organization_name: str
    role_id: uuid.UUID
    role: str
    date_created: str
    phone: str | None = attrs.field(default=None, metadata=_INTERNAL)
    country_key: str | None = attrs.field(default=None, metadata=_INTERNAL)
    global_notifications: bool = attrs.field(default=False, metadata=_INTERNAL)
    default_notification_email: str | None = attrs.field(default=None, metadata=_INTERNAL)
    activated: bool = attrs.field(default=True, metadata=_INTERNAL)
    """Inactive accounts are left out of Accounts until they are activated."""


@attrs.frozen
class CredentialField:
    """One credential an application asks for (PascalCase on the wire)."""

    short_name: str
    name: str
    type: str
    value: str
    options: str | None = attrs.field(default=None, metadata={_WIRE: "Options", _OMIT_NONE: True})
    """For ``select`` fields: ``value|Label,value|Label``; absent otherwise."""
    optional: bool = False
    desc: str = ""
    hidden: bool = False


@attrs.frozen
class ApplicationRecord:
    """A third-party application of the catalog.

    Its ``credentialsJson`` (each credential's short name mapped to null) is
    derived from :attr:`credential_fields` when it is sent.
    """

    id: uuid.UUID
    name: str
    short_name: str
    description: str
    vendor_url: str
    credential_fields: tuple[CredentialField, ...]
    tag: str
    session_time_mins: int
    session_sliding_expiry: bool


@attrs.define
class RegApplicationRecord:
    """An application registered, with credentials, for one account."""

    id: uuid.UUID
    short_name: str
    account_id: uuid.UUID
    application_id: uuid.UUID
    name: str
    tag_text: str
    description: str
    is_authenticated: bool
    is_o_auth_app: bool
    date_modified: str
    date_time_utc_authenticated: str | None
    date_time_for_re_auth: str | None
    session_time_mins: int
    session_sliding_expiry: bool
    faulted: bool
    credentials: dict[str, Any] = attrs.field(factory=dict, repr=False, metadata=_INTERNAL)
    """The registered credential values: secrets, never sent back."""


@attrs.frozen
class Block:
    """One block of a template's or a workflow's chain."""

    unique_block_id: uuid.UUID
    block_name: str
    variables: dict[str, Any]


@attrs.frozen
class TemplateRecord:
    """A workflow template: the chain a workflow is created from."""

    id: uuid.UUID
    name: str
    description: str
    date_created: str
    date_modified: str
    state: str
    version: str | None
    draft_is_committed: bool | None
    date_committed: str | None
    organization_id: uuid.UUID | None
    """``None`` for templates provided by CMA, which every organization sees."""
    applications: tuple[str, ...]
    chain: tuple[Block, ...]


@attrs.define
class WorkflowRecord:
    """A workflow of one account."""

    id: uuid.UUID
    name: str
    description: str
    status: str
    is_scheduled: bool
    scheduler_frequency: str | None
    """A JSON-encoded string: ``{"cronSchedule": "<quartz cron>"}``."""
    workflow_template_id: uuid.UUID | None
    is_customized_structure: bool
    account_id: uuid.UUID
    organization_id: uuid.UUID
    date_created: str
    date_modified: str
    date_last_run: str | None
    date_next_schedule: str | None
    reg_application_ids: list[uuid.UUID]
    current_block: int
    chain: list[Block] = attrs.field(factory=list, metadata=_INTERNAL)
    """The workflow's own copy of its blocks; RunWorkflow checks ranges against it."""


@attrs.frozen
class RunRecord:
    """One accepted RunWorkflow call."""

    workflow_id: uuid.UUID
    account_id: uuid.UUID
    run_from_block: int
    run_till_block: int
    at: datetime
    id: uuid.UUID = attrs.field(factory=uuid.uuid4)
    """The run's id, which RunWorkflow answers with in the ``guid`` dialect."""


@attrs.frozen
class ActivationMail:
    """The activation e-mail sent for an account created inactive."""

    account_id: uuid.UUID
    email: str
    at: datetime


@attrs.frozen
class RequestRecord:
    """One request as the emulator saw it.

    Attributes:
        time: ``time.monotonic()`` when the request arrived.
        operation: The route key (see ``canvas_async._routes.ROUTES``), or
            ``None`` for a path the API does not have.
        method: The HTTP verb.
        path: The path, without the query string.
        account_header: The raw ``ManagedAccountId`` header, if sent.
        status: The HTTP status answered, or ``None`` when the connection was
            dropped instead.
        faults: Names of the injected faults that fired, in order.
        took_effect: Whether the operation itself ran to success (its state
            change happened), whatever the client was then told.
        hung_up: Whether the client hung up (a timeout, a cancelled task)
            before the answer was ready: it never saw ``status``.
    """

    time: float
    operation: str | None
    method: str
    path: str
    account_header: str | None
    status: int | None
    faults: tuple[str, ...]
    took_effect: bool
    hung_up: bool = False


# -- JSON ---------------------------------------------------------------------
# The SDK's one converter carries the records too: the same scalar rules and
# key naming as the models that read them (camelCase, PascalCase for a
# credential field), with hooks for the record classes only. Unlike a
# request DTO, a record sends every field, defaults included (bar the
# internal ones), and a seeded record refuses keys it does not know.

_PASCAL_CASE: Final = frozenset({CredentialField})
_T = TypeVar("_T")


def _wire_name(cls: type[Any], field: attrs.Attribute[Any]) -> str | None:
    key = pascal if cls in _PASCAL_CASE else camel
    name: str | None = field.metadata.get(_WIRE, key(field.name))
    return name


def _override(cls: type[Any], field: attrs.Attribute[Any]) -> Any:
    wire = _wire_name(cls, field)
    return override(omit=True) if wire is None else override(rename=wire)


def _overrides(cls: type[Any]) -> dict[str, Any]:
    return {field.name: _override(cls, field) for field in attrs.fields(cls)}


def _unstructure_factory(cls: type[Any]) -> Callable[[Any], dict[str, Any]]:
    unstructure = make_dict_unstructure_fn(cls, converter, **_overrides(cls))
    omit_none = [f.metadata[_WIRE] for f in attrs.fields(cls) if f.metadata.get(_OMIT_NONE)]
    if not omit_none:
        return unstructure

    def unstructure_omitting_none(record: Any) -> dict[str, Any]:
        # Dropped in place, so the other keys keep their documented order.
        wire = unstructure(record)
        for key in omit_none:
            if key in wire and wire[key] is None:
                del wire[key]
        return wire

    return unstructure_omitting_none


def _structure_factory(cls: type[Any]) -> Callable[[Any, Any], Any]:
    return make_dict_structure_fn(cls, converter, _cattrs_forbid_extra_keys=True, **_overrides(cls))


_JSON_RECORDS: Final = frozenset(
    {
        AccountRecord,
        ApplicationRecord,
        Block,
        CredentialField,
        RegApplicationRecord,
        TemplateRecord,
        WorkflowRecord,
    }
)


def _is_record(cls: Any) -> bool:
    return cls in _JSON_RECORDS


converter.register_unstructure_hook_factory(_is_record, _unstructure_factory)
converter.register_structure_hook_factory(_is_record, _structure_factory)

_unstructure_application = _unstructure_factory(ApplicationRecord)


def _application_to_wire(app: ApplicationRecord) -> dict[str, Any]:
    wire: dict[str, Any] = {}
    for key, value in _unstructure_application(app).items():
        wire[key] = value
        if key == "credentialFields":  # the documented key order
            wire["credentialsJson"] = {field.short_name: None for field in app.credential_fields}
    return wire


converter.register_unstructure_hook(ApplicationRecord, _application_to_wire)


def to_wire(record: object) -> Any:
    """Return ``record`` (or a list of records) as the server's JSON value."""
    return converter.unstructure(record)


def from_wire(value: object, cls: type[_T]) -> _T:
    """Build a ``cls`` record from the server's JSON shape of it.

    ``credentialsJson`` of an application is ignored: it is derived.
    """
    if cls is ApplicationRecord and isinstance(value, dict):
        value = {key: item for key, item in value.items() if key != "credentialsJson"}
    return converter.structure(value, cls)
