"""The emulator's records, and how they travel as JSON.

Each record holds one object of the server's model with its fields as the
server sends them (spec: "Shapes"); timestamps are kept as the server's own
strings, so a seeded sample answer comes back character for character. Fields
the server keeps but never sends in that shape (a workflow's chain, a
registered application's credentials, an account's phone number) are left out
of the JSON.

The emulator writes and reads the wire on its own: each record's ``_wire``
lists the spec's keys in order, each with its attribute and how it travels,
and :meth:`_Wired.to_wire` / :meth:`_Wired.from_wire` walk that list (the
seeded samples are read this way), with no converter or model of the SDK in
between. So a key the SDK gets wrong fails against the emulator instead of
passing both sides.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, ClassVar, Final, Self, TypeVar

import attrs

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
    "is_json",
    "to_wire",
]

_T = TypeVar("_T")
_R = TypeVar("_R")


def is_json(value: object, kind: type[Any]) -> bool:
    """Whether ``value`` is a ``kind`` as JSON sees it: ``true`` is no number."""
    # bool is an int subclass in Python, but not in JSON.
    return isinstance(value, kind) and not (kind is int and isinstance(value, bool))


class _Object:
    """One JSON object being read into a record: each key taken once, none left over."""

    def __init__(self, value: object, shape: str) -> None:
        if not isinstance(value, dict):
            raise ValueError(f"{shape} must be a JSON object, not {type(value).__name__}")
        self._rest: dict[str, Any] = dict(value)
        self.shape = shape

    def __contains__(self, key: str) -> bool:
        return key in self._rest

    def maybe(self, key: str, kind: type[_T]) -> _T | None:
        """Take ``key``: a ``kind`` or null."""
        if key not in self._rest:
            raise ValueError(f"{self.shape} has no {key!r}")
        value: _T | None = self._rest.pop(key)
        if value is not None and not is_json(value, kind):
            raise ValueError(f"{self.shape}.{key} must be {kind.__name__}, got {value!r}")
        return value

    def take(self, key: str, kind: type[_T]) -> _T:
        """Take ``key``, a ``kind`` (not null)."""
        value = self.maybe(key, kind)
        if value is None:
            raise ValueError(f"{self.shape}.{key} must not be null")
        return value

    def strings(self, key: str) -> list[str]:
        """Take ``key``, an array of strings."""
        values = self.take(key, list)
        if not all(isinstance(value, str) for value in values):
            raise ValueError(f"{self.shape}.{key} must be an array of strings")
        return values

    def done(self, record: _R) -> _R:
        """Return ``record`` once every key is read; refuse a key left over."""
        if self._rest:
            raise ValueError(f"{self.shape} has keys the emulator does not know: {[*self._rest]}")
        return record


def _guid(wire: _Object, key: str, text: str | None) -> uuid.UUID | None:
    """Read ``text``, taken from ``key``, as a GUID (``None`` stays ``None``)."""
    try:
        return None if text is None else uuid.UUID(text)
    except ValueError:
        raise ValueError(f"{wire.shape}.{key} must be a GUID, got {text!r}") from None


_ABSENT: Final = object()
"""Written: the key is left out. Read: the attribute is left to its default."""


@attrs.frozen
class _Kind:
    """How one attribute travels: ``write`` makes its JSON value, ``read`` takes it back;
    ``described`` is its type as Describe names it (models only)."""

    write: Callable[[Any], Any]
    read: Callable[[_Object, str], Any]
    described: str = ""


def _typed(kind: type[Any], described: str, *, null: bool = False) -> _Kind:
    take = _Object.maybe if null else _Object.take
    return _Kind(lambda value: value, lambda wire, key: take(wire, key, kind), described)


_STR: Final = _typed(str, "string")
_STR_OR_NULL: Final = _typed(str, "string", null=True)
# Timestamps travel as the server's own strings (see the module's docstring).
_DATE: Final = _typed(str, "dateTime")
_DATE_OR_NULL: Final = _typed(str, "nullable<dateTime>", null=True)
_OFFSET_OR_NULL: Final = _typed(str, "nullable<dateTimeOffset>", null=True)
_BOOL: Final = _typed(bool, "boolean")
_BOOL_OR_NULL: Final = _typed(bool, "nullable<boolean>", null=True)
_INT: Final = _typed(int, "int32")
_GUID: Final = _Kind(str, lambda wire, key: _guid(wire, key, wire.take(key, str)), "guid")
_GUID_OR_NULL: Final = _Kind(
    lambda value: None if value is None else str(value),
    lambda wire, key: _guid(wire, key, wire.maybe(key, str)),
    "nullable<guid>",
)
_STRINGS: Final = _Kind(list, lambda wire, key: tuple(wire.strings(key)), "iEnumerable<string>")
_GUIDS: Final = _Kind(
    lambda ids: [str(each) for each in ids],
    lambda wire, key: [_guid(wire, key, text) for text in wire.strings(key)],
    "iEnumerable<guid>",
)
_VARIABLES: Final = _Kind(copy.deepcopy, lambda wire, key: wire.take(key, dict))
"""Copied when written: the answer is the caller's to change."""
_STR_IF_SET: Final = _Kind(
    lambda value: _ABSENT if value is None else value,
    lambda wire, key: wire.maybe(key, str) if key in wire else None,
)
"""Sent only when set (a credential field's ``Options``)."""


