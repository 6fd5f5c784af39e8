"""The converter: Canvas JSON into models, request DTOs into JSON."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from canvas_async import _convert, _operations
from canvas_async.models import (
    Account,
    Application,
    CredentialField,
    CredentialFieldType,
    CredentialOption,
    EndpointInfo,
    PropertyInfo,
    RegApplication,
    Role,
    TemplateState,
    Workflow,
    WorkflowStatus,
    WorkflowTemplate,
)

# Payloads as the vendor's documentation shows them (seed 001).
WORKFLOW: dict[str, Any] = {
    "id": "b459cf22-ad18-44bf-80dc-6e8b78be1cc5",
    "name": "Order transferring",
    "description": "Transfer orders from MyStore into Tripletex invoices with payments",
    "status": "Ready",
    "isScheduled": False,
    "schedulerFrequency": '{"cronSchedule":"0 0 0/1 ? * * *"}',
    "workflowTemplateId": None,
    "isCustomizedStructure": False,
    "accountId": "6fa122e4-0d4c-4a1d-8869-7c0a86a37bf1",
    "organizationId": "00000000-0000-0000-0000-000000000001",
    "dateCreated": "2022-03-24T18:08:22.2543998",
    "dateModified": "2022-04-12T10:36:56.478261",
    "dateLastRun": "2022-04-12T10:36:57.877+00:00",
    "dateNextSchedule": "2022-04-05T17:00:00+00:00",
    "regApplicationIds": [
        "281686d9-aedd-4359-89b4-8f878ad43b35",
        "03548816-f945-4bb2-b66e-950dff826fb8",
    ],
    "currentBlock": 3,
}

QUINYX: dict[str, Any] = {
    "id": "97cbc3b3-32c7-4e4a-b788-a332ea82aeff",
    "name": "Quinyx",
    "shortName": "QUIN",
    "description": "Workforce planning",
    "vendorUrl": "http://www.quinyx.com",
    "credentialFields": [
        {
            "ShortName": "apikey",
            "Name": "API key",
            "Type": "text",
            "Value": "",
            "Optional": False,
            "Desc": "Your Quinyx API key",
            "Hidden": False,
        },
        {
            "ShortName": "environment",
            "Name": "Environment",
            "Type": "select",
            "Value": "",
            "Options": "live|Live Environment,test|Test Environment",
            "Optional": False,
            "Desc": "Choose which Quinyx environment you wish to use, live or test.",
            "Hidden": False,
        },
    ],
    "credentialsJson": {"apikey": None, "environment": None},
    "tag": "Scheduling,Planning,Premium",
    "sessionTimeMins": 0,
    "sessionSlidingExpiry": False,
}

TEMPLATE: dict[str, Any] = {
    "id": "018fda95-a62f-4f0b-af12-3cfcd9146def",
    "name": "Transferring of Orders & Customers",
    "description": "Transferring of Orders & Customers",
    "dateCreated": "2020-08-14T17:22:57.2244016",
    "dateModified": "2020-12-10T13:02:23.1685229",
    "state": "Draft",
    "version": None,
    "draftIsCommitted": None,
    "dateCommitted": None,
    "organizationId": None,
    "applications": ["MYST2", "FIKE"],
    "chain": [
        {
            "uniqueBlockId": "a43e433d-9def-4062-9e89-6ff01824f980",
            "blockName": "MyStore Get orders",
            "variables": {"status": "2", "age": None},
        }
    ],
}

REG_APPLICATION: dict[str, Any] = {
    "id": "dbdd41cf-28de-4d2d-9771-7105c2165bcf",
    "shortName": "CMAF",
    "accountId": "6fa122e4-0d4c-4a1d-8869-7c0a86a37bf1",
    "applicationId": "9b6a04b3-c91f-4255-9033-6ac7b7a6f935",
    "name": "File Hub",
    "tagText": "File Hub",
    "description": "File automation",
    "isAuthenticated": True,
    "isOAuthApp": False,
    "dateModified": "2022-04-20T14:00:27.1912258",
    "dateTimeUtcAuthenticated": None,
    "dateTimeForReAuth": None,
    "sessionTimeMins": 0,
    "sessionSlidingExpiry": False,
    "faulted": False,
}

ACCOUNT: dict[str, Any] = {
    "id": "41a31538-1120-4bdf-a6cb-675eeedd7d2d",
    "firstName": "Nathan",
    "lastName": "Bray",
    "email": "nathan.bray@connectmyapps.com",
    "organizationId": "00000000-0000-0000-0000-000000000000",
    "organizationName": "CMA Customer Bench",
    "roleId": "349889ad-4277-42d0-a268-5cd27230cfc5",
    "role": "User",
    "dateCreated": "2020-05-07T19:10:36.69",
}


class TestWorkflow:
    def test_documented_sample(self) -> None:
        """Every key of the documented sample lands in its typed field."""
        wf = _convert.structure(WORKFLOW, Workflow)

        assert wf.id == uuid.UUID(WORKFLOW["id"])
        assert wf.status is WorkflowStatus.READY
        assert wf.cron == "0 0 0/1 ? * * *"
        assert wf.workflow_template_id is None
        assert wf.reg_application_ids == (
            uuid.UUID("281686d9-aedd-4359-89b4-8f878ad43b35"),
            uuid.UUID("03548816-f945-4bb2-b66e-950dff826fb8"),
        )
        assert wf.current_block == 3
        assert wf.date_created == datetime(2022, 3, 24, 18, 8, 22, 254399, tzinfo=UTC)
        assert wf.date_last_run == datetime(2022, 4, 12, 10, 36, 57, 877000, tzinfo=UTC)

    def test_unknown_keys_are_ignored(self) -> None:
        """A server that sends more than documented does not break parsing."""
        wf = _convert.structure({**WORKFLOW, "newField": {"x": 1}, "priority": 3}, Workflow)

        assert wf == _convert.structure(WORKFLOW, Workflow)

    def test_unknown_status_stays_a_string(self) -> None:
        wf = _convert.structure({**WORKFLOW, "status": "Hibernating"}, Workflow)

        assert wf.status == "Hibernating"
        assert not isinstance(wf.status, WorkflowStatus)

    def test_missing_documented_key_is_refused(self) -> None:
        """A documented key missing is an unexpected answer, not a silent default."""
        payload = dict(WORKFLOW)
        del payload["accountId"]

        with pytest.raises(ValueError, match=r"missing key 'accountId' @ Workflow\.account_id"):
            _convert.structure(payload, Workflow)

    @pytest.mark.parametrize(
        ("frequency", "cron"),
        [
            ('{ "cronSchedule": "0 0 * ? * *"}', "0 0 * ? * *"),
            ('{"cronSchedule":"0 0 2,6 ? * TUE *"}', "0 0 2,6 ? * TUE *"),
            ("0 0/5 * ? * * *", "0 0/5 * ? * * *"),
            ("", None),
            (None, None),
            ("{}", None),
        ],
    )
    def test_cron_from_scheduler_frequency(self, frequency: str | None, cron: str | None) -> None:
        """``schedulerFrequency`` is a JSON-encoded string; the model holds the cron."""
        wf = _convert.structure({**WORKFLOW, "schedulerFrequency": frequency}, Workflow)

        assert wf.cron == cron

    def test_view_is_not_data(self) -> None:
        """The account view is neither structured, compared nor shown."""
        wf = _convert.structure({**WORKFLOW, "view": "oops", "_view": "oops"}, Workflow)

        assert wf._view is None
        assert "view" not in repr(wf)

    @pytest.mark.parametrize("field", ["isScheduled", "currentBlock", "name"])
    def test_wrong_json_type_is_refused(self, field: str) -> None:
        """A value of the wrong JSON type is not coerced (``str(None)`` is not a name)."""
        with pytest.raises(ValueError, match="expected a JSON"):
            _convert.structure({**WORKFLOW, field: None}, Workflow)

    def test_a_listing_that_does_not_fit_names_every_field_in_every_item(self) -> None:
        """The fast read fails; the answer is read again to name each field that does not fit."""
        payload = [
            WORKFLOW,
            {**WORKFLOW, "regApplicationIds": [str(uuid.uuid4()), "not-a-guid"]},
            {**WORKFLOW, "dateCreated": "yesterday", "workflowTemplateId": 7},
        ]

        with pytest.raises(ValueError, match="; ") as info:
            _convert.structure(payload, list[Workflow])

        problems = str(info.value).split("; ")
        assert len(problems) == 3
        assert any(p.endswith(" @ Workflow[1].reg_application_ids[1]") for p in problems)
        assert any(p.endswith(" @ Workflow[2].date_created") for p in problems)
        assert any(p.endswith(" @ Workflow[2].workflow_template_id") for p in problems)

    def test_the_fast_read_equals_the_detailed_one(self) -> None:
        payload = [WORKFLOW, {**WORKFLOW, "dateNextSchedule": None, "newKey": [1]}]

        fast = _convert._fast.structure(payload, list[Workflow])

        assert fast == _convert.converter.structure(payload, list[Workflow])
        assert [w.extra for w in fast] == [{}, {"newKey": [1]}]

    def test_a_listing(self) -> None:
        raw = json.dumps([WORKFLOW, {**WORKFLOW, "id": str(uuid.uuid4())}]).encode()

        workflows = _convert.structure(json.loads(raw), list[Workflow])

        assert [type(w) for w in workflows] == [Workflow, Workflow]
        assert workflows[0] == _convert.structure(WORKFLOW, Workflow)


class TestTimestamps:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2022-04-19T15:56:22.1133746", datetime(2022, 4, 19, 15, 56, 22, 113374, tzinfo=UTC)),
            ("2020-05-07T19:10:36.69", datetime(2020, 5, 7, 19, 10, 36, 690000, tzinfo=UTC)),
            (
                "2022-04-12T10:36:57.877+00:00",
                datetime(2022, 4, 12, 10, 36, 57, 877000, tzinfo=UTC),
            ),
            ("2022-04-05T17:00:00+02:00", datetime(2022, 4, 5, 15, 0, tzinfo=UTC)),
            ("2022-04-05T17:00:00-05:30", datetime(2022, 4, 5, 22, 30, tzinfo=UTC)),
            ("2022-04-05T17:00:00Z", datetime(2022, 4, 5, 17, 0, tzinfo=UTC)),
            ("2022-04-05T17:00:00", datetime(2022, 4, 5, 17, 0, tzinfo=UTC)),
            ("2022-04-05", datetime(2022, 4, 5, tzinfo=UTC)),
        ],
    )  # fmt: skip
    def test_every_form_is_utc_aware(self, text: str, expected: datetime) -> None:
        """Naive timestamps are UTC; offsets are converted to UTC."""
        parsed = _convert.structure({**WORKFLOW, "dateCreated": text}, Workflow).date_created

        assert parsed == expected
        assert parsed is not None
        assert parsed.tzinfo is UTC

    def test_null_is_none(self) -> None:
        assert _convert.structure({**WORKFLOW, "dateLastRun": None}, Workflow).date_last_run is None

    def test_garbage_is_refused(self) -> None:
        with pytest.raises(ValueError, match="isoformat"):
            _convert.structure({**WORKFLOW, "dateCreated": "yesterday at noon"}, Workflow)


class TestUUIDs:
    @given(st.uuids())
    def test_fast_path_equals_the_constructor(self, value: uuid.UUID) -> None:
        """The direct construction gives the same UUID, in every form the
        constructor accepts."""
        for text in (str(value), str(value).upper(), value.hex, "{" + str(value) + "}"):
            parsed = _convert.structure({**WORKFLOW, "id": text}, Workflow).id

            assert parsed == value
            assert parsed.int == value.int
            assert hash(parsed) == hash(value)
            assert parsed.is_safe is uuid.SafeUUID.unknown

    @given(st.lists(st.uuids(), max_size=4))
    def test_id_lists_in_every_form(self, values: list[uuid.UUID]) -> None:
        texts = [form(v) for v in values for form in (str, lambda u: str(u).upper(), _hex)]

        parsed = _convert.structure({**WORKFLOW, "regApplicationIds": texts}, Workflow)

        assert parsed.reg_application_ids == tuple(v for v in values for _ in range(3))

    @pytest.mark.parametrize(
        "text",
        [
            "not-a-guid",
            "-81686d9-aedd-4359-89b4-8f878ad43b35",
            "281686d9-aedd-4359-89b4-8f878ad43b3",
            "281686d9-aedd-4359-89b4-8f878ad43bxx",
        ],
    )
    def test_malformed_is_refused(self, text: str) -> None:
        with pytest.raises(ValueError, match=r"hexadecimal|base 16"):
            _convert.structure({**WORKFLOW, "id": text}, Workflow)


def _hex(value: uuid.UUID) -> str:
    return value.hex


class TestApplication:
    def test_credential_fields_are_pascal_case_with_options(self) -> None:
        app = _convert.structure(QUINYX, Application)

        assert app.short_name == "QUIN"
        assert app.tags == ("Scheduling", "Planning", "Premium")
        assert app.credential_fields[0] == CredentialField(
            short_name="apikey",
            name="API key",
            type=CredentialFieldType.TEXT,
            value="",
            options=(),
            optional=False,
            desc="Your Quinyx API key",
            hidden=False,
        )
        assert app.credential_fields[1].options == (
            CredentialOption("live", "Live Environment"),
            CredentialOption("test", "Test Environment"),
        )

    @pytest.mark.parametrize(
        ("options", "expected"),
        [
            ("a|A", (CredentialOption("a", "A"),)),
            ("a, b|B ,", (CredentialOption("a", "a"), CredentialOption("b", "B"))),
            (["x|X"], (CredentialOption("x", "X"),)),
            ("", ()),
            (None, ()),
        ],
    )
    def test_options_forms(self, options: object, expected: tuple[CredentialOption, ...]) -> None:
        """A bare value is its own label; blanks are skipped; a JSON array is read too."""
        field = _convert.structure({"ShortName": "x", "Options": options}, CredentialField)

        assert field.options == expected

    def test_unknown_field_type_stays_a_string(self) -> None:
        field = _convert.structure({"ShortName": "x", "Type": "oauth-button"}, CredentialField)

        assert field.type == "oauth-button"

    def test_preset_value_is_not_in_repr(self) -> None:
        field = _convert.structure({"ShortName": "x", "Value": "preset-9f2c"}, CredentialField)

        assert "preset-9f2c" not in repr(field)


class TestOtherModels:
    def test_account(self) -> None:
        account = _convert.structure(ACCOUNT, Account)

        assert account.role is Role.USER
        assert account.date_created == datetime(2020, 5, 7, 19, 10, 36, 690000, tzinfo=UTC)

    def test_reg_application_nulls(self) -> None:
        reg = _convert.structure(REG_APPLICATION, RegApplication)

        assert reg.date_time_utc_authenticated is None
        assert reg.is_o_auth_app is False
        assert reg.date_modified == datetime(2022, 4, 20, 14, 0, 27, 191225, tzinfo=UTC)

    def test_template_with_chain(self) -> None:
        template = _convert.structure(TEMPLATE, WorkflowTemplate)

        assert template.state is TemplateState.DRAFT
        assert template.version is None
        assert template.applications == ("MYST2", "FIKE")
        assert template.chain[0].block_name == "MyStore Get orders"
        assert template.chain[0].variables == {"status": "2", "age": None}

    def test_endpoint_and_property(self) -> None:
        endpoint = _convert.structure(
            {
                "name": "Describe",
                "parameters": "String name",
                "verb": "GET",
                "authenticate": False,
                "description": "Describes object properties",
                "returns": "",
            },
            EndpointInfo,
        )
        prop = _convert.structure(
            {
                "typeName": "dictionary",
                "propertyName": "applications",
                "genericParameters": "string,guid",
                "isRequired": True,
            },
            PropertyInfo,
        )

        assert (endpoint.name, endpoint.verb) == ("Describe", "GET")
        assert prop == PropertyInfo("applications", "dictionary", "string,guid", True)

    def test_models_are_frozen(self) -> None:
        account = _convert.structure(ACCOUNT, Account)

        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            account.email = "x@y.z"  # type: ignore[misc]


@attrs.frozen
class _WithId:
    """Stands for a model: what an id argument may be."""

    id: uuid.UUID


class TestRequests:
    def test_reg_application_credentials_are_a_json_string(self) -> None:
        """``credentialsJson`` goes out as a JSON-encoded string (spec: "Shapes")."""
        body = _operations.NewRegApplication(
            uuid.UUID(QUINYX["id"]), "Quinyx 2022-04-28", {"apikey": "k-1", "environment": "test"}
        )

        data = _convert.unstructure(body)

        assert data == {
            "applicationId": QUINYX["id"],
            "tagText": "Quinyx 2022-04-28",
            "credentialsJson": '{"apikey":"k-1","environment":"test"}',
        }
        assert "k-1" not in repr(body)

    def test_run_omits_absent_blocks(self) -> None:
        wf_id = uuid.uuid4()

        assert _convert.unstructure(_operations.RunMetadata(wf_id)) == {"workflowId": str(wf_id)}
        assert _convert.unstructure(_operations.RunMetadata(wf_id, None, 2)) == {
            "workflowId": str(wf_id),
            "runTillBlock": 2,
        }

    @pytest.mark.parametrize("given", ["model", "uuid", "canonical text", "upper text"])
    @pytest.mark.parametrize("blocks", [(None, None), (2, None), (None, 3), (1, 4)])
    def test_a_run_sends_its_metadata_dto(
        self, given: str, blocks: tuple[int | None, int | None]
    ) -> None:
        """Whatever form the id takes, the body is RunMetadata's (the whole
        chain's is written without the DTO)."""
        wf_id = uuid.uuid4()
        workflow = {
            "model": _WithId(wf_id),
            "uuid": wf_id,
            "canonical text": str(wf_id),
            "upper text": f" {str(wf_id).upper()} ",
        }[given]

        _params, body = _operations.RUN_WORKFLOW.build(workflow, *blocks)

        assert body == _convert.unstructure(_operations.RunMetadata(wf_id, *blocks))

    def test_scheduler_frequency_is_a_json_string(self) -> None:
        wf_id = uuid.uuid4()

        on = _convert.unstructure(_operations.SchedulerUpdate(wf_id, True, "0 0/5 * ? * * *"))
        off = _convert.unstructure(_operations.SchedulerUpdate(wf_id, False))

        assert on == {
            "workflowId": str(wf_id),
            "isScheduled": True,
            "scheduleFrequency": '{"cronSchedule":"0 0/5 * ? * * *"}',
        }
        assert off == {"workflowId": str(wf_id), "isScheduled": False}

    def test_new_workflow(self) -> None:
        template_id, reg_id, block_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        body = _operations.NewWorkflow(
            template_id,
            {"QUIN": reg_id},
            name="Export",
            chain=(_operations.ChainOverride(block_id, {"apiKeys": ["k"]}),),
        )

        assert _convert.unstructure(body) == {
            "workflowTemplateId": str(template_id),
            "applications": {"QUIN": str(reg_id)},
            "name": "Export",
            "chain": [{"uniqueBlockId": str(block_id), "variables": {"apiKeys": ["k"]}}],
        }

    def test_new_account_keeps_explicit_false(self) -> None:
        """Only fields left at None are omitted; ``activated=False`` is sent."""
        body = _operations.NewAccount("A", "B", "a@b.co", "User", activated=False)

        assert _convert.unstructure(body) == {
            "firstName": "A",
            "lastName": "B",
            "email": "a@b.co",
            "roleName": "User",
            "activated": False,
        }


@pytest.mark.parametrize(
    ("name", "camel", "pascal"),
    [
        ("id", "id", "Id"),
        ("date_time_utc_authenticated", "dateTimeUtcAuthenticated", "DateTimeUtcAuthenticated"),
        ("is_o_auth_app", "isOAuthApp", "IsOAuthApp"),
        ("short_name", "shortName", "ShortName"),
    ],
)
def test_key_naming(name: str, camel: str, pascal: str) -> None:
    assert _convert.camel(name) == camel
    assert _convert.pascal(name) == pascal
