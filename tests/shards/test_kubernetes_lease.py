"""The organization's lease as a Kubernetes Lease, against a stand-in of the Lease endpoints.

Durations are a few seconds and every wait is on a condition; a test checks
an order of events (who may send when), never how fast something ran.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import trustme

from canvas_async.contrib import kubernetes
from canvas_async.contrib.kubernetes import (
    MEMBERS_ANNOTATION,
    SPLIT_ANNOTATION,
    KubernetesLease,
    lease_name,
)
from canvas_async.provision.lease import (
    WHOLE_FILE,
    Claim,
    Lease,
    LeaseError,
    LeaseHeldError,
    LeaseLostError,
    fenced_timeout,
    holding,
)
from canvas_async.provision.shard import Shard
from tests.kubernetes_api import KubernetesStandIn

ORG = "org-0123456789abcdef"
NAME = lease_name(ORG)
NS = "jobs"
#: Short enough to wait out in a test, long enough for a loaded machine to renew in time.
DURATION = 3.0


def claim(file_hash: str = "sha256:abc", shard: Shard = WHOLE_FILE) -> Claim:
    return Claim(ORG, file_hash, shard)


@pytest.fixture
async def api() -> AsyncIterator[KubernetesStandIn]:
    async with KubernetesStandIn() as server:
        yield server


@pytest.fixture
def kubeconfig(api: KubernetesStandIn, tmp_path: Path) -> str:
    return str(api.kubeconfig(tmp_path / "kubeconfig", namespace=NS))


@pytest.fixture
async def make(kubeconfig: str) -> AsyncIterator[Callable[..., KubernetesLease]]:
    """Make leases of the stand-in (``DURATION``), released when the test ends."""
    made: list[KubernetesLease] = []

    def lease(held: Claim, **options: object) -> KubernetesLease:
        settings: dict[str, object] = {"kubeconfig": kubeconfig, "duration": DURATION, **options}
        made.append(KubernetesLease(held, **settings))  # type: ignore[arg-type]
        return made[-1]

    yield lease
    for each in made:
        await each.release()


async def until(condition: Callable[[], bool], timeout: float = 60) -> None:
    """Wait until ``condition()`` (checked every 10 ms), failing after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - the state is the stand-in's, not an event
            await asyncio.sleep(0.01)


async def raises_lost(check: Callable[[], Awaitable[object]]) -> bool:
    try:
        await check()
    except LeaseLostError:
        return True
    return False


async def test_a_lease_is_held_by_one_run_of_a_shard_at_a_time(
    api: KubernetesStandIn, make: Callable[..., KubernetesLease]
) -> None:
    first = make(claim(shard=Shard(0, 2)), owner="pod-a")
    second = make(claim(shard=Shard(0, 2)), owner="pod-b")
    assert isinstance(first, Lease)
    await first.acquire(wait=0)
    await first.check()
    stored = api.lease(NAME, NS)
    assert stored is not None
    assert stored["spec"]["holderIdentity"] == claim(shard=Shard(0, 2)).split
    assert stored["spec"]["leaseDurationSeconds"] == 3
    assert api.members(NAME, NS) == {"0": {"holder": "pod-a", "renewals": 0, "duration": 3.0}}

    with pytest.raises(LeaseHeldError, match=r"held by another run \(owner pod-a, shard 0/2"):
        await second.acquire(wait=0)
    with pytest.raises(LeaseHeldError, match="sha256:abc"):
        await second.acquire(wait=0.3)
    waiting = asyncio.create_task(second.acquire())
    await until(lambda: api.members(NAME, NS)["0"]["renewals"] >= 1)  # first renewed meanwhile
    assert not waiting.done()

    await first.release()
    await asyncio.wait_for(waiting, 30)
    await second.check()
    with pytest.raises(LeaseLostError, match="released"):
        await first.check()
    assert api.members(NAME, NS)["0"]["holder"] == "pod-b"
    await second.release()
    assert api.lease(NAME, NS) is None  # the last member leaving deletes it
    await second.release()  # harmless twice
    assert fenced_timeout(first).total == pytest.approx(DURATION / 3)


