"""The Kubernetes Indexed Job of examples/k8s, emulated: one process per index, each with
JOB_COMPLETION_INDEX set, against one emulator; one index SIGKILLed midway and retried."""

from __future__ import annotations

import json
import re
import signal
import uuid
from pathlib import Path

import pytest

from canvas_async.cli import _exit
from canvas_async.provision.shard import Shard, load_file
from canvas_async.testing import CanvasEmulator, Latency
from tests.shards.shard_support import (
    changes_of,
    cli_env,
    converged,
    duplicates,
    until,
    write_file,
)
from tests.support import ROOT, finish, spawn

pytestmark = pytest.mark.canvas_emulator(seed="empty", synthetic_accounts=60, random_seed=11)


MANIFESTS = ROOT / "examples" / "k8s"
SHARDS = 4


def manifest_args(name: str) -> list[str]:
    """The container's args in a manifest (a YAML flow list of strings, which is JSON)."""
    text = (MANIFESTS / name).read_text(encoding="utf-8")
    match = re.search(r"^\s*args: (\[.*\])$", text, re.M)
    assert match, name
    args: list[str] = json.loads(match.group(1))
    return args


def job_args(path: Path, digest: str, lease_dir: Path) -> list[str]:
    """The manifest's command for this test: its file, its hash, SHARDS shards."""
    args = manifest_args("indexed-job.yaml")
    replace = {"/config/accounts.toml": str(path), "$(EXPECTED_HASH)": digest, "8": str(SHARDS)}
    args = [replace.get(a, a) for a in args]
    at = args.index("--report")  # the pod's report path: each test pod writes none
    return [*args[:at], *args[at + 2 :], "--lease-dir", str(lease_dir)]


def test_the_manifests_fail_an_index_on_the_bad_input_exit_status() -> None:
    for name in ("indexed-job.yaml", "cronjob.yaml"):
        text = (MANIFESTS / name).read_text(encoding="utf-8")
        assert "podReplacementPolicy: Failed" in text
        assert re.search(r"backoffLimitPerIndex: \d+", text)
        rule = re.search(r"action: FailIndex\n.*?values: \[([\d, ]+)\]", text, re.S)
        assert rule, name
        assert [int(v) for v in rule.group(1).split(",")] == [_exit.USAGE, _exit.UNFIXABLE]
        assert manifest_args(name)[:1] == ["apply"]
        assert "JOB_COMPLETION_INDEX" in manifest_args(name)


def _made_in(emu: CanvasEmulator, accounts: set[uuid.UUID]) -> int:
    regs = sum(1 for r in emu.state.reg_applications.values() if r.account_id in accounts)
    return regs + sum(1 for w in emu.state.workflows.values() if w.account_id in accounts)


async def test_an_index_killed_midway_is_retried_and_every_shard_converges(
    emu: CanvasEmulator, tmp_path: Path
) -> None:
    ids = emu.state.managed_ids[:60]
    path = write_file(tmp_path / "accounts.json", ids)
    state = load_file(path)
    args = job_args(path, str(state.digest), tmp_path / "leases")
    victim = 1
    victims = {a.id for a in Shard(victim, SHARDS).select(state).accounts if a.id is not None}
    assert len(victims) >= 8
    emu.faults.add(Latency(0.02))  # so that "midway" lasts

    def pod(index: int) -> dict[str, str]:
        return cli_env(emu, JOB_COMPLETION_INDEX=str(index))

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

    # podReplacementPolicy: Failed: the replacement starts once the old pod is gone.
    replacement = await spawn(*args, env=pod(victim))
    results = [await finish(p) for i, p in enumerate(pods) if i != victim]
    retried = await finish(replacement)

    for code, _, err in [*results, retried]:
        assert code == _exit.OK, err
    reports = [json.loads(out) for _, out, _ in [*results, retried]]
    assert sorted(r["shard"] for r in reports) == [f"{i}/{SHARDS}" for i in range(SHARDS)]
    assert {r["file_hash"] for r in reports} == {state.digest}
    assert duplicates(emu) == 0
    assert converged(emu, ids) == []
    # The retry made only what the killed attempt had not.
    made_again = json.loads(retried[1])["summary"]["changes"]
    assert 0 < made_again < changes_of(Shard(victim, SHARDS).select(state).accounts)


async def test_an_index_given_another_file_fails_for_good(
    emu: CanvasEmulator, tmp_path: Path
) -> None:
    path = write_file(tmp_path / "accounts.json", emu.state.managed_ids[:8])
    stale = str(load_file(path).digest)
    write_file(path, emu.state.managed_ids[:9])  # the ConfigMap changed under the Job
    args = job_args(path, stale, tmp_path / "leases")
    code, _, err = await finish(await spawn(*args, env=cli_env(emu, JOB_COMPLETION_INDEX="0")))
    assert code == _exit.USAGE  # podFailurePolicy: FailIndex, no retry
    assert "has changed" in err
    assert duplicates(emu) == 0
    assert not emu.state.reg_applications
