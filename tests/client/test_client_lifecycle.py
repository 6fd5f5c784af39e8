"""The client itself: environments, construction, session lifecycle, transport failures."""

from __future__ import annotations

import gc
import logging
import uuid

import aiohttp
import pytest
from aiohttp import web

from canvas_async import (
    DEFAULT_TIMEOUT,
    APIError,
    Canvas,
    CanvasConnectionError,
    CanvasTimeoutError,
    ClientClosedError,
    OutcomeUnknownError,
    Timeout,
    ValidationError,
    _routes,
)
from canvas_async._client import resolve_base_url
from canvas_async.testing import CanvasEmulator, DropConnection, Latency
from tests.leak_check import record_text
from tests.support import serve


class TestEnvironments:
    @pytest.mark.parametrize("env", ["dev", "prd", "DEV", " prd "])
    def test_named(self, env: str) -> None:
        assert str(resolve_base_url(env)) == _routes.ENVIRONMENTS[env.strip().lower()]

    @pytest.mark.parametrize(
        ("env", "expected"),
        [
            ("https://canvas.example.com/api/", "https://canvas.example.com/api"),
            ("http://127.0.0.1:8080/api", "http://127.0.0.1:8080/api"),
            ("http://127.9.9.9/api", "http://127.9.9.9/api"),
            ("http://[::1]:9000/api", "http://[::1]:9000/api"),
            ("http://localhost:9000/api", "http://localhost:9000/api"),
            ("http://LocalHost/api", "http://localhost/api"),
        ],
    )
    def test_custom(self, env: str, expected: str) -> None:
        assert str(resolve_base_url(env)) == expected

    @pytest.mark.parametrize(
        ("env", "message"),
        [
            ("http://canvas.example.com/api", "refusing http:// for canvas.example.com"),
            ("http://10.0.0.1/api", "refusing http://"),
            ("http://127.0.0.1.nip.io/api", "refusing http://"),
            ("ftp://127.0.0.1/api", "an http\\(s\\) base URL"),
            ("staging", "an http\\(s\\) base URL"),
            ("https://user:pw@canvas.example.com/api", "must not carry a user name"),
            ("https://canvas.example.com/api?x=1", "must not have a query"),
            ("", "env must be"),
        ],
    )
    def test_refused(self, env: str, message: str) -> None:
        with pytest.raises(ValidationError, match=message):
            resolve_base_url(env)

    def test_refusal_does_not_echo_a_password(self) -> None:
        with pytest.raises(ValidationError) as info:
            Canvas(consumer="c", secret_key="s", env="https://u:pa55word@example.com/api")

        assert "pa55word" not in str(info.value)


class TestConstruction:
    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"consumer": ""}, "consumer must be a non-empty string"),
            ({"secret_key": None}, "secret_key must be a non-empty string"),
            ({"max_concurrency": 0}, "max_concurrency must be >= 1"),
            ({"max_concurrency": 2.5}, "max_concurrency must be an int"),
            ({"timeout": -1}, "timeout total must be a positive"),
            ({"timeout": "5"}, "timeout total must be a number of seconds"),
        ],
    )
    def test_bad_arguments(self, kwargs: dict[str, object], message: str) -> None:
        base: dict[str, object] = {"consumer": "c" * 8, "secret_key": "s" * 8, "env": "dev"}
        with pytest.raises(ValidationError, match=message):
            Canvas(**{**base, **kwargs})  # type: ignore[arg-type]

    def test_infinite_timeout_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="timeout read must be a positive, finite"):
            Timeout(read=float("inf"))

    def test_repr_shows_place_and_state_not_keys(self, secret: object) -> None:
        canvas = Canvas(consumer="C0NSUMER-KEY-1", secret_key="SECRET-KEY-1", env="prd")

        text = repr(canvas)
        record_text("repr of Canvas", text)

        assert text == (
            "<Canvas env='prd' base_url='https://canvas.connectmyapps.com/api' state='unopened'>"
        )
        assert "SECRET" not in repr(canvas._transport)
        assert "SECRET" not in repr(canvas._transport.auth)
        assert "SECRET" not in repr(canvas.for_account(uuid.uuid4()))

    @pytest.mark.parametrize(
        ("env", "name"), [("DEV", "dev"), ("prd", "prd"), ("http://127.0.0.1/api", "custom")]
    )
    def test_env_name(self, env: str, name: str) -> None:
        assert Canvas(consumer="c" * 8, secret_key="s" * 8, env=env).env == name

    def test_timeout_forms(self) -> None:
        assert Timeout.of(DEFAULT_TIMEOUT) is DEFAULT_TIMEOUT
        assert Timeout.of(3) == Timeout(3, 3, 3)
        assert Timeout.of(None) == Timeout(None, None, None)
        client_timeout = Timeout(total=9, connect=2, read=4).to_aiohttp()
        assert (client_timeout.total, client_timeout.sock_connect, client_timeout.sock_read) == (
            9,
            2,
            4,
        )
        # connect is the socket connect, never the wait for a pooled connection
        assert client_timeout.connect is None


