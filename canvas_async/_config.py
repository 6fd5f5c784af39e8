"""Configuration from the environment, and the network options' checks.

One reader of the ``CANVAS_*`` variables serves ``Canvas()`` and the CLI, so
both accept the same names and fail with the same messages. A message names
the variable or the file that is wrong, never a value: a value may be a key.
"""

from __future__ import annotations

import logging
import os
import ssl as _ssl
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import yarl

from ._auth import auth_mode
from ._defaults import AuthMode
from ._errors import ValidationError

CONSUMER_VAR: Final = "CANVAS_CONSUMER"
SECRET_KEY_VAR: Final = "CANVAS_SECRET_KEY"
ENV_VAR: Final = "CANVAS_ENV"
#: The auth mode of the command line and the Temporal worker (``Canvas()``
#: takes ``auth=`` instead); unset means ``auto``. It takes
#: :data:`~canvas_async._defaults.AUTH_MODES`.
AUTH_VAR: Final = "CANVAS_AUTH"
LOG_VAR: Final = "CANVAS_LOG"
FILE_SUFFIX: Final = "_FILE"

_LOG_LEVELS: Final = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}


def read_key_variable(var: str, what: str, environ: Mapping[str, str] = os.environ) -> str | None:
    """Return the key in ``var``, or in the file ``var_FILE`` names; None if neither is set.

    The variable wins when both are set. A file is read as UTF-8 and stripped
    (a trailing newline is not part of the key).

    Raises:
        ValidationError: The file cannot be read or is empty (the message
            names the variable and the path, never the content).
    """
    value = environ.get(var, "").strip()
    if value:
        return value
    path = environ.get(var + FILE_SUFFIX, "").strip()
    return read_key_file(path, what, var + FILE_SUFFIX) if path else None


def read_key_file(path: str, what: str, named_by: str, *, stdin: bool = False) -> str:
    """Return the key in the file at ``path``, read as UTF-8 and stripped.

    Args:
        path: The file; with ``stdin``, ``-`` is standard input.
        what: What the key is, for messages (``"secret key"``).
        named_by: What named the file (``CANVAS_SECRET_KEY_FILE``,
            ``--secret-key-file``), for messages.
        stdin: Read ``-`` as standard input (the command line's way).

    Raises:
        ValidationError: The file cannot be read or is empty (the message
            names the file and what named it, never the content).
    """
    try:
        text = sys.stdin.read() if stdin and path == "-" else Path(path).read_text("utf-8")
    except OSError as error:
        raise ValidationError(
            f"cannot read the {what} file {path} ({named_by}): {error.strerror}"
        ) from None
    key = text.strip()
    if not key:
        raise ValidationError(f"the {what} file {path} ({named_by}) is empty")
    return key


def keys_from_environ(
    consumer: str | None, secret_key: str | None, environ: Mapping[str, str] = os.environ
) -> tuple[str, str]:
    """Fill in the keys not passed from ``CANVAS_CONSUMER`` / ``CANVAS_SECRET_KEY``
    (or their ``_FILE`` variants).

    Raises:
        ValidationError: A key is neither passed nor set; the message names
            every missing one.
    """
    if consumer is None:
        consumer = read_key_variable(CONSUMER_VAR, "consumer key", environ)
    if secret_key is None:
        secret_key = read_key_variable(SECRET_KEY_VAR, "secret key", environ)
    if consumer is not None and secret_key is not None:
        return consumer, secret_key
    missing = [
        f"{name}= (or {var} / {var}{FILE_SUFFIX})"
        for name, var, value in (
            ("consumer", CONSUMER_VAR, consumer),
            ("secret_key", SECRET_KEY_VAR, secret_key),
        )
        if value is None
    ]
    raise ValidationError("no credentials: pass " + " and ".join(missing))


def auth_mode_from(
    flag: str | None = None, environ: Mapping[str, str] = os.environ
) -> tuple[AuthMode, str]:
    """Return the auth mode a command or worker runs in, and where it was
    asked for: ``flag`` (``--auth``), else ``CANVAS_AUTH``, else ``auto``.

    Raises:
        ValidationError: ``CANVAS_AUTH`` names no mode (its value is not echoed).
    """
    if flag:
        return auth_mode(flag, "--auth"), "--auth"
    value = environ.get(AUTH_VAR, "")
    if not value.strip():
        return "auto", "the default"
    return auth_mode(value, AUTH_VAR), AUTH_VAR


def env_from_environ(environ: Mapping[str, str] = os.environ) -> str:
    """Return ``CANVAS_ENV`` when set, else ``"dev"``."""
    return environ.get(ENV_VAR, "").strip() or "dev"


def proxy_option(proxy: str | yarl.URL | None) -> yarl.URL | None:
    """Check a proxy URL (``http://host:port``, credentials allowed in it).

    Raises:
        ValidationError: Not an ``http://`` URL with a host (the message does
            not echo it: it may carry a password).
    """
    if proxy is None:
        return None
    try:
        url = yarl.URL(proxy)
    except (TypeError, ValueError):
        raise ValidationError("proxy must be an http:// URL") from None
    # aiohttp speaks plain HTTP to a proxy (CONNECT tunnels the TLS inside it).
    if url.scheme != "http" or not url.host:
        raise ValidationError("proxy must be an http:// URL with a host, e.g. http://proxy:3128")
    return url


def ssl_option(value: _ssl.SSLContext | str | os.PathLike[str] | None) -> _ssl.SSLContext | None:
    """Return the TLS context to verify the server with: the caller's, one
    trusting the CA bundle at a path, or None for the system's default.

    Turning verification off is not offered: the keys travel on every request.

    Raises:
        ValidationError: Not a context or a readable CA bundle.
    """
    if value is None or isinstance(value, _ssl.SSLContext):
        return value
    if not isinstance(value, str | os.PathLike):
        raise ValidationError(
            f"ssl must be an ssl.SSLContext or a CA bundle path, not a {type(value).__name__}"
        )
    try:
        return _ssl.create_default_context(cafile=os.fspath(value))
    except (OSError, _ssl.SSLError) as error:
        raise ValidationError(f"cannot use the CA bundle {os.fspath(value)}: {error}") from None


_configured = False


def setup_logging_from_environ(environ: Mapping[str, str] = os.environ) -> None:
    """Send the ``canvas_async`` logger's records to stderr when ``CANVAS_LOG``
    is ``debug``, ``info`` or ``warning``; done once per process.

    An unknown value is ignored with a warning: logging must never stop a client.
    """
    global _configured  # noqa: PLW0603 - once per process
    if _configured:
        return
    _configured = True
    value = environ.get(LOG_VAR, "").strip().casefold()
    if not value:
        return
    level = _LOG_LEVELS.get(value)
    logger = logging.getLogger("canvas_async")
    if level is None:
        logger.warning(
            "%s must be one of %s; logging left as it is", LOG_VAR, ", ".join(_LOG_LEVELS)
        )
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
