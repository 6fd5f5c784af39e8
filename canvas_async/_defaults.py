"""Defaults the command line shares with the library, in a module that imports nothing.

The command's parser reads them here, so ``--help`` loads neither attrs nor
aiohttp, and each value is written once.
"""

from __future__ import annotations

from typing import Final, Literal, TypeAlias, get_args

DEFAULT_MAX_CONCURRENCY: Final = 64
"""Requests one client has in flight at once, across all its account views; a
bulk run or an apply handles as many accounts at once unless told otherwise
(the CLI's ``--concurrency``). Measured: ``benchmarks/results.md``."""

DEFAULT_MAX_ATTEMPTS: Final = 5
"""Attempts an account (a bulk item) gets, the first included (``--max-attempts``)."""

DEFAULT_ACCOUNT_TIMEOUT: Final = 300.0
"""Seconds an account (a bulk item) may take over all its attempts (``--account-timeout``)."""

DEFAULT_RUN_WAIT: Final = 600.0
"""Seconds ``run_and_wait`` waits for a run to finish, by default."""

DEFAULT_POLL: Final = 1.0
"""Seconds ``run_and_wait`` waits before its first read of the workflow, by default."""

AuthMode: TypeAlias = Literal["keys", "token", "auto"]
"""``"keys"``: the keys on every request. ``"token"``: the keys exchanged for a
bearer token. ``"auto"``: whichever the server's ``/Authenticate`` answers."""

AUTH_MODES: Final[tuple[AuthMode, ...]] = get_args(AuthMode)
"""Every :data:`AuthMode` (``--auth``'s choices, ``CANVAS_AUTH``'s values)."""
