"""Split one desired-state file across workers: deterministic shards and the file's hash.

An account belongs to shard ``blake2b(key) mod N``, where the key is how the
file names it: its id (lower-case canonical form) or its e-mail (case-folded).
The assignment depends on nothing but the key and ``N``, so every worker, on
any machine and any Python (``hash()`` is salted per process), agrees on it,
and an account keeps its shard when others are added to or removed from the
file. Worker ``I`` of ``N`` converges only its own accounts::

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
from typing import Final

import attrs

from canvas_async._errors import ValidationError
from canvas_async.provision.load import decode, file_format, loads, unreadable
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
    "shard_of",
]

#: Prefix of every content hash: the algorithm, so it can change one day.
HASH_PREFIX: Final = "sha256:"


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

    def contains(self, account: AccountSpec) -> bool:
        """Whether ``account`` belongs to this shard."""
        return shard_of(account_key(account), self.count) == self.index

    def select(self, state: DesiredState) -> DesiredState:
        """Return ``state`` with only this shard's accounts (each keeps its file index)."""
        return attrs.evolve(state, accounts=tuple(a for a in state.accounts if self.contains(a)))


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


def shard_of(key: str, count: int) -> int:
    """Return the shard of ``key`` among ``count``: a stable hash, the same everywhere."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count


def assign(accounts: Iterable[AccountSpec], count: int) -> dict[int, list[AccountSpec]]:
    """Return every shard index (all ``count`` of them) with its accounts, in file order."""
    shards: dict[int, list[AccountSpec]] = {i: [] for i in range(Shard(0, count).count)}
    for account in accounts:
        shards[shard_of(account_key(account), count)].append(account)
    return shards


def file_hash(content: bytes) -> str:
    """Return the content hash of a file's bytes, ``sha256:<hex>``."""
    return HASH_PREFIX + hashlib.sha256(content).hexdigest()


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
    path = Path(path)
    file_format(path)  # an unsupported suffix is refused before reading
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise unreadable(path, exc) from None
    return load_bytes(content, source=str(path), expect_hash=expect_hash)


def load_bytes(content: bytes, *, source: str, expect_hash: str | None = None) -> DesiredState:
    """Parse a desired-state file's bytes, pinning (and checking) their hash.

    Args:
        content: The file's bytes, UTF-8.
        source: Where they came from; its suffix says the format
            (:func:`~canvas_async.provision.load.file_format`).
        expect_hash: Refuse the bytes unless their hash is this.
    """
    fmt = file_format(source)
    digest = file_hash(content)
    if expect_hash is not None and expect_hash.strip().lower() != digest:
        raise FileHashMismatchError(source, expect_hash.strip(), digest)
    text = decode(content, source)
    return attrs.evolve(loads(text, fmt=fmt, source=source), digest=digest)