class TestLifecycle:
    async def test_session_is_created_on_first_use_and_closed(self, emu: CanvasEmulator) -> None:
        canvas = Canvas(consumer=emu.consumer, secret_key=emu.secret_key, env=emu.url)
        assert canvas.state == "unopened"

        assert await canvas.authenticate()
        session = canvas._transport._session
        assert canvas.state == "open"
        assert session is not None

        await canvas.aclose()
        await canvas.aclose()  # idempotent
        assert canvas.state == "closed"
        assert session.closed

    async def test_closed_client_refuses_requests(self, emu: CanvasEmulator) -> None:
        async with Canvas(consumer=emu.consumer, secret_key=emu.secret_key, env=emu.url) as c:
            view = c.for_account(uuid.uuid4())

        with pytest.raises(ClientClosedError, match="closed"):
            await c.accounts.list()
        with pytest.raises(ClientClosedError):
            await view.workflows.list()
        assert isinstance(ClientClosedError("x"), RuntimeError)

    async def test_callers_session_is_used_and_left_open(self, emu: CanvasEmulator) -> None:
        async with aiohttp.ClientSession() as session:
            async with Canvas(
                consumer=emu.consumer, secret_key=emu.secret_key, env=emu.url, session=session
            ) as canvas:
                assert canvas.state == "open"
                assert await canvas.authenticate()

            assert canvas.state == "closed"
            assert not session.closed
            async with session.get(f"{emu.url}/GetMetaData") as response:
                assert response.status == 200

    async def test_dropping_an_open_client_warns(self, emu: CanvasEmulator) -> None:
        canvas = Canvas(consumer=emu.consumer, secret_key=emu.secret_key, env=emu.url)
        await canvas.meta.endpoints()
        session = canvas._transport._session
        assert session is not None

        del canvas
        with pytest.warns(ResourceWarning, match="unclosed <Canvas env='custom'"):
            gc.collect()
        await session.close()

    async def test_unopened_client_drops_silently(self) -> None:
        canvas = Canvas(consumer="c" * 8, secret_key="s" * 8)
        del canvas
        gc.collect()  # filterwarnings=error: a warning here would fail the test

    async def test_views_share_one_session_and_never_touch_its_headers(
        self, canvas: Canvas, emu: CanvasEmulator
    ) -> None:
        a, b = emu.state.managed_ids[:2]
        view_a, view_b = canvas.for_account(a), canvas.for_account(str(b))

        await view_a.workflows.list()
        await view_b.workflows.list()
        await canvas.workflows.list()

        assert view_a._transport is view_b._transport is canvas._transport
        session = canvas._transport._session
        assert session is not None
        assert _routes.ACCOUNT_HEADER not in session.headers
        assert [r.account_header for r in emu.log[-3:]] == [str(a), str(b), None]

    def test_for_account_refuses_a_bad_id_at_once(self) -> None:
        canvas = Canvas(consumer="c" * 8, secret_key="s" * 8)

        with pytest.raises(ValidationError, match="account id must be a GUID"):
            canvas.for_account("acme")

    def test_view_equality(self) -> None:
        canvas = Canvas(consumer="c" * 8, secret_key="s" * 8)
        account = uuid.uuid4()

        assert canvas.for_account(account) == canvas.for_account(str(account))
        assert canvas.for_account(account).for_account(account) == canvas.for_account(account)
        assert canvas.for_account(account).account_id == account
        assert canvas.account_id is None


