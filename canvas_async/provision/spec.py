"""The desired state of many accounts, as plain frozen values.

A :class:`DesiredState` is what a desired-state file declares once defaults
are merged into each account (see :mod:`canvas_async.provision._load`). Nothing
here holds a credential value: credentials are :class:`EnvRef` references to
environment variables, or :class:`Plain` values the file marked as not secret,
and are resolved only when they are about to be sent (:func:`resolve`).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final, TypeAlias

import attrs

from canvas_async._errors import ValidationError

__all__ = [
    "AccountSpec",
    "ApplicationSpec",
    "CredentialValue",
    "DesiredState",
    "EnvRef",
    "MissingEnvironmentError",
    "NewAccount",
    "Plain",
    "WorkflowSpec",
    "iter_refs",
    "resolve",
]

#: ``${NAME}``, the whole string: a reference to an environment variable.
ENV_REF_PATTERN: Final = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: ``variables = "as-found"``: a workflow's variables taken as they are (see :class:`WorkflowSpec`).
AS_FOUND: Final = "as-found"


class MissingEnvironmentError(ValidationError):
    """Environment variables the file refers to are not set.

    Attributes:
        names: The unset variables' names, sorted.
    """

    def __init__(self, names: list[str]) -> None:
        self.names = sorted(set(names))
        listed = ", ".join(self.names)
        super().__init__(f"environment variables referred to by the file are not set: {listed}")


@attrs.frozen
class EnvRef:
    """A reference to an environment variable, written ``${NAME}``."""

    name: str

    def __str__(self) -> str:
        return f"${{{self.name}}}"


@attrs.frozen
class Plain:
    """A credential value written in the file on purpose, as ``{ plain = ... }``.

    For values that are settings rather than secrets, such as a ``select``
    field's choice (``environment = { plain = "test" }``).
    """

    value: str | bool | int | float | None = attrs.field(repr=False)


CredentialValue: TypeAlias = EnvRef | Plain


@attrs.frozen
class ApplicationSpec:
    """An application to register for an account.

    Attributes:
        key: The name the file gives it (the table key), used by workflows'
            bindings; usually the application's short name.
        application: The application's short name, e.g. ``QUIN``.
        tag: The registration's tag text, which identifies it: credentials
            cannot be read back, so changing them means a new tag.
        credentials: Credential short name to its reference or plain value.
    """

    key: str
    application: str
    tag: str
    credentials: Mapping[str, CredentialValue] = attrs.field(factory=dict)


@attrs.frozen
class WorkflowSpec:
    """A workflow to create from a template.

    Attributes:
        name: The workflow's name, which identifies it in the account.
        template: The template's name or id.
        applications: Template application short name to the key of one of
            the account's :class:`ApplicationSpec`; short names not listed
            bind to the application spec of the same key.
        variables: Block name or ``uniqueBlockId`` to variable values; a
            string that is exactly ``${NAME}`` is an :class:`EnvRef`. None
            when the file says ``variables = "as-found"``: the workflow is
            taken with the variables it has (the API cannot return them), so
            plan checks only what it can read and nothing recreates it; a
            missing one is created with the template's variables.
        schedule: The canonical Quartz cron the workflow is scheduled on, or
            None for a workflow whose scheduler is off.
        description: The workflow's description.
    """

    name: str
    template: str
    applications: Mapping[str, str] = attrs.field(factory=dict)
    variables: Mapping[str, Mapping[str, Any]] | None = attrs.field(factory=dict)
    schedule: str | None = None
    description: str | None = None

    @property
    def adopted(self) -> bool:
        """Whether the file takes the workflow's variables as found (``"as-found"``)."""
        return self.variables is None


@attrs.frozen
class NewAccount:
    """What an account found by e-mail is created with when it does not exist.

    Attributes:
        first_name: The person's first name.
        last_name: The person's last name.
        role: ``User`` or ``SuperPartner``.
        phone: A phone number.
        country: An ISO 3166 alpha-2 code, upper case.
        activated: Whether it is active at once (else an activation e-mail is sent).
        global_notifications: Whether it gets global notifications.
        notification_email: Where it gets notifications.
    """

    first_name: str
    last_name: str
    role: str = "User"
    phone: str | None = None
    country: str | None = None
    activated: bool = True
    global_notifications: bool | None = None
    notification_email: str | None = None


@attrs.frozen
class AccountSpec:
    """One account's desired state, defaults merged in.

    Attributes:
        id: The account's id, when the file names it by id.
        email: The account's e-mail, when the file names it by e-mail.
        new: How to create it when it is named by e-mail and does not exist.
        applications: The applications to register.
        workflows: The workflows to create, by name.
        index: Position of the account in the file.
    """

    id: uuid.UUID | None = None
    email: str | None = None
    new: NewAccount | None = None
    applications: tuple[ApplicationSpec, ...] = ()
    workflows: tuple[WorkflowSpec, ...] = ()
    index: int = 0

    @property
    def label(self) -> str:
        """The account as the file names it: its id or its e-mail."""
        return str(self.id) if self.id is not None else str(self.email)

    def application(self, key: str) -> ApplicationSpec | None:
        """Return the application spec named ``key``."""
        return next((a for a in self.applications if a.key == key), None)


@attrs.frozen
class DesiredState:
    """Every account a desired-state file declares.

    Attributes:
        accounts: The accounts, in file order.
        source: Where it was read from, for messages.
        digest: The file's content hash (``sha256:<hex>``) when read by
            :func:`canvas_async.provision.shard.load_file`, for reports.
    """

    accounts: tuple[AccountSpec, ...]
    source: str = "<desired state>"
    digest: str | None = None

    def env_names(self) -> set[str]:
        """Return the names of every environment variable the file refers to."""
        held: list[object] = [a.credentials for acc in self.accounts for a in acc.applications]
        held += [w.variables for acc in self.accounts for w in acc.workflows]
        return {ref.name for ref in iter_refs(held)}

    def missing_env(self, environ: Mapping[str, str] | None = None) -> list[str]:
        """Return the referred-to variables not set in ``environ`` (``os.environ``)."""
        env = os.environ if environ is None else environ
        return sorted(name for name in self.env_names() if name not in env)


def iter_refs(value: object) -> Iterator[EnvRef]:
    """Yield every :class:`EnvRef` inside ``value`` (mappings, lists, leaves)."""
    if isinstance(value, EnvRef):
        yield value
    elif isinstance(value, Mapping | list | tuple):
        for item in value.values() if isinstance(value, Mapping) else value:
            yield from iter_refs(item)


def resolve(value: Any, environ: Mapping[str, str] | None = None) -> Any:
    """Return ``value`` with every reference replaced by its variable's value.

    Plain values are unwrapped. The result may hold secrets: send it, never
    print it.

    Raises:
        MissingEnvironmentError: naming every unset variable, no value.
    """
    env = os.environ if environ is None else environ
    missing = [ref.name for ref in iter_refs(value) if ref.name not in env]
    if missing:
        raise MissingEnvironmentError(missing)

    def unwrap(leaf: Any) -> Any:
        if isinstance(leaf, EnvRef):
            return env[leaf.name]
        return leaf.value if isinstance(leaf, Plain) else leaf

    return map_leaves(value, unwrap)


def map_leaves(value: Any, leaf: Callable[[Any], Any]) -> Any:
    """Return ``value`` with ``leaf`` applied to each value in it but mappings and lists."""
    if isinstance(value, Mapping):
        return {k: map_leaves(v, leaf) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [map_leaves(v, leaf) for v in value]
    return leaf(value)
