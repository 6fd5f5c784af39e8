"""Deterministic shard assignment, the shard filter of plan/apply, and the pinned file hash."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from canvas_async import provision
from canvas_async.provision.shard import (
    FileHashMismatchError,
    Shard,
    ShardError,
    account_key,
    assign,
    file_hash,
    load_file,
    shard_of,
)
from canvas_async.provision.spec import AccountSpec
from tests.shards.shard_support import write_file

IDS = [uuid.UUID(int=n * 7919 + 1) for n in range(400)]


def test_assignment_is_a_fixed_function_of_the_key() -> None:
    # Pinned: a change of hash would move accounts to other shards between
    # releases, and two versions in one fleet would overlap.
    assert shard_of("id:00000000-0000-0000-0000-000000000001", 8) == 4
    assert [shard_of(f"email:user{n}@example.org", 8) for n in range(8)] == [
        0, 5, 1, 2, 3, 5, 2, 3
    ]  # fmt: skip
    assert shard_of("email:a@example.org", 1) == 0


def test_assignment_is_the_same_in_another_interpreter() -> None:
    """Python's hash() is salted per process; the assignment must not be."""
    keys = [account_key(AccountSpec(id=i)) for i in IDS[:50]]
    here = [shard_of(k, 8) for k in keys]
    program = (
        "import sys; from canvas_async.provision.shard import shard_of; "
        "print([shard_of(k, 8) for k in sys.argv[1:]])"
    )
    there = subprocess.run(  # noqa: S603 - our interpreter
        [sys.executable, "-c", program, *keys],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345"},
    ).stdout
    assert there.strip() == str(here)


def test_keys_name_accounts_as_the_file_does() -> None:
    assert account_key(AccountSpec(id=IDS[0])) == f"id:{IDS[0]}"
    assert account_key(AccountSpec(email=" Ops@Example.ORG ")) == "email:ops@example.org"


def test_every_account_is_in_exactly_one_shard_and_the_spread_is_even() -> None:
    specs = [AccountSpec(id=i, index=n) for n, i in enumerate(IDS)]
    shards = assign(specs, 8)
    assert sorted(shards) == list(range(8))
    assert sorted(a.index for group in shards.values() for a in group) == list(range(400))
    assert all(30 <= len(group) <= 70 for group in shards.values()), {
        i: len(g) for i, g in shards.items()
    }
    state = provision.DesiredState(tuple(specs))
    for index in range(8):
        picked = Shard(index, 8).select(state).accounts
        assert picked == tuple(shards[index])  # file order and file index kept


def test_adding_accounts_moves_no_other_account() -> None:
    before = {
        a.id: i
        for i, group in assign([AccountSpec(id=x) for x in IDS[:300]], 8).items()
        for a in group
    }
    after = {
        a.id: i for i, group in assign([AccountSpec(id=x) for x in IDS], 8).items() for a in group
    }
    assert all(after[k] == v for k, v in before.items())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2", "I/N"),
        ("8/8", "out of range"),
        ("-1/8", "out of range"),
        ("x/8", "whole number"),
        ("1/0", "at least 1"),
    ],
)
def test_a_bad_shard_is_refused_naming_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ShardError, match=message):
        Shard.parse(text)


def test_the_shard_index_comes_from_the_environment() -> None:
    assert Shard.from_env("JOB_COMPLETION_INDEX", 4, {"JOB_COMPLETION_INDEX": "3"}) == Shard(3, 4)
    with pytest.raises(ShardError, match="JOB_COMPLETION_INDEX"):
        Shard.from_env("JOB_COMPLETION_INDEX", 4, {})
    with pytest.raises(ShardError, match="out of range"):
        Shard.from_env("JOB_COMPLETION_INDEX", 4, {"JOB_COMPLETION_INDEX": "4"})
    assert str(Shard(3, 4)) == "3/4"


def test_the_file_is_read_once_with_its_hash_pinned(tmp_path: Path) -> None:
    path = write_file(tmp_path / "state.json", IDS[:3])
    digest = file_hash(path.read_bytes())
    state = load_file(path, expect_hash=digest)
    assert state.digest == digest
    assert digest.startswith("sha256:")
    assert len(digest) == 7 + 64
    assert [a.id for a in state.accounts] == IDS[:3]
    assert provision.load(path).accounts == state.accounts


def test_a_file_that_changed_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    path = write_file(tmp_path / "state.json", IDS[:3])
    digest = file_hash(path.read_bytes())
    write_file(path, IDS[:4])
    with pytest.raises(FileHashMismatchError, match="has changed") as caught:
        load_file(path, expect_hash=digest)
    assert caught.value.expected == digest
    assert caught.value.actual == file_hash(path.read_bytes())
