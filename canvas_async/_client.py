"""The client: environment, auth, one pooled session, lifecycle, account views."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import ssl as _ssl
import uuid
import warnings
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Final, Generic, Self, TypeVar, cast, overload

import aiohttp
import attrs
import yarl

from . import _config, _operations, _resources, _routes, _validate, models
from ._auth import AuthStrategy, KeyAuth, Mode, auth_mode
from ._checks import check_concurrency
from ._defaults import DEFAULT_MAX_CONCURRENCY, AuthMode
from ._errors import AuthenticationError, ValidationError
from ._hooks import Hooks
from ._paths import check_params, check_pinned, custom_route
from ._retry import DEFAULT_RETRIES, Retries
from ._timeouts import DEFAULT_TIMEOUT, USE_CLIENT_DEFAULT, Timeout, TimeoutTypes, UseClientDefault
from ._tokens import TokenAuth
from ._transport import DEFAULT_REQUEST_ID_HEADER, Transport, _as_is

_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def organization_key(base_url: str | yarl.URL, consumer: str) -> str:
    """Name the organization a connection acts for: ``org-`` and 16 hex digits.

    The key is a hash of the server's base URL and the consumer key, so two
    runs that write to the same organization always agree on it (no flag to
    forget), different organizations never share it, and the consumer key
    cannot be read back from it.
    """
    text = f"{str(base_url).rstrip('/')}\n{consumer}"
    return "org-" + hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


def resolve_base_url(env: str) -> yarl.URL:
    """Return the base URL for ``"dev"``, ``"prd"`` or a custom URL.

    A custom URL must be ``https://``; ``http://`` is allowed only for a
    loopback host (127.0.0.0/8, ::1, localhost), such as the emulator.

    Raises:
        ValidationError: An unknown name, or a URL that would send the keys
            in the clear or to an ambiguous place.
    """
    if not isinstance(env, str) or not env.strip():
        raise ValidationError("env must be 'dev', 'prd' or a base URL")
    env = env.strip()
    known = _routes.ENVIRONMENTS.get(env.casefold())
    if known is not None:
        return yarl.URL(known)
    try:
        url = yarl.URL(env)
    except (TypeError, ValueError):
        raise ValidationError("env must be 'dev', 'prd' or a base URL") from None
    if url.scheme not in ("http", "https") or not url.host:
        names = ", ".join(repr(name) for name in _routes.ENVIRONMENTS)
        raise ValidationError(f"env must be one of {names} or an http(s) base URL")
    if url.user is not None or url.password is not None:
        raise ValidationError("the base URL must not carry a user name or password")
    if url.query_string or url.fragment:
        raise ValidationError("the base URL must not have a query or fragment")
    if url.scheme == "http" and not _is_loopback(url.host):
        raise ValidationError(
            f"refusing http:// for {url.host}: the keys would travel in the clear; "
            "use https:// (http:// is allowed for loopback hosts only)"
        )
    return url.with_path(url.path.rstrip("/"))


def _is_loopback(host: str) -> bool:
    if host.casefold() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


R = TypeVar("R")


class _Family(Generic[R]):
    """A family of operations on a scope: its resource API, built once per view."""

    def __init__(self, api: Callable[[AccountView], R], doc: str) -> None:
        self._api = api
        self.__doc__ = doc

    @overload
    def __get__(self, scope: None, owner: type) -> Self: ...
    @overload
    def __get__(self, scope: _Scope, owner: type) -> R: ...
    def __get__(self, scope: _Scope | None, owner: type) -> R | Self:
        if scope is None:
            return self
        # An account view acts through itself, the client through its root view.
        view = scope if isinstance(scope, AccountView) else scope._root
        api = view._apis.get(self._api)
        if api is None:  # resource APIs are small objects holding only the view
            api = view._apis[self._api] = self._api(view)
        return api


class _Scope:
    """What ``Canvas`` and its account views share: the resource families.

    A new family of operations is one line here.
    """

    __slots__ = ()
    _root: AccountView  # the client's own view (set by Canvas)

    accounts = _Family(_resources.AccountsAPI, "The organization's accounts.")
    applications = _Family(_resources.ApplicationsAPI, "The applications Canvas supports.")
    reg_applications = _Family(
        _resources.RegApplicationsAPI, "The account's registered applications."
    )
    templates = _Family(_resources.TemplatesAPI, "Workflow templates.")
    workflows = _Family(_resources.WorkflowsAPI, "The account's workflows.")
    meta = _Family(_resources.MetaAPI, "GetMetaData and Describe.")

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        params: Mapping[str, str] | None = None,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
    ) -> Any:
        """Send a request the SDK has no method for; return the decoded answer body.

        For an operation or a path this SDK does not know yet. The request
        goes through everything a typed call does: the view's account header,
        the client's auth, concurrency and rate limits, the pause after a 429,
        retries (after an ambiguous failure only for idempotent verbs),
        timeouts, redacted logs and the mapping of error answers (the
        ``{"State", "Msg"}`` envelope included) to exceptions::

            workflows = await canvas.request("GET", "/Workflows")

        Args:
            method: The HTTP verb, e.g. ``"GET"``.
            path: The path under the base URL, e.g. ``"/Workflows"``.
            json: A JSON-ready value to send as the body.
            params: Query parameters, names to strings.
            timeout: This call's timeout.

        Returns:
            The answer body: decoded JSON, or the text for a non-JSON answer.

        Raises:
            ValidationError: A bad verb, path, body or parameters (nothing
                was sent).
            APIError: The server answered with an error.
        """
        route = custom_route(method, path)
        view = self if isinstance(self, AccountView) else self._root
        return await view._transport.request(
            route,
            _as_is,
            account_id=view.account_id,
            params=check_params(params),
            body=json,
            timeout=timeout,
            retries=view.retries,
        )


@attrs.frozen
class AccountView(_Scope):
    """The resource APIs acting for one managed account (or for none).

    A view shares everything with its client (session, limits, auth); only
    the ``ManagedAccountId`` header differs, and it is set per request. Models
    loaded through a view act through it.

    Attributes:
        account_id: The ``ManagedAccountId`` sent, or None for the caller's own.
        retries: The retry settings of calls made through this view, or
            ``USE_CLIENT_DEFAULT``.
    """

    _client: Canvas = attrs.field(repr=False, alias="client")
    account_id: uuid.UUID | None
    retries: Retries | UseClientDefault = USE_CLIENT_DEFAULT
    _apis: dict[object, Any] = attrs.field(init=False, factory=dict, repr=False, eq=False)

    @property
    def _transport(self) -> Transport:
        return self._client._transport

    def for_account(self, account: models.Account | uuid.UUID | str) -> AccountView:
        """Return a view of the same client acting for ``account`` (with this
        view's retry settings)."""
        return attrs.evolve(self._client.for_account(account), retries=self.retries)

    def with_retries(self, retries: Retries | int) -> AccountView:
        """Return this view with other retry settings for the calls made through it.

        Args:
            retries: A :class:`Retries`, or ``max_retries`` as an int
                (``with_retries(0)``: never repeat a request).
        """
        return attrs.evolve(self, retries=Retries.of(retries))


class Canvas(_Scope):
    """An async client of the Canvas REST API.

    Use it as an async context manager, or call :meth:`aclose` when done::

        async with Canvas(consumer=..., secret_key=..., env="dev") as canvas:
            accounts = await canvas.accounts.list()
            acct = canvas.for_account(accounts[0])
            workflows = await acct.workflows.list()

    One client holds one connection pool; share it. :meth:`for_account` gives
    views acting for managed accounts over the same pool, the same limits
    (concurrency, rate, the pause after a 429) and the same tokens.

    Args:
        consumer: The consumer key.
        secret_key: The secret key.
        env: ``"dev"``, ``"prd"`` or a base URL (``https://``, or ``http://``
            on a loopback host).
        timeout: Default timeout of every request: a :class:`Timeout`, seconds
            for every phase, or None for no limit. It bounds each attempt;
            a retry is a new attempt with a timeout of its own.
        max_concurrency: Most requests in flight at once, across all account
            views; also the size of the connection pool.
        rate_limit: Most requests sent per second, evenly spaced, across all
            account views; None (the default) for no limit.
        retries: What to do after a failure: a :class:`Retries`, or
            ``max_retries`` as an int (default 2). Override per call with
            :meth:`with_retries`.
        auth: ``"keys"`` (the default), ``"token"``, ``"auto"`` (see
            :data:`AuthMode`), or an auth object (:class:`AuthStrategy`)
            such as :class:`TokenAuth`.
        session: An ``aiohttp.ClientSession`` to use; the caller keeps owning
            it (it is not closed here). Its own timeout and limits apply
            alongside this client's; the User-Agent is sent per request, and
            a pool smaller than ``max_concurrency`` draws a warning.
        proxy: An ``http://`` proxy to send every request through (its URL
            may carry the proxy's credentials).
        trust_env: Read proxies (``HTTP_PROXY``, ``HTTPS_PROXY``,
            ``NO_PROXY``) and ``.netrc`` from the environment, as aiohttp
            does (not for a caller's session, which has its own setting).
        ssl: How the server's certificate is checked: an ``ssl.SSLContext``,
            or the path of a CA bundle to trust (a company's TLS-inspecting
            proxy, a private deployment); the system's CAs by default.
        request_id_header: The header carrying a random id per call, the
            same on its retries (default ``X-Request-Id``); None sends none.
            The id is in the DEBUG log and on the call's exception
            (``error.request_id``).
        hooks: Async callbacks on every call's attempts, retries and end
            (:class:`Hooks`), shared by the account views.
        catalogue: Send each operation where the server's own GetMetaData
            lists it (``/Clients`` where it lists ``Clients`` instead of
            ``Accounts``), reading it once, when an operation it could move
            is first sent; where it cannot be read, the route table's paths
            are used. False: always the route table's paths.
        paths: Route key -> path to use whatever the catalogue says, e.g.
            ``{"list_accounts": "/Clients"}``.

    With no ``consumer``/``secret_key``, they are read from ``CANVAS_CONSUMER``
    and ``CANVAS_SECRET_KEY`` (or from the files ``CANVAS_CONSUMER_FILE`` and
    ``CANVAS_SECRET_KEY_FILE`` name); with no ``env``, from ``CANVAS_ENV``
    (default ``"dev"``). ``CANVAS_LOG=debug|info`` sends this package's log
    to stderr.
    """

    __slots__ = ("__weakref__", "_root", "_transport", "base_url", "env", "organization")

    def __init__(
        self,
        *,
        consumer: str | None = None,
        secret_key: str | None = None,
        env: str | None = None,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        rate_limit: float | None = None,
        retries: Retries | int = DEFAULT_RETRIES,
        auth: AuthMode | AuthStrategy = "keys",
        session: aiohttp.ClientSession | None = None,
        proxy: str | yarl.URL | None = None,
        trust_env: bool = False,
        ssl: _ssl.SSLContext | str | os.PathLike[str] | None = None,
        request_id_header: str | None = DEFAULT_REQUEST_ID_HEADER,
        hooks: Hooks | None = None,
        catalogue: bool = True,
        paths: Mapping[str, str] | None = None,
    ) -> None:
        check_concurrency(max_concurrency)
        if not isinstance(catalogue, bool):
            raise ValidationError("catalogue must be True or False")
        pinned = check_pinned(paths)
        _config.setup_logging_from_environ()
        consumer, secret_key = _config.keys_from_environ(consumer, secret_key)
        if env is None:
            env = _config.env_from_environ()
        self.base_url: yarl.URL = resolve_base_url(env)
        name = env.strip().casefold()
        self.env: str = name if name in _routes.ENVIRONMENTS else "custom"
        keys = KeyAuth.from_keys(consumer, secret_key)
        #: Which organization this client acts for (:func:`organization_key`):
        #: what a lease excludes other writers of.
        self.organization: str = organization_key(self.base_url, consumer)
        self._transport = Transport(
            base_url=self.base_url,
            auth=_auth_flows(auth, keys),
            timeout=Timeout.of(timeout),
            max_concurrency=max_concurrency,
            rate_limit=rate_limit,
            retries=Retries.of(retries),
            session=session,
            proxy=_config.proxy_option(proxy),
            trust_env=trust_env,
            ssl=_config.ssl_option(ssl),
            request_id_header=_check_header(request_id_header),
            hooks=hooks,
            pinned_paths=pinned,
            follow_catalogue=catalogue,
        )
        self._root = AccountView(self, None)

    def __repr__(self) -> str:
        return f"<Canvas env={self.env!r} base_url='{self.base_url}' state={self.state!r}>"

    @property
    def state(self) -> str:
        """``"unopened"`` (no session yet), ``"open"`` or ``"closed"``."""
        return self._transport.state

    @property
    def max_concurrency(self) -> int:
        """Most requests in flight at once, shared by every account view."""
        return self._transport.max_concurrency

    @property
    def auth_mode(self) -> Mode | None:
        """The authentication mode in use; None while ``auth="auto"`` has not
        yet asked the server, or for a custom auth object."""
        auth = self._transport.auth
        if isinstance(auth, TokenAuth):
            return auth.mode
        return "keys" if isinstance(auth, KeyAuth) else None

    def add_hooks(self, hooks: Hooks) -> None:
        """Tell ``hooks`` every event of every call of this client and its views.

        They run after the hooks the client has so far (those given as
        ``hooks=``, then those added before); an integration such as
        :func:`canvas_async.contrib.otel.instrument` adds its own this way.

        Args:
            hooks: The hooks to add.
        """
        transport = self._transport
        transport.hooks = hooks if transport.hooks is None else transport.hooks + hooks

    # -- lifecycle ----------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self._transport.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (unless the caller passed the session).

        Idempotent; a closed client refuses further requests.
        """
        await self._transport.aclose()

    def __del__(self) -> None:
        transport = getattr(self, "_transport", None)
        if transport is not None and transport.owns_open_session:
            warnings.warn(
                f"unclosed {self!r}: use 'async with Canvas(...)' or 'await canvas.aclose()'",
                ResourceWarning,
                source=self,
                stacklevel=1,
            )

    # -- accounts -----------------------------------------------------------------

    def for_account(self, account: models.Account | uuid.UUID | str) -> AccountView:
        """Return a view acting for the managed ``account`` (model, id or id string).

        The view shares this client's session, limits and auth; only the
        ``ManagedAccountId`` header differs. Models loaded through it act
        through it.

        Raises:
            ValidationError: ``account`` is not a GUID.
        """
        return AccountView(self, _validate.as_uuid(account, "account id"))

    def with_retries(self, retries: Retries | int) -> AccountView:
        """Return a view of this client (for the caller's own account) whose
        calls use other retry settings::

            await canvas.with_retries(0).workflows.create(...)
            await canvas.with_retries(Retries(max_retries=5)).workflows.list()

        Args:
            retries: A :class:`Retries`, or ``max_retries`` as an int.
        """
        return self._root.with_retries(retries)

    @property
    def account_id(self) -> None:
        """The client acts for the caller's own account: no ``ManagedAccountId``."""
        return None

    async def authenticate(
        self, *, timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT
    ) -> bool:
        """Check the keys: True if the server accepts them, False on a 401.

        In token mode this exchanges the keys for the client's tokens (if it
        holds none yet), so no extra token pair is left behind. Other
        failures (a 403 for a refused IP address, a server error, no
        connection) raise.
        """
        auth = self._transport.auth
        try:
            if isinstance(auth, TokenAuth):
                await self._transport.drive(auth.authorization_flow())
                if auth.mode == "token":
                    return True
            return await self._transport.request(
                "authenticate", _operations.parse_true, timeout=timeout
            )
        except AuthenticationError:
            return False


def _check_header(name: str | None) -> str | None:
    # RFC 9110 section 5.1: a field name is a token.
    if name is not None and not (isinstance(name, str) and _TOKEN.fullmatch(name)):
        raise ValidationError("request_id_header must be a header name, e.g. 'X-Request-Id'")
    return name


def _auth_flows(auth: object, keys: KeyAuth) -> AuthStrategy:
    """Return the auth mode ``auth`` names, or the auth object."""
    if isinstance(auth, KeyAuth):
        return auth
    if isinstance(auth, str):
        mode = auth_mode(auth)
        if mode == "keys":
            return keys
        auth = TokenAuth(auto=mode == "auto")
    if isinstance(auth, TokenAuth):
        auth.bind(keys)
        return auth
    flows = ("auth_flow", "unauthorized_flow", "close_flow")
    if not all(callable(getattr(auth, name, None)) for name in flows):
        raise ValidationError(
            f"auth must be one of keys, token, auto, or an auth object with "
            f"{', '.join(flows)}, not a {type(auth).__name__}"
        )
    return cast(AuthStrategy, auth)
