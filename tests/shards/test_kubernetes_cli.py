"""Two machines converge one shard: ``canvas-async apply --lease-store kubernetes`` in two
processes with their own temporary and home directories (a lock file cannot see the other),
one Lease in a stand-in API server between them, one emulator behind."""

from __future__ import annotations

import json
import signal
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from canvas_async._client import organization_key
from canvas_async.cli import _exit
from canvas_async.contrib.kubernetes import (
    MEMBERS_ANNOTATION,
    SPLIT_ANNOTATION,
    lease_name,
)
from canvas_async.provision.lease import Claim
from canvas_async.provision.shard import Shard, load_file
from canvas_async.testing import WRITES as EMULATED_WRITES
from canvas_async.testing import CanvasEmulator, Hold, Latency
from tests.kubernetes_api import KubernetesStandIn
from tests.shards.shard_support import (
    WRITES,
    cli_env,
    converged,
    duplicates,
    reads_of,
    until,
    write_file,
)
from tests.support import finish, run_command, spawn

pytestmark = pytest.mark.canvas_emulator(seed="empty", synthetic_accounts=40, random_seed=23)

SHARD = Shard(0, 4)
NS = "jobs"


@pytest.fixture
async def api() -> AsyncIterator[KubernetesStandIn]:
    async with KubernetesStandIn() as server:
        yield server


def machine(emu: CanvasEmulator, api: KubernetesStandIn, root: Path) -> dict[str, str]:
    """The environment of one machine: its own HOME and TMPDIR, the cluster's kubeconfig."""
    for name in ("home", "tmp"):
        (root / name).mkdir(parents=True)
    return cli_env(
        emu,
        HOME=str(root / "home"),
        TMPDIR=str(root / "tmp"),
        KUBECONFIG=str(api.kubeconfig(root / "kubeconfig", namespace=NS)),
    )


def account_file(emu: CanvasEmulator, tmp_path: Path) -> tuple[Path, list[uuid.UUID]]:
    """The file of every account, and the accounts of :data:`SHARD`."""
    path = write_file(tmp_path / "accounts.json", emu.state.managed_ids[:40])
    mine = [a.id for a in SHARD.select(load_file(path)).accounts if a.id is not None]
    assert len(mine) >= 6
    return path, mine


def objects_of(emu: CanvasEmulator, account: uuid.UUID) -> int:
    regs = sum(1 for r in emu.state.reg_applications.values() if r.account_id == account)
    return regs + sum(1 for w in emu.state.workflows.values() if w.account_id == account)


def apply_args(path: Path, fenced: bool, *, lease_duration: int) -> list[str]:
    """``apply`` of :data:`SHARD` with the Kubernetes lease, or with none."""
    lease = ["--lease-store", "kubernetes", "--lease-duration", str(lease_duration)]
    return [
        "--json",
        "apply",
        str(path),
        "--shard",
        str(SHARD),
        *(lease if fenced else ["--no-lease"]),
    ]


def writes_since(emu: CanvasEmulator, moment: float) -> int:
    """Count the writes that reached the emulator at or after ``moment`` (monotonic)."""
    return sum(1 for r in emu.log if r.time >= moment and r.operation in WRITES)


@pytest.mark.parametrize("fenced", [True, False], ids=["lease", "no-lease"])
async def test_two_machines_apply_one_shard_at_once(
    emu: CanvasEmulator, api: KubernetesStandIn, tmp_path: Path, fenced: bool
) -> None:
    path, mine = account_file(emu, tmp_path)
    args = apply_args(path, fenced, lease_duration=6)
    emu.faults.add(Latency(0.03))
    if fenced:
        # Every write takes a while, so that the runs overlap however far apart the two
        # processes get going; the lease's margin (a third of 6 s) is longer than any request.
        emu.faults.add(Latency(0.6), operations=EMULATED_WRITES)
        runs = [await spawn(*args, env=machine(emu, api, tmp_path / m)) for m in ("a", "b")]
    else:
        # Unfenced, the runs overlap for sure: no write gets through before both machines
        # have read every account of the shard.
        hold = Hold()
        emu.faults.add(hold, operations=EMULATED_WRITES)
        runs = [await spawn(*args, env=machine(emu, api, tmp_path / m)) for m in ("a", "b")]
        await until(lambda: all(reads_of(emu, account) >= 2 for account in mine))
        hold.release()
    results = [await finish(run) for run in runs]

    if fenced:
        for code, _, err in results:
            assert code == _exit.OK, err
        assert duplicates(emu) == 0
        assert converged(emu, mine) == []
        # One machine made every change; the other waited, then found nothing to do.
        made = sorted(json.loads(out)["summary"]["changes"] for _, out, _ in results)
        assert made[0] == 0 < made[1]
        assert any("waiting: the lease of organization" in err for _, _, err in results)
        assert api.leases == {}  # the last one out deleted the Lease
        assert {asked.namespace for asked in api.log} == {NS}
    else:
        assert duplicates(emu) > 0
        # ... and the overlap does not pass for success: the check after apply sees them.
        assert any(code != _exit.OK for code, _, _ in results)
        assert api.log == []


