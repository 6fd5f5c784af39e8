"""Models built by hand for the plan tests, with every field the API sends."""

from __future__ import annotations

import uuid
from typing import Any

from canvas_async.models import (
    Application,
    Block,
    CredentialField,
    RegApplication,
    Workflow,
    WorkflowTemplate,
)

ORG = uuid.UUID(int=7)


def application(
    short_name: str, app_id: uuid.UUID, fields: tuple[CredentialField, ...]
) -> Application:
    return Application(
        id=app_id,
        name=short_name.title(),
        short_name=short_name,
        description=None,
        vendor_url=None,
        credential_fields=fields,
        credentials_json={f.short_name: None for f in fields},
        tag=None,
        session_time_mins=0,
        session_sliding_expiry=False,
    )


def template(
    template_id: uuid.UUID, name: str, applications: tuple[str, ...], chain: tuple[Block, ...]
) -> WorkflowTemplate:
    return WorkflowTemplate(
        id=template_id,
        name=name,
        description=name,
        date_created=None,
        date_modified=None,
        state="Published",
        version="0.1.7",
        draft_is_committed=False,
        date_committed=None,
        organization_id=None,
        applications=applications,
        chain=chain,
    )


def block(block_id: uuid.UUID, name: str, variables: dict[str, Any]) -> Block:
    return Block(unique_block_id=block_id, block_name=name, variables=variables)


def registration(app: Application, tag: str, account_id: uuid.UUID) -> RegApplication:
    return RegApplication(
        id=uuid.uuid4(),
        short_name=app.short_name,
        account_id=account_id,
        application_id=app.id,
        name=app.name,
        tag_text=tag,
        description=None,
        is_authenticated=True,
        is_o_auth_app=False,
        date_modified=None,
        date_time_utc_authenticated=None,
        date_time_for_re_auth=None,
        session_time_mins=0,
        session_sliding_expiry=False,
        faulted=False,
    )


def workflow(
    name: str,
    account_id: uuid.UUID,
    *,
    description: str | None = None,
    template_id: uuid.UUID | None = None,
    reg_ids: tuple[uuid.UUID, ...] = (),
    cron: str | None = None,
    is_scheduled: bool = False,
    workflow_id: uuid.UUID | None = None,
) -> Workflow:
    return Workflow(
        id=workflow_id or uuid.uuid4(),
        name=name,
        description=description,
        status="Ready",
        is_scheduled=is_scheduled,
        cron=cron,
        workflow_template_id=template_id,
        is_customized_structure=False,
        account_id=account_id,
        organization_id=ORG,
        date_created=None,
        date_modified=None,
        date_last_run=None,
        date_next_schedule=None,
        reg_application_ids=reg_ids,
        current_block=0,
    )
