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

Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def check_concurrency(value: object) -> None:
    """Refuse ``value`` unless it is a whole number >= 1 (``max_concurrency``)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError("max_concurrency must be an int")
    if value < 1:
        raise ValidationError("max_concurrency must be >= 1")


def concurrency(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Validate ``max_concurrency`` (None: no limit) with :func:`check_concurrency`."""
    if value is not None:
        check_concurrency(value)


def count(*, minimum: int) -> Validator:
    """Return a validator of whole numbers >= ``minimum``."""

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValidationError(
                f"{attribute.name} must be a whole number >= {minimum}, not {value!r}"
            )

    return check


def check_number(
    value: object, name: str, *, unit: str = "a number of seconds", positive: bool
) -> None:
    """Refuse ``value`` unless it is a finite number (> 0 if ``positive``, else >= 0).

    Args:
        value: What was given.
        name: The setting's name, for messages.
        unit: What the number is, for messages.
        positive: Refuse 0 as well (a timeout of 0 would never be met).
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"{name} must be {unit}, not {value!r}")
    if not (math.isfinite(value) and (value > 0 if positive else value >= 0)):
        bound = "a positive, finite number" if positive else "a finite number >= 0"
        raise ValidationError(f"{name} must be {bound}, not {value!r}")


def number(
    *, unit: str = "a number of seconds", positive: bool, optional: bool = False, prefix: str = ""
) -> Validator:
    """Return a validator of a finite number (or None if ``optional``), see :func:`check_number`.

    Args:
        unit: What the number is, for messages.
        positive: Refuse 0 as well.
        optional: Accept None (no limit).
        prefix: Put before the attribute's name in messages (``"timeout "``).
    """
    unit = f"{unit} or None" if optional else unit

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None and optional:
            return
        check_number(value, f"{prefix}{attribute.name}", unit=unit, positive=positive)

    return check
