"""The shard options of plan/apply and the shards command, run as subprocesses."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from canvas_async._client import organization_key
from canvas_async.cli import _exit
from canvas_async.provision.lease import Claim, FileLease, holding
from canvas_async.provision.shard import Shard, load_file
from canvas_async.testing import CanvasEmulator
from tests.shards.shard_support import cli_env, converged, duplicates, write_file, writes
from tests.support import bare_env, finish, run_command, spawn

pytestmark = pytest.mark.canvas_emulator(seed="empty", synthetic_accounts=12, random_seed=8)


#: No keys and no server: for commands that must not connect.
NO_SERVER = bare_env(CANVAS_ENV="http://127.0.0.1:9/api")


async def test_shards_prints_where_every_account_goes(tmp_path: Path) -> None:
    ids = [uuid.UUID(int=n + 1) for n in range(20)]
    path = write_file(tmp_path / "state.json", ids)
    code, out, _ = await run_command("shards", str(path), "--shards", "3", env=NO_SERVER)
    assert code == _exit.OK
    assert "20 accounts in 3 shards" in out
    state = load_file(path)
    assert str(state.digest) in out
    code, out, _ = await run_command("--json", "shards", str(path), "--shards", "3", env=NO_SERVER)
    data = json.loads(out)
    assert data["file_hash"] == state.digest
    where = {a["account"]: a["shard"] for a in data["accounts"]}
    for index in range(3):
        picked = Shard(index, 3).select(state).accounts
        assert {str(a.id) for a in picked} == {k for k, v in where.items() if v == index}
    assert sum(data["sizes"]) == 20


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shard", "4/4"], "out of range"),
        (["--shard", "1/4", "--shard-from-env", "IDX", "--shards", "4"], "not both"),
        (["--shard-from-env", "IDX"], "needs --shards"),
        (["--shards", "4"], "goes with --shard-from-env"),
        (["--shard-from-env", "UNSET_INDEX_VAR", "--shards", "4"], "UNSET_INDEX_VAR"),
        (["--expect-hash", "sha256:00"], "has changed"),
    ],
)
async def test_bad_shard_options_exit_2_before_anything_is_sent(
    emu: CanvasEmulator, tmp_path: Path, args: list[str], message: str
) -> None:
    path = write_file(tmp_path / "state.json", emu.state.managed_ids[:4])
    code, _, err = await run_command("apply", str(path), *args, env=cli_env(emu))
    assert code == _exit.USAGE, err
    assert message in err
    assert "Traceback" not in err
    assert writes(emu) == 0


async def test_apply_one_shard_converges_only_its_accounts_and_says_so(
    emu: CanvasEmulator, tmp_path: Path
) -> None:
    ids = emu.state.managed_ids[:12]
    path = write_file(tmp_path / "state.json", ids)
    state = load_file(path)
    args = ["apply", str(path), "--shard-from-env", "JOB_COMPLETION_INDEX", "--shards", "2"]
    args += ["--expect-hash", str(state.digest), "--lease-dir", str(tmp_path / "leases")]
    env = cli_env(emu, JOB_COMPLETION_INDEX="0")

    code, out, err = await run_command("--json", *args, env=env)

    assert code == _exit.OK, err
    report = json.loads(out)
    assert report["shard"] == "0/2"
    assert report["file_hash"] == state.digest
    mine = [a.id for a in Shard(0, 2).select(state).accounts if a.id is not None]
    assert sorted(a["account_id"] for a in report["accounts"]) == sorted(str(i) for i in mine)
    assert converged(emu, mine) == []
    assert len(converged(emu, ids)) == len(ids) - len(mine)  # the others untouched
    assert duplicates(emu) == 0

    code, out, _ = await run_command("--json", "plan", str(path), "--shard", "0/2", env=env)
    assert code == _exit.OK
    assert {a["status"] for a in json.loads(out)["accounts"]} == {"in-sync"}


async def test_a_second_attempt_of_a_shard_waits_for_the_lease_or_gives_up(
    emu: CanvasEmulator, tmp_path: Path
) -> None:
    path = write_file(tmp_path / "state.json", emu.state.managed_ids[:4])
    leases = tmp_path / "leases"
    args = ["apply", str(path), "--shard", "0/2", "--lease-dir", str(leases)]
    other = Claim(organization_key(emu.url, emu.consumer), "sha256:other", Shard(1, 2))
    # Processes of their own: the lease is a lock one process holds.
    async with holding(FileLease(leases, other)):
        for wait, said in (("0", ""), ("0.2", "waiting: the lease of organization org-")):
            code, _, err = await finish(await spawn(*args, "--lease-wait", wait, env=cli_env(emu)))
            assert code == _exit.FAILED, err
            assert "held by another run" in err
            assert "sha256:other" in err
            assert said in err
    assert writes(emu) == 0
    code, _, err = await finish(await spawn(*args, "--lease-wait", "-1", env=cli_env(emu)))
    assert code == _exit.USAGE
    assert "must not be negative" in err