async def test_shards_of_one_split_share_it_and_nothing_else_does(
    api: KubernetesStandIn, make: Callable[..., KubernetesLease]
) -> None:
    shards = [make(claim(shard=Shard(i, 3)), owner=f"pod-{i}") for i in range(3)]
    for lease in shards:
        await lease.acquire(wait=0)
    assert sorted(api.members(NAME, NS)) == ["0", "1", "2"]
    others = {
        "another shard count": claim(shard=Shard(1, 4)),
        "another file": claim("sha256:def", Shard(1, 3)),
        "the whole file": claim(),
    }
    for what, other in others.items():
        with pytest.raises(LeaseHeldError, match=r"shard [0-2]/3"):
            await make(other).acquire(wait=0)
        assert sorted(api.members(NAME, NS)) == ["0", "1", "2"], what

    # Shards renew together through conflicts, each keeping its entry.
    await until(lambda: all(m["renewals"] >= 2 for m in api.members(NAME, NS).values()))
    assert any(asked.status == 409 for asked in api.log)
    for lease in shards:
        await lease.check()

    whole = make(claim())
    waiting = asyncio.create_task(whole.acquire())
    await shards[0].release()
    await shards[1].release()
    assert list(api.members(NAME, NS)) == ["2"]
    assert not waiting.done()
    await shards[2].release()
    await asyncio.wait_for(waiting, 30)
    stored = api.lease(NAME, NS)
    assert stored is not None
    assert stored["spec"]["holderIdentity"] == claim().split
    assert json.loads(stored["metadata"]["annotations"]["canvas-async/split"]) == {
        "file_hash": "sha256:abc",
        "shards": 1,
    }
    await whole.release()


def write_holder(api: KubernetesStandIn, split: Claim, members: dict[str, str]) -> None:
    """Store a Lease held by ``members`` (shard index -> holder), as pods that died left it."""
    entries = {i: {"holder": h, "renewals": 4, "duration": DURATION} for i, h in members.items()}
    api.leases[NS, NAME] = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": NAME,
            "namespace": NS,
            "resourceVersion": "7",
            "annotations": {
                MEMBERS_ANNOTATION: json.dumps(entries),
                SPLIT_ANNOTATION: json.dumps(
                    {"file_hash": split.file_hash, "shards": split.shard.count}
                ),
            },
        },
        "spec": {"holderIdentity": split.split, "leaseDurationSeconds": 3},
    }


async def test_a_dead_holder_passes_on_once_seen_unchanged_for_its_duration(
    api: KubernetesStandIn, make: Callable[..., KubernetesLease]
) -> None:
    # A pod died holding shard 0 (no release, no more renewals).
    write_holder(api, claim(shard=Shard(0, 2)), {"0": "pod-dead"})
    sibling = make(claim(shard=Shard(1, 2)), owner="pod-1")
    await sibling.acquire(wait=0)  # another shard of its split joins at once
    assert sorted(api.members(NAME, NS)) == ["0", "1"]

    retry = make(claim(shard=Shard(0, 2)), owner="pod-retry")
    started = time.monotonic()
    with pytest.raises(LeaseHeldError, match="owner pod-dead, shard 0/2"):
        await retry.acquire(wait=0)
    await retry.acquire()
    # Unchanged all along: its duration counts from the retry's first look, on the retry's clock.
    assert time.monotonic() - started >= DURATION
    assert api.members(NAME, NS)["0"] == {"holder": "pod-retry", "renewals": 0, "duration": 3.0}
    assert api.members(NAME, NS)["1"]["holder"] == "pod-1"
    await retry.release()
    await sibling.release()
    assert api.lease(NAME, NS) is None

    # Another split waits for every member of the dead one; then it is a new holder.
    write_holder(api, claim(shard=Shard(0, 2)), {"0": "pod-dead", "1": "pod-dead-too"})
    whole = make(claim("sha256:new"))
    started = time.monotonic()
    await whole.acquire()
    assert time.monotonic() - started >= DURATION
    stored = api.lease(NAME, NS)
    assert stored is not None
    assert stored["spec"]["holderIdentity"] == claim("sha256:new").split
    assert list(api.members(NAME, NS)) == ["0"]
    await whole.release()


async def test_a_lease_another_program_holds_passes_on_as_client_go_says(
    api: KubernetesStandIn, make: Callable[..., KubernetesLease]
) -> None:
    api.leases[NS, NAME] = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": NAME, "namespace": NS, "resourceVersion": "7"},
        "spec": {"holderIdentity": "some-controller", "leaseDurationSeconds": 2},
    }
    lease = make(claim(shard=Shard(0, 2)))
    started = time.monotonic()
    with pytest.raises(LeaseHeldError, match="owner some-controller"):
        await lease.acquire(wait=0)
    await lease.acquire()
    assert time.monotonic() - started >= 2  # its resourceVersion unchanged for 2 s
    stored = api.lease(NAME, NS)
    assert stored is not None
    assert stored["spec"]["leaseTransitions"] == 0
    assert MEMBERS_ANNOTATION in stored["metadata"]["annotations"]
    await lease.release()