def _read_derived(wire: _Object, key: str) -> object:
    if key in wire:
        wire.maybe(key, dict)  # checked, then ignored
    return _ABSENT


_NAMES_OF: Final = _Kind(
    lambda fields: {field.short_name: None for field in fields},
    _read_derived,
    "dictionary<string,object>",
)
"""Derived from the credential fields when written (``credentialsJson``); ignored when read."""


def _records_of(record: type[_Wired], described: str) -> _Kind:
    """Return the kind of an array of ``record``s (a tuple once read)."""
    return _Kind(
        lambda items: [item.to_wire() for item in items],
        lambda wire, key: tuple(record.from_wire(item) for item in wire.take(key, list)),
        f"iEnumerable<{described}>",
    )


class _Wired:
    """A record that travels as JSON, as its ``_wire`` says.

    ``_wire`` holds ``(key, attribute, kind)`` for each key of the spec's shape
    ``_shape``, in the spec's order; an attribute it leaves out is never sent.
    """

    __slots__ = ()
    _shape: ClassVar[str]
    _wire: ClassVar[tuple[tuple[str, str, _Kind], ...]]

    def to_wire(self) -> dict[str, Any]:
        """Return the record as sent."""
        wire = {key: kind.write(getattr(self, name)) for key, name, kind in self._wire}
        return {key: value for key, value in wire.items() if value is not _ABSENT}

    @classmethod
    def from_wire(cls, value: object) -> Self:
        """Read the record from its JSON object; refuse a key missing, mistyped or unknown."""
        wire = _Object(value, cls._shape)
        fields = {}
        for key, name, kind in cls._wire:
            got = kind.read(wire, key)
            if got is not _ABSENT:
                fields[name] = got
        return wire.done(cls(**fields))


@attrs.define
class AccountRecord(_Wired):
    """An account (a person's login) of an organization."""

    _shape = "Account"
    _wire = (
        ("id", "id", _GUID),
        ("firstName", "first_name", _STR),
        ("lastName", "last_name", _STR),
        ("email", "email", _STR),
        ("organizationId", "organization_id", _GUID),
        ("organizationName", "organization_name", _STR),
        ("roleId", "role_id", _GUID),
        ("role", "role", _STR),
        ("dateCreated", "date_created", _DATE),
    )  # the fields after ``date_created`` are not sent

    id: uuid.UUID
    first_name: str
    last_name: str
    email: str
    organization_id: uuid.UUID
    organization_name: str
    role_id: uuid.UUID
    role: str
    date_created: str
    phone: str | None = None
    country_key: str | None = None
    global_notifications: bool = False
    default_notification_email: str | None = None
    activated: bool = True
    """Inactive accounts are left out of Accounts until they are activated."""


@attrs.frozen
class CredentialField(_Wired):
    """One credential an application asks for (PascalCase on the wire)."""

    _shape = "CredentialField"
    _wire = (
        ("ShortName", "short_name", _STR),
        ("Name", "name", _STR),
        ("Type", "type", _STR),
        ("Value", "value", _STR),
        ("Options", "options", _STR_IF_SET),
        ("Optional", "optional", _BOOL),
        ("Desc", "desc", _STR),
        ("Hidden", "hidden", _BOOL),
    )

    short_name: str
    name: str
    type: str
    value: str
    options: str | None = None
    """For ``select`` fields: ``value|Label,value|Label``; absent otherwise."""
    optional: bool = False
    desc: str = ""
    hidden: bool = False