class TestTransportFailures:
    async def test_per_call_timeout_overrides_the_default(
        self, canvas: Canvas, emu: CanvasEmulator
    ) -> None:
        emu.faults.add(Latency(0.5), operations={"list_accounts"})

        with pytest.raises(CanvasTimeoutError) as info:
            await canvas.accounts.list(timeout=0.05)

        assert info.value.operation == "Accounts"
        assert "total 0.05 s" in str(info.value)
        assert isinstance(info.value, TimeoutError)
        await canvas.applications.list(timeout=0.05)  # other operations are not slowed

    async def test_client_default_timeout(self, emu: CanvasEmulator) -> None:
        emu.faults.add(Latency(0.5), operations={"get_metadata"})

        async with Canvas(
            consumer=emu.consumer, secret_key=emu.secret_key, env=emu.url, timeout=0.05
        ) as canvas:
            with pytest.raises(CanvasTimeoutError):
                await canvas.meta.endpoints()
            assert await canvas.meta.endpoints(timeout=None)  # no limit for this call

    async def test_connection_refused(self) -> None:
        async with Canvas(
            consumer="c" * 8, secret_key="s" * 8, env="http://127.0.0.1:9/api"
        ) as canvas:
            with pytest.raises(
                CanvasConnectionError, match=r"cannot connect to 127\.0\.0\.1:9"
            ) as info:
                await canvas.accounts.list()

        assert info.value.operation == "Accounts"
        assert isinstance(info.value.__cause__, aiohttp.ClientError)

    @pytest.mark.parametrize("reset", [True, False])
    async def test_dropped_connection(
        self, canvas: Canvas, emu: CanvasEmulator, reset: bool
    ) -> None:
        account = emu.state.caller_id
        view = canvas.for_account(account)
        workflow = (await view.workflows.list())[0]
        emu.faults.add(DropConnection(reset=reset), operations={"run_workflow"}, times=1)

        with pytest.raises(OutcomeUnknownError) as info:
            await workflow.run()

        # The client cannot tell a drop before the effect from one after it.
        assert isinstance(info.value.__cause__, CanvasConnectionError)
        assert info.value.account_id == account
        assert info.value.operation == "RunWorkflow"
        assert emu.state.runs == []  # dropped before it took effect, and not repeated
        await workflow.run()
        assert len(emu.state.runs) == 1

    async def test_dropped_get_is_repeated_once_by_aiohttp(
        self, canvas: Canvas, emu: CanvasEmulator
    ) -> None:
        """aiohttp itself sends an idempotent-method request once more when the
        connection drops; with no retries of ours, a second drop reaches the
        caller."""
        emu.faults.add(DropConnection(), operations={"list_workflows"}, times=2)

        with pytest.raises(CanvasConnectionError):
            await canvas.with_retries(0).workflows.list()

        assert [r.status for r in emu.log] == [None, None]

    async def test_redirect_is_not_followed(self, caplog: pytest.LogCaptureFixture) -> None:
        """A 3xx is an error: the keys are never sent to the redirect's target."""
        hits: list[str] = []

        async def redirect(request: web.Request) -> web.Response:
            hits.append(request.path)
            if request.path == "/elsewhere":
                return web.json_response(True)
            raise web.HTTPFound("/elsewhere")

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", redirect)
        async with (
            serve(app) as url,
            Canvas(consumer="c" * 8, secret_key="s" * 8, env=str(url)) as canvas,
        ):
            with pytest.raises(APIError, match="302 Found") as info:
                await canvas.authenticate()

        assert hits == ["/api/Authenticate"]
        assert info.value.status == 302

    async def test_debug_log_names_the_call_not_its_headers(
        self, canvas: Canvas, emu: CanvasEmulator, caplog: pytest.LogCaptureFixture
    ) -> None:
        account = emu.state.managed_ids[0]
        with caplog.at_level(logging.DEBUG, logger="canvas_async"):
            await canvas.for_account(account).workflows.list()

        (record,) = [r for r in caplog.records if r.name == "canvas_async"]
        assert record.getMessage().startswith(
            f"Workflows: GET /Workflows account={account} -> 200 in "
        )
        assert emu.secret_key not in record.getMessage()
