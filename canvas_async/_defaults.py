"""Defaults the command line shares with the library, in a module that imports nothing.

The command's parser reads them here, so ``--help`` loads neither attrs nor
aiohttp, and each value is written once.
"""

from __future__ import annotations

from typing import Final

DEFAULT_MAX_CONCURRENCY: Final = 64
"""Requests one client has in flight at once, across all its account views; a
bulk run or an apply handles as many accounts at once unless told otherwise
(the CLI's ``--concurrency``). Measured: ``benchmarks/results.md``."""