async def sends_only_while_fresh(api: KubernetesStandIn, lease: KubernetesLease) -> None:
    """Check ``lease`` until it refuses; while it allows sending, assert that the newest
    renewal the stand-in took is younger than the duration less the margin.

    The stand-in logs a request when it arrives, after the lease sent it, on the
    same clock: so this holds whatever the machine's load.
    """
    async with asyncio.timeout(60):
        while not await raises_lost(lease.check):
            confirmed = [a.time for a in api.log if a.method in ("POST", "PUT") and a.status < 300]
            assert time.monotonic() < max(confirmed) + DURATION - DURATION / 3
            await asyncio.sleep(0.01)


async def lost_to(lease: KubernetesLease, holder: str) -> None:
    """Wait until ``lease``'s renewal has found ``holder`` in its place."""
    async with asyncio.timeout(60):
        while True:
            try:
                await lease.check()
            except LeaseLostError as lost:
                if f"was lost: {holder} holds it now" in str(lost):
                    return
            await asyncio.sleep(0.01)


async def test_a_holder_cut_off_from_the_api_stops_before_another_may_start(
    api: KubernetesStandIn, kubeconfig: str, tmp_path: Path
) -> None:
    holder = KubernetesLease(claim(), kubeconfig=kubeconfig, duration=DURATION, owner="cut-off")
    await holder.acquire(wait=0)
    other = api.kubeconfig(tmp_path / "other", namespace=NS, token=api.another_client())
    rival = KubernetesLease(claim(), kubeconfig=str(other), duration=DURATION, owner="rival")
    api.cut_off.add(api.token)  # the holder's renewals fail from now on

    taking = asyncio.create_task(rival.acquire())
    await sends_only_while_fresh(api, holder)
    await asyncio.wait_for(taking, 30)
    assert api.members(NAME, NS)["0"]["holder"] == "rival"

    api.cut_off.clear()  # back: its next renewal finds the rival, and it gives up for good
    await lost_to(holder, "rival")
    await holder.release()  # leaves the rival's entry alone
    assert api.members(NAME, NS)["0"]["holder"] == "rival"
    await rival.check()
    await rival.release()


async def test_renewals_that_fail_stop_the_run_and_that_succeed_resume_it(
    api: KubernetesStandIn, make: Callable[..., KubernetesLease]
) -> None:
    lease = make(claim())
    await lease.acquire(wait=0)
    api.down = True
    await sends_only_while_fresh(api, lease)
    with pytest.raises(LeaseLostError, match=r"no renewal confirmed for \d"):
        await lease.check()
    assert any(a.status == 503 for a in api.log)
    api.down = False
    # Nobody took it meanwhile: the next renewal that goes through lets it send again.
    async with asyncio.timeout(60):
        while await raises_lost(lease.check):  # noqa: ASYNC110 - renewed in the lease's task
            await asyncio.sleep(0.01)
    assert api.members(NAME, NS)["0"]["renewals"] >= 1
    await lease.release()


async def test_bad_options_are_refused_before_anything_is_sent(
    api: KubernetesStandIn,
    make: Callable[..., KubernetesLease],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    bad: list[tuple[dict[str, object], str]] = [
        ({"duration": 0.5}, "duration must be at least 1 s, not 0.5"),
        ({"duration": float("nan")}, "duration is a number of seconds"),
        ({"margin": 3.0}, "margin must be above 0 and below its duration"),
        ({"margin": 0}, "margin must be above 0"),
        ({"namespace": "Jobs_1"}, "a namespace is 1 to 63 lower-case letters"),
    ]
    for options, message in bad:
        with pytest.raises(ValueError, match=message):
            make(claim(), **options)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ValueError, match="no Kubernetes configuration"):
        KubernetesLease(claim())
    with pytest.raises(ValueError, match="cannot read the kubeconfig"):
        KubernetesLease(claim(), kubeconfig=str(tmp_path / "missing"))
    assert api.log == []


