"""Replacing a file all at once: exports and saved sessions are whole or absent.

Output goes to a hidden temporary file next to the target and is renamed over
it only when complete, so a full disk or a crash never leaves a half-written
export, and saving a session over the very file it was read from is safe.

The caller creates the temporary file with
:func:`capture.formats.private.open_private` (mode 0600, no link followed when
privileged), and the rename is checked by
:func:`capture.formats.private.check_replaceable` (as root, never over another
user's file).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterator

from capture.formats.private import check_replaceable


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[str]:
    """Yield a temporary path to write; on success it replaces ``path``.

    On any exception the temporary file is removed and the exception goes on;
    ``path`` is left as it was. A target that a privileged process must not
    replace, or a directory, raises :class:`OSError` before anything is written.
    """
    if os.path.isdir(path):
        # Said before anything is written: the rename would fail only after the whole
        # file was, and with a trailing slash as "not a directory".
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    directory, name = os.path.split(os.path.abspath(path))
    check_replaceable(path)
    # Same directory (so the rename is atomic), created by the caller with
    # open_private (0600 unless files are shared).
    temp = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.part")
    try:
        yield temp
        check_replaceable(path)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
