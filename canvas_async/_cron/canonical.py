"""The canonical text of a Quartz expression: the one rule every caller uses.

What is sent, what a plan compares, what a file's schedule becomes: all are
this text (see :mod:`.render` for how it is written).
"""

from __future__ import annotations

import functools

from .fields import CronError
from .parse import parse
from .render import render


@functools.lru_cache(maxsize=256)
def canonical(text: str) -> str:
    """Return the canonical form of the Quartz expression ``text``.

    Each text is parsed once: a provisioning run meets a few expressions on
    many workflows. A bad text raises again each time (errors are not cached).

    Raises:
        CronError: ``text`` is not a valid Quartz expression.
    """
    return render(parse(text))


def canonical_or_none(text: str | None) -> str | None:
    """Return the canonical form of a cron a workflow holds, or None.

    None for no cron and for one that does not parse: a schedule the SDK
    cannot read differs from any schedule it would send.
    """
    if text is None:
        return None
    try:
        return canonical(text)
    except CronError:
        return None
