"""The emulator's records, and how they travel as JSON.

Each record holds one object of the server's model with its fields as the
server sends them (spec: "Shapes"); timestamps are kept as the server's own
strings, so a seeded sample answer comes back character for character. Fields
the server keeps but never sends in that shape (a workflow's chain, a
registered application's credentials, an account's phone number) are left out
of the JSON.

The emulator writes and reads the wire on its own: each attribute sent names
its key of the spec and how it travels, in the spec's order, and
:meth:`_Wired.to_wire` / :meth:`_Wired.from_wire` walk those keys (the
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
    """A record that travels as JSON, shape ``_shape`` of the spec.

    Each attribute sent says how in its metadata, ``{key: kind}`` (an
    application's credential fields travel under two keys), and the attributes
    come in the spec's order of the keys; one without metadata is never sent.
    """

    __slots__ = ()
    __attrs_attrs__: ClassVar[Any]  # set by attrs on each record class
    _shape: ClassVar[str]

    def to_wire(self) -> dict[str, Any]:
        """Return the record as sent."""
        wire = {key: kind.write(getattr(self, name)) for key, name, kind in wire_keys(type(self))}
        return {key: value for key, value in wire.items() if value is not _ABSENT}

    @classmethod
    def from_wire(cls, value: object) -> Self:
        """Read the record from its JSON object; refuse a key missing, mistyped or unknown."""
        wire = _Object(value, cls._shape)
        fields = {}
        for key, name, kind in wire_keys(cls):
            got = kind.read(wire, key)
            if got is not _ABSENT:
                fields[name] = got
        return wire.done(cls(**fields))


_WIRE_KEYS: Final[dict[type[Any], tuple[tuple[str, str, _Kind], ...]]] = {}


def wire_keys(record: type[_Wired]) -> tuple[tuple[str, str, _Kind], ...]:
    """Return ``(key, attribute, kind)`` for each key ``record`` is sent with, in order."""
    if record not in _WIRE_KEYS:
        fields = attrs.fields(record)
        _WIRE_KEYS[record] = tuple(
            (key, field.name, kind) for field in fields for key, kind in field.metadata.items()
        )
    return _WIRE_KEYS[record]


@attrs.define
class AccountRecord(_Wired):
    """An account (a person's login) of an organization."""

    _shape = "Account"

    id: uuid.UUID = attrs.field(metadata={"id": _GUID})
    first_name: str = attrs.field(metadata={"firstName": _STR})
    last_name: str = attrs.field(metadata={"lastName": _STR})
    email: str = attrs.field(metadata={"email": _STR})
    organization_id: uuid.UUID = attrs.field(metadata={"organizationId": _GUID})
    organization_name: str = attrs.field(metadata={"organizationName": _STR})
    role_id: uuid.UUID = attrs.field(metadata={"roleId": _GUID})
    role: str = attrs.field(metadata={"role": _STR})
    date_created: str = attrs.field(metadata={"dateCreated": _DATE})
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

    short_name: str = attrs.field(metadata={"ShortName": _STR})
    name: str = attrs.field(metadata={"Name": _STR})
    type: str = attrs.field(metadata={"Type": _STR})
    value: str = attrs.field(metadata={"Value": _STR})
    options: str | None = attrs.field(default=None, metadata={"Options": _STR_IF_SET})
    """For ``select`` fields: ``value|Label,value|Label``; absent otherwise."""
    optional: bool = attrs.field(default=False, metadata={"Optional": _BOOL})
    desc: str = attrs.field(default="", metadata={"Desc": _STR})
    hidden: bool = attrs.field(default=False, metadata={"Hidden": _BOOL})


@attrs.frozen
class ApplicationRecord(_Wired):
    """A third-party application of the catalog.

    Its ``credentialsJson`` (each credential's short name mapped to null) is
    derived from :attr:`credential_fields` when it is sent.
    """

    _shape = "Application"

    id: uuid.UUID = attrs.field(metadata={"id": _GUID})
    name: str = attrs.field(metadata={"name": _STR})
    short_name: str = attrs.field(metadata={"shortName": _STR})
    description: str = attrs.field(metadata={"description": _STR})
    vendor_url: str = attrs.field(metadata={"vendorUrl": _STR})
    credential_fields: tuple[CredentialField, ...] = attrs.field(
        metadata={
            "credentialFields": _records_of(CredentialField, "credentialField"),
            "credentialsJson": _NAMES_OF,
        }
    )
    tag: str = attrs.field(metadata={"tag": _STR})
    session_time_mins: int = attrs.field(metadata={"sessionTimeMins": _INT})
    session_sliding_expiry: bool = attrs.field(metadata={"sessionSlidingExpiry": _BOOL})


@attrs.define
class RegApplicationRecord(_Wired):
    """An application registered, with credentials, for one account."""

    _shape = "RegApplication"

    id: uuid.UUID = attrs.field(metadata={"id": _GUID})
    short_name: str = attrs.field(metadata={"shortName": _STR})
    account_id: uuid.UUID = attrs.field(metadata={"accountId": _GUID})
    application_id: uuid.UUID = attrs.field(metadata={"applicationId": _GUID})
    name: str = attrs.field(metadata={"name": _STR})
    tag_text: str = attrs.field(metadata={"tagText": _STR})
    description: str = attrs.field(metadata={"description": _STR})
    is_authenticated: bool = attrs.field(metadata={"isAuthenticated": _BOOL})
    is_o_auth_app: bool = attrs.field(metadata={"isOAuthApp": _BOOL})
    date_modified: str = attrs.field(metadata={"dateModified": _DATE})
    date_time_utc_authenticated: str | None = attrs.field(
        metadata={"dateTimeUtcAuthenticated": _DATE_OR_NULL}
    )
    date_time_for_re_auth: str | None = attrs.field(metadata={"dateTimeForReAuth": _DATE_OR_NULL})
    session_time_mins: int = attrs.field(metadata={"sessionTimeMins": _INT})
    session_sliding_expiry: bool = attrs.field(metadata={"sessionSlidingExpiry": _BOOL})
    faulted: bool = attrs.field(metadata={"faulted": _BOOL})
    credentials: dict[str, Any] = attrs.field(factory=dict, repr=False)
    """The registered credential values: secrets, never sent back."""


@attrs.frozen
class Block(_Wired):
    """One block of a template's or a workflow's chain."""

    _shape = "Block"

    unique_block_id: uuid.UUID = attrs.field(metadata={"uniqueBlockId": _GUID})
    block_name: str = attrs.field(metadata={"blockName": _STR})
    variables: dict[str, Any] = attrs.field(metadata={"variables": _VARIABLES})


@attrs.frozen
class TemplateRecord(_Wired):
    """A workflow template: the chain a workflow is created from."""

    _shape = "WorkflowTemplate"

    id: uuid.UUID = attrs.field(metadata={"id": _GUID})
    name: str = attrs.field(metadata={"name": _STR})
    description: str = attrs.field(metadata={"description": _STR})
    date_created: str = attrs.field(metadata={"dateCreated": _DATE})
    date_modified: str = attrs.field(metadata={"dateModified": _DATE})
    state: str = attrs.field(metadata={"state": _STR})
    version: str | None = attrs.field(metadata={"version": _STR_OR_NULL})
    draft_is_committed: bool | None = attrs.field(metadata={"draftIsCommitted": _BOOL_OR_NULL})
    date_committed: str | None = attrs.field(metadata={"dateCommitted": _DATE_OR_NULL})
    organization_id: uuid.UUID | None = attrs.field(metadata={"organizationId": _GUID_OR_NULL})
    """``None`` for templates provided by CMA, which every organization sees."""
    applications: tuple[str, ...] = attrs.field(metadata={"applications": _STRINGS})
    chain: tuple[Block, ...] = attrs.field(metadata={"chain": _records_of(Block, "workflowBlock")})


@attrs.define
class WorkflowRecord(_Wired):
    """A workflow of one account."""

    _shape = "Workflow"

    id: uuid.UUID = attrs.field(metadata={"id": _GUID})
    name: str = attrs.field(metadata={"name": _STR})
    description: str = attrs.field(metadata={"description": _STR})
    status: str = attrs.field(metadata={"status": _STR})
    is_scheduled: bool = attrs.field(metadata={"isScheduled": _BOOL})
    scheduler_frequency: str | None = attrs.field(metadata={"schedulerFrequency": _STR_OR_NULL})
    """A JSON-encoded string: ``{"cronSchedule": "<quartz cron>"}``."""
    workflow_template_id: uuid.UUID | None = attrs.field(
        metadata={"workflowTemplateId": _GUID_OR_NULL}
    )
    is_customized_structure: bool = attrs.field(metadata={"isCustomizedStructure": _BOOL})
    account_id: uuid.UUID = attrs.field(metadata={"accountId": _GUID})
    organization_id: uuid.UUID = attrs.field(metadata={"organizationId": _GUID})
    date_created: str = attrs.field(metadata={"dateCreated": _DATE})
    date_modified: str = attrs.field(metadata={"dateModified": _DATE})
    date_last_run: str | None = attrs.field(metadata={"dateLastRun": _OFFSET_OR_NULL})
    date_next_schedule: str | None = attrs.field(metadata={"dateNextSchedule": _OFFSET_OR_NULL})
    reg_application_ids: list[uuid.UUID] = attrs.field(metadata={"regApplicationIds": _GUIDS})
    current_block: int = attrs.field(metadata={"currentBlock": _INT})
    chain: list[Block] = attrs.field(factory=list)
    """The workflow's own copy of its blocks (not sent); RunWorkflow checks ranges against it."""


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