async def test_the_namespace_comes_from_the_option_the_kubeconfig_or_default(
    api: KubernetesStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = str(api.kubeconfig(tmp_path / "bare", namespace=None))
    assert KubernetesLease(claim(), kubeconfig=bare).namespace == "default"
    monkeypatch.setenv("KUBECONFIG", str(api.kubeconfig(tmp_path / "jobs", namespace=NS)))
    assert KubernetesLease(claim()).namespace == NS
    lease = KubernetesLease(claim(), namespace="other", duration=DURATION)
    assert lease.name.endswith(f"(Kubernetes Lease other/{NAME})")
    async with holding(lease):
        assert api.lease(NAME, "other") is not None
        assert api.lease(NAME, NS) is None


async def test_a_refusal_names_the_permissions_and_never_the_token(
    api: KubernetesStandIn, kubeconfig: str
) -> None:
    api.tokens.clear()  # the token is refused
    lease = KubernetesLease(claim(), kubeconfig=kubeconfig)
    with pytest.raises(LeaseError, match="needs get, create, update and delete on leases") as info:
        await lease.acquire(wait=10)
    assert api.token not in str(info.value)
    assert "(401)" in str(info.value)
    assert not lease.held
    api.tokens.add(api.token)
    api.down = True
    with pytest.raises(LeaseError, match="answered 503"):
        await lease.acquire(wait=0)


async def test_in_a_pod_it_uses_the_service_account_and_its_namespace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    async with KubernetesStandIn(ssl_context=server) as api:
        mounted = tmp_path / "serviceaccount"
        mounted.mkdir()
        (mounted / "token").write_text(api.token, encoding="utf-8")
        (mounted / "namespace").write_text("batch-jobs\n", encoding="utf-8")
        ca.cert_pem.write_to_path(str(mounted / "ca.crt"))
        monkeypatch.setattr(kubernetes, "SERVICE_ACCOUNT", mounted)
        monkeypatch.delenv("KUBECONFIG", raising=False)
        monkeypatch.setenv("HOME", str(tmp_path))
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(api.port))

        lease = KubernetesLease(claim(), duration=DURATION)
        assert lease.namespace == "batch-jobs"
        async with holding(lease):
            assert api.lease(NAME, "batch-jobs") is not None
        assert {asked.namespace for asked in api.log} == {"batch-jobs"}
        assert [asked.method for asked in api.log][:2] == ["GET", "POST"]


async def test_shards_that_start_together_all_join_without_waiting(
    api: KubernetesStandIn, make: Callable[..., KubernetesLease]
) -> None:
    # Eight pods of a Job start at once: their writes conflict (a 409 is "read it
    # again", not "held"), and every shard holds the Lease after one attempt.
    # A long Lease: eight conflicting writes on a loaded machine stay within its requests' time.
    shards = [make(claim(shard=Shard(i, 8)), owner=f"pod-{i}", duration=30) for i in range(8)]
    api.reads_together = 8  # all eight read before any writes: their writes conflict
    await asyncio.gather(*(lease.acquire(wait=0) for lease in shards))
    assert sorted(api.members(NAME, NS), key=int) == [str(i) for i in range(8)]
    assert [asked.status for asked in api.log].count(409) > 0
    for lease in shards:
        await lease.check()


async def test_an_unreachable_or_failing_api_is_said_and_outlasted(
    api: KubernetesStandIn, make: Callable[..., KubernetesLease], tmp_path: Path
) -> None:
    lease = make(claim())
    with pytest.raises(LeaseLostError, match="is not held"):
        await lease.check()
    api.down = True
    waiting = asyncio.create_task(lease.acquire(wait=60))  # 503s: keeps trying while it may
    await until(lambda: [a.status for a in api.log].count(503) >= 2)
    api.down = False
    await asyncio.wait_for(waiting, 30)
    await lease.acquire()  # held already: nothing to do
    await lease.check()

    api.down = True
    await lease.release()  # cannot leave: said, not raised; the entry expires instead
    assert api.members(NAME, NS)["0"]["holder"] == lease.owner
    api.down = False

    closed = KubernetesStandIn()
    async with closed:
        gone = closed.kubeconfig(tmp_path / "gone", namespace=NS)
    with pytest.raises(LeaseError, match=r"did not answer \(read lease\): Client"):
        await make(claim(), kubeconfig=str(gone)).acquire(wait=0)
    missing = make(claim(), kubeconfig=str(tmp_path / "missing"), namespace=NS)
    with pytest.raises(LeaseError, match="cannot configure the Kubernetes client from"):
        await missing.acquire(wait=0)


async def test_a_lease_whose_members_cannot_be_read_is_one_holder(
    api: KubernetesStandIn, make: Callable[..., KubernetesLease]
) -> None:
    write_holder(api, claim(shard=Shard(0, 2)), {"0": "pod-x"})
    stored = api.lease(NAME, NS)
    assert stored is not None
    stored["metadata"]["annotations"][MEMBERS_ANNOTATION] = "{not json"
    sibling = make(claim(shard=Shard(1, 2)))
    started = time.monotonic()
    # Not even another shard of its split may join: who holds it is unknown.
    with pytest.raises(LeaseHeldError, match=f"owner {claim(shard=Shard(0, 2)).split}"):
        await sibling.acquire(wait=0)
    await sibling.acquire()
    assert time.monotonic() - started >= DURATION
    assert list(api.members(NAME, NS)) == ["1"]


async def test_the_default_kubeconfig_is_read_when_nothing_else_is_there(
    api: KubernetesStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".kube").mkdir()
    api.kubeconfig(tmp_path / ".kube" / "config", namespace="from-home")
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert KubernetesLease(claim()).namespace == "from-home"
