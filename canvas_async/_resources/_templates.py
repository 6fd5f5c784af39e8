"""Workflow templates: what workflows are created from."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from canvas_async import _operations as op
from canvas_async import _validate, models
from canvas_async._errors import ValidationError
from canvas_async._timeouts import USE_CLIENT_DEFAULT, TimeoutTypes, UseClientDefault

from ._base import Resource, send


class TemplatesAPI(Resource):
    """``view.templates``: templates provided by CMA and by the organization."""

    async def list(
        self, *, timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT
    ) -> list[models.WorkflowTemplate]:
        """Return every template, with its applications and block chain."""
        return await send(self._view, op.LIST_WORKFLOW_TEMPLATES(), timeout)

    async def get(
        self,
        template: str | uuid.UUID,
        *,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
    ) -> models.WorkflowTemplate:
        """Return one template by id or by exact name.

        Raises:
            NotFoundError: No template has that id or name.
            ValidationError: Several templates share that name (use the id).
        """
        if not isinstance(template, uuid.UUID):
            _validate.check_name(template, "template")
        found = matching_templates(await self.list(timeout=timeout), template)
        key = str(template).strip()
        if len(found) > 1:
            ids = ", ".join(str(t.id) for t in found)
            raise ValidationError(f"{len(found)} templates are named {key!r}: {ids}")
        if not found:
            raise op.not_found_error(
                "list_workflow_templates", f"no workflow template {key!r}", self.account_id
            )
        return found[0]


def matching_templates(
    templates: Iterable[models.WorkflowTemplate], ref: str | uuid.UUID
) -> list[models.WorkflowTemplate]:
    """Return the templates ``ref`` names: the one with that id, else those with that exact name.

    One rule for the client (:meth:`TemplatesAPI.get`) and a desired-state file.
    """
    key = str(ref).strip()
    wanted_id = _validate.uuid_or_none(key)
    listed = list(templates)
    by_id = [t for t in listed if t.id == wanted_id]
    return by_id[:1] or [t for t in listed if t.name == key]
