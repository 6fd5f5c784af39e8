"""The server's own catalogue held against the route table: pure, no I/O.

GetMetaData lists every operation with its verb and parameters; Describe
lists a DTO's properties and which are required. :func:`check` compares what
the server says with what this SDK sends (the route table and the request
bodies) and returns the differences, each marked breaking or not.
:func:`choose_paths` picks each operation's path from the names the server
lists (``Accounts`` or ``Clients``). Spec: "Route table" and "Where the
documentation disagrees with itself".
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Final

import attrs

from . import _convert, _operations, _routes
from .models import EndpointInfo, PropertyInfo

# The request bodies the SDK sends, by the DTO name the route table gives
# them; ChainApiDto travels inside AddWorkflowApiDto's ``chain``.
BODIES: Final[Mapping[str, type]] = MappingProxyType(
    {
        "AddAccountApiDto": _operations.NewAccount,
        "AddRegApplicationApiDto": _operations.NewRegApplication,
        "AddWorkflowApiDto": _operations.NewWorkflow,
        "ChainApiDto": _operations.ChainOverride,
        "RunMetadataApiDto": _operations.RunMetadata,
        "UpdateWorkfowSchedulerApiDto": _operations.SchedulerUpdate,
    }
)

_FROM_BODY: Final = "[FromBody]"


class DifferenceKind(enum.Enum):
    """What differs; :attr:`breaking` when a call made as the SDK makes it would fail."""

    MISSING_OPERATION = ("missing operation", True)
    OTHER_VERB = ("other verb", True)
    RENAMED_PARAMETER = ("renamed parameter", True)
    MISSING_PARAMETER = ("parameter not listed", True)
    NEW_REQUIRED_FIELD = ("new required field", True)
    UNKNOWN_FIELD = ("field not described", True)
    EXTRA_OPERATION = ("extra operation", False)
    OTHER_NAME = ("listed under another name", False)
    EXTRA_PARAMETER = ("extra parameter", False)
    EXTRA_FIELD = ("extra optional field", False)
    OTHER_BODY_NAME = ("body named differently", False)
    NOT_DESCRIBED = ("DTO not described", False)

    def __init__(self, text: str, breaking: bool) -> None:
        self.text = text
        self.breaking = breaking


@attrs.frozen
class Difference:
    """One way the server's catalogue differs from what the SDK sends.

    Attributes:
        kind: What differs.
        subject: Where: an operation (``RunWorkflow (POST)``) or a DTO field
            (``AddAccountApiDto.phone``).
        detail: One sentence saying what the server lists and what the SDK does.
    """

    kind: DifferenceKind
    subject: str
    detail: str

    @property
    def breaking(self) -> bool:
        """Whether a call the SDK makes would fail or silently do less."""
        return self.kind.breaking

    def __str__(self) -> str:
        return f"{self.subject}: {self.kind.text}: {self.detail}"


@attrs.frozen
class DriftReport:
    """Every difference between the server's catalogue and the SDK, in table order."""

    differences: tuple[Difference, ...] = ()

    @property
    def breaking(self) -> tuple[Difference, ...]:
        """The differences that break a call."""
        return tuple(d for d in self.differences if d.breaking)

    @property
    def ok(self) -> bool:
        """True when no difference breaks a call."""
        return not self.breaking

    def summary(self) -> str:
        """One line: how many differences, how many breaking."""
        if not self.differences:
            return "no difference: the server's catalogue matches what this SDK sends"
        count = len(self.differences)
        return f"{count} difference{'s' if count != 1 else ''}, {len(self.breaking)} breaking"

    def __str__(self) -> str:
        lines = [f"{'breaking' if d.breaking else 'note':<8}  {d}" for d in self.differences]
        return "\n".join([*lines, self.summary()])


@attrs.frozen
class Parameter:
    """One parameter of a GetMetaData descriptor, e.g. ``Guid id``."""

    type_name: str
    name: str
    from_body: bool = False


