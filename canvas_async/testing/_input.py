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
from typing import Any, Final, Self, TypeVar

import attrs

from ._answers import bad_request
from ._records import is_json

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
_LABELS: Final[dict[type[Any], str]] = {
    str: "a string",
    bool: "true or false",
    int: "a whole number",
    dict: "a JSON object",
    list: "a JSON array",
}


class _Fields:
    """Typed access to the members of one JSON object, with errors naming them: what
    each DTO's ``parse`` reads a request body with, refusing (400) what it does not allow."""

    def __init__(self, value: object, dto: str) -> None:
        if not isinstance(value, dict):
            raise bad_request(f"{dto} must be a JSON object")
        self._value: Mapping[str, Any] = value
        self._dto = dto

    def optional(self, key: str, kind: type[_T], label: str = "") -> _T | None:
        """Return ``key``'s value, a ``kind`` or ``None`` when absent or null."""
        value = self._value.get(key)
        if value is not None and not is_json(value, kind):
            raise bad_request(f"{self._dto}.{key} must be {label or _LABELS[kind]}")
        return value

    def required(self, key: str, kind: type[_T], label: str = "") -> _T:
        """Return ``key``'s value, a ``kind``; refuse it absent or null."""
        value = self.optional(key, kind, label)
        if value is None:
            raise bad_request(f"{self._dto}.{key} is required")
        return value

    def required_string(self, key: str) -> str:
        """Return ``key``'s value, a string with more than white space."""
        value = self.required(key, str)
        if not value.strip():
            raise bad_request(f"{self._dto}.{key} must not be empty")
        return value

    def guid(self, key: str) -> uuid.UUID:
        """Return ``key``'s value, a GUID string."""
        return parse_guid(self.required(key, str, "a GUID string"), f"{self._dto}.{key}")


@attrs.frozen
class NewAccount:
    """An AddAccountApiDto, checked; what the body leaves out is None.

    The server's defaults for those are applied where the account is made
    (:meth:`EmulatorState.create_account`).
    """

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
    def parse(cls, body: object) -> Self:
        fields = _Fields(body, "AddAccountApiDto")
        email = fields.required_string("email")
        local, _, domain = email.partition("@")
        if not local or not domain or any(char.isspace() for char in email):
            raise bad_request("AddAccountApiDto.email must be an e-mail address")
        country = fields.optional("countryKey", str)
        if country is not None and not (
            len(country) == 2 and country.isascii() and country.isalpha()
        ):
            raise bad_request("AddAccountApiDto.countryKey must be an ISO 3166 alpha-2 code")
        return cls(
            first_name=fields.required_string("firstName"),
            last_name=fields.required_string("lastName"),
            email=email,
            role_name=fields.required_string("roleName"),
            phone=fields.optional("phone", str),
            country_key=country,
            global_notifications=fields.optional("globalNotifications", bool),
            default_notification_email=fields.optional("defaultNotificationEmail", str),
            activated=fields.optional("activated", bool),
        )


@attrs.frozen
class NewRegApplication:
    """An AddRegApplicationApiDto, checked; ``credentials`` is decoded."""

    application_id: uuid.UUID
    tag_text: str | None
    credentials: dict[str, Any] = attrs.field(repr=False)

    @classmethod
    def parse(cls, body: object) -> Self:
        fields = _Fields(body, "AddRegApplicationApiDto")
        application_id = fields.guid("applicationId")
        tag_text = fields.optional("tagText", str)
        encoded = fields.required_string("credentialsJson")
        # The credentials travel as a JSON-encoded string (spec: "Shapes").
        credentials = parse_json(encoded, "AddRegApplicationApiDto.credentialsJson")
        if not isinstance(credentials, dict):
            raise bad_request(
                "AddRegApplicationApiDto.credentialsJson must be a JSON-encoded object, "
                'e.g. "{\\"apikey\\":\\"...\\"}"'
            )
        return cls(application_id, tag_text, credentials)


@attrs.frozen
class NewWorkflow:
    """An AddWorkflowApiDto, checked; ``chain`` maps each ChainApiDto's block to its variables."""

    template_id: uuid.UUID
    name: str | None
    description: str | None
    applications: dict[str, uuid.UUID]
    chain: dict[uuid.UUID, dict[str, Any]]

    @classmethod
    def parse(cls, body: object) -> Self:
        fields = _Fields(body, "AddWorkflowApiDto")
        template_id = fields.guid("workflowTemplateId")
        name = fields.optional("name", str)
        description = fields.optional("description", str)
        applications = {
            short_name: parse_guid(reg_id, f"AddWorkflowApiDto.applications[{short_name!r}]")
            for short_name, reg_id in fields.required("applications", dict).items()
        }
        blocks = []
        for index, item in enumerate(fields.optional("chain", list) or []):
            block = _Fields(item, f"AddWorkflowApiDto.chain[{index}]")
            blocks.append((block.guid("uniqueBlockId"), block.optional("variables", dict) or {}))
        chain = dict(blocks)
        if len(chain) != len(blocks):
            raise bad_request("AddWorkflowApiDto.chain names a block more than once")
        return cls(template_id, name, description, applications, chain)


@attrs.frozen
class RunRequest:
    """A RunMetadataApiDto, checked for types (ranges need the workflow)."""

    workflow_id: uuid.UUID
    run_from_block: int | None
    run_till_block: int | None

    @classmethod
    def parse(cls, body: object) -> Self:
        fields = _Fields(body, "RunMetadataApiDto")
        return cls(
            fields.guid("workflowId"),
            fields.optional("runFromBlock", int),
            fields.optional("runTillBlock", int),
        )


@attrs.frozen
class SchedulerUpdate:
    """An UpdateWorkfowSchedulerApiDto, checked; ``cron`` is read from the frequency."""

    workflow_id: uuid.UUID
    is_scheduled: bool
    schedule_frequency: str | None
    """The JSON-encoded string as sent, stored verbatim."""
    cron: str | None

    @classmethod
    def parse(cls, body: object) -> Self:
        fields = _Fields(body, "UpdateWorkfowSchedulerApiDto")
        workflow_id = fields.guid("workflowId")
        is_scheduled = fields.required("isScheduled", bool)
        frequency = fields.optional("scheduleFrequency", str)
        cron = (
            None
            if frequency is None
            else cron_of(frequency, "UpdateWorkfowSchedulerApiDto.scheduleFrequency")
        )
        return cls(workflow_id, is_scheduled, frequency, cron)


def cron_of(frequency: str, what: str) -> str:
    """Read the cron expression out of ``frequency``, a JSON-encoded
    ``{"cronSchedule": "..."}``; ``what`` names it in the error."""
    value = parse_json(frequency, what)
    cron = value.get("cronSchedule") if isinstance(value, dict) else None
    if not isinstance(cron, str):
        raise bad_request(f'{what} must be a JSON-encoded {{"cronSchedule": "<quartz cron>"}}')
    return cron
