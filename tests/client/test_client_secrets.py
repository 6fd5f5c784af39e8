"""The suite-wide leak check sees what it must see, and would catch a leak."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

import pytest

from canvas_async import Canvas, KeyAuth, ValidationError
from canvas_async._operations import NewRegApplication
from canvas_async.testing import CanvasEmulator
from tests.leak_check import SECRETS, TEXTS, find_leaks


def test_a_header_dump_would_be_caught() -> None:
    """What the check would report if the transport logged its headers."""
    headers = {"Consumer": "5D1AEF05263B4971", "SecretKey": "a5ae515d-d53b-478c"}
    texts = [("log canvas_async", f"DEBUG canvas_async sending {headers}")]

    assert find_leaks(texts, ["a5ae515d-d53b-478c"]) == [
        "log canvas_async: contains a registered secret of 18 characters"
    ]
    assert find_leaks(texts, ["not-in-there"]) == []


async def test_the_check_sees_transport_logs_errors_and_models(
    canvas: Canvas, emu: CanvasEmulator
) -> None:
    """The session capture holds the transport's DEBUG records, exception
    messages and model reprs, and the emulator's keys are registered."""
    before = len(TEXTS)
    await canvas.for_account(emu.state.managed_ids[0]).workflows.list()
    with pytest.raises(ValidationError):
        canvas.for_account("nope")

    wheres = [where for where, _ in TEXTS[before:]]
    assert "log canvas_async" in wheres
    assert "ValidationError message" in wheres
    assert any(where.startswith("repr of list[") for where in wheres)
    assert {emu.consumer, emu.secret_key} <= SECRETS
    assert any("Workflows: GET /Workflows" in text for _, text in TEXTS[before:])


def test_reprs_hide_keys_and_credentials(secret: Callable[[str], str]) -> None:
    key = secret("K3Y-0F-THE-C0NSUMER")
    password = secret("ftp-pa55word-xyz")
    auth = KeyAuth.from_keys(key, key)
    body = NewRegApplication(uuid.uuid4(), tag_text="t", credentials={"password": password})

    for obj in (auth, body):
        assert key not in repr(obj)
        assert password not in repr(obj)


def test_aiohttp_debug_logging_is_captured_too() -> None:
    assert logging.getLogger("aiohttp").isEnabledFor(logging.DEBUG)
    assert logging.getLogger("canvas_async").isEnabledFor(logging.DEBUG)
