"""Reading the request DTOs: JSON in, checked values out, or a 400 envelope.

Every check that needs no state happens here, before an operation looks at
anything: a request body with a wrong type, a missing field or a malformed
GUID is refused whole, so no half record is ever stored. Keys are matched as
documented (camelCase, exactly); unknown keys are ignored, as the server's
model binding does.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar, Final, Self, TypeVar

import attrs

from ._answers import bad_request

__all__ = [
    "BlockOverride",
    "NewAccount",
    "NewRegApplication",
    "NewWorkflow",
    "RunRequest",
    "SchedulerUpdate",
    "cron_of",
    "parse_guid",
    "parse_json",
]

_GUID: Final = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def parse_guid(value: object, what: str) -> uuid.UUID:
    """Read a GUID in its usual ``8-4-4-4-12`` form; ``what`` names it in the error."""
    if not isinstance(value, str) or not _GUID.fullmatch(value):
        raise bad_request(f"{what} must be a GUID like 6fa122e4-0d4c-4a1d-8869-7c0a86a37bf1")
    return uuid.UUID(value)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: bytes | str, what: str = "The request body") -> Any:
    """Decode JSON strictly (no ``NaN``/``Infinity``), refusing anything else with a 400."""
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise bad_request(f"{what} is not valid JSON") from exc


_T = TypeVar("_T")


class _Fields:
    """Typed access to the members of one JSON object, with errors naming them."""

    def __init__(self, value: object, dto: str) -> None:
        if not isinstance(value, dict):
            raise bad_request(f"{dto} must be a JSON object")
        self._value: Mapping[str, Any] = value
        self._dto = dto

    def _optional(self, key: str, kind: type[_T], label: str) -> _T | None:
        value = self._value.get(key)
        if value is None:
            return None
        # bool is an int subclass in Python, but true is no number in JSON.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise bad_request(f"{self._dto}.{key} must be {label}")
        return value

    def _required(self, key: str, kind: type[_T], label: str) -> _T:
        value = self._optional(key, kind, label)
        if value is None:
            raise bad_request(f"{self._dto}.{key} is required")
        return value

    def string(self, key: str) -> str | None:
        return self._optional(key, str, "a string")

    def required_string(self, key: str) -> str:
        value = self._required(key, str, "a string")
        if not value.strip():
            raise bad_request(f"{self._dto}.{key} must not be empty")
        return value

    def guid(self, key: str) -> uuid.UUID:
        return parse_guid(self._required(key, str, "a GUID string"), f"{self._dto}.{key}")

    def boolean(self, key: str) -> bool | None:
        return self._optional(key, bool, "true or false")

    def required_boolean(self, key: str) -> bool:
        return self._required(key, bool, "true or false")

    def integer(self, key: str) -> int | None:
        return self._optional(key, int, "a whole number")

    def object(self, key: str) -> dict[str, Any] | None:
        return self._optional(key, dict, "a JSON object")

    def required_object(self, key: str) -> dict[str, Any]:
        return self._required(key, dict, "a JSON object")

    def array(self, key: str) -> list[Any]:
        return self._optional(key, list, "a JSON array") or []


class _Dto:
    """A request DTO: :meth:`parse` reads a body into it, ``_dto`` names it in errors."""

    __slots__ = ()
    _dto: ClassVar[str]

    @classmethod
    def parse(cls, body: object) -> Self:
        """Read a request body as this DTO; refuse (400) what it does not allow."""
        return cls._read(_Fields(body, cls._dto))

    @classmethod
    def _read(cls, fields: _Fields) -> Self:
        raise NotImplementedError


# -- AddAccountApiDto ----------------------------------------------------------


@attrs.frozen
class NewAccount(_Dto):
    """An AddAccountApiDto, checked; what the body leaves out is None.

    The server's defaults for those are applied where the account is made
    (:meth:`EmulatorState.create_account`).
    """

    _dto = "AddAccountApiDto"

    first_name: str
    last_name: str
    email: str
    role_name: str
    phone: str | None = None
    country_key: str | None = None
    global_notifications: bool | None = None
    default_notification_email: str | None = None
    activated: bool | None = None

    @classmethod
    def _read(cls, fields: _Fields) -> Self:
        email = fields.required_string("email")
        local, _, domain = email.partition("@")
        if not local or not domain or any(char.isspace() for char in email):
            raise bad_request("AddAccountApiDto.email must be an e-mail address")
        country = fields.string("countryKey")
        if country is not None and not (
            len(country) == 2 and country.isascii() and country.isalpha()
        ):
            raise bad_request("AddAccountApiDto.countryKey must be an ISO 3166 alpha-2 code")
        return cls(
            first_name=fields.required_string("firstName"),
            last_name=fields.required_string("lastName"),
            email=email,
            role_name=fields.required_string("roleName"),
            phone=fields.string("phone"),
            country_key=country,
            global_notifications=fields.boolean("globalNotifications"),
            default_notification_email=fields.string("defaultNotificationEmail"),
            activated=fields.boolean("activated"),
        )


# -- AddRegApplicationApiDto ---------------------------------------------------


@attrs.frozen
class NewRegApplication(_Dto):
    """An AddRegApplicationApiDto, checked; ``credentials`` is decoded."""

    _dto = "AddRegApplicationApiDto"

    application_id: uuid.UUID
    tag_text: str | None
    credentials: dict[str, Any] = attrs.field(repr=False)

    @classmethod
    def _read(cls, fields: _Fields) -> Self:
        application_id = fields.guid("applicationId")
        tag_text = fields.string("tagText")
        encoded = fields.required_string("credentialsJson")
        # The credentials travel as a JSON-encoded string (spec: "Shapes").
        credentials = parse_json(encoded, "AddRegApplicationApiDto.credentialsJson")
        if not isinstance(credentials, dict):
            raise bad_request(
                "AddRegApplicationApiDto.credentialsJson must be a JSON-encoded object, "
                'e.g. "{\\"apikey\\":\\"...\\"}"'
            )
        return cls(application_id, tag_text, credentials)


# -- AddWorkflowApiDto ---------------------------------------------------------


@attrs.frozen
class BlockOverride:
    """A ChainApiDto: new variables for one block of the template."""

    unique_block_id: uuid.UUID
    variables: dict[str, Any]


@attrs.frozen
class NewWorkflow(_Dto):
    """An AddWorkflowApiDto, checked."""

    _dto = "AddWorkflowApiDto"

    template_id: uuid.UUID
    name: str | None
    description: str | None
    applications: dict[str, uuid.UUID]
    chain: tuple[BlockOverride, ...]

    @classmethod
    def _read(cls, fields: _Fields) -> Self:
        template_id = fields.guid("workflowTemplateId")
        name = fields.string("name")
        description = fields.string("description")
        applications = {
            short_name: parse_guid(reg_id, f"AddWorkflowApiDto.applications[{short_name!r}]")
            for short_name, reg_id in fields.required_object("applications").items()
        }
        chain = []
        for index, item in enumerate(fields.array("chain")):
            block = _Fields(item, f"AddWorkflowApiDto.chain[{index}]")
            chain.append(
                BlockOverride(block.guid("uniqueBlockId"), block.object("variables") or {})
            )
        block_ids = [block.unique_block_id for block in chain]
        if len(set(block_ids)) != len(block_ids):
            raise bad_request("AddWorkflowApiDto.chain names a block more than once")
        return cls(template_id, name, description, applications, tuple(chain))


# -- RunMetadataApiDto ---------------------------------------------------------


@attrs.frozen
class RunRequest(_Dto):
    """A RunMetadataApiDto, checked for types (ranges need the workflow)."""

    _dto = "RunMetadataApiDto"

    workflow_id: uuid.UUID
    run_from_block: int | None
    run_till_block: int | None

    @classmethod
    def _read(cls, fields: _Fields) -> Self:
        return cls(
            fields.guid("workflowId"),
            fields.integer("runFromBlock"),
            fields.integer("runTillBlock"),
        )


# -- UpdateWorkfowSchedulerApiDto (sic) ------------------------------------------


@attrs.frozen
class SchedulerUpdate(_Dto):
    """An UpdateWorkfowSchedulerApiDto, checked; ``cron`` is read from the frequency."""

    _dto = "UpdateWorkfowSchedulerApiDto"

    workflow_id: uuid.UUID
    is_scheduled: bool
    schedule_frequency: str | None
    """The JSON-encoded string as sent, stored verbatim."""
    cron: str | None

    @classmethod
    def _read(cls, fields: _Fields) -> Self:
        workflow_id = fields.guid("workflowId")
        is_scheduled = fields.required_boolean("isScheduled")
        frequency = fields.string("scheduleFrequency")
        cron = (
            None
            if frequency is None
            else cron_of(frequency, "UpdateWorkfowSchedulerApiDto.scheduleFrequency")
        )
        return cls(workflow_id, is_scheduled, frequency, cron)


def cron_of(frequency: str, what: str) -> str:
    """Read the cron expression out of a ``{"cronSchedule": "..."}`` JSON string.

    Args:
        frequency: The JSON-encoded string.
        what: Names the value in the error.
    """
    value = parse_json(frequency, what)
    cron = value.get("cronSchedule") if isinstance(value, dict) else None
    if not isinstance(cron, str):
        raise bad_request(f'{what} must be a JSON-encoded {{"cronSchedule": "<quartz cron>"}}')
    return cron