def parse_parameters(text: str) -> tuple[Parameter, ...]:
    """Read a descriptor's ``parameters`` text: ``"Guid id"``,
    ``"[FromBody]AddWorkflowApiDto workflow"``, comma-separated; ``""`` for none."""
    parameters = []
    for part in _split_top_level(text):
        from_body = part.startswith(_FROM_BODY)
        words = part.removeprefix(_FROM_BODY).split()
        if len(words) >= 2:
            parameters.append(Parameter(" ".join(words[:-1]), words[-1], from_body))
        elif words:
            parameters.append(Parameter("", words[0], from_body))
    return tuple(parameters)


def _split_top_level(text: str) -> list[str]:
    # Commas inside generic arguments (Dictionary<String, Guid>) do not split.
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char in "<[(":
            depth += 1
        elif char in ">])":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index].strip())
            start = index + 1
    parts.append(text[start:].strip())
    return [part for part in parts if part]


def _folded(names: Iterable[str]) -> set[str]:
    return {name.casefold() for name in names}


def _listed(
    route: _routes.Route, endpoints: Sequence[EndpointInfo]
) -> tuple[list[EndpointInfo], EndpointInfo | None]:
    """Return the descriptors listed under the route's names, and the one with its verb."""
    names = _folded(_routes.operation_names(route))
    named = [e for e in endpoints if e.name.strip().casefold() in names]
    with_verb = [e for e in named if e.verb.strip().upper() == route.method]
    # The route's own name wins over an alternative when both are listed.
    with_verb.sort(key=lambda e: e.name.strip() != route.operation)
    return named, (with_verb[0] if with_verb else None)


def dtos_to_describe(endpoints: Sequence[EndpointInfo]) -> dict[str, str]:
    """Return the DTOs to ask Describe about: the SDK's name -> the server's name.

    A body the server lists under another type name is described under the
    server's name.
    """
    names = {name: name for name in BODIES}
    for route in _routes.ROUTES.values():
        if route.body is None:
            continue
        _, descriptor = _listed(route, endpoints)
        body = None
        if descriptor is not None:
            body = next((p for p in parse_parameters(descriptor.parameters) if p.from_body), None)
        # Unlisted, or listed without its type (``[FromBody] dto``): the SDK's name.
        names[route.body] = (body.type_name if body is not None else "") or route.body
    return names


def check(
    endpoints: Sequence[EndpointInfo],
    described: Mapping[str, Sequence[PropertyInfo] | None],
    *,
    token_mode: bool = False,
) -> DriftReport:
    """Compare the server's catalogue with the route table and the request bodies.

    Args:
        endpoints: GetMetaData's answer.
        described: Describe's answer per DTO, keyed by the SDK's DTO name
            (see :func:`dtos_to_describe`); None where Describe knew no such DTO.
        token_mode: Whether the client speaks token mode (the refresh-token
            operations are expected then only).
    """
    differences: list[Difference] = []
    known: set[str] = set()
    for route in _routes.ROUTES.values():
        known |= _folded(_routes.operation_names(route))
        named, descriptor = _listed(route, endpoints)
        label = route.label
        if descriptor is None:
            if named:
                verbs = ", ".join(sorted({e.verb for e in named}))
                differences.append(
                    Difference(
                        DifferenceKind.OTHER_VERB,
                        label,
                        f"listed with {verbs}; the SDK sends {route.method}",
                    )
                )
            # Refresh-token operations exist in token mode only (spec: "Authentication").
            elif token_mode or route.auth is not _routes.Auth.REFRESH:
                differences.append(
                    Difference(
                        DifferenceKind.MISSING_OPERATION,
                        label,
                        f"GetMetaData does not list {route.operation}; "
                        f"the SDK calls {route.method} {route.path}",
                    )
                )
            continue
        if descriptor.name.strip() != route.operation:
            differences.append(
                Difference(
                    DifferenceKind.OTHER_NAME,
                    label,
                    f"listed as {descriptor.name.strip()}, a name the SDK knows for it",
                )
            )
        differences.extend(_parameter_differences(route, label, descriptor))
    differences.extend(
        Difference(
            DifferenceKind.EXTRA_OPERATION,
            f"{endpoint.name} ({endpoint.verb})",
            "listed by the server; the SDK does not call it (use Canvas.request)",
        )
        for endpoint in endpoints
        if endpoint.name.strip().casefold() not in known
    )
    server_names = dtos_to_describe(endpoints)
    for sdk_name, cls in BODIES.items():
        differences.extend(_field_differences(sdk_name, server_names[sdk_name], cls, described))
    return DriftReport(tuple(differences))