@pytest.mark.parametrize("fenced", [True, False], ids=["lease", "no-lease"])
async def test_a_holder_paused_past_its_lease_sends_nothing_once_resumed(
    emu: CanvasEmulator, api: KubernetesStandIn, tmp_path: Path, fenced: bool
) -> None:
    path, mine = account_file(emu, tmp_path)
    emu.faults.add(Latency(0.03))
    args = apply_args(path, fenced, lease_duration=3)

    paused = await spawn(*args, env=machine(emu, api, tmp_path / "a"))
    # Pause it halfway through an account: some of its objects made, more to come.
    await until(lambda: any(0 < objects_of(emu, account) < 3 for account in mine))
    paused.send_signal(signal.SIGSTOP)
    try:
        # Another machine takes the shard over (once the Lease has expired) and finishes it.
        code, _, err = await finish(await spawn(*args, env=machine(emu, api, tmp_path / "b")))
        assert code == _exit.OK, err
        assert converged(emu, mine) == []
    finally:
        resumed = time.monotonic()
        paused.send_signal(signal.SIGCONT)
    code, _, err = await finish(paused)

    if fenced:
        assert writes_since(emu, resumed) == 0
        # It stops at its next check or, paused while a write was under way, the
        # kernel ends it as it resumes (the lease watchdog's alarm).
        if code != -signal.SIGALRM:
            assert code in (_exit.FAILED, _exit.UNKNOWN), err
            assert "no renewal confirmed" in err or "was lost" in err
        assert duplicates(emu) == 0
        assert converged(emu, mine) == []
    else:
        assert writes_since(emu, resumed) > 0


async def test_a_run_of_another_split_waits_or_gives_up_naming_the_holder(
    emu: CanvasEmulator, api: KubernetesStandIn, tmp_path: Path
) -> None:
    path, _ = account_file(emu, tmp_path)
    other = Claim(organization_key(emu.url, emu.consumer), "sha256:other", Shard(3, 8))
    name = lease_name(other.organization)
    api.leases[NS, name] = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": name,
            "namespace": NS,
            "resourceVersion": "1",
            "annotations": {
                MEMBERS_ANNOTATION: json.dumps(
                    {"3": {"holder": "converge-3-abcde", "renewals": 0, "duration": 30}}
                ),
                SPLIT_ANNOTATION: json.dumps({"file_hash": "sha256:other", "shards": 8}),
            },
        },
        "spec": {"holderIdentity": other.split, "leaseDurationSeconds": 30},
    }
    env = machine(emu, api, tmp_path / "a")
    args = ["apply", str(path), "--shard", str(SHARD), "--lease-store", "kubernetes"]
    for wait in ("0", "0.5"):
        code, _, err = await run_command(*args, "--lease-wait", wait, env=env)
        assert code == _exit.FAILED, err
        assert "held by another run (owner converge-3-abcde, shard 3/8" in err
        assert "converging sha256:other" in err
    assert not [r for r in emu.log if r.operation in WRITES]


async def test_lease_store_options_are_checked_before_anything_is_sent(
    emu: CanvasEmulator, api: KubernetesStandIn, tmp_path: Path
) -> None:
    path, _ = account_file(emu, tmp_path)
    env = machine(emu, api, tmp_path / "a")
    no_cluster = {k: v for k, v in env.items() if k != "KUBECONFIG"}
    apply = ["apply", str(path), "--shard", str(SHARD)]
    cases = [
        (["--lease-store", "kubernetes"], no_cluster, "no Kubernetes configuration"),
        (["--lease-store", "kubernetes", "--lease-duration", "0.5"], env, "at least 1 s"),
        (["--lease-store", "kubernetes", "--lease-namespace", "A_B"], env, "a namespace is"),
        (["--lease-store", "kubernetes", "--lease-dir", "x"], env, "--lease-dir goes with"),
        (["--lease-namespace", "jobs"], env, "--lease-namespace goes with --lease-store k"),
        ([], {**env, "CANVAS_LEASE_STORE": "etcd"}, "CANVAS_LEASE_STORE must be one of file"),
        (["--lease-store", "etcd"], env, "invalid choice: 'etcd'"),
    ]
    for options, environ, message in cases:
        code, _, err = await run_command(*apply, *options, env=environ)
        assert code == _exit.USAGE, (options, err)
        assert message in err, (options, err)
    assert api.log == []
    assert not emu.log

    # The variables choose the store and its namespace as the options do.
    chosen = {**env, "CANVAS_LEASE_STORE": "kubernetes", "CANVAS_LEASE_NAMESPACE": "nightly"}
    code, _, err = await run_command(*apply, env=chosen)
    assert code == _exit.OK, err
    assert {asked.namespace for asked in api.log} == {"nightly"}
    assert [asked.method for asked in api.log][:2] == ["GET", "POST"]
