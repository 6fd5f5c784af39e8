"""Files the command writes for people to keep: whole or not at all, readable by the owner only.

A report names account e-mails and what was done to each: it is written to
a temporary file beside the target, flushed and synced, then renamed over
the target, and the directory synced, so a crash, a kill or a full disk
leaves the previous report as it was, never a part of the new one.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path


def write_whole(path: str | Path, text: str) -> None:
    """Replace the file at ``path`` with ``text`` (UTF-8, mode 0600), atomically.

    A target that exists and is not a regular file (``/dev/stdout``, a named
    pipe) cannot be replaced by a rename: it is written to directly.

    Args:
        path: The file to write; its directory must exist.
        text: What it holds afterwards.

    Raises:
        OSError: It could not be written (the file at ``path``, if any, is
            then untouched and no temporary file is left behind).
    """
    target = Path(os.path.realpath(path))  # through a symbolic link, to the file it names
    data = text.encode("utf-8")
    with contextlib.suppress(FileNotFoundError):
        if not stat.S_ISREG(target.stat().st_mode):
            with target.open("wb") as stream:
                stream.write(data)
            return
    directory = target.parent
    # mkstemp creates the file with mode 0600, in the target's directory (one file system).
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    # Make the rename durable: sync the directory's entry where the system allows it (not
    # on Windows, nor on file systems that refuse to sync a directory: the rename is done).
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
