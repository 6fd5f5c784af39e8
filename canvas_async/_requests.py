"""Request bodies (the API's ``...ApiDto`` shapes) as frozen attrs classes.

Built by the resource APIs after validation and turned into JSON by the
converter; a field left at ``None`` is not sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import attrs


@attrs.frozen
class NewAccount:
    """AddAccountApiDto."""

    first_name: str
    last_name: str
    email: str
    role_name: str
    phone: str | None = None
    country_key: str | None = None
    global_notifications: bool | None = None
    default_notification_email: str | None = None
    activated: bool | None = None


@attrs.frozen
class NewRegApplication:
    """AddRegApplicationApiDto; ``credentials`` goes out as ``credentialsJson``,
    a JSON-encoded string."""

    application_id: uuid.UUID
    tag_text: str
    credentials: Mapping[str, object] = attrs.field(repr=False)


@attrs.frozen
class ChainOverride:
    """One entry of AddWorkflowApiDto's ``chain``."""

    unique_block_id: uuid.UUID
    variables: Mapping[str, Any]


@attrs.frozen
class NewWorkflow:
    """AddWorkflowApiDto."""

    workflow_template_id: uuid.UUID
    applications: Mapping[str, uuid.UUID]
    name: str | None = None
    description: str | None = None
    chain: tuple[ChainOverride, ...] | None = None


@attrs.frozen
class RunMetadata:
    """RunMetadataApiDto; block numbers are 1-based and optional."""

    workflow_id: uuid.UUID
    run_from_block: int | None = None
    run_till_block: int | None = None


@attrs.frozen
class SchedulerUpdate:
    """UpdateWorkfowSchedulerApiDto (sic); ``cron`` goes out as
    ``scheduleFrequency``, a JSON-encoded ``{"cronSchedule": ...}``."""

    workflow_id: uuid.UUID
    is_scheduled: bool
    cron: str | None = None
