"""Replacing a file all at once: exports and saved sessions are whole or absent.

Output goes to a hidden temporary file next to the target and is renamed over
it only when complete, so a full disk or a crash never leaves a half-written
export, and saving a session over the very file it was read from is safe.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[str]:
    """Yield a temporary path to write; on success it replaces ``path``.

    On any exception the temporary file is removed and the exception goes on;
    ``path`` is left as it was.
    """
    directory, name = os.path.split(os.path.abspath(path))
    # Same directory (so the rename is atomic), created by the caller's open()
    # (so it gets the umask's permissions, unlike mkstemp's 0600).
    temp = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.part")
    try:
        yield temp
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
