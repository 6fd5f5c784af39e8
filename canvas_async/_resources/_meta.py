"""The self-describing operations: GetMetaData and Describe (no auth)."""

from __future__ import annotations

from canvas_async import _operations as op
from canvas_async import models
from canvas_async._timeouts import USE_CLIENT_DEFAULT, TimeoutTypes, UseClientDefault

from ._base import Resource


class MetaAPI(Resource):
    """``canvas.meta``: what the server says about its own API."""

    async def endpoints(
        self, *, timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT
    ) -> list[models.EndpointInfo]:
        """Return every operation the server lists (``GetMetaData``)."""
        return await self._send(op.GET_METADATA(), timeout)

    async def describe(
        self, name: str, *, timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT
    ) -> list[models.PropertyInfo]:
        """Return the properties of the DTO ``name``, e.g. ``"AddWorkflowApiDto"``."""
        return await self._send(op.DESCRIBE(name), timeout)
