"""Collections of the emulator's state that answer its lookups without a scan.

The state's tables stay plain to use (tests read and arrange them as a dict
and a list), but each keeps an index in step with every change made through
it, so a request costs the same with 100 accounts as with 20,000.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Iterable, Iterator, MutableMapping
from typing import Any, Generic, TypeVar

_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")


class Records(MutableMapping[_K, _V], Generic[_K, _V]):
    """A dict of records, also grouped by one field of each (``group_of``).

    The grouped field must not change while a record is stored: store the
    changed record again instead. Records keep their insertion order, in the
    table and within their group.
    """

    def __init__(
        self, group_of: Callable[[_V], Hashable], records: Iterable[tuple[_K, _V]] = ()
    ) -> None:
        self._group_of = group_of
        self._records: dict[_K, _V] = {}
        self._groups: dict[Hashable, dict[_K, _V]] = {}
        self.update(records)

    def group(self, key: Hashable) -> list[_V]:
        """Return the records whose grouped field is ``key``, oldest first."""
        return list(self._groups.get(key, {}).values())

    def __getitem__(self, key: _K) -> _V:
        return self._records[key]

    def __setitem__(self, key: _K, record: _V) -> None:
        group = self._group_of(record)
        old = self._records.get(key)
        if old is not None and self._group_of(old) != group:
            self._ungroup(key, old)
        self._records[key] = record
        self._groups.setdefault(group, {})[key] = record

    def __delitem__(self, key: _K) -> None:
        self._ungroup(key, self._records.pop(key))

    def _ungroup(self, key: _K, record: _V) -> None:
        group = self._group_of(record)
        members = self._groups[group]
        del members[key]
        if not members:
            del self._groups[group]

    def __iter__(self) -> Iterator[_K]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def __repr__(self) -> str:
        return f"Records({self._records!r})"


class IdList(list[_K]):
    """A list (order kept, as Accounts lists them) whose ``in`` is a set lookup."""

    def __init__(self, items: Iterable[_K] = ()) -> None:
        super().__init__(items)
        self._members = set(self)

    def __contains__(self, item: object) -> bool:
        return item in self._members

    def __reduce__(self) -> tuple[Any, ...]:
        # copy/deepcopy/pickle rebuild from the items, so the set follows.
        return (type(self), (list(self),))

    def append(self, item: _K) -> None:
        super().append(item)
        self._members.add(item)


def _recounting(change: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a list method so that an :class:`IdList` rebuilds its set after it."""

    @functools.wraps(change)
    def changed(self: IdList[Any], *args: Any) -> Any:
        result = change(self, *args)
        self._members = set(self)
        return result

    return changed


# The rarer changes (tests arranging the list) rebuild the set: O(n), but rare.
for _name in (
    "extend",
    "__iadd__",
    "insert",
    "remove",
    "pop",
    "clear",
    "__setitem__",
    "__delitem__",
):
    setattr(IdList, _name, _recounting(getattr(list, _name)))
