"""The self-describing operations: GetMetaData and Describe (no auth)."""

from __future__ import annotations

from canvas_async import _validate, models
from canvas_async._timeouts import USE_CLIENT_DEFAULT, TimeoutTypes, UseClientDefault

from ._base import Resource


class MetaAPI(Resource):
    """``canvas.meta``: what the server says about its own API."""

    async def endpoints(
        self, *, timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT
    ) -> list[models.EndpointInfo]:
        """Return every operation the server lists (``GetMetaData``)."""
        return await self._call("get_metadata", self._models(models.EndpointInfo), timeout=timeout)

    async def describe(
        self, name: str, *, timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT
    ) -> list[models.PropertyInfo]:
        """Return the properties of the DTO ``name``, e.g. ``"AddWorkflowApiDto"``."""
        _validate.check_name(name, "name")
        return await self._call(
            "describe",
            self._models(models.PropertyInfo),
            params={"name": name.strip()},
            timeout=timeout,
        )