@attrs.frozen
class ApplicationRecord(_Wired):
    """A third-party application of the catalog.

    Its ``credentialsJson`` (each credential's short name mapped to null) is
    derived from :attr:`credential_fields` when it is sent.
    """

    _shape = "Application"
    _wire = (
        ("id", "id", _GUID),
        ("name", "name", _STR),
        ("shortName", "short_name", _STR),
        ("description", "description", _STR),
        ("vendorUrl", "vendor_url", _STR),
        ("credentialFields", "credential_fields", _records_of(CredentialField, "credentialField")),
        ("credentialsJson", "credential_fields", _NAMES_OF),
        ("tag", "tag", _STR),
        ("sessionTimeMins", "session_time_mins", _INT),
        ("sessionSlidingExpiry", "session_sliding_expiry", _BOOL),
    )

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
class RegApplicationRecord(_Wired):
    """An application registered, with credentials, for one account."""

    _shape = "RegApplication"
    _wire = (
        ("id", "id", _GUID),
        ("shortName", "short_name", _STR),
        ("accountId", "account_id", _GUID),
        ("applicationId", "application_id", _GUID),
        ("name", "name", _STR),
        ("tagText", "tag_text", _STR),
        ("description", "description", _STR),
        ("isAuthenticated", "is_authenticated", _BOOL),
        ("isOAuthApp", "is_o_auth_app", _BOOL),
        ("dateModified", "date_modified", _DATE),
        ("dateTimeUtcAuthenticated", "date_time_utc_authenticated", _DATE_OR_NULL),
        ("dateTimeForReAuth", "date_time_for_re_auth", _DATE_OR_NULL),
        ("sessionTimeMins", "session_time_mins", _INT),
        ("sessionSlidingExpiry", "session_sliding_expiry", _BOOL),
        ("faulted", "faulted", _BOOL),
    )  # never the credentials

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
    credentials: dict[str, Any] = attrs.field(factory=dict, repr=False)
    """The registered credential values: secrets, never sent back."""


@attrs.frozen
class Block(_Wired):
    """One block of a template's or a workflow's chain."""

    _shape = "Block"
    _wire = (
        ("uniqueBlockId", "unique_block_id", _GUID),
        ("blockName", "block_name", _STR),
        ("variables", "variables", _VARIABLES),
    )

    unique_block_id: uuid.UUID
    block_name: str
    variables: dict[str, Any]


@attrs.frozen
class TemplateRecord(_Wired):
    """A workflow template: the chain a workflow is created from."""

    _shape = "WorkflowTemplate"
    _wire = (
        ("id", "id", _GUID),
        ("name", "name", _STR),
        ("description", "description", _STR),
        ("dateCreated", "date_created", _DATE),
        ("dateModified", "date_modified", _DATE),
        ("state", "state", _STR),
        ("version", "version", _STR_OR_NULL),
        ("draftIsCommitted", "draft_is_committed", _BOOL_OR_NULL),
        ("dateCommitted", "date_committed", _DATE_OR_NULL),
        ("organizationId", "organization_id", _GUID_OR_NULL),
        ("applications", "applications", _STRINGS),
        ("chain", "chain", _records_of(Block, "workflowBlock")),
    )

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
class WorkflowRecord(_Wired):
    """A workflow of one account."""

    _shape = "Workflow"
    _wire = (
        ("id", "id", _GUID),
        ("name", "name", _STR),
        ("description", "description", _STR),
        ("status", "status", _STR),
        ("isScheduled", "is_scheduled", _BOOL),
        ("schedulerFrequency", "scheduler_frequency", _STR_OR_NULL),
        ("workflowTemplateId", "workflow_template_id", _GUID_OR_NULL),
        ("isCustomizedStructure", "is_customized_structure", _BOOL),
        ("accountId", "account_id", _GUID),
        ("organizationId", "organization_id", _GUID),
        ("dateCreated", "date_created", _DATE),
        ("dateModified", "date_modified", _DATE),
        ("dateLastRun", "date_last_run", _OFFSET_OR_NULL),
        ("dateNextSchedule", "date_next_schedule", _OFFSET_OR_NULL),
        ("regApplicationIds", "reg_application_ids", _GUIDS),
        ("currentBlock", "current_block", _INT),
    )  # not the chain: read back empty, the seed adds it

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
    chain: list[Block] = attrs.field(factory=list)
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


def to_wire(record: _Wired | Sequence[_Wired]) -> Any:
    """Return ``record`` (or a list of records) as the server's JSON value."""
    if isinstance(record, Sequence):
        return [item.to_wire() for item in record]
    return record.to_wire()
