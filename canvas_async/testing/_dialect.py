"""How the emulator answers where the vendor's documentation disagrees with itself.

The pages show one answer, the server's own GetMetaData another (spec: "Where
the documentation disagrees with itself"); a :class:`Dialect` picks one
reading per operation, so a client can be tested against each. It can also
make the catalogue drift: an operation renamed in GetMetaData (and served
under its new name only), a DTO property made required in Describe.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final, Literal, Self, get_args

import attrs

RunAnswer = Literal["text", "guid", "empty", "true"]
SchedulerAnswer = Literal["text", "empty", "true"]
AccountAnswer = Literal["id", "empty"]
DeleteAnswer = Literal["true", "empty", "guid"]
AccountsPath = Literal["both", "accounts", "clients"]

# Option name (the command line's) -> the field it sets, and the field's choices.
_OPTIONS: Final[Mapping[str, tuple[str, tuple[str, ...]]]] = MappingProxyType(
    {
        "run": ("run", get_args(RunAnswer)),
        "scheduler": ("scheduler", get_args(SchedulerAnswer)),
        "account": ("account", get_args(AccountAnswer)),
        "delete": ("delete", get_args(DeleteAnswer)),
        "accounts": ("accounts_path", get_args(AccountsPath)),
    }
)
_CHOICES: Final = dict(_OPTIONS.values())

# Every answer as GetMetaData's ``returns`` states it (seed 000 for Clients).
_METADATA: Final[Mapping[str, Any]] = MappingProxyType(
    {"run": "guid", "scheduler": "empty", "account": "empty", "delete": "guid",
     "accounts_path": "clients"}
)  # fmt: skip


def _one_of(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    choices = _CHOICES[attribute.name]
    if value not in choices:
        raise ValueError(f"{attribute.name} must be one of {', '.join(choices)}, not {value!r}")


def _frozen_set(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


def _frozen_mapping(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


@attrs.frozen
class Dialect:
    """Which documented answer each operation gives, and how the catalogue drifts.

    Args:
        run: RunWorkflow answers the page's text ``Workflow will now run``,
            the run's id as a GUID (GetMetaData: ``Guid``), an empty body or
            ``true``.
        scheduler: WorkflowScheduler answers the enabled/disabled text, an
            empty body (GetMetaData: ``""``) or ``true``.
        account: Account (POST) answers the new id, or an empty body
            (GetMetaData: ``""``).
        delete: DeleteWorkflow answers ``true``, an empty body, or the
            deleted workflow's id (GetMetaData: ``Guid``).
        accounts_path: Accounts served at ``/Accounts`` and ``/Clients``
            (``"both"``, listed as Accounts), at ``/Accounts`` only, or at
            ``/Clients`` only and listed as ``Clients`` (seed 000's revision).
        renamed: Operation name -> the name GetMetaData lists instead; the
            operation is then served at ``/<new name>`` only.
        required: ``"Dto.property"`` entries Describe marks required; a
            property the DTO does not have is added (a string).
    """

    run: RunAnswer = attrs.field(default="text", validator=_one_of)
    scheduler: SchedulerAnswer = attrs.field(default="text", validator=_one_of)
    account: AccountAnswer = attrs.field(default="id", validator=_one_of)
    delete: DeleteAnswer = attrs.field(default="true", validator=_one_of)
    accounts_path: AccountsPath = attrs.field(default="both", validator=_one_of)
    # Compared, but left out of the hash (a mapping has none): equal dialects
    # still hash equal.
    renamed: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_mapping, hash=False)
    required: frozenset[str] = attrs.field(default=frozenset(), converter=_frozen_set)

    @classmethod
    def metadata(cls) -> Self:
        """Every answer as the server's GetMetaData states it, and ``/Clients`` only."""
        return cls(**_METADATA)

    def with_option(self, text: str) -> Self:
        """Return this dialect with ``NAME=VALUE`` applied (the command line's form).

        Names: ``run``, ``scheduler``, ``account``, ``delete``, ``accounts``;
        ``rename=Old:New``; ``require=Dto.property``; ``metadata`` alone sets
        every answer as :meth:`metadata` does.
        """
        if text.strip() == "metadata":
            return attrs.evolve(self, **_METADATA)
        name, sep, value = text.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not value:
            raise ValueError(f"expected NAME=VALUE, not {text!r}")
        if name == "rename":
            old, colon, new = value.partition(":")
            if not colon or not old.strip() or not new.strip():
                raise ValueError(f"expected rename=Old:New, not {text!r}")
            return attrs.evolve(self, renamed={**self.renamed, old.strip(): new.strip()})
        if name == "require":
            dto, dot, prop = value.partition(".")
            if not dot or not dto or not prop:
                raise ValueError(f"expected require=Dto.property, not {text!r}")
            return attrs.evolve(self, required={*self.required, value})
        if name not in _OPTIONS:
            names = ", ".join([*_OPTIONS, "rename", "require", "metadata"])
            raise ValueError(f"unknown answer option {name!r} (known: {names})")
        changes: dict[str, Any] = {_OPTIONS[name][0]: value}
        return attrs.evolve(self, **changes)

    def listed_name(self, operation: str) -> str:
        """Return the name GetMetaData lists ``operation`` under (and its path's)."""
        if operation == "Accounts" and self.accounts_path == "clients":
            return "Clients"
        return self.renamed.get(operation, operation)

    def paths(self, operation: str, path: str, aliases: tuple[str, ...]) -> tuple[str, ...]:
        """Return the paths an operation is served at."""
        listed = self.listed_name(operation)
        if listed != operation:
            return ("/" + listed,)
        if operation == "Accounts" and self.accounts_path == "accounts":
            return (path,)
        return (path, *aliases)

    def properties(self, dto: str, properties: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Return Describe's ``properties`` of ``dto`` with the required ones marked."""
        wanted = {
            entry.partition(".")[2].casefold(): entry.partition(".")[2]
            for entry in self.required
            if entry.partition(".")[0].casefold() == dto.casefold()
        }
        for prop in properties:
            if prop["propertyName"].casefold() in wanted:
                prop["isRequired"] = True
                del wanted[prop["propertyName"].casefold()]
        properties.extend(
            {"typeName": "string", "propertyName": name, "genericParameters": "",
             "isRequired": True}
            for name in wanted.values()
        )  # fmt: skip
        return properties
