"""The server's catalogue held against the route table: the pure check, and meta.check()."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import pytest

from canvas_async import DifferenceKind, DriftReport, EndpointInfo, PropertyInfo
from canvas_async._catalogue import (
    Parameter,
    check,
    choose_paths,
    dtos_to_describe,
    parse_parameters,
)
from canvas_async._routes import ROUTES, Auth
from canvas_async.testing import CanvasEmulator, Dialect
from canvas_async.testing._describe import describe, endpoint_descriptors
from tests.support import client_of, started

Kinds = list[tuple[DifferenceKind, str]]


def _endpoints(dialect: Dialect | None = None, *, token_mode: bool = False) -> list[EndpointInfo]:
    served = [r for r in ROUTES.values() if token_mode or r.auth is not Auth.REFRESH]
    raw = endpoint_descriptors(served, token_mode=token_mode, dialect=dialect)
    return [EndpointInfo(**{_snake(k): v for k, v in e.items()}) for e in raw]


def _snake(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


def _described(dialect: Dialect | None = None) -> dict[str, Sequence[PropertyInfo] | None]:
    answer: dict[str, Sequence[PropertyInfo] | None] = {}
    for sdk, server in dtos_to_describe(_endpoints(dialect)).items():
        props = describe(server, dialect)
        answer[sdk] = (
            None
            if props is None
            else [PropertyInfo(**{_snake(k): v for k, v in p.items()}) for p in props]
        )
    return answer


def _kinds(report: DriftReport) -> Kinds:
    return [(d.kind, d.subject) for d in report.differences]


def _replace(endpoints: list[EndpointInfo], name: str, **changes: Any) -> list[EndpointInfo]:
    return [attrs.evolve(e, **changes) if e.name == name else e for e in endpoints]


class TestParameters:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("", ()),
            ("Guid id", (Parameter("Guid", "id"),)),
            (
                "[FromBody]AddWorkflowApiDto workflow",
                (Parameter("AddWorkflowApiDto", "workflow", from_body=True),),
            ),
            (
                "Guid id, Dictionary<String, Guid> apps",
                (Parameter("Guid", "id"), Parameter("Dictionary<String, Guid>", "apps")),
            ),
            ("token", (Parameter("", "token"),)),
        ],
    )
    def test_read(self, text: str, expected: tuple[Parameter, ...]) -> None:
        assert parse_parameters(text) == expected


class TestCheck:
    def test_the_emulator_matches_the_table(self) -> None:
        report = check(_endpoints(), _described())

        assert report.differences == ()
        assert report.ok
        assert "no difference" in str(report)

    def test_token_mode_expects_the_refresh_operations(self) -> None:
        keys_server = check(_endpoints(), _described(), token_mode=True)
        token_server = check(_endpoints(token_mode=True), _described(), token_mode=True)

        assert _kinds(keys_server) == [
            (DifferenceKind.MISSING_OPERATION, "RefreshAccessToken"),
            (DifferenceKind.MISSING_OPERATION, "DeleteToken"),
        ]
        # GetMetaData's ``refreshToken`` is the documented ``token``: no difference.
        assert token_server.differences == ()

    def test_clients_is_a_known_name(self) -> None:
        report = check(_endpoints(Dialect(accounts_path="clients")), _described())

        assert _kinds(report) == [(DifferenceKind.OTHER_NAME, "Accounts")]
        assert report.ok

    def test_a_renamed_operation_is_missing_and_its_new_name_extra(self) -> None:
        dialect = Dialect(renamed={"RunWorkflow": "StartWorkflow"})
        report = check(_endpoints(dialect), _described(dialect))

        assert _kinds(report) == [
            (DifferenceKind.MISSING_OPERATION, "RunWorkflow"),
            (DifferenceKind.EXTRA_OPERATION, "StartWorkflow (POST)"),
        ]
        assert [d.breaking for d in report.differences] == [True, False]
        assert not report.ok

    def test_another_verb(self) -> None:
        endpoints = _replace(_endpoints(), "DeleteWorkflow", verb="DELETE")

        (difference,) = check(endpoints, _described()).differences

        assert difference.kind is DifferenceKind.OTHER_VERB
        assert difference.breaking
        assert "listed with DELETE; the SDK sends GET" in str(difference)

    def test_parameters(self) -> None:
        endpoints = _replace(_endpoints(), "DeleteWorkflow", parameters="Guid workflowId")
        endpoints = _replace(endpoints, "Describe", parameters="String name, Int32 depth")
        endpoints = [
            attrs.evolve(e, parameters="") if (e.name, e.verb) == ("Workflow", "GET") else e
            for e in endpoints
        ]

        report = check(endpoints, _described())

        assert _kinds(report) == [
            (DifferenceKind.EXTRA_PARAMETER, "Describe"),
            (DifferenceKind.MISSING_PARAMETER, "Workflow (GET)"),
            (DifferenceKind.RENAMED_PARAMETER, "DeleteWorkflow"),
        ]
        assert [d.breaking for d in report.differences] == [False, True, True]
        assert "the SDK sends 'id'; the server lists 'workflowId'" in str(report)

    def test_fields(self) -> None:
        dialect = Dialect(
            required={"AddAccountApiDto.phone", "AddAccountApiDto.language", "ChainApiDto.x"}
        )
        described = _described(dialect)
        workflow = described["AddWorkflowApiDto"]
        assert workflow is not None
        described["AddWorkflowApiDto"] = [p for p in workflow if p.property_name != "description"]
        described["RunMetadataApiDto"] = [
            *(described["RunMetadataApiDto"] or ()),
            PropertyInfo("priority", "int32", "", is_required=False),
        ]

        report = check(_endpoints(), described)

        assert _kinds(report) == [
            (DifferenceKind.NEW_REQUIRED_FIELD, "AddAccountApiDto.phone"),
            (DifferenceKind.NEW_REQUIRED_FIELD, "AddAccountApiDto.language"),
            (DifferenceKind.UNKNOWN_FIELD, "AddWorkflowApiDto.description"),
            (DifferenceKind.NEW_REQUIRED_FIELD, "ChainApiDto.x"),
            (DifferenceKind.EXTRA_FIELD, "RunMetadataApiDto.priority"),
        ]
        assert [d.breaking for d in report.differences] == [True, True, True, True, False]
        assert "the SDK leaves it out when not given" in str(report.differences[0])
        assert "the SDK never sends it" in str(report.differences[1])

    def test_a_dto_the_server_cannot_describe(self) -> None:
        described = _described()
        described["RunMetadataApiDto"] = None

        report = check(_endpoints(), described)

        assert _kinds(report) == [(DifferenceKind.NOT_DESCRIBED, "RunMetadataApiDto")]
        assert report.ok

    def test_a_body_listed_under_another_name_is_described_by_it(self) -> None:
        endpoints = _replace(_endpoints(), "RunWorkflow", parameters="[FromBody]RunApiDto metadata")

        names = dtos_to_describe(endpoints)
        report = check(endpoints, _described())

        assert names["RunMetadataApiDto"] == "RunApiDto"
        assert _kinds(report) == [(DifferenceKind.OTHER_BODY_NAME, "RunWorkflow")]

    def test_summary(self) -> None:
        dialect = Dialect(renamed={"RunWorkflow": "StartWorkflow"})

        text = str(check(_endpoints(dialect), _described(dialect)))

        assert text.splitlines()[0].startswith("breaking  RunWorkflow: missing operation")
        assert text.splitlines()[1].startswith("note      StartWorkflow (POST): extra operation")
        assert text.splitlines()[-1] == "2 differences, 1 breaking"


class TestPaths:
    def test_the_table_where_the_server_lists_it(self) -> None:
        paths = choose_paths(_endpoints())

        assert paths["list_accounts"] == "/Accounts"
        assert paths["run_workflow"] == "/RunWorkflow"

    def test_clients_where_the_server_lists_clients(self) -> None:
        assert choose_paths(_endpoints(Dialect(accounts_path="clients")))["list_accounts"] == (
            "/Clients"
        )

    def test_the_table_for_what_is_not_listed(self) -> None:
        assert choose_paths([])["list_accounts"] == "/Accounts"


@pytest.mark.parametrize(
    ("dialect", "expected"),
    [
        (Dialect(), []),
        (Dialect.metadata(), [(DifferenceKind.OTHER_NAME, "Accounts")]),
        (
            Dialect(renamed={"RunWorkflow": "StartWorkflow"}, required={"AddAccountApiDto.phone"}),
            [
                (DifferenceKind.MISSING_OPERATION, "RunWorkflow"),
                (DifferenceKind.EXTRA_OPERATION, "StartWorkflow (POST)"),
                (DifferenceKind.NEW_REQUIRED_FIELD, "AddAccountApiDto.phone"),
            ],
        ),
    ],
)
async def test_meta_check_over_http(dialect: Dialect, expected: Kinds) -> None:
    async with started(CanvasEmulator(dialect=dialect)) as emu, client_of(emu) as canvas:
        report = await canvas.meta.check()

    assert _kinds(report) == expected
    assert report.ok is all(not kind.breaking for kind, _ in expected)
