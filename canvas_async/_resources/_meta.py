"""The self-describing operations: GetMetaData and Describe (no auth)."""

from __future__ import annotations

import asyncio

from canvas_async import _catalogue, models
from canvas_async import _operations as op
from canvas_async._errors import NotFoundError
from canvas_async._timeouts import USE_CLIENT_DEFAULT, TimeoutTypes, UseClientDefault

from ._base import Resource, send


class MetaAPI(Resource):
    """``canvas.meta``: what the server says about its own API."""

    async def endpoints(
        self, *, timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT
    ) -> list[models.EndpointInfo]:
        """Return every operation the server lists (``GetMetaData``)."""
        return await send(self._view, op.GET_METADATA(), timeout)

    async def describe(
        self, name: str, *, timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT
    ) -> list[models.PropertyInfo]:
        """Return the properties of the DTO ``name``, e.g. ``"AddWorkflowApiDto"``."""
        return await send(self._view, op.DESCRIBE(name), timeout)

    async def check(
        self, *, timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT
    ) -> _catalogue.DriftReport:
        """Compare the server's own catalogue with what this SDK sends.

        Reads GetMetaData (operations, verbs, parameters) and Describe (each
        request body's fields and required flags) and returns every
        difference, each marked breaking or not: a missing operation, another
        verb, a renamed parameter, a new required field break calls; an extra
        operation or optional field does not. See ``canvas-async doctor``.
        """
        endpoints = await self.endpoints(timeout=timeout)
        names = _catalogue.dtos_to_describe(endpoints)
        answers = await asyncio.gather(
            *(self._describe_or_none(server, timeout) for server in names.values())
        )
        described = dict(zip(names, answers, strict=True))
        token_mode = self._view._client.auth_mode == "token"
        return _catalogue.check(endpoints, described, token_mode=token_mode)

    async def _describe_or_none(
        self, name: str, timeout: TimeoutTypes | UseClientDefault
    ) -> list[models.PropertyInfo] | None:
        try:
            return await self.describe(name, timeout=timeout)
        except NotFoundError:
            return None
