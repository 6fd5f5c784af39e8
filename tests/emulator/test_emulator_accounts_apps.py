"""Account and RegApplication: what they store, and what they refuse."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from canvas_async._routes import ACCOUNT_EXISTS_TEXT
from canvas_async.testing import ManualClock
from tests.emulator.emulator_support import FTP_APP, PAYLOADS, QUINYX_APP, Api, snapshot

ACCOUNT = PAYLOADS["Account:body"]
MSQL_APP = "276511d9-f07f-4fa6-b109-fdb4d62b2429"


# -- Account ------------------------------------------------------------------------


async def test_a_new_account_is_stored_whole(api: Api, clock: ManualClock) -> None:
    account_id = await api.ok("create_account", body=ACCOUNT)
    listed = (await api.ok("list_accounts"))[-1]
    assert listed == {
        "id": account_id,
        "firstName": "John",
        "lastName": "Smeet",
        "email": ACCOUNT["email"],  # its "c" is Cyrillic, as documented
        "organizationId": "00000000-0000-0000-0000-000000000001",
        "organizationName": "ConnectMyApps AS",
        "roleId": listed["roleId"],
        "role": "SuperPartner",
        "dateCreated": "2022-04-27T10:18:55.1774280",
    }
    record = api.emu.state.accounts[uuid.UUID(account_id)]
    assert (record.phone, record.country_key, record.global_notifications) == (
        "+470568765432",
        "DE",
        True,
    )
    assert record.default_notification_email == "support@connectmyapps.com"
    assert api.emu.state.outbox == []


async def test_an_inactive_account_gets_mail_and_is_listed_once_active(
    api: Api, clock: ManualClock
) -> None:
    account_id = await api.ok("create_account", body={**ACCOUNT, "activated": False})
    [mail] = api.emu.state.outbox
    assert (str(mail.account_id), mail.email, mail.at) == (
        account_id,
        ACCOUNT["email"],
        clock.now(),
    )
    assert account_id not in [a["id"] for a in await api.ok("list_accounts")]

    api.emu.state.activate_account(uuid.UUID(account_id))
    assert account_id in [a["id"] for a in await api.ok("list_accounts")]


async def test_an_email_is_taken_whatever_its_case(api: Api) -> None:
    # Nathan Bray's address, as a sample account has it.
    before = snapshot(api.emu)
    answer = await api.call(
        "create_account", body={**ACCOUNT, "email": "Nathan.Bray@ConnectMyApps.com"}
    )
    assert (answer.status, answer.text) == (400, ACCOUNT_EXISTS_TEXT)
    assert snapshot(api.emu) == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"roleName": "Boss"}, "AddAccountApiDto.roleName must be SuperPartner or User"),
        ({"roleName": None}, "AddAccountApiDto.roleName is required"),
        ({"firstName": "  "}, "AddAccountApiDto.firstName must not be empty"),
        ({"email": "no-at-sign"}, "AddAccountApiDto.email must be an e-mail address"),
        ({"email": 5}, "AddAccountApiDto.email must be a string"),
        ({"countryKey": "DEU"}, "AddAccountApiDto.countryKey must be an ISO 3166 alpha-2 code"),
        ({"activated": "yes"}, "AddAccountApiDto.activated must be true or false"),
    ],
)
async def test_account_input_is_checked(api: Api, change: dict[str, Any], message: str) -> None:
    before = snapshot(api.emu)
    answer = await api.call("create_account", body={**ACCOUNT, **change})
    assert answer.envelope == (400, message)
    assert answer.status == 400
    assert snapshot(api.emu) == before


# -- RegApplication ------------------------------------------------------------------


async def test_a_registration_is_stored_and_listed(api: Api) -> None:
    reg_id = await api.ok("create_reg_application", body=PAYLOADS["RegApplication:body1"])
    listed = (await api.ok("list_reg_applications"))[-1]
    assert listed == {
        "id": reg_id,
        "shortName": "QUIN",
        "accountId": "6fa122e4-0d4c-4a1d-8869-7c0a86a37bf1",
        "applicationId": QUINYX_APP,
        "name": "Quinyx",
        "tagText": "Quinyx 2022-04-28",
        "description": "Workforce planning",
        "isAuthenticated": True,
        "isOAuthApp": False,
        "dateModified": "2022-04-27T10:18:55.1774280",
        "dateTimeUtcAuthenticated": "2022-04-27T10:18:55.1774280",
        "dateTimeForReAuth": "2022-04-27T10:18:55.1774280",
        "sessionTimeMins": 0,
        "sessionSlidingExpiry": False,
        "faulted": False,
    }
    record = api.emu.state.reg_applications[uuid.UUID(reg_id)]
    assert record.credentials == {"apikey": "01d6-3e54-cff2-c7d8", "environment": "test"}
    assert "01d6-3e54-cff2-c7d8" not in repr(record)
    assert "01d6-3e54-cff2-c7d8" not in repr(api.emu.state)


async def test_tag_text_defaults_to_the_application_name(api: Api) -> None:
    body = {"applicationId": QUINYX_APP, "credentialsJson": '{"apikey":"a","environment":"live"}'}
    reg_id = await api.ok("create_reg_application", body=body)
    assert api.emu.state.reg_applications[uuid.UUID(reg_id)].tag_text == "Quinyx"


@pytest.mark.parametrize(
    ("credentials", "missing"),
    [
        ({"server": "db", "database": "d", "username": "u", "password": ""}, ["Password"]),
        ({"database": "d", "password": "p"}, ["Server", "User name"]),
        ({}, ["Server", "Database", "User name", "Password"]),
    ],
)
async def test_required_credentials_each_get_a_line(
    api: Api, credentials: dict[str, Any], missing: list[str]
) -> None:
    before = snapshot(api.emu)
    answer = await api.call(
        "create_reg_application",
        body={"applicationId": MSQL_APP, "credentialsJson": json.dumps(credentials)},
    )
    lines = [f"You must enter a value for {name}." for name in missing]
    assert (answer.status, answer.text.split("\n")) == (
        400,
        ["Authentication Error: " + lines[0], *lines[1:]],
    )
    assert snapshot(api.emu) == before


async def test_optional_credentials_may_be_left_out(api: Api) -> None:
    # FTP's "secure" and MSQL's "port" are optional.
    ftp = '{"username": "u", "password": "p", "port": 21, "address": "a"}'
    assert await api.ok(
        "create_reg_application", body={"applicationId": FTP_APP, "credentialsJson": ftp}
    )
    msql = '{"server": "s", "database": "d", "username": "u", "password": "p"}'
    assert await api.ok(
        "create_reg_application", body={"applicationId": MSQL_APP, "credentialsJson": msql}
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"applicationId": QUINYX_APP, "credentialsJson": {"apikey": "a"}},
            "AddRegApplicationApiDto.credentialsJson must be a string",
        ),
        (
            {"applicationId": QUINYX_APP, "credentialsJson": "{apikey: a}"},
            "AddRegApplicationApiDto.credentialsJson is not valid JSON",
        ),
        (
            {"applicationId": QUINYX_APP, "credentialsJson": '["a"]'},
            "AddRegApplicationApiDto.credentialsJson must be a JSON-encoded object, "
            'e.g. "{\\"apikey\\":\\"...\\"}"',
        ),
        (
            {"applicationId": QUINYX_APP},
            "AddRegApplicationApiDto.credentialsJson is required",
        ),
        (
            {"applicationId": "97cbc3b3", "credentialsJson": "{}"},
            "AddRegApplicationApiDto.applicationId must be a GUID like "
            "6fa122e4-0d4c-4a1d-8869-7c0a86a37bf1",
        ),
    ],
)
async def test_registration_input_is_checked(api: Api, body: Any, message: str) -> None:
    before = snapshot(api.emu)
    answer = await api.call("create_reg_application", body=body)
    assert (answer.status, answer.envelope) == (400, (400, message))
    assert snapshot(api.emu) == before


async def test_an_unknown_application_is_a_404(api: Api) -> None:
    unknown = str(uuid.uuid4())
    answer = await api.call(
        "create_reg_application", body={"applicationId": unknown, "credentialsJson": "{}"}
    )
    assert (answer.status, answer.envelope) == (404, (404, f"Unknown application {unknown}"))


async def test_every_application_lists_its_credentials_json(api: Api) -> None:
    for app in await api.ok("list_applications"):
        fields = app["credentialFields"]
        assert app["credentialsJson"] == {field["ShortName"]: None for field in fields}
        for field in fields:
            assert ("Options" in field) == (field["Type"] == "select")
