"""The organization's lease in Kubernetes: a ``coordination.k8s.io/v1`` Lease
(``pip install 'canvas-async[kubernetes]'``).

The pods of an Indexed Job are separate machines: a lock file in one pod's
temporary directory does not keep a second pod of the same index (a node
that stopped answering, a forced delete, a Job made by hand from the CronJob)
from converging the same accounts. :class:`KubernetesLease` holds the
organization in the cluster instead::

    lease = KubernetesLease(Claim(canvas.organization, state.digest, Shard(2, 8)))
    with watchdog():  # the process is yours: see provision.lease.watchdog
        async with holding(lease), guarded_session(lease) as session:
            ...  # Canvas(..., session=session, timeout=fenced_timeout(lease))

One Lease object per organization, ``canvas-async-<organization>``, in the
pod's own namespace (or the one given). Several shards of one split hold it
together: ``spec.holderIdentity`` is the split (:attr:`Claim.split`), and the
annotation ``canvas-async/members`` maps each shard index that holds it to
its holder and a renewal counter. Every change is a ``PUT`` carrying the
``resourceVersion`` that was read, so two writers never both succeed: the
loser's ``409 Conflict`` makes it read again.

Expiry follows client-go's leader election, so no two clocks need agree: a
member (or a Lease some other program holds) has expired once *this reader*
has seen it unchanged for its duration on its own monotonic clock. A new
holder writes itself in only then. A holder renews every third of the
duration, counts only renewals the API server confirmed, from the moment each
was sent, and stops sending once the newest is older than the duration less
a margin (:class:`~canvas_async.provision.lease.Fence`); every request it
sends times out within that margin. client-go's leader election does not
fence its holders; this lease does, on the client's side: what it cannot stop
is a request already sent that the server finishes late (see
:mod:`canvas_async.provision.lease`).

The client is ``kubernetes_asyncio``: on aiohttp like the rest of the
package, generated from the Kubernetes API for each release, and it reads a
kubeconfig (``KUBECONFIG`` with exec, OIDC and certificate users) or the
pod's ServiceAccount (its token re-read as the kubelet rotates it). The
ServiceAccount needs ``get``, ``create``, ``update`` and ``delete`` on
``leases`` in the namespace (``examples/k8s/rbac.yaml``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import logging
import math
import os
import re
import socket
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal

import aiohttp
import attrs

from canvas_async._errors import MAX_MESSAGE_CHARS, ValidationError
from canvas_async._retry import Failure, transient
from canvas_async._text import server_text
from canvas_async.provision.lease import (
    Claim,
    Fence,
    LeaseError,
    LeaseHeldError,
    LeaseLostError,
)

try:
    from kubernetes_asyncio import client as k8s_client
    from kubernetes_asyncio import config as k8s_config
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "canvas_async.contrib.kubernetes needs kubernetes_asyncio: "
        "pip install 'canvas-async[kubernetes]'",
        name=error.name,
    ) from error

__all__ = [
    "DEFAULT_DURATION",
    "MEMBERS_ANNOTATION",
    "NAME_PREFIX",
    "SPLIT_ANNOTATION",
    "KubernetesLease",
    "lease_name",
]

logger: Final = logging.getLogger("canvas_async")

#: Seconds a Lease lasts without a renewal, unless told otherwise (client-go's
#: leader election uses 15; a run may be far from the API server, so more).
DEFAULT_DURATION: Final = 30.0
#: The Lease object of an organization is this and the organization's key.
NAME_PREFIX: Final = "canvas-async-"
#: JSON: shard index -> {holder, renewals, duration} of the runs that hold the Lease.
MEMBERS_ANNOTATION: Final = "canvas-async/members"
#: JSON: the file hash and shard count of the split that holds the Lease.
SPLIT_ANNOTATION: Final = "canvas-async/split"
#: Where a pod finds its namespace (and its token, which the client reads).
SERVICE_ACCOUNT: Final = Path("/var/run/secrets/kubernetes.io/serviceaccount")
#: Writes tried in a row when each finds the Lease changed since it was read.
MAX_CONFLICTS: Final = 20

#: The key of a holder written by another program (no members annotation).
_WHOLE: Final = "*"
#: A namespace's name: an RFC 1123 label.
_NAMESPACE: Final = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


class _Unavailable(LeaseError):
    """The API server could not be reached or answered a transient error: try again."""


def lease_name(organization: str) -> str:
    """Name the Lease object of ``organization`` (a :class:`Claim`'s organization key)."""
    return NAME_PREFIX + organization.lower()


@attrs.frozen
class _Member:
    """One holder of the Lease, as its object says: the value a reader watches for change."""

    holder: str
    renewals: str
    duration: float


def _annotations(lease: Mapping[str, Any]) -> dict[str, str]:
    annotations = (lease.get("metadata") or {}).get("annotations") or {}
    return dict(annotations) if isinstance(annotations, dict) else {}


def _spec(lease: Mapping[str, Any]) -> dict[str, Any]:
    spec = lease.get("spec") or {}
    return dict(spec) if isinstance(spec, dict) else {}


def _members(lease: Mapping[str, Any]) -> dict[str, _Member]:
    """Who holds ``lease`` now, by shard index; ``{"*": ...}`` for a holder we cannot read.

    A Lease held by some other program (or whose annotation was edited
    beyond reading) is one holder, watched as client-go watches it: by its
    ``resourceVersion`` and ``spec.leaseDurationSeconds``.
    """
    spec = _spec(lease)
    holder = spec.get("holderIdentity")
    text = _annotations(lease).get(MEMBERS_ANNOTATION)
    members: dict[str, _Member] = {}
    try:
        for index, entry in json.loads(text or "{}").items():
            members[str(int(index))] = _Member(
                str(entry["holder"]), str(int(entry["renewals"])), float(entry["duration"])
            )
    except (TypeError, ValueError, KeyError, AttributeError):
        members = {}
        text = None
    if text is None and holder:
        duration = spec.get("leaseDurationSeconds")
        version = str((lease.get("metadata") or {}).get("resourceVersion"))
        seconds = float(duration) if isinstance(duration, int | float) else DEFAULT_DURATION
        members = {_WHOLE: _Member(str(holder), version, seconds)}
    return members


def _micro_time() -> str:
    """Now, as a Lease's ``renewTime`` (a MicroTime: RFC 3339 with microseconds)."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _LeaseApi:
    """The Lease calls, as JSON objects; None where the server says "changed, read again"."""

    def __init__(self, api_client: Any, namespace: str, timeout: float) -> None:
        self._client = api_client
        self._api: Any = k8s_client.CoordinationV1Api(api_client)
        self._namespace = namespace
        self._timeout = timeout

    async def close(self) -> None:
        await self._client.close()

    async def call(
        self, verb: Literal["read", "create", "update", "delete"], **kwargs: Any
    ) -> dict[str, Any] | None:
        """``read``, ``create``, ``update`` or ``delete`` the Lease (its ``name`` and ``body``).

        Returns:
            The Lease; None when there is none (read), one of that name exists
            already (create), or it changed since the ``resourceVersion`` the
            ``body`` carries (update, delete).
        """
        call = {
            "read": self._api.read_namespaced_lease,
            "create": self._api.create_namespaced_lease,
            "update": self._api.replace_namespaced_lease,
            "delete": self._api.delete_namespaced_lease,
        }[verb]
        try:
            response = await call(
                namespace=self._namespace,
                **kwargs,
                _preload_content=False,
                _request_timeout=self._timeout,
            )
            async with response:
                status = response.status
                text = await response.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _Unavailable(
                f"the Kubernetes API did not answer ({verb} lease): {type(exc).__name__}"
            ) from None
        try:
            body = json.loads(text) if text else {}
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if 200 <= status < 300:
            return body
        if status == 409 or (status == 404 and verb != "create"):
            return None  # changed or gone since read (or exists, for create): read again
        said = server_text(str(body.get("message") or ""), MAX_MESSAGE_CHARS)
        if status in (401, 403):
            raise LeaseError(
                f"the Kubernetes API refused to {verb} the lease in namespace "
                f"{self._namespace} ({status}): {said} (the ServiceAccount needs get, create, "
                "update and delete on leases.coordination.k8s.io there: see examples/k8s)"
            )
        if transient(Failure.answer(status)):
            raise _Unavailable(f"the Kubernetes API answered {status} ({verb} lease): {said}")
        raise LeaseError(f"the Kubernetes API refused to {verb} the lease ({status}): {said}")


def _config_file(kubeconfig: str | None, environ: Mapping[str, str]) -> str | None:
    """Return the kubeconfig to read, or None for the pod's ServiceAccount.

    ``kubeconfig``, else ``$KUBECONFIG``, else the ServiceAccount inside a pod,
    else ``~/.kube/config``.

    Raises:
        ValidationError: None of these is there.
    """
    if kubeconfig:
        return kubeconfig
    if environ.get("KUBECONFIG"):
        return environ["KUBECONFIG"]
    if environ.get("KUBERNETES_SERVICE_HOST") and (SERVICE_ACCOUNT / "token").is_file():
        return None
    default = Path(environ.get("HOME", "~")).expanduser() / ".kube" / "config"
    if default.is_file():
        return str(default)
    raise ValidationError(
        "no Kubernetes configuration: run in a pod with a ServiceAccount token mounted "
        "(automountServiceAccountToken), or set KUBECONFIG"
    )


def _namespace_of(config_file: str | None) -> str:
    """The pod's namespace, or the kubeconfig's current context's; else ``default``."""
    if config_file is None:
        with contextlib.suppress(OSError):
            return (SERVICE_ACCOUNT / "namespace").read_text(encoding="utf-8").strip() or "default"
        return "default"
    try:
        _, current = k8s_config.list_kube_config_contexts(config_file)
    except (OSError, ValueError, k8s_config.ConfigException) as exc:
        raise ValidationError(f"cannot read the kubeconfig {config_file}: {exc}") from None
    namespace = ((current or {}).get("context") or {}).get("namespace")
    return str(namespace) if namespace else "default"


def _owner() -> str:
    # In a pod the host name is the pod's name; the pid and a token tell two
    # holders of one pod (or one pod name reused) apart.
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@attrs.define
class KubernetesLease:
    """The organization's lease as a Kubernetes Lease object, shared by the shards of a split.

    Implements :class:`~canvas_async.provision.lease.Lease`.

    Args:
        claim: What the run converges.
        namespace: Where the Lease lives (default: the pod's namespace, else
            the kubeconfig context's, else ``default``).
        duration: Seconds the Lease lasts without a renewal (at least 1);
            another run of the organization may start that long after this
            one stops renewing, and waits that long for a holder that died.
        margin: Seconds before that at which this run stops sending, and the
            longest any request it sends may take (default: a third of
            ``duration``; 0 < margin < duration).
        kubeconfig: A kubeconfig file (default: ``$KUBECONFIG``, else the
            pod's ServiceAccount, else ``~/.kube/config``).
        owner: Who holds it, as the Lease and messages say (default
            ``<host>:<pid>:<token>``; in a pod the host is the pod's name).

    Raises:
        ValidationError: A bad duration or margin, or no configuration to
            reach the cluster with (before anything is sent).
    """

    claim: Claim
    namespace: str | None = None
    duration: float = DEFAULT_DURATION
    margin: float | None = None
    kubeconfig: str | None = None
    owner: str = attrs.field(factory=_owner)

    _config_file: str | None = attrs.field(init=False, repr=False)
    _fence: Fence = attrs.field(init=False, repr=False)
    #: When this reader first saw each holder's current value (client-go's ``observedTime``).
    _seen: dict[str, tuple[_Member, float]] = attrs.field(factory=dict, init=False, repr=False)
    _api: _LeaseApi | None = attrs.field(default=None, init=False, repr=False)
    _last: dict[str, Any] | None = attrs.field(default=None, init=False, repr=False)
    _renewals: int = attrs.field(default=0, init=False, repr=False)
    _lost: str | None = attrs.field(default=None, init=False, repr=False)
    _renewer: asyncio.Task[None] | None = attrs.field(default=None, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if not (isinstance(self.duration, int | float) and math.isfinite(self.duration)):
            raise ValidationError(f"a lease's duration is a number of seconds, not {self.duration}")
        if self.duration < 1:
            raise ValidationError(f"a lease's duration must be at least 1 s, not {self.duration:g}")
        self.duration = float(self.duration)
        if self.margin is None:
            self.margin = self.duration / 3
        self._config_file = _config_file(self.kubeconfig, os.environ)
        if self.namespace is None:
            self.namespace = _namespace_of(self._config_file)
        elif not _NAMESPACE.fullmatch(self.namespace):
            raise ValidationError(
                "a namespace is 1 to 63 lower-case letters, digits or '-', starting and "
                f"ending with a letter or digit, not {self.namespace!r}"
            )
        self._fence = Fence(self.name, self.duration, self.margin)  # checks the margin

    @property
    def name(self) -> str:
        """The lease, as messages name it."""
        return f"the lease of {self.claim} (Kubernetes Lease {self.namespace}/{self.object_name})"

    @property
    def object_name(self) -> str:
        """The Lease object's name: one per organization."""
        return lease_name(self.claim.organization)

    @property
    def request_timeout(self) -> float:
        """The margin: a request sent under the lease ends before the lease can pass."""
        assert self.margin is not None
        return self.margin

    @property
    def held(self) -> bool:
        """Whether this object holds the Lease now (as far as its renewals say)."""
        return self._api is not None and self._lost is None

    @property
    def _index(self) -> str:
        return str(self.claim.shard.index)

    async def acquire(self, *, wait: float | None = None) -> None:
        """Take the lease; wait up to ``wait`` seconds (forever when None, not at all at 0).

        Raises:
            LeaseHeldError: Another run holds it after ``wait``.
            LeaseError: The API server refused (RBAC), or could not be reached
                within ``wait``.
        """
        if self.held:
            return
        await self.release()  # a lease lost and not yet released
        deadline = None if wait is None else time.monotonic() + wait
        api = await self._open()
        poll = min(2.0, max(0.05, self.duration / 10))
        changed = 0
        try:
            while True:
                over = deadline is not None and time.monotonic() >= deadline
                try:
                    outcome = await self._try(api)
                except _Unavailable:
                    if over:
                        raise
                    await asyncio.sleep(poll)
                    continue
                if outcome is True:
                    break
                if outcome is None and changed < MAX_CONFLICTS:
                    changed += 1  # another run wrote it since we read it: read it again now
                    continue
                if over:
                    raise LeaseHeldError(self.name, outcome or None)
                changed = 0
                await asyncio.sleep(poll)
        except BaseException:
            await api.close()
            raise
        self._api, self._lost = api, None
        self._renewer = asyncio.create_task(self._renew_forever(), name=self.name)

    async def _open(self) -> _LeaseApi:
        configuration = k8s_client.Configuration()
        try:
            if self._config_file is None:
                k8s_config.load_incluster_config(  # type: ignore[no-untyped-call]
                    client_configuration=configuration,
                    token_filename=str(SERVICE_ACCOUNT / "token"),
                    cert_filename=str(SERVICE_ACCOUNT / "ca.crt"),
                )
            else:
                await k8s_config.load_kube_config(
                    config_file=self._config_file,
                    client_configuration=configuration,
                    persist_config=False,
                )
        except (OSError, ValueError, k8s_config.ConfigException) as exc:
            where = self._config_file or "the pod's ServiceAccount"
            said = server_text(str(exc), MAX_MESSAGE_CHARS)
            raise LeaseError(
                f"cannot configure the Kubernetes client from {where}: {said}"
            ) from None
        api_client = k8s_client.ApiClient(configuration)
        assert self.namespace is not None
        return _LeaseApi(api_client, self.namespace, self.request_timeout)

    async def _try(self, api: _LeaseApi) -> bool | dict[str, Any] | None:
        """One attempt: True when taken, else who blocks it (None: changed, try again now)."""
        current = await api.call("read", name=self.object_name)
        if current is None:
            sent = time.monotonic()
            made = await api.call("create", body=self._written({}, {}))
            return None if made is None else self._took(made, sent)
        members = _members(current)
        live = self._live(members)
        ours = _spec(current).get("holderIdentity") == self.claim.split and _WHOLE not in members
        blocking = {k: m for k, m in live.items() if not ours or k == self._index}
        if blocking:
            return self._holder(current, *next(iter(blocking.items())))
        keep = live if ours else {}
        sent = time.monotonic()
        written = await api.call("update", name=self.object_name, body=self._written(current, keep))
        return None if written is None else self._took(written, sent)

    def _live(self, members: Mapping[str, _Member]) -> dict[str, _Member]:
        """Return the members this reader has not yet seen unchanged for their duration."""
        now = time.monotonic()
        live = {}
        for key, member in members.items():
            seen = self._seen.get(key)
            if seen is None or seen[0] != member:
                self._seen[key] = (member, now)
                live[key] = member
            elif now - seen[1] < member.duration:
                live[key] = member
        return live

    def _took(self, lease: dict[str, Any], sent: float) -> bool:
        self._last = lease
        self._fence.confirm(sent)
        return True

    def _holder(self, lease: Mapping[str, Any], index: str, member: _Member) -> dict[str, Any]:
        """What a blocking member is, for :class:`LeaseHeldError`."""
        holder: dict[str, Any] = {"owner": member.holder}
        with contextlib.suppress(TypeError, ValueError, KeyError, AttributeError):
            split = json.loads(_annotations(lease).get(SPLIT_ANNOTATION) or "{}")
            if index != _WHOLE:
                holder["shard"] = f"{index}/{int(split['shards'])}"
            holder["file_hash"] = split.get("file_hash")
        return holder

    def _written(self, current: Mapping[str, Any], keep: Mapping[str, _Member]) -> dict[str, Any]:
        """The Lease with this run a member; ``keep``: the other members that stay."""
        metadata = dict(current.get("metadata") or {})
        metadata["name"] = self.object_name
        metadata.setdefault("labels", {"app.kubernetes.io/managed-by": "canvas-async"})
        spec = _spec(current)
        if spec.get("holderIdentity") != self.claim.split or not keep:
            spec["holderIdentity"] = self.claim.split
            spec["acquireTime"] = _micro_time()
            transitions = spec.get("leaseTransitions")
            spec["leaseTransitions"] = (transitions + 1) if isinstance(transitions, int) else 0
        self._renewals = 0
        members = {**keep, self._index: _Member(self.owner, "0", self.duration)}
        return self._with(metadata, spec, members)

    def _with(
        self, metadata: dict[str, Any], spec: dict[str, Any], members: Mapping[str, _Member]
    ) -> dict[str, Any]:
        split = {"file_hash": self.claim.file_hash, "shards": self.claim.shard.count}
        metadata["annotations"] = {
            **dict(metadata.get("annotations") or {}),
            SPLIT_ANNOTATION: json.dumps(split),
            MEMBERS_ANNOTATION: json.dumps(
                {
                    k: {"holder": m.holder, "renewals": int(m.renewals), "duration": m.duration}
                    for k, m in sorted(members.items(), key=lambda i: int(i[0]))
                }
            ),
        }
        spec["leaseDurationSeconds"] = max(
            [math.ceil(m.duration) for m in members.values()], default=1
        )
        spec["renewTime"] = _micro_time()
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": metadata,
            "spec": spec,
        }

    async def _write(self, api: _LeaseApi, *, leave: bool = False) -> dict[str, Any] | None:
        """Count one more renewal of this run in the Lease, or take the run out of it.

        Writes only while the Lease names this run; reads it again when it
        changed since read (another shard renewed). Leaving as its last
        member deletes it.

        Args:
            api: The Kubernetes API.
            leave: Take this run out instead of renewing.

        Returns:
            None once written; else the Lease that no longer names this run
            (empty when there is none).
        """
        current = self._last
        for _ in range(MAX_CONFLICTS):
            if current is None:
                current = await api.call("read", name=self.object_name)
            if current is None:
                return {}
            members = _members(current)
            mine = members.pop(self._index, None)
            if (
                _spec(current).get("holderIdentity") != self.claim.split
                or mine is None
                or mine.holder != self.owner
            ):
                return current
            metadata = dict(current.get("metadata") or {})
            if not leave:
                members[self._index] = _Member(self.owner, str(self._renewals + 1), self.duration)
            if not members:
                version = {"resourceVersion": str(metadata.get("resourceVersion"))}
                deleted = await api.call(
                    "delete", name=self.object_name, body={"preconditions": version}
                )
                if deleted is not None:
                    return None
            else:
                body = self._with(metadata, _spec(current), members)
                sent = time.monotonic()
                written = await api.call("update", name=self.object_name, body=body)
                if written is not None:
                    if not leave:
                        self._renewals += 1
                        self._took(written, sent)
                    return None
            current = None  # changed since read: read it again
        raise _Unavailable(f"{self.name}: {MAX_CONFLICTS} writes in a row found it changed")

    def _lose(self, lease: Mapping[str, Any] | None) -> None:
        self._fence.lose()
        if lease is None:
            self._lost = "the Lease object was deleted"
        else:
            who = _members(lease).get(self._index) or next(iter(_members(lease).values()), None)
            self._lost = f"{who.holder} holds it now" if who else "another run took it and left"
        logger.warning("%s was lost: %s", self.name, self._lost)

    async def _renew_forever(self) -> None:
        api = self._api
        assert api is not None
        every = self.duration / 3
        retry = min(every, max(0.05, self.duration / 15))
        pause = every
        while self._lost is None:
            await asyncio.sleep(pause)
            try:
                lost = await self._write(api)
                if lost is not None:
                    self._lose(lost or None)
                pause = every
            except LeaseError as exc:
                # The fence decides when too many renewals have failed; keep trying.
                logger.warning("%s: renewal failed: %s", self.name, exc)
                pause = retry
            except Exception:
                # Whatever went wrong, the fence stops the run once renewals stop.
                logger.exception("%s: renewal failed", self.name)
                pause = retry

    async def check(self) -> float:
        """Raise :class:`LeaseLostError` unless a renewal was confirmed recently enough.

        Reads the clock only: no request per check. Returns the last moment to
        send by (:meth:`Fence.check <canvas_async.provision.lease.Fence.check>`).
        """
        if self._lost is not None:
            raise LeaseLostError(f"{self.name} was lost: {self._lost}")
        if self._api is None:
            raise LeaseLostError(f"{self.name} is not held")
        return self._fence.check()

    async def release(self) -> None:
        """Leave the Lease (deleting it when this run was its last member); harmless when not held.

        Conflicts are read again; a failure is logged, not raised: a member
        that does not leave expires.
        """
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
            self._renewer = None
        api, self._api = self._api, None
        if api is None:
            return
        try:
            if self._lost is None:
                await self._write(api, leave=True)
        except LeaseError as exc:
            logger.warning("%s: could not leave it (it will expire): %s", self.name, exc)
        finally:
            self._fence.lose()
            self._lost = self._lost or "released"
            self._last = None
            await api.close()
