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
    rank_key,
)
from canvas_async.provision.spec import AccountSpec
from tests.shards.shard_support import write_file

IDS = [uuid.UUID(int=n * 7919 + 1) for n in range(400)]


def _where(accounts: list[AccountSpec], count: int) -> list[int]:
    """The shard of each account, in file order."""
    index = {id(a): i for i, group in assign(accounts, count).items() for a in group}
    return [index[id(a)] for a in accounts]


def test_assignment_is_a_fixed_function_of_the_file() -> None:
    # Pinned: a change of hash would move accounts to other shards between
    # releases, and two versions in one fleet would overlap.
    assert rank_key("id:00000000-0000-0000-0000-000000000001") == 3467725506036046964
    emails = [AccountSpec(email=f"user{n}@example.org") for n in range(8)]
    assert _where(emails, 3) == [0, 0, 2, 0, 1, 1, 1, 2]
    assert _where(emails, 1) == [0] * 8


def test_assignment_is_the_same_in_another_interpreter() -> None:
    """Python's hash() is salted per process; the assignment must not be."""
    ids = [str(i) for i in IDS[:50]]
    here = _where([AccountSpec(id=uuid.UUID(i)) for i in ids], 8)
    program = (
        "import sys, uuid; from canvas_async.provision.shard import assign; "
        "from canvas_async.provision.spec import AccountSpec; "
        "specs = [AccountSpec(id=uuid.UUID(i)) for i in sys.argv[1:]]; "
        "where = {id(a): i for i, group in assign(specs, 8).items() for a in group}; "
        "print([where[id(a)] for a in specs])"
    )
    there = subprocess.run(  # noqa: S603 - our interpreter
        [sys.executable, "-c", program, *ids],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345"},
    ).stdout
    assert there.strip() == str(here)


def test_keys_name_accounts_as_the_file_does() -> None:
    assert account_key(AccountSpec(id=IDS[0])) == f"id:{IDS[0]}"
    assert account_key(AccountSpec(email=" Ops@Example.ORG ")) == "email:ops@example.org"


@pytest.mark.parametrize("count", [1, 2, 3, 7, 8, 16, 64])
@pytest.mark.parametrize("size", [0, 1, 5, 63, 400, 401])
def test_every_account_is_in_exactly_one_shard_and_sizes_differ_by_one_at_most(
    count: int, size: int
) -> None:
    specs = [AccountSpec(id=i, index=n) for n, i in enumerate(IDS[:size])]
    if size > len(IDS):
        specs.append(AccountSpec(email="extra@example.org", index=size - 1))
    shards = assign(specs, count)
    assert sorted(shards) == list(range(count))
    assert sorted(a.index for group in shards.values() for a in group) == list(range(len(specs)))
    sizes = [len(group) for group in shards.values()]
    assert max(sizes) - min(sizes) <= 1, sizes
    state = provision.DesiredState(tuple(specs))
    for index in range(count):
        picked = Shard(index, count).select(state).accounts
        assert picked == tuple(shards[index])  # file order and file index kept


def test_400_accounts_in_8_shards_are_50_each() -> None:
    sizes = [len(g) for g in assign([AccountSpec(id=x) for x in IDS], 8).values()]
    assert sizes == [50] * 8


def test_adding_an_account_moves_others_at_most_to_a_neighbouring_shard() -> None:
    before = dict(zip(IDS[:300], _where([AccountSpec(id=x) for x in IDS[:300]], 8), strict=True))
    after = dict(zip(IDS[:301], _where([AccountSpec(id=x) for x in IDS[:301]], 8), strict=True))
    moves = [after[k] - v for k, v in before.items()]
    assert set(moves) <= {-1, 0, 1}
    assert moves.count(0) > len(moves) // 2  # most stay where they were


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
