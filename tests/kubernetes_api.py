"""A stand-in for the Kubernetes API server's Lease endpoints, on 127.0.0.1 port 0.

It keeps the documented contract of ``coordination.k8s.io/v1`` Leases that
a client of them relies on: ``GET``/``POST``/``PUT``/``DELETE`` on
``/apis/coordination.k8s.io/v1/namespaces/{ns}/leases[/{name}]``; every
write bumps ``metadata.resourceVersion``; a ``PUT`` (or a ``DELETE`` with a
``preconditions.resourceVersion``) naming another version is ``409
Conflict``; a ``POST`` of an existing name is ``409 AlreadyExists``; a
missing Lease is ``404 NotFound``; a request without the bearer token is
``401``; a malformed Lease is ``422 Invalid`` (annotations are strings,
``leaseDurationSeconds`` an integer, times MicroTime). Errors are ``Status``
objects.

``down`` makes every request answer ``503`` (an API server that cannot be
reached); ``log`` records what was asked::

    async with KubernetesStandIn() as api:
        path = api.kubeconfig(tmp_path / "kubeconfig", namespace="jobs")
        lease = KubernetesLease(claim, kubeconfig=str(path))
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import time
import types
import uuid
from pathlib import Path
from typing import Any, Final

import attrs
from aiohttp import web

from tests.leak_check import register_secret

PREFIX: Final = "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"
#: What the server keeps of a stored Lease whatever a PUT says.
_SERVER_FIELDS: Final = ("namespace", "uid", "creationTimestamp")
_MICRO_TIME: Final = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


def _new_token() -> str:
    return register_secret(f"k8s-token-{uuid.uuid4().hex}")


@attrs.frozen
class Asked:
    """One request the stand-in answered."""

    time: float
    method: str
    namespace: str
    name: str | None
    status: int


@attrs.define
class KubernetesStandIn:
    """The Lease endpoints; ``async with`` serves them; ``leases`` holds the objects.

    Attributes:
        token: The bearer token it accepts (leak-checked).
        leases: ``(namespace, name) -> Lease`` as stored.
        log: Every request answered.
        tokens: The tokens it accepts (``token`` and those of :meth:`another_client`).
        down: When true, every request answers 503.
        cut_off: Tokens whose requests answer 503 (a machine cut off from the API).
        ssl_context: Serve HTTPS with it (as an API server does); plain HTTP when None.
        reads_together: Hold the first this many GETs of an object until all
            have arrived, then answer them alike: their writes then conflict,
            however the machine schedules them.
    """

    token: str = attrs.field(factory=_new_token, repr=False)
    leases: dict[tuple[str, str], dict[str, Any]] = attrs.field(factory=dict)
    log: list[Asked] = attrs.field(factory=list)
    tokens: set[str] = attrs.field(factory=set, repr=False)
    down: bool = False
    cut_off: set[str] = attrs.field(factory=set, repr=False)
    url: str = ""
    ssl_context: ssl.SSLContext | None = None
    reads_together: int = 0
    _version: int = 100
    _reads: int = 0
    _all_read: asyncio.Event = attrs.field(factory=asyncio.Event)
    _runner: web.AppRunner | None = None

    def __attrs_post_init__(self) -> None:
        self.tokens.add(self.token)

    async def __aenter__(self) -> KubernetesStandIn:
        app = web.Application(middlewares=[self._logged])
        app.router.add_route("*", PREFIX, self._collection)
        app.router.add_route("*", PREFIX + "/{name}", self._object)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self.ssl_context)
        await site.start()
        scheme = "http" if self.ssl_context is None else "https"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        return self

    @property
    def port(self) -> int:
        """The port it listens on."""
        assert self._runner is not None
        port: int = self._runner.addresses[0][1]
        return port

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def kubeconfig(
        self, path: Path, *, namespace: str | None = "default", token: str | None = None
    ) -> Path:
        """Write a kubeconfig (JSON, which is YAML) that points at the stand-in; return it.

        Args:
            path: Where.
            namespace: The context's namespace (None: none).
            token: The user's token (default: :attr:`token`).
        """
        context: dict[str, Any] = {"cluster": "stand-in", "user": "runner"}
        if namespace is not None:
            context["namespace"] = namespace
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "stand-in", "cluster": {"server": self.url}}],
            "users": [{"name": "runner", "user": {"token": token or self.token}}],
            "contexts": [{"name": "stand-in", "context": context}],
            "current-context": "stand-in",
        }
        path.write_text(json.dumps(config), encoding="utf-8")
        return path

    def another_client(self) -> str:
        """Accept one more token (another machine's ServiceAccount); return it."""
        token = _new_token()
        self.tokens.add(token)
        return token

    def lease(self, name: str, namespace: str = "default") -> dict[str, Any] | None:
        """The stored Lease, or None."""
        return self.leases.get((namespace, name))

    def members(self, name: str, namespace: str = "default") -> dict[str, Any]:
        """The ``canvas-async/members`` annotation of a stored Lease, read."""
        lease = self.lease(name, namespace) or {}
        text = lease.get("metadata", {}).get("annotations", {}).get("canvas-async/members")
        value: dict[str, Any] = json.loads(text or "{}")
        return value

    # -- serving ------------------------------------------------------------------

    @web.middleware
    async def _logged(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            token = request.headers.get("Authorization", "").removeprefix("Bearer ")
            if self.down or token in self.cut_off:
                response: web.StreamResponse = _status(503, "ServiceUnavailable", "down")
            elif token not in self.tokens:
                response = _status(401, "Unauthorized", "Unauthorized")
            else:
                response = await handler(request)
        except web.HTTPException as exc:
            response = exc
        self.log.append(
            Asked(
                time.monotonic(),
                request.method,
                request.match_info.get("namespace", ""),
                request.match_info.get("name"),
                response.status,
            )
        )
        if isinstance(response, web.HTTPException):
            raise response
        return response

    async def _collection(self, request: web.Request) -> web.Response:
        namespace = request.match_info["namespace"]
        if request.method == "GET":
            items = [v for (ns, _), v in sorted(self.leases.items()) if ns == namespace]
            return web.json_response(
                {"kind": "LeaseList", "apiVersion": "coordination.k8s.io/v1", "items": items}
            )
        if request.method != "POST":
            return _status(405, "MethodNotAllowed", "method not allowed")
        body = await _body(request)
        if isinstance(body, web.Response):
            return body
        name = body.get("metadata", {}).get("name")
        invalid = _invalid(body, name)
        if invalid:
            return invalid
        if (namespace, name) in self.leases:
            return _status(
                409, "AlreadyExists", f'leases.coordination.k8s.io "{name}" already exists'
            )
        body["metadata"] = {
            **body["metadata"],
            "namespace": namespace,
            "uid": str(uuid.uuid4()),
            "resourceVersion": self._bump(),
            "creationTimestamp": "2026-01-01T00:00:00Z",
        }
        self.leases[namespace, name] = body
        return web.json_response(body, status=201)

    async def _object(self, request: web.Request) -> web.Response:
        key = (request.match_info["namespace"], request.match_info["name"])
        name = key[1]
        stored = self.leases.get(key)
        missing = _status(404, "NotFound", f'leases.coordination.k8s.io "{name}" not found')
        if request.method == "GET":
            if self._reads < self.reads_together:
                self._reads += 1
                if self._reads == self.reads_together:
                    self._all_read.set()
                await self._all_read.wait()
                stored = self.leases.get(key)
            return missing if stored is None else web.json_response(stored)
        if request.method == "PUT":
            body = await _body(request)
            if isinstance(body, web.Response):
                return body
            invalid = _invalid(body, name)
            if invalid:
                return invalid
            if stored is None:
                return missing
            version = body["metadata"].get("resourceVersion")
            if version and version != stored["metadata"]["resourceVersion"]:
                return _conflict(name)
            metadata = {
                **body["metadata"],
                **{k: v for k, v in stored["metadata"].items() if k in _SERVER_FIELDS},
                "resourceVersion": self._bump(),
            }
            self.leases[key] = {**body, "metadata": metadata}
            return web.json_response(self.leases[key])
        if request.method == "DELETE":
            options = await _body(request) if request.can_read_body else {}
            if isinstance(options, web.Response):
                return options
            if stored is None:
                return missing
            version = (options.get("preconditions") or {}).get("resourceVersion")
            if version and version != stored["metadata"]["resourceVersion"]:
                return _conflict(name)
            del self.leases[key]
            return web.json_response({"kind": "Status", "status": "Success", "code": 200})
        return _status(405, "MethodNotAllowed", "method not allowed")

    def _bump(self) -> str:
        self._version += 1
        return str(self._version)


def _status(code: int, reason: str, message: str) -> web.Response:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    return web.json_response(body, status=code)


def _conflict(name: str) -> web.Response:
    return _status(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on leases.coordination.k8s.io "{name}": the object '
        "has been modified; please apply your changes to the latest version and try again",
    )


async def _body(request: web.Request) -> dict[str, Any] | web.Response:
    try:
        body = await request.json()
    except ValueError:
        return _status(400, "BadRequest", "the body is not JSON")
    if not isinstance(body, dict) or not isinstance(body.get("metadata", {}), dict):
        return _status(400, "BadRequest", "the body is not an object")
    body.setdefault("metadata", {})
    return body


def _invalid(body: dict[str, Any], name: object) -> web.Response | None:
    """A 422 for what the API server's validation refuses in a Lease; None when valid."""
    problems = []
    if body.get("kind", "Lease") != "Lease":
        problems.append("kind: must be Lease")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", name):
        problems.append("metadata.name: a DNS subdomain")
    elif body["metadata"].get("name") != name:
        problems.append("metadata.name: does not match the URL")
    annotations = body["metadata"].get("annotations") or {}
    if not all(isinstance(v, str) for v in annotations.values()):
        problems.append("metadata.annotations: values are strings")
    spec = body.get("spec") or {}
    for field in ("leaseDurationSeconds", "leaseTransitions"):
        if field in spec and (type(spec[field]) is not int or spec[field] < 0):
            problems.append(f"spec.{field}: a non-negative integer")
    for field in ("acquireTime", "renewTime"):
        if spec.get(field) is not None and not _MICRO_TIME.fullmatch(str(spec[field])):
            problems.append(f"spec.{field}: a MicroTime")
    if "holderIdentity" in spec and not isinstance(spec["holderIdentity"], str | types.NoneType):
        problems.append("spec.holderIdentity: a string")
    if problems:
        return _status(422, "Invalid", f"Lease.coordination.k8s.io is invalid: {problems}")
    return None
