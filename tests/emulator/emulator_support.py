"""Plain-aiohttp access to an emulator for its tests: calls by route key."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any, Final

import aiohttp
import attrs

from canvas_async._routes import ACCOUNT_HEADER, CONSUMER_HEADER, ROUTES, SECRET_KEY_HEADER
from canvas_async.testing import CanvasEmulator

PAYLOADS: Final[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "data" / "seed_001_payloads.json").read_text(encoding="utf-8")
)
"""The documented example payloads of seed 001, copied from its text."""

CALLER: Final = "6fa122e4-0d4c-4a1d-8869-7c0a86a37bf1"
MANAGED: Final = "41a31538-1120-4bdf-a6cb-675eeedd7d2d"  # Nathan Bray, a sample account
FOREIGN: Final = "10bfa3fe-f5c0-4a25-a011-c9088d19901e"  # another organization's account
FOREIGN_WORKFLOW: Final = "406aceca-db0f-4a6c-960b-391778f23e51"
FOREIGN_REG_APP: Final = "0844d535-0cd9-4e1c-8faa-7438b0a80f6b"
QUINYX_TEMPLATE: Final = "bbe52876-aca2-4ece-ba31-11e0d98ddc19"
QUINYX_APP: Final = "97cbc3b3-32c7-4e4a-b788-a332ea82aeff"
FTP_APP: Final = "5f814909-01ea-4395-96ee-5ba7614128fc"
CALLER_QUIN: Final = "1710ff47-f590-43db-b0de-015676e99615"
CALLER_FTP: Final = "a067c363-7339-4fed-b1ad-efafd7603986"
#: A CreateWorkflow body of the Quinyx template, bound to the caller's registrations.
NEW_WORKFLOW: Final = {
    "workflowTemplateId": QUINYX_TEMPLATE,
    "applications": {"QUIN": CALLER_QUIN, "FTP": CALLER_FTP},
}
ORDER_WORKFLOW: Final = "b459cf22-ad18-44bf-80dc-6e8b78be1cc5"  # 4 blocks
NO_BODY: Final = object()


@attrs.frozen
class Answer:
    """What came back."""

    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)

    @property
    def envelope(self) -> tuple[int, str] | None:
        """``(State, Msg)`` if the body is the error envelope."""
        try:
            value = self.json()
        except ValueError:
            return None
        if isinstance(value, dict) and set(value) == {"State", "Msg"}:
            return value["State"], value["Msg"]
        return None


@attrs.frozen
class Api:
    """Calls one emulator over HTTP, by route key."""

    session: aiohttp.ClientSession
    emu: CanvasEmulator

    def url(self, key: str, *, alias: bool = False) -> str:
        route = ROUTES[key]
        return self.emu.url + (route.aliases[0] if alias else route.path)

    @property
    def keys(self) -> dict[str, str]:
        return {CONSUMER_HEADER: self.emu.consumer, SECRET_KEY_HEADER: self.emu.secret_key}

    async def call(
        self,
        key: str,
        *,
        query: dict[str, str] | None = None,
        body: Any = NO_BODY,
        data: bytes | str | io.BytesIO | None = None,
        headers: dict[str, str] | None = None,
        account: str | None = None,
        alias: bool = False,
    ) -> Answer:
        """Send the route's request: key headers unless ``headers`` are given.

        Args:
            key: The route key.
            query: Query parameters.
            body: A value to send as JSON.
            data: Raw bytes or text to send as the body instead.
            headers: Headers to send instead of the key headers.
            account: A ``ManagedAccountId`` to add.
            alias: Use the route's first alias path.
        """
        sent = dict(self.keys if headers is None else headers)
        if account is not None:
            sent[ACCOUNT_HEADER] = account
        kwargs: dict[str, Any] = {"params": query or {}, "headers": sent}
        if body is not NO_BODY:
            kwargs["json"] = body
        if data is not None:
            kwargs["data"] = data
        async with self.session.request(
            ROUTES[key].method, self.url(key, alias=alias), **kwargs
        ) as response:
            return Answer(response.status, dict(response.headers), await response.text())

    async def ok(self, key: str, **kwargs: Any) -> Any:
        """Call and return the JSON (or text) of a 200 answer."""
        answer = await self.call(key, **kwargs)
        assert answer.status == 200, (answer.status, answer.text)
        try:
            return answer.json()
        except ValueError:
            return answer.text


def snapshot(emu: CanvasEmulator) -> Any:
    """Copy everything an operation could change (the request log aside)."""
    state = emu.state
    return copy.deepcopy(
        (
            state.accounts,
            state.managed_ids,
            state.reg_applications,
            state.workflows,
            state.runs,
            state.outbox,
            (state.tokens.issued, state.tokens.refreshes, state.tokens.deletes),
        )
    )
