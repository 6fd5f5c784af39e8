"""Split one desired-state file across workers: balanced shards and the file's hash.

Shards go by rank: the file's accounts are sorted by a stable hash (blake2b)
of the key the file names each by (its id, lower-case canonical form, or its
e-mail, case-folded), and the account of rank ``r`` of ``M`` goes to shard
``r * N // M``, so shard sizes differ by at most one. The assignment depends
on nothing but the file's accounts and ``N``, so every worker reading the same
file (its hash pinned by ``--expect-hash``) agrees on it, on any machine and
any Python (``hash()`` is salted per process). Adding or removing an account
shifts the ranks after it, so it may move other accounts to a neighbouring
shard: a new file is a new run. Worker ``I`` of ``N`` converges only its own
accounts::

    state = provision.shard.load_file("accounts.toml", expect_hash=hash_from_the_job)
    report = await provision.apply(canvas, state, shard=Shard(2, 8))

:func:`load_file` reads the file once and pins its content hash
(``sha256:...``) on the state; every shard's report carries it, so a retry is
checked to converge to the same target, and a file that does not match the
expected hash is refused before anything is sent (:class:`FileHashMismatchError`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs

from canvas_async._errors import ValidationError
from canvas_async.provision._load import decode, file_bytes, file_format, loads
from canvas_async.provision.spec import AccountSpec, DesiredState

__all__ = [
    "FileHashMismatchError",
    "Shard",
    "ShardError",
    "account_key",
    "assign",
    "file_hash",
    "load_bytes",
    "load_file",
    "rank_key",
]


class ShardError(ValidationError):
    """A shard was named in a way that cannot work (``2/2``, ``x/4``, an unset variable)."""


class FileHashMismatchError(ValidationError):
    """The desired-state file is not the one this run was started for.

    Attributes:
        source: The file.
        expected: The hash the run was given.
        actual: The hash of the file as read.
    """

    def __init__(self, source: str, expected: str, actual: str) -> None:
        super().__init__(
            f"{source} has changed: its content hash is {actual}, this run was started for "
            f"{expected}; refusing to converge a different target "
            "(start a new run for the new file)"
        )
        self.source = source
        self.expected = expected
        self.actual = actual


@attrs.frozen
class Shard:
    """Shard ``index`` of ``count`` (0-based), written ``I/N``.

    Raises:
        ShardError: ``count`` is below 1 or ``index`` is not in ``[0, count)``.
    """

    index: int
    count: int

    def __attrs_post_init__(self) -> None:
        if self.count < 1:
            raise ShardError(f"the number of shards must be at least 1, not {self.count}")
        if not 0 <= self.index < self.count:
            raise ShardError(
                f"shard index {self.index} is out of range: {self.count} shards are "
                f"numbered 0 to {self.count - 1}"
            )

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @classmethod
    def parse(cls, text: str) -> Shard:
        """Read ``I/N``, e.g. ``"2/8"``."""
        index, sep, count = text.strip().partition("/")
        if not sep:
            raise ShardError(f"a shard is written I/N, e.g. 2/8 (shard 2 of 8), not {text!r}")
        return cls(_whole(index, "shard index", text), _whole(count, "number of shards", text))

    @classmethod
    def from_env(cls, name: str, count: int, environ: Mapping[str, str] | None = None) -> Shard:
        """Take the index from the variable ``name`` (e.g. ``JOB_COMPLETION_INDEX``)."""
        env = os.environ if environ is None else environ
        value = env.get(name)
        if value is None or not value.strip():
            raise ShardError(f"the environment variable {name} (the shard index) is not set")
        return cls(_whole(value, f"shard index in {name}", value), count)

    def select(self, state: DesiredState) -> DesiredState:
        """Return ``state`` with only this shard's accounts (each keeps its file index).

        The shard depends on the whole file (:func:`assign`), so pass the
        state as read, not a part of it.
        """
        return attrs.evolve(state, accounts=tuple(assign(state.accounts, self.count)[self.index]))


def _whole(text: str, what: str, whole: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ShardError(f"the {what} must be a whole number, not {whole!r}") from None


def account_key(account: AccountSpec) -> str:
    """Return the key an account is sharded by: ``id:<uuid>`` or ``email:<casefolded>``."""
    if account.id is not None:
        return f"id:{account.id}"
    return f"email:{(account.email or '').strip().casefold()}"


def rank_key(key: str) -> int:
    """Return what accounts are ranked by: a stable hash of ``key``, the same everywhere."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def assign(accounts: Iterable[AccountSpec], count: int) -> dict[int, list[AccountSpec]]:
    """Return every shard index (all ``count`` of them) with its accounts, in file order.

    The account of rank ``r`` (by :func:`rank_key`, then key, then file order)
    of ``M`` goes to shard ``r * count // M``: sizes differ by at most one.
    """
    shards: dict[int, list[AccountSpec]] = {i: [] for i in range(Shard(0, count).count)}
    listed = list(accounts)
    keys = [account_key(account) for account in listed]
    ranked = sorted(range(len(listed)), key=lambda n: (rank_key(keys[n]), keys[n], n))
    where = {position: rank * count // len(listed) for rank, position in enumerate(ranked)}
    for position, account in enumerate(listed):
        shards[where[position]].append(account)
    return shards


def file_hash(content: bytes) -> str:
    """Return the content hash of a file's bytes, ``sha256:<hex>``."""
    return "sha256:" + hashlib.sha256(content).hexdigest()


def load_file(path: str | Path, *, expect_hash: str | None = None) -> DesiredState:
    """Read the desired-state file once; return its state with the content hash pinned.

    Args:
        path: The file; ``.json`` is JSON, ``.toml`` or no suffix TOML (as
            :func:`provision.load`), any other suffix refused.
        expect_hash: Refuse the file unless its hash is this (``sha256:<hex>``).

    Raises:
        DesiredStateError: The file cannot be read or is not valid.
        FileHashMismatchError: The file's hash is not ``expect_hash``.
    """
    return load_bytes(file_bytes(Path(path)), source=str(path), expect_hash=expect_hash)


def load_bytes(content: bytes, *, source: str, expect_hash: str | None = None) -> DesiredState:
    """Parse a desired-state file's bytes, pinning (and checking) their hash.

    Args:
        content: The file's bytes, UTF-8.
        source: Where they came from; its suffix says the format
            (:func:`~canvas_async.provision._load.file_format`).
        expect_hash: Refuse the bytes unless their hash is this.
    """
    fmt = file_format(source)
    digest = file_hash(content)
    if expect_hash is not None and expect_hash.strip().lower() != digest:
        raise FileHashMismatchError(source, expect_hash.strip(), digest)
    text = decode(content, source)
    return attrs.evolve(loads(text, fmt=fmt, source=source), digest=digest)
