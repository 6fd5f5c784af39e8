"""HS256 JSON Web Tokens (RFC 7519) with the standard library alone.

The emulator signs the access tokens it issues in token mode and checks the
signature of every bearer token it receives, as the real server does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any, Final

_HEADER: Final = {"alg": "HS256", "typ": "JWT"}


class InvalidTokenError(ValueError):
    """The token is malformed or its signature does not match."""


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidTokenError("a token segment is not base64url") from exc


def _json_segment(value: Mapping[str, Any]) -> str:
    return _b64encode(json.dumps(value, separators=(",", ":")).encode())


def _sign(signing_input: str, key: bytes) -> bytes:
    return hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()


def encode(claims: Mapping[str, Any], key: bytes) -> str:
    """Return ``claims`` as a compact HS256 JWT signed with ``key``."""
    signing_input = f"{_json_segment(_HEADER)}.{_json_segment(claims)}"
    return f"{signing_input}.{_b64encode(_sign(signing_input, key))}"


def decode(token: str, key: bytes) -> dict[str, Any]:
    """Check the signature of ``token`` and return its claims.

    Expiry and audience are the caller's business: this only proves that the
    token is well formed and was signed with ``key``.

    Raises:
        InvalidTokenError: The token is malformed, not HS256, or its signature
            does not match.
    """
    parts = token.split(".")
    if len(parts) != 3 or not token.isascii():
        raise InvalidTokenError("a token has three base64url segments")
    header_segment, claims_segment, signature_segment = parts
    expected = _sign(f"{header_segment}.{claims_segment}", key)
    if not hmac.compare_digest(expected, _b64decode(signature_segment)):
        raise InvalidTokenError("the token's signature does not match")
    header = _json_object(_b64decode(header_segment))
    if header.get("alg") != "HS256":
        raise InvalidTokenError("the token is not signed with HS256")
    return _json_object(_b64decode(claims_segment))


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise InvalidTokenError("a token segment is not JSON") from exc
    if not isinstance(value, dict):
        raise InvalidTokenError("a token segment is not a JSON object")
    return value
