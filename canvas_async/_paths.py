"""Where each operation is sent: the route table, the server's catalogue, or a pinned path.

The documented route table names Accounts ``/Accounts``; seed 000's revision
lists it as ``Clients`` (spec: "Where the documentation disagrees with
itself"). So, unless told otherwise, a client reads the server's GetMetaData
once, the first time it sends an operation the catalogue may place elsewhere,
and sends each operation where the server lists it. When the catalogue cannot
be read, the route table's paths are used. Paths the caller pins win.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Final

import attrs
import yarl

from . import _catalogue, _routes
from ._errors import CanvasError, ValidationError
from .models import EndpointInfo

logger: Final = logging.getLogger("canvas_async")

ReadCatalogue = Callable[[], Awaitable[Sequence[EndpointInfo]]]


def check_path(path: object, what: str) -> str:
    """Return ``path`` if it is a path under the base URL (``/Name``), else raise.

    Raises:
        ValidationError: Not a string starting with ``/``, or one carrying a
            query, a fragment, a scheme or ``..`` (the keys must not travel
            elsewhere).
    """
    if not isinstance(path, str) or not path.startswith("/") or path.startswith("//"):
        raise ValidationError(f"{what} must be a path starting with '/', e.g. '/Workflows'")
    if any(part in path for part in ("?", "#", "://")) or ".." in path.split("/"):
        raise ValidationError(
            f"{what} must be a plain path: pass query parameters as params, not in the path"
        )
    return path


def check_pinned(paths: Mapping[str, str] | None) -> Mapping[str, str]:
    """Return the pinned paths, checked: route keys of the table to paths."""
    if paths is None:
        return {}
    if not isinstance(paths, Mapping):
        raise ValidationError("paths must map route keys (e.g. 'list_accounts') to paths")
    unknown = sorted(str(key) for key in paths if key not in _routes.ROUTES)
    if unknown:
        raise ValidationError(f"paths names no such operation: {', '.join(unknown)}")
    return {key: check_path(path, f"paths[{key!r}]") for key, path in paths.items()}


@attrs.define
class Paths:
    """The URL of every operation of one client.

    Args:
        base_url: The API's base URL (``.../api``).
        pinned: Route key -> path, used whatever the catalogue says.
        follow_catalogue: Read GetMetaData (once) to place operations the
            server may list under another name; False keeps the route table.
    """

    base_url: yarl.URL
    pinned: Mapping[str, str]
    follow_catalogue: bool
    _urls: dict[str, yarl.URL] = attrs.field(init=False, factory=dict, repr=False)
    # Held while the catalogue is read: callers arriving meanwhile wait for it.
    _reading: asyncio.Lock = attrs.field(init=False, factory=asyncio.Lock, repr=False)
    _final: bool = attrs.field(init=False)
    """True once no operation's URL can change any more."""

    def __attrs_post_init__(self) -> None:
        self._place({route.key: route.path for route in _routes.ROUTES.values()})
        # Only operations with more than one known name can move.
        movable = set(_routes.OPERATION_NAMES) - set(self.pinned)
        self._final = not self.follow_catalogue or not movable

    def placed(self, key: str) -> yarl.URL | None:
        """Return the URL of the route ``key``, or None while the catalogue
        must be read first (see :meth:`read_catalogue`)."""
        if not self._final and key in _routes.OPERATION_NAMES:
            return None
        return self._urls[key]

    async def read_catalogue(self, key: str, read: ReadCatalogue) -> yarl.URL:
        """Read the catalogue with ``read`` (once, however many ask at once), place
        every operation where it lists it, and return the URL of the route ``key``.

        If the catalogue cannot be read, the table's paths stay.
        """
        async with self._reading:
            if not self._final:
                try:
                    endpoints = await read()
                except CanvasError as error:
                    logger.debug("GetMetaData unavailable (%s); using the table's paths", error)
                else:
                    self._place(_catalogue.choose_paths(endpoints))
                self._final = True
        return self._urls[key]

    def _place(self, paths: Mapping[str, str]) -> None:
        for key, path in {**paths, **self.pinned}.items():
            self._urls[key] = self.join(path)

    def join(self, path: str) -> yarl.URL:
        """Return the URL of ``path`` (``/Name``) under the base URL."""
        base = self.base_url.path.rstrip("/")
        return self.base_url.with_path(base + path)


_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def custom_route(method: object, path: object) -> _routes.Route:
    """Return a route for a request outside the table (``Canvas.request``).

    It carries the session's credentials, and is retried after an ambiguous
    failure only for an idempotent verb (:data:`~._routes.IDEMPOTENT_METHODS`).

    Raises:
        ValidationError: An unknown verb or a path that is not ``/Name``.
    """
    if not isinstance(method, str) or method.strip().upper() not in _METHODS:
        raise ValidationError(f"method must be one of {', '.join(sorted(_METHODS))}")
    verb = method.strip().upper()
    path = check_path(path, "path")
    return _routes.Route(
        key=f"{verb} {path}",
        operation=path.lstrip("/"),
        method=verb,
        path=path,
        auth=_routes.Auth.SESSION,
        idempotent=verb in _routes.IDEMPOTENT_METHODS,
        label=f"{verb} {path}",
    )


def check_params(params: object) -> Mapping[str, str] | None:
    """Return query parameters if they map names to strings, else raise ``ValidationError``."""
    if params is None:
        return None
    if not isinstance(params, Mapping) or not all(
        isinstance(name, str) and isinstance(value, str) for name, value in params.items()
    ):
        raise ValidationError("params must map parameter names to strings")
    return params
