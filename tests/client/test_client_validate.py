"""Input checks that run before anything is sent: no network."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from canvas_async import (
    Application,
    Block,
    CredentialField,
    CredentialOption,
    RegApplication,
    ValidationError,
    WorkflowTemplate,
    _validate,
)
from canvas_async import _operations as v
from canvas_async._validate import id_text

EXPORT_BLOCK = Block(uuid.uuid4(), "API - Get Employees", {"apiKeys": [], "badgeNo": None})
UPLOAD_BLOCK = Block(uuid.uuid4(), "FTP Upload", {"filename": "x", "filepath": "/"})


def application(*fields: CredentialField, short_name: str = "QUIN") -> Application:
    return Application(
        id=uuid.uuid4(),
        name="Quinyx",
        short_name=short_name,
        description=None,
        vendor_url=None,
        credential_fields=fields,
        credentials_json=None,
        tag=None,
        session_time_mins=0,
        session_sliding_expiry=False,
    )


def template(*chain: Block, applications: tuple[str, ...] = ("QUIN", "FTP")) -> WorkflowTemplate:
    return WorkflowTemplate(
        id=uuid.uuid4(),
        name="Export",
        description=None,
        date_created=None,
        date_modified=None,
        state="Published",
        version=None,
        draft_is_committed=None,
        date_committed=None,
        organization_id=None,
        applications=applications,
        chain=chain or (EXPORT_BLOCK, UPLOAD_BLOCK),
    )


def registration(short_name: str) -> RegApplication:
    now = datetime.now(UTC)
    return RegApplication(
        id=uuid.uuid4(),
        short_name=short_name,
        account_id=uuid.uuid4(),
        application_id=uuid.uuid4(),
        name=short_name,
        tag_text=None,
        description=None,
        is_authenticated=True,
        is_o_auth_app=False,
        date_modified=now,
        date_time_utc_authenticated=now,
        date_time_for_re_auth=now,
        session_time_mins=0,
        session_sliding_expiry=False,
        faulted=False,
    )


QUINYX = application(
    CredentialField("apikey", "API key", "text"),
    CredentialField(
        "environment",
        "Environment",
        "select",
        options=(CredentialOption("live", "Live"), CredentialOption("test", "Test")),
    ),
    CredentialField("note", "Note", "text", optional=True),
)


class TestCredentials:
    def test_complete_credentials_pass(self, secret: Callable[[str], str]) -> None:
        v.CREATE_REG_APPLICATION(
            QUINYX, "tag", {"apikey": secret("01d6-3e54-cff2"), "environment": "test"}
        )

    def test_every_problem_in_one_message_without_values(
        self, secret: Callable[[str], str]
    ) -> None:
        """Missing, bad select and unknown fields are named together; values never."""
        leaked = secret("hunter2-hunter2")

        with pytest.raises(ValidationError) as info:
            v.CREATE_REG_APPLICATION(
                QUINYX, "tag", {"apikey": "  ", "environment": leaked, "passwrod": leaked}
            )

        message = str(info.value)
        assert "apikey (API key) is required" in message
        assert "environment (Environment) must be one of live, test" in message
        assert "unknown credential fields passwrod (known: apikey, environment, note)" in message
        assert leaked not in message
        assert "note (Note)" not in message  # optional and absent: fine

    @pytest.mark.parametrize("value", [["a"], {"a": 1}])
    def test_structured_values_are_refused(self, value: object) -> None:
        with pytest.raises(ValidationError, match="must be a string, number or boolean"):
            v.CREATE_REG_APPLICATION(QUINYX, "tag", {"apikey": value, "environment": "live"})

    def test_not_a_mapping(self) -> None:
        with pytest.raises(ValidationError, match="credentials must be a mapping"):
            v.CREATE_REG_APPLICATION(QUINYX, "tag", [("apikey", "x")])  # type: ignore[arg-type]

    def test_non_string_values_are_accepted(self) -> None:
        """The FTP sample sends ``"secure": true``; ports may be numbers."""
        ftp = application(
            CredentialField("port", "Port", "text"),
            CredentialField("secure", "Secure", "checkbox", optional=True),
            short_name="FTP",
        )

        v.CREATE_REG_APPLICATION(ftp, "tag", {"port": 21, "secure": True})


class TestApplications:
    def test_models_and_ids_resolve(self) -> None:
        quin, ftp_id = registration("QUIN"), uuid.uuid4()

        resolved = v.resolve_applications(template(), {"QUIN": quin, "FTP": str(ftp_id)})

        assert resolved == {"QUIN": quin.id, "FTP": ftp_id}

    def test_must_cover_exactly_the_templates_applications(self) -> None:
        with pytest.raises(ValidationError) as info:
            v.resolve_applications(template(), {"QUIN": uuid.uuid4(), "MSQL": uuid.uuid4()})

        assert "missing registrations for FTP" in str(info.value)
        assert "the template does not use MSQL" in str(info.value)

    def test_registration_of_another_application_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="FTP is given a registration of QUIN"):
            v.resolve_applications(
                template(), {"QUIN": registration("QUIN"), "FTP": registration("QUIN")}
            )

    def test_bad_id(self) -> None:
        with pytest.raises(ValidationError, match="registration for FTP must be a GUID"):
            v.resolve_applications(template(), {"QUIN": uuid.uuid4(), "FTP": "ftp-1"})


class TestVariables:
    def test_by_name_and_by_id_merged_over_the_block(self) -> None:
        chosen = v.resolve_variables(
            template(),
            {
                "API - Get Employees": {"apiKeys": ["k"]},
                str(UPLOAD_BLOCK.unique_block_id): {"filepath": "/out"},
            },
        )

        assert chosen == [
            (EXPORT_BLOCK, {"apiKeys": ["k"], "badgeNo": None}),
            (UPLOAD_BLOCK, {"filename": "x", "filepath": "/out"}),
        ]

    def test_unknown_block_names_the_blocks(self) -> None:
        with pytest.raises(ValidationError) as info:
            v.resolve_variables(template(), {"FTP upload": {}})

        assert "no block 'FTP upload'" in str(info.value)
        assert "'FTP Upload'" in str(info.value)

    def test_ambiguous_name_is_refused_but_its_ids_work(self) -> None:
        twin_a = Block(uuid.uuid4(), "Send email", {})
        twin_b = Block(uuid.uuid4(), "Send email", {"to": None})
        tpl = template(twin_a, twin_b)

        with pytest.raises(ValidationError, match="'Send email' is ambiguous"):
            v.resolve_variables(tpl, {"Send email": {"to": "a@b.co"}})
        assert v.resolve_variables(tpl, {str(twin_b.unique_block_id): {"to": "a@b.co"}}) == [
            (twin_b, {"to": "a@b.co"})
        ]

    def test_same_block_twice_and_bad_overrides(self) -> None:
        with pytest.raises(ValidationError) as info:
            v.resolve_variables(
                template(),
                {
                    "FTP Upload": {"filepath": "/a"},
                    str(UPLOAD_BLOCK.unique_block_id): {"filepath": "/b"},
                    "API - Get Employees": ["k"],  # type: ignore[dict-item]
                },
            )

        assert "is named twice" in str(info.value)
        assert "must be a mapping" in str(info.value)


class TestBlockRange:
    @pytest.mark.parametrize(
        ("from_block", "till_block"), [(None, None), (1, None), (None, 2), (2, 4), (3, 3)]
    )
    def test_valid(self, from_block: int | None, till_block: int | None) -> None:
        v.check_block_range(from_block, till_block)

    @pytest.mark.parametrize(
        ("from_block", "till_block", "chain_length", "message"),
        [
            (0, None, None, "from_block must be >= 1"),
            (None, -1, None, "till_block must be >= 1"),
            (4, 2, None, r"from_block \(4\) must not be after till_block \(2\)"),
            (1, 5, 4, "till_block must be <= 4"),
            (True, None, None, "from_block must be an int"),
            ("2", None, None, "from_block must be an int"),
        ],
    )
    def test_invalid(
        self, from_block: Any, till_block: Any, chain_length: int | None, message: str
    ) -> None:
        with pytest.raises(ValidationError, match=message):
            v.check_block_range(from_block, till_block, chain_length=chain_length)


class TestAccount:
    GOOD: dict[str, Any] = {  # noqa: RUF012 - read-only test data
        "first_name": "John",
        "last_name": "Smeet",
        "email": "john.smmet@\u0441ompany.com",  # the sample's Cyrillic "es"
        "role_name": "SuperPartner",
        "country_key": "DE",
        "default_notification_email": "support@connectmyapps.com",
    }

    def test_documented_example_passes(self) -> None:
        v.CREATE_ACCOUNT(v.NewAccount(**self.GOOD))

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("role_name", "Admin", "role must be 'User' or 'SuperPartner', got 'Admin'"),
            ("role_name", "user", "role must be 'User' or 'SuperPartner'"),
            ("email", "john.example.com", "email must be an e-mail address"),
            ("email", "john@localhost", "email must be an e-mail address"),
            ("default_notification_email", "a@b", "default_notification_email must be"),
            ("country_key", "de", "country_key must be an ISO 3166-1 alpha-2 code"),
            ("country_key", "XX", "country_key must be an ISO 3166-1 alpha-2 code"),
            ("country_key", "DEU", "country_key must be an ISO 3166-1 alpha-2 code"),
            ("first_name", " ", "first_name must be a non-empty string"),
            ("last_name", None, "last_name must be a non-empty string"),
        ],
    )
    def test_bad_field(self, field: str, value: object, message: str) -> None:
        with pytest.raises(ValidationError, match=message):
            v.CREATE_ACCOUNT(v.NewAccount(**{**self.GOOD, field: value}))

    def test_every_problem_at_once(self) -> None:
        bad = {"email": "x", "role_name": "Admin", "country_key": "ZZ"}
        with pytest.raises(ValidationError) as info:
            v.CREATE_ACCOUNT(v.NewAccount(**{**self.GOOD, **bad}))

        assert str(info.value).count(";") == 2

    def test_country_codes_are_the_assigned_ones(self) -> None:
        assert len(v.COUNTRY_CODES) == 249
        assert {"NO", "DE", "GB", "US", "AX"} <= v.COUNTRY_CODES
        assert not {"UK", "EU", "XK"} & v.COUNTRY_CODES


class TestIds:
    def test_forms(self) -> None:
        value = uuid.uuid4()

        assert _validate.as_uuid(value, "id") == value
        assert _validate.as_uuid(f" {value} ", "id") == value
        assert _validate.as_uuid(registration("QUIN"), "id") != value

    @pytest.mark.parametrize("value", ["nope", 12, None, b"\x00" * 16])
    def test_bad(self, value: object) -> None:
        with pytest.raises(ValidationError, match="workflow id must be a GUID"):
            _validate.as_uuid(value, "workflow id")
        with pytest.raises(ValidationError, match="workflow id must be a GUID"):
            id_text(value, "workflow id")

    def test_text_sent_is_the_canonical_form(self) -> None:
        value = uuid.uuid4()
        canonical = str(value)

        # The canonical text goes out as it came; any other form is normalised.
        assert id_text(canonical, "id") is canonical
        for form in (value, canonical.upper(), f" {{{canonical}}} ", value.hex):
            assert id_text(form, "id") == canonical
