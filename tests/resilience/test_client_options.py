"""The client's resilience options: checked before anything is sent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import pytest

from canvas_async import Canvas, Retries, TokenAuth, ValidationError, _routes
from canvas_async._auth import Flow, result
from canvas_async._config import auth_mode_from
from canvas_async._defaults import AUTH_MODES
from canvas_async.testing import CanvasEmulator


def keys(**options: object) -> Canvas:
    return Canvas(consumer="c", secret_key="s", env="dev", **options)  # type: ignore[arg-type]


class TestRefused:
    @pytest.mark.parametrize(
        ("options", "match"),
        [
            ({"rate_limit": 0}, "rate_limit"),
            ({"rate_limit": "fast"}, "rate_limit"),
            ({"retries": -1}, "max_retries"),
            ({"retries": "3"}, "max_retries"),
            ({"auth": "bearer"}, "auth must be"),
            ({"auth": object()}, "auth must be"),
        ],
    )
    def test_bad_options(self, options: dict[str, object], match: str) -> None:
        """A clear error names the option."""
        with pytest.raises(ValidationError, match=match):
            keys(**options)

    def test_a_wrong_auth_string_is_not_echoed(self) -> None:
        """A key passed as auth= by mistake does not end up in the message."""
        with pytest.raises(ValidationError) as info:
            keys(auth="0123-secret-key")

        assert "0123-secret-key" not in str(info.value)

    def test_a_token_auth_serves_one_client(self) -> None:
        """Tokens are per client: a second client refuses the same object."""
        auth = TokenAuth()
        keys(auth=auth)

        with pytest.raises(ValidationError, match="one client"):
            keys(auth=auth)


class TestViews:
    def test_with_retries_keeps_the_account(self) -> None:
        """A view's retry settings carry over to for_account() and back."""
        canvas = keys()
        account = "0d2d8b53-8c2f-4f1b-8a45-3c3d0c0a6a01"

        view = canvas.with_retries(0).for_account(account)

        assert view.retries == Retries(max_retries=0)
        assert str(view.account_id) == account
        assert view.with_retries(Retries(max_retries=4)).retries.max_retries == 4  # type: ignore[union-attr]


class TestAuthMode:
    def test_modes(self) -> None:
        """auth_mode names the mode; auto is undecided until the server said."""
        assert keys().auth_mode == "keys"
        assert keys(auth="token").auth_mode == "token"
        assert keys(auth="auto").auth_mode is None

    async def test_custom_strategy(self, canvas_emulator: CanvasEmulator) -> None:
        """Any object with the three flows will do; what a flow yields is awaited."""
        closed = []

        async def fetch() -> Mapping[str, str]:
            return {
                _routes.CONSUMER_HEADER: canvas_emulator.consumer,
                _routes.SECRET_KEY_HEADER: canvas_emulator.secret_key,
            }

        class Static:
            def auth_flow(self, route: _routes.Route) -> Flow[Mapping[str, str]]:
                return cast(Mapping[str, str], (yield fetch()))

            def unauthorized_flow(self, route: _routes.Route, sent: object) -> Flow[bool]:
                return result(False)

            def close_flow(self) -> Flow[None]:
                closed.append(True)
                yield from ()

        async with Canvas(
            consumer="unused", secret_key="unused", env=canvas_emulator.url, auth=Static()
        ) as canvas:
            assert isinstance(await canvas.workflows.list(), list)
            assert canvas.auth_mode is None

        assert closed == [True]

    @pytest.mark.canvas_emulator(auth="token")
    async def test_authenticate_in_token_mode(self, canvas_emulator: CanvasEmulator) -> None:
        """authenticate() exchanges the keys for the client's own tokens: no
        pair is left behind unrevoked."""
        async with Canvas(
            consumer=canvas_emulator.consumer,
            secret_key=canvas_emulator.secret_key,
            env=canvas_emulator.url,
            auth="auto",
        ) as canvas:
            assert await canvas.authenticate()
            assert canvas.auth_mode == "token"
            await canvas.workflows.list()

        tokens = canvas_emulator.state.tokens
        assert (tokens.issued, tokens.deletes) == (1, 1)

    @pytest.mark.canvas_emulator(auth="token")
    async def test_authenticate_with_wrong_keys(self, canvas_emulator: CanvasEmulator) -> None:
        """Refused keys: False, as in key mode."""
        async with Canvas(
            consumer=canvas_emulator.consumer,
            secret_key="wrong",
            env=canvas_emulator.url,
            auth="token",
        ) as canvas:
            assert not await canvas.authenticate()


class TestAuthModeRule:
    """One rule reads the mode for the client, the command line and the worker."""

    def test_flag_then_variable_then_auto(self) -> None:
        """--auth wins over CANVAS_AUTH, which wins over the default, auto."""
        assert auth_mode_from("keys", {"CANVAS_AUTH": "token"}) == ("keys", "--auth")
        assert auth_mode_from(None, {"CANVAS_AUTH": " Token "}) == ("token", "CANVAS_AUTH")
        assert auth_mode_from(None, {"CANVAS_AUTH": "  "}) == ("auto", "the default")

    def test_a_wrong_value_is_named_not_echoed(self) -> None:
        """The message names where the value came from, never the value."""
        with pytest.raises(ValidationError, match="CANVAS_AUTH must be one of keys") as info:
            auth_mode_from(None, {"CANVAS_AUTH": "0123-secret-key"})

        assert "0123-secret-key" not in str(info.value)
        assert AUTH_MODES == ("keys", "token", "auto")
