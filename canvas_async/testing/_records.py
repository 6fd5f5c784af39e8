"""The emulator's records, and how they travel as JSON.

Each record holds one object of the server's model with its fields as the
server sends them (spec: "Shapes"); timestamps are kept as the server's own
strings, so a seeded sample answer comes back character for character. Fields
the server keeps but never sends in that shape (a workflow's chain, a
registered application's credentials, an account's phone number) are left out
of the JSON.

The emulator writes and reads the wire on its own: each record's
``to_wire`` spells out the spec's keys, and ``from_wire`` reads them back
(the seeded samples), with no converter or model of the SDK in between. So a
key the SDK gets wrong fails against the emulator instead of passing both
sides.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, Self, TypeVar

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
    "to_wire",
]

_T = TypeVar("_T")
_R = TypeVar("_R")


class _Object:
    """One JSON object being read into a record: each key taken once, none left over."""

    def __init__(self, value: object, shape: str) -> None:
        if not isinstance(value, dict):
            raise ValueError(f"{shape} must be a JSON object, not {type(value).__name__}")
        self._rest: dict[str, Any] = dict(value)
        self._shape = shape

    def __contains__(self, key: str) -> bool:
        return key in self._rest

    def maybe(self, key: str, kind: type[_T]) -> _T | None:
        """Take ``key``: a ``kind`` or null (bool is no number here, as in JSON)."""
        if key not in self._rest:
            raise ValueError(f"{self._shape} has no {key!r}")
        value = self._rest.pop(key)
        if value is not None and (
            not isinstance(value, kind) or (kind is int and isinstance(value, bool))
        ):
            raise ValueError(f"{self._shape}.{key} must be {kind.__name__}, got {value!r}")
        return value

    def take(self, key: str, kind: type[_T]) -> _T:
        """Take ``key``, a ``kind`` (not null)."""
        value = self.maybe(key, kind)
        if value is None:
            raise ValueError(f"{self._shape}.{key} must not be null")
        return value

    def guid(self, key: str) -> uuid.UUID:
        """Take ``key``, a GUID string."""
        return _guid(self.take(key, str), f"{self._shape}.{key}")

    def maybe_guid(self, key: str) -> uuid.UUID | None:
        """Take ``key``, a GUID string or null."""
        text = self.maybe(key, str)
        return None if text is None else _guid(text, f"{self._shape}.{key}")

    def strings(self, key: str) -> list[str]:
        """Take ``key``, an array of strings."""
        values = self.take(key, list)
        if not all(isinstance(value, str) for value in values):
            raise ValueError(f"{self._shape}.{key} must be an array of strings")
        return values

    def done(self, record: _R) -> _R:
        """Return ``record`` once every key is read; refuse a key left over."""
        if self._rest:
            raise ValueError(f"{self._shape} has keys the emulator does not know: {[*self._rest]}")
        return record


def _guid(text: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise ValueError(f"{what} must be a GUID, got {text!r}") from None


def _text(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


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
    phone: str | None = None
    country_key: str | None = None
    global_notifications: bool = False
    default_notification_email: str | None = None
    activated: bool = True
    """Inactive accounts are left out of Accounts until they are activated."""

    def to_wire(self) -> dict[str, Any]:
        """Return the Account as sent (the fields after ``date_created`` are not)."""
        return {
            "id": str(self.id),
            "firstName": self.first_name,
            "lastName": self.last_name,
            "email": self.email,
            "organizationId": str(self.organization_id),
            "organizationName": self.organization_name,
            "roleId": str(self.role_id),
            "role": self.role,
            "dateCreated": self.date_created,
        }

    @classmethod
    def from_wire(cls, value: object) -> Self:
        """Read an Account."""
        wire = _Object(value, "Account")
        return wire.done(
            cls(
                id=wire.guid("id"),
                first_name=wire.take("firstName", str),
                last_name=wire.take("lastName", str),
                email=wire.take("email", str),
                organization_id=wire.guid("organizationId"),
                organization_name=wire.take("organizationName", str),
                role_id=wire.guid("roleId"),
                role=wire.take("role", str),
                date_created=wire.take("dateCreated", str),
            )
        )


@attrs.frozen
class CredentialField:
    """One credential an application asks for (PascalCase on the wire)."""

    short_name: str
    name: str
    type: str
    value: str
    options: str | None = None
    """For ``select`` fields: ``value|Label,value|Label``; absent otherwise."""
    optional: bool = False
    desc: str = ""
    hidden: bool = False

    def to_wire(self) -> dict[str, Any]:
        """Return the credential field as sent: PascalCase keys, ``Options`` only if set."""
        wire: dict[str, Any] = {
            "ShortName": self.short_name,
            "Name": self.name,
            "Type": self.type,
            "Value": self.value,
        }
        if self.options is not None:
            wire["Options"] = self.options
        wire.update(Optional=self.optional, Desc=self.desc, Hidden=self.hidden)
        return wire

    @classmethod
    def from_wire(cls, value: object) -> Self:
        """Read a credential field."""
        wire = _Object(value, "CredentialField")
        return wire.done(
            cls(
                short_name=wire.take("ShortName", str),
                name=wire.take("Name", str),
                type=wire.take("Type", str),
                value=wire.take("Value", str),
                options=wire.maybe("Options", str) if "Options" in wire else None,
                optional=wire.take("Optional", bool),
                desc=wire.take("Desc", str),
                hidden=wire.take("Hidden", bool),
            )
        )


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

    def to_wire(self) -> dict[str, Any]:
        """Return the Application as sent, ``credentialsJson`` derived."""
        return {
            "id": str(self.id),
            "name": self.name,
            "shortName": self.short_name,
            "description": self.description,
            "vendorUrl": self.vendor_url,
            "credentialFields": [field.to_wire() for field in self.credential_fields],
            "credentialsJson": {field.short_name: None for field in self.credential_fields},
            "tag": self.tag,
            "sessionTimeMins": self.session_time_mins,
            "sessionSlidingExpiry": self.session_sliding_expiry,
        }

    @classmethod
    def from_wire(cls, value: object) -> Self:
        """Read an Application; its ``credentialsJson`` is ignored (it is derived)."""
        wire = _Object(value, "Application")
        if "credentialsJson" in wire:
            wire.maybe("credentialsJson", dict)
        return wire.done(
            cls(
                id=wire.guid("id"),
                name=wire.take("name", str),
                short_name=wire.take("shortName", str),
                description=wire.take("description", str),
                vendor_url=wire.take("vendorUrl", str),
                credential_fields=tuple(
                    CredentialField.from_wire(field)
                    for field in wire.take("credentialFields", list)
                ),
                tag=wire.take("tag", str),
                session_time_mins=wire.take("sessionTimeMins", int),
                session_sliding_expiry=wire.take("sessionSlidingExpiry", bool),
            )
        )


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
    credentials: dict[str, Any] = attrs.field(factory=dict, repr=False)
    """The registered credential values: secrets, never sent back."""

    def to_wire(self) -> dict[str, Any]:
        """Return the RegApplication as sent (never its credentials)."""
        return {
            "id": str(self.id),
            "shortName": self.short_name,
            "accountId": str(self.account_id),
            "applicationId": str(self.application_id),
            "name": self.name,
            "tagText": self.tag_text,
            "description": self.description,
            "isAuthenticated": self.is_authenticated,
            "isOAuthApp": self.is_o_auth_app,
            "dateModified": self.date_modified,
            "dateTimeUtcAuthenticated": self.date_time_utc_authenticated,
            "dateTimeForReAuth": self.date_time_for_re_auth,
            "sessionTimeMins": self.session_time_mins,
            "sessionSlidingExpiry": self.session_sliding_expiry,
            "faulted": self.faulted,
        }

    @classmethod
    def from_wire(cls, value: object) -> Self:
        """Read a RegApplication (with no credentials)."""
        wire = _Object(value, "RegApplication")
        return wire.done(
            cls(
                id=wire.guid("id"),
                short_name=wire.take("shortName", str),
                account_id=wire.guid("accountId"),
                application_id=wire.guid("applicationId"),
                name=wire.take("name", str),
                tag_text=wire.take("tagText", str),
                description=wire.take("description", str),
                is_authenticated=wire.take("isAuthenticated", bool),
                is_o_auth_app=wire.take("isOAuthApp", bool),
                date_modified=wire.take("dateModified", str),
                date_time_utc_authenticated=wire.maybe("dateTimeUtcAuthenticated", str),
                date_time_for_re_auth=wire.maybe("dateTimeForReAuth", str),
                session_time_mins=wire.take("sessionTimeMins", int),
                session_sliding_expiry=wire.take("sessionSlidingExpiry", bool),
                faulted=wire.take("faulted", bool),
            )
        )


@attrs.frozen
class Block:
    """One block of a template's or a workflow's chain."""

    unique_block_id: uuid.UUID
    block_name: str
    variables: dict[str, Any]

    def to_wire(self) -> dict[str, Any]:
        """Return the block as sent (its variables copied: the answer is the caller's)."""
        return {
            "uniqueBlockId": str(self.unique_block_id),
            "blockName": self.block_name,
            "variables": copy.deepcopy(self.variables),
        }

    @classmethod
    def from_wire(cls, value: object) -> Self:
        """Read a block of a chain."""
        wire = _Object(value, "Block")
        return wire.done(
            cls(
                unique_block_id=wire.guid("uniqueBlockId"),
                block_name=wire.take("blockName", str),
                variables=wire.take("variables", dict),
            )
        )


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

    def to_wire(self) -> dict[str, Any]:
        """Return the WorkflowTemplate as sent."""
        return {
            "id": str(self.id),
            "name": self.name,
            "description": self.description,
            "dateCreated": self.date_created,
            "dateModified": self.date_modified,
            "state": self.state,
            "version": self.version,
            "draftIsCommitted": self.draft_is_committed,
            "dateCommitted": self.date_committed,
            "organizationId": _text(self.organization_id),
            "applications": list(self.applications),
            "chain": [block.to_wire() for block in self.chain],
        }

    @classmethod
    def from_wire(cls, value: object) -> Self:
        """Read a WorkflowTemplate."""
        wire = _Object(value, "WorkflowTemplate")
        return wire.done(
            cls(
                id=wire.guid("id"),
                name=wire.take("name", str),
                description=wire.take("description", str),
                date_created=wire.take("dateCreated", str),
                date_modified=wire.take("dateModified", str),
                state=wire.take("state", str),
                version=wire.maybe("version", str),
                draft_is_committed=wire.maybe("draftIsCommitted", bool),
                date_committed=wire.maybe("dateCommitted", str),
                organization_id=wire.maybe_guid("organizationId"),
                applications=tuple(wire.strings("applications")),
                chain=tuple(Block.from_wire(block) for block in wire.take("chain", list)),
            )
        )


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
    chain: list[Block] = attrs.field(factory=list)
    """The workflow's own copy of its blocks; RunWorkflow checks ranges against it."""

    def to_wire(self) -> dict[str, Any]:
        """Return the Workflow as sent (not its chain)."""
        return {
            "id": str(self.id),
            "name": self.name,
            "description": self.description,
            "status": self.status,
            "isScheduled": self.is_scheduled,
            "schedulerFrequency": self.scheduler_frequency,
            "workflowTemplateId": _text(self.workflow_template_id),
            "isCustomizedStructure": self.is_customized_structure,
            "accountId": str(self.account_id),
            "organizationId": str(self.organization_id),
            "dateCreated": self.date_created,
            "dateModified": self.date_modified,
            "dateLastRun": self.date_last_run,
            "dateNextSchedule": self.date_next_schedule,
            "regApplicationIds": [str(reg_id) for reg_id in self.reg_application_ids],
            "currentBlock": self.current_block,
        }

    @classmethod
    def from_wire(cls, value: object) -> Self:
        """Read a Workflow (with an empty chain: the seed adds it)."""
        wire = _Object(value, "Workflow")
        return wire.done(
            cls(
                id=wire.guid("id"),
                name=wire.take("name", str),
                description=wire.take("description", str),
                status=wire.take("status", str),
                is_scheduled=wire.take("isScheduled", bool),
                scheduler_frequency=wire.maybe("schedulerFrequency", str),
                workflow_template_id=wire.maybe_guid("workflowTemplateId"),
                is_customized_structure=wire.take("isCustomizedStructure", bool),
                account_id=wire.guid("accountId"),
                organization_id=wire.guid("organizationId"),
                date_created=wire.take("dateCreated", str),
                date_modified=wire.take("dateModified", str),
                date_last_run=wire.maybe("dateLastRun", str),
                date_next_schedule=wire.maybe("dateNextSchedule", str),
                reg_application_ids=[
                    _guid(text, "Workflow.regApplicationIds")
                    for text in wire.strings("regApplicationIds")
                ],
                current_block=wire.take("currentBlock", int),
            )
        )


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


class _Record(Protocol):
    def to_wire(self) -> dict[str, Any]: ...


def to_wire(record: _Record | Sequence[_Record]) -> Any:
    """Return ``record`` (or a list of records) as the server's JSON value."""
    if isinstance(record, Sequence):
        return [item.to_wire() for item in record]
    return record.to_wire()
