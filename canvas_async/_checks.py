"""Validators of the client's settings: counts and numbers, one rule each.

Used as attrs validators (``Retries``, ``Timeout``, ``Limits``) and by
``Canvas`` itself, so a setting is checked the same way wherever it enters.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import attrs

from ._errors import ValidationError

__all__ = ["check_concurrency", "count", "number"]

Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def check_concurrency(value: object) -> int:
    """Return ``value`` if it is a whole number >= 1 (``max_concurrency``)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError("max_concurrency must be an int")
    if value < 1:
        raise ValidationError("max_concurrency must be >= 1")
    return value


def _concurrency(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        check_concurrency(value)


def count(*, minimum: int) -> Validator:
    """Return a validator of whole numbers >= ``minimum``."""
    if minimum == 1:
        return _concurrency

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValidationError(
                f"{attribute.name} must be a whole number >= {minimum}, not {value!r}"
            )

    return check


def number(
    *, unit: str = "a number of seconds", positive: bool, optional: bool = False, prefix: str = ""
) -> Validator:
    """Return a validator of a finite number (or None if ``optional``).

    Args:
        unit: What the number is, for messages.
        positive: Refuse 0 as well (a timeout of 0 would never be met).
        optional: Accept None (no limit).
        prefix: Put before the attribute's name in messages (``"timeout "``).
    """
    bound = "a positive, finite number" if positive else "a finite number >= 0"
    unit = f"{unit} or None" if optional else unit

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None and optional:
            return
        name = f"{prefix}{attribute.name}"
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError(f"{name} must be {unit}, not {value!r}")
        if not (math.isfinite(value) and (value > 0 if positive else value >= 0)):
            raise ValidationError(f"{name} must be {bound}, not {value!r}")

    return check
