"""Workflow templates: what workflows are created from."""

from __future__ import annotations

import uuid

from canvas_async import _operations as op
from canvas_async import _validate, models
from canvas_async._errors import ValidationError
from canvas_async._timeouts import USE_CLIENT_DEFAULT, TimeoutTypes, UseClientDefault

from ._base import Resource


class TemplatesAPI(Resource):
    """``view.templates``: templates provided by CMA and by the organization."""

    async def list(
        self, *, timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT
    ) -> list[models.WorkflowTemplate]:
        """Return every template, with its applications and block chain."""
        return await self._send(op.LIST_WORKFLOW_TEMPLATES(), timeout)

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
        key = str(template).strip()
        try:
            wanted_id: uuid.UUID | None = uuid.UUID(key)
        except ValueError:
            wanted_id = None
        templates = await self.list(timeout=timeout)
        by_id = [t for t in templates if t.id == wanted_id]
        if by_id:
            return by_id[0]
        named = [t for t in templates if t.name == key]
        if len(named) > 1:
            ids = ", ".join(str(t.id) for t in named)
            raise ValidationError(f"{len(named)} templates are named {key!r}: {ids}")
        if not named:
            raise op.not_found_error(
                "list_workflow_templates", f"no workflow template {key!r}", self.account_id
            )
        return named[0]
