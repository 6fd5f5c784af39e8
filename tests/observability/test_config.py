"""Configuration: keys from the environment, proxy, CA bundle, request ids, sessions."""

from __future__ import annotations

import asyncio
import ssl
import uuid
import warnings
from pathlib import Path
from types import SimpleNamespace

import aiohttp
import pytest
import trustme

from canvas_async import (
    AuthenticationError,
    Canvas,
    CanvasConnectionError,
    NotFoundError,
    ValidationError,
)
from canvas_async.testing import CanvasEmulator
from tests.observability.relay import relay
from tests.support import client_of, started

_ENV_NAMES = (
    "CANVAS_CONSUMER",
    "CANVAS_SECRET_KEY",
    "CANVAS_CONSUMER_FILE",
    "CANVAS_SECRET_KEY_FILE",
    "CANVAS_ENV",
)


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


class TestFromEnvironment:
    async def test_keys_and_env_from_variables_and_files(
        self, emu: CanvasEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        key_file = tmp_path / "secret"
        key_file.write_text(emu.secret_key + "\n", encoding="utf-8")
        monkeypatch.setenv("CANVAS_CONSUMER", emu.consumer)
        monkeypatch.setenv("CANVAS_SECRET_KEY_FILE", str(key_file))
        monkeypatch.setenv("CANVAS_ENV", emu.url)

        async with Canvas(timeout=5) as canvas:
            assert canvas.env == "custom"
            assert await canvas.authenticate()

    def test_missing_keys_are_named_and_values_not_echoed(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("CANVAS_SECRET_KEY", "s3cret-value-not-to-echo")

        with pytest.raises(ValidationError, match="CANVAS_CONSUMER") as info:
            Canvas()

        assert "CANVAS_SECRET_KEY" not in str(info.value)
        assert "s3cret-value-not-to-echo" not in str(info.value)

    def test_both_missing_named_together(self) -> None:
        with pytest.raises(ValidationError, match=r"consumer=.*and secret_key="):
            Canvas()

    @pytest.mark.parametrize("content", [None, "  \n"])
    def test_unreadable_or_empty_key_file(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: str | None
    ) -> None:
        path = tmp_path / "consumer"
        if content is not None:
            path.write_text(content, encoding="utf-8")
        monkeypatch.setenv("CANVAS_CONSUMER_FILE", str(path))

        with pytest.raises(ValidationError, match="CANVAS_CONSUMER_FILE") as info:
            Canvas(secret_key="s" * 8)

        assert str(path) in str(info.value)

    def test_env_defaults_to_dev(self) -> None:
        canvas = Canvas(consumer="c" * 8, secret_key="s" * 8)

        assert canvas.env == "dev"

    def test_cli_reads_the_same_variables(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        from canvas_async.cli._connect import _key
        from canvas_async.cli._run import UsageError

        (tmp_path / "key").write_text("from-file\n", encoding="utf-8")
        monkeypatch.setenv("CANVAS_SECRET_KEY_FILE", str(tmp_path / "key"))

        args = SimpleNamespace(secret_key_file=None)
        assert _key(args, "secret_key_file", "CANVAS_SECRET_KEY", "secret key") == "from-file"  # type: ignore[arg-type]

        missing = SimpleNamespace(secret_key_file=str(tmp_path / "nope"))
        with pytest.raises(UsageError, match=r"secret key file .*nope \(--secret-key-file\)"):
            _key(missing, "secret_key_file", "CANVAS_SECRET_KEY", "secret key")  # type: ignore[arg-type]


class TestNetworkOptions:
    async def test_proxy_sees_every_request(self, emu: CanvasEmulator) -> None:
        async with (
            relay(emu.url) as proxy,
            client_of(emu, catalogue=False, proxy=str(proxy.url)) as canvas,
        ):
            await canvas.accounts.list()
            await canvas.workflows.list()

        # Every request the emulator got came through the proxy (the catalogue read too).
        assert [seen.path for seen in proxy.seen][-2:] == ["/api/Accounts", "/api/Workflows"]
        assert [record.path for record in emu.log] == [seen.path for seen in proxy.seen]

    @pytest.mark.parametrize("proxy", ["ftp://proxy:21", "proxy:3128", "http://", 3128])
    def test_bad_proxy_refused(self, proxy: str) -> None:
        with pytest.raises(ValidationError, match="proxy must be an http:// URL"):
            Canvas(consumer="c" * 8, secret_key="s" * 8, proxy=proxy)

    async def test_custom_ca_bundle_is_trusted(self, emu: CanvasEmulator, tmp_path: Path) -> None:
        ca = trustme.CA()
        server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(server_context)
        bundle = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(bundle))

        async with relay(emu.url, ssl_context=server_context) as front:
            https_url = str(front.url / "api")
            async with client_of(emu, catalogue=False, env=https_url, retries=0) as untrusting:
                with pytest.raises(CanvasConnectionError):
                    await untrusting.accounts.list()
            for option in (str(bundle), _context_trusting(ca)):
                async with client_of(emu, catalogue=False, env=https_url, ssl=option) as canvas:
                    assert len(await canvas.accounts.list()) == 3

        assert len(front.seen) == 2

    def test_bad_ca_bundle_refused(self, tmp_path: Path) -> None:
        with pytest.raises(ValidationError, match="cannot use the CA bundle"):
            Canvas(consumer="c" * 8, secret_key="s" * 8, ssl=tmp_path / "missing.pem")
        with pytest.raises(ValidationError, match="not a bool"):
            Canvas(consumer="c" * 8, secret_key="s" * 8, ssl=False)  # type: ignore[arg-type]


def _context_trusting(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


class TestRequestIds:
    async def test_each_call_has_its_own_id_kept_on_its_error(self, emu: CanvasEmulator) -> None:
        async with (
            relay(emu.url) as proxy,
            client_of(emu, catalogue=False, env=str(proxy.url / "api")) as canvas,
        ):
            await canvas.accounts.list()
            with pytest.raises(NotFoundError) as info:
                await canvas.workflows.get(uuid.uuid4())

        first, second = (seen.headers["X-Request-Id"] for seen in proxy.seen)
        assert first != second
        assert len(second) == 32
        assert int(second, 16) >= 0
        assert info.value.request_id == second
        assert f"request id of Workflow (GET): {second}" in info.value.__notes__

    async def test_header_name_and_off_switch(self, emu: CanvasEmulator) -> None:
        async with relay(emu.url) as proxy:
            for header in ("X-Correlation-Id", None):
                async with client_of(
                    emu, catalogue=False, env=str(proxy.url / "api"), request_id_header=header
                ) as canvas:
                    await canvas.accounts.list()

        named, off = proxy.seen
        assert "X-Correlation-Id" in named.headers
        assert not {"X-Correlation-Id", "X-Request-Id"} & set(off.headers)

    def test_bad_header_name_refused(self) -> None:
        with pytest.raises(ValidationError, match="request_id_header"):
            Canvas(consumer="c" * 8, secret_key="s" * 8, request_id_header="X Bad: yes")


class TestCallersSession:
    async def test_user_agent_sent_per_request(self, emu: CanvasEmulator) -> None:
        async with (
            relay(emu.url) as proxy,
            aiohttp.ClientSession() as session,
            client_of(emu, catalogue=False, env=str(proxy.url / "api"), session=session) as canvas,
        ):
            await canvas.accounts.list()

        (seen,) = proxy.seen
        assert seen.headers["User-Agent"].startswith("canvas-async/")

    async def test_small_pool_warns(self, emu: CanvasEmulator) -> None:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=4)) as session:
            with pytest.warns(UserWarning, match="holds 4 connections, fewer than") as caught:
                Canvas(consumer="c" * 8, secret_key="s" * 8, max_concurrency=8, session=session)
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                Canvas(consumer="c" * 8, secret_key="s" * 8, max_concurrency=4, session=session)

        assert caught[0].filename == __file__


async def test_concurrent_calls_refused_together_each_get_an_error_of_their_own() -> None:
    async with (
        started(CanvasEmulator(auth="token", seed="empty")) as emu,
        relay(emu.url) as proxy,
        client_of(
            emu,
            auth="token",
            secret_key="wrong-secret-key",
            catalogue=False,
            env=str(proxy.url / "api"),
        ) as canvas,
    ):
        errors = await asyncio.gather(
            canvas.accounts.list(),
            canvas.templates.list(),
            canvas.applications.list(),
            return_exceptions=True,
        )
    assert len({id(e) for e in errors}) == 3
    # One renewal was sent for the three calls, and refused.
    (sent,) = (seen.headers["X-Request-Id"] for seen in proxy.seen)
    for error in errors:
        assert isinstance(error, AuthenticationError)
        # One id, labelled: the request that was refused.
        notes = [n for n in error.__notes__ if n.startswith("request id")]
        assert notes == [f"request id of Authenticate: {sent}"]
        assert error.request_id == sent
