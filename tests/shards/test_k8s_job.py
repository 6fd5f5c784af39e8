"""The Kubernetes Indexed Job of examples/k8s, emulated: one process per index, each with
JOB_COMPLETION_INDEX set and the manifest's arguments, against one emulator and a stand-in
of the cluster's Lease API; one index SIGKILLed midway and retried."""

from __future__ import annotations

import json
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from canvas_async.cli import _exit
from canvas_async.provision.shard import Shard, load_file
from canvas_async.testing import CanvasEmulator, Latency
from tests.kubernetes_api import KubernetesStandIn
from tests.shards.shard_support import (
    changes_of,
    cli_env,
    converged,
    duplicates,
    until,
    write_file,
)
from tests.shards.test_k8s_manifests import manifest_args
from tests.support import finish, spawn

pytestmark = pytest.mark.canvas_emulator(seed="empty", synthetic_accounts=60, random_seed=11)


SHARDS = 4


@pytest.fixture
async def cluster() -> AsyncIterator[KubernetesStandIn]:
    async with KubernetesStandIn() as api:
        yield api


def job_args(path: Path, digest: str) -> list[str]:
    """The manifest's command for this test: its file, its hash, SHARDS shards, and a 12 s
    Lease (long enough to be renewed in time on a loaded machine)."""
    args = manifest_args("indexed-job.yaml")
    replace = {"/config/accounts.toml": str(path), "$(EXPECTED_HASH)": digest, "8": str(SHARDS)}
    return [*(replace.get(a, a) for a in args), "--lease-duration", "12"]


def _made_in(emu: CanvasEmulator, accounts: set[uuid.UUID]) -> int:
    regs = sum(1 for r in emu.state.reg_applications.values() if r.account_id in accounts)
    return regs + sum(1 for w in emu.state.workflows.values() if w.account_id in accounts)


async def test_an_index_killed_midway_is_retried_and_every_shard_converges(
    emu: CanvasEmulator, cluster: KubernetesStandIn, tmp_path: Path
) -> None:
    ids = emu.state.managed_ids[:60]
    path = write_file(tmp_path / "accounts.json", ids)
    state = load_file(path)
    args = job_args(path, str(state.digest))
    victim = 1
    victims = {a.id for a in Shard(victim, SHARDS).select(state).accounts if a.id is not None}
    assert len(victims) >= 8
    emu.faults.add(Latency(0.02))  # so that "midway" lasts
    kubeconfig = str(cluster.kubeconfig(tmp_path / "kubeconfig"))

    def pod(index: int) -> dict[str, str]:
        return cli_env(emu, JOB_COMPLETION_INDEX=str(index), KUBECONFIG=kubeconfig)

    pods = [await spawn(*args, env=pod(i)) for i in range(SHARDS)]
    # Kill the victim once it has made some of its shard's objects but not all
    # (it cannot make more without this loop serving it, so the check is exact).
    await until(lambda: _made_in(emu, victims) >= 6)
    assert pods[victim].returncode is None
    pods[victim].send_signal(signal.SIGKILL)
    killed = await finish(pods[victim])
    assert killed[0] == -signal.SIGKILL
    assert 0 < _made_in(emu, victims) < 3 * len(victims)
    assert converged(emu, sorted(victims)) != []

    # podReplacementPolicy: Failed: the replacement starts once the old pod is gone, and
    # takes the index's place in the Lease once the killed pod's entry has expired.
    replacement = await spawn(*args, env=pod(victim))
    results = [await finish(p) for i, p in enumerate(pods) if i != victim]
    retried = await finish(replacement)

    for code, out, err in [*results, retried]:
        assert code == _exit.OK, err + out[-3000:]
    reports = [json.loads(out) for _, out, _ in [*results, retried]]
    assert sorted(r["shard"] for r in reports) == [f"{i}/{SHARDS}" for i in range(SHARDS)]
    assert {r["file_hash"] for r in reports} == {state.digest}
    assert duplicates(emu) == 0
    assert converged(emu, ids) == []
    # The retry made only what the killed attempt had not.
    made_again = json.loads(retried[1])["summary"]["changes"]
    assert 0 < made_again < changes_of(Shard(victim, SHARDS).select(state).accounts)
    assert cluster.leases == {}  # every shard left the Lease; the last one deleted it


async def test_an_index_given_another_file_fails_for_good(
    emu: CanvasEmulator, cluster: KubernetesStandIn, tmp_path: Path
) -> None:
    path = write_file(tmp_path / "accounts.json", emu.state.managed_ids[:8])
    stale = str(load_file(path).digest)
    write_file(path, emu.state.managed_ids[:9])  # the ConfigMap changed under the Job
    args = job_args(path, stale)
    kubeconfig = str(cluster.kubeconfig(tmp_path / "kubeconfig"))
    env = cli_env(emu, JOB_COMPLETION_INDEX="0", KUBECONFIG=kubeconfig)
    code, _, err = await finish(await spawn(*args, env=env))
    assert code == _exit.USAGE  # podFailurePolicy: FailIndex, no retry
    assert "has changed" in err
    assert cluster.log == []  # refused before the Lease was asked for
    assert duplicates(emu) == 0
    assert not emu.state.reg_applications