def _parameter_differences(
    route: _routes.Route, label: str, descriptor: EndpointInfo
) -> list[Difference]:
    listed = parse_parameters(descriptor.parameters)
    unmatched_server = [p.name for p in listed if not p.from_body]
    unmatched_sdk = []
    for name in route.query:
        accepted = _folded(_routes.QUERY_ALIASES.get(name, (name,)))
        match = next((s for s in unmatched_server if s.casefold() in accepted), None)
        if match is None:
            unmatched_sdk.append(name)
        else:
            unmatched_server.remove(match)
    # The unmatched are paired in order (renamed); what is left over is on one side only.
    differences = []
    for ours, theirs in itertools.zip_longest(unmatched_sdk, unmatched_server):
        if theirs is None:
            kind, detail = (
                DifferenceKind.MISSING_PARAMETER,
                f"the SDK sends {ours!r}; the server lists no such parameter",
            )
        elif ours is None:
            kind, detail = (
                DifferenceKind.EXTRA_PARAMETER,
                f"the server lists {theirs!r}; the SDK does not send it",
            )
        else:
            kind, detail = (
                DifferenceKind.RENAMED_PARAMETER,
                f"the SDK sends {ours!r}; the server lists {theirs!r}",
            )
        differences.append(Difference(kind, label, detail))
    body = next((p for p in listed if p.from_body), None)
    if route.body is not None and body is not None and body.type_name != route.body:
        differences.append(
            Difference(
                DifferenceKind.OTHER_BODY_NAME,
                label,
                f"the body is listed as {body.type_name}; the SDK calls it {route.body}",
            )
        )
    return differences


def _field_differences(
    sdk_name: str,
    server_name: str,
    cls: type,
    described: Mapping[str, Sequence[PropertyInfo] | None],
) -> list[Difference]:
    properties = described.get(sdk_name)
    if properties is None:
        return [
            Difference(
                DifferenceKind.NOT_DESCRIBED,
                server_name,
                "Describe does not know it; its fields were not checked",
            )
        ]
    keys = _convert.wire_keys(cls)
    optional = {
        keys[field.name].casefold()
        for field in attrs.fields(cls)
        if field.name in keys and field.default is not attrs.NOTHING
    }
    sent = {key.casefold(): key for key in keys.values()}
    differences = []
    listed = set()
    for prop in properties:
        name = prop.property_name.strip()
        folded = name.casefold()
        listed.add(folded)
        kind = DifferenceKind.NEW_REQUIRED_FIELD
        if folded not in sent and prop.is_required:
            detail = "required by the server; the SDK never sends it"
        elif folded not in sent:
            kind, detail = (
                DifferenceKind.EXTRA_FIELD,
                "optional on the server; the SDK does not send it",
            )
        elif prop.is_required and folded in optional:
            detail = "required by the server; the SDK leaves it out when not given"
        else:
            continue
        differences.append(Difference(kind, f"{server_name}.{name}", detail))
    differences.extend(
        Difference(
            DifferenceKind.UNKNOWN_FIELD,
            f"{server_name}.{key}",
            "the SDK sends it; the server does not describe it (it would be ignored)",
        )
        for folded, key in sent.items()
        if folded not in listed
    )
    return differences


def choose_paths(endpoints: Sequence[EndpointInfo]) -> dict[str, str]:
    """Return each route's path as the server's catalogue lists it.

    An operation listed (with its verb) under one of its known names is sent
    to that name's path, the route's own name first; an operation not listed
    keeps the route table's path.
    """
    paths = {}
    for route in _routes.ROUTES.values():
        _, descriptor = _listed(route, endpoints)
        name = route.operation if descriptor is None else descriptor.name.strip()
        paths[route.key] = route.path if name == route.operation else _routes.catalogue_path(name)
    return paths
