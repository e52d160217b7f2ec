"""Replacing a file so that a reader sees the old bytes or the new ones, never a mix: the state files and the
config file both go through `atomic_write`.

A temporary file in the same folder (a rename is atomic only within one file system), fsync, `os.replace`,
then an fsync of the folder so the rename itself survives a power cut (pip's `adjacent_tmp_file` skips that).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

PRIVATE = 0o600


def atomic_write(path: Path, data: bytes, *, mode: int | None = PRIVATE) -> None:
    """Replace `path` with `data`; the file ends with `mode`, or with None keeps the old file's mode (else 0600).

    A failure (an OSError, Ctrl-C) removes the temporary file and leaves `path` as it was.
    """
    if mode is None:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            mode = PRIVATE
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # mkstemp makes it 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            if mode != PRIVATE:
                os.fchmod(fh.fileno(), mode)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in `directory` durable; a file system that cannot sync a folder is left be."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
