"""Output files that can hold identities are private: 0600, whatever the umask.

Sessions, exports, ``live -w`` recordings and reflect's ``--output`` all carry
phone numbers and IMSIs; a ``umask`` of 022 would make them readable by every
user of the machine. Every such file is opened with :func:`open_private`, which
creates it (or narrows an existing one) to mode 0600. On a shared lab machine,
``[files] shared = true`` in the config file or ``--shared-files`` makes them
ordinary files again (the umask decides), through :func:`share_files`.

When running privileged (effective uid 0, or started with ``sudo`` and since
dropped to the user), an output path is opened without following a symbolic
link in its last component (unless nobody else could have made the link, as
``/dev/stdout``) and never replaces a file owned by someone else: a link
planted in advance must not make root overwrite ``/etc/shadow``.
:func:`check_replaceable` applies the same rules to the target of an atomic
rename (:mod:`capture.formats.atomic`).

A recording (``live -w``) is opened with :func:`create_new`, which never replaces a
file that exists. Refusals are :class:`OSError` with ``errno`` None and a lower-case ``strerror``
that callers print as the reason (:func:`capture.formats.pcapng.describe_os_error`).

The mitmproxy add-on (``capture/data/mitmproxy_addon.py``) runs in mitmproxy's own
Python, where headerwatch need not be importable, and loads this file by its path:
it must import nothing but the standard library.

Usage, for a new output::

    from capture.formats.private import open_private

    with open_private(path, "w", encoding="utf-8") as out:
        out.write(...)
"""

from __future__ import annotations

import errno
import os
import stat
from typing import Any, BinaryIO, Literal, TextIO, cast, overload

PRIVATE_MODE = 0o600
"""The mode of every output file unless :func:`share_files` was called."""

_shared = False


def share_files(shared: bool = True) -> None:
    """Create output files with the umask's mode from now on (shared lab machines).

    Set once at start-up by the command line, from ``--shared-files`` or the
    config file's ``[files] shared = true``.
    """
    global _shared
    _shared = shared


def files_shared() -> bool:
    """Whether :func:`share_files` widened the mode of output files."""
    return _shared


def privileged() -> bool:
    """True when running as root, or as the user ``sudo`` started us for (after the
    drop): then links are not followed and other users' files are not replaced."""
    return os.geteuid() == 0 or "SUDO_UID" in os.environ


LINK_NOT_FOLLOWED = "is a symbolic link, not followed when running as root"
"""Why a privileged open refused a link nobody can vouch for."""

NOT_REPLACED = "exists already, not replaced"
"""Why :func:`create_new` refused a path."""


def _refuse(path: str, reason: str) -> OSError:
    return OSError(None, reason, path)


def _trusted_link(path: str) -> bool:
    """Whether ``path`` is a symbolic link nobody else could have planted: owned by
    us or root, in a directory only its owner (us or root) may change, like
    ``/dev/stdout``. Such a link is followed even when privileged."""
    me = os.geteuid()
    try:
        link = os.lstat(path)
        folder = os.stat(os.path.dirname(os.path.abspath(path)))
    except OSError:
        return False
    return (
        stat.S_ISLNK(link.st_mode)
        and link.st_uid in (me, 0)
        and folder.st_uid in (me, 0)
        and not folder.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    )


def _refuse_foreign_fifo(path: str, st: os.stat_result) -> None:
    """Refuse (as root) to write into a FIFO another user owns."""
    if stat.S_ISFIFO(st.st_mode) and st.st_uid != os.geteuid():
        raise _refuse(path, f"is a FIFO of another user (uid {st.st_uid}), not written as root")


def create_private(
    path: str,
    *,
    exclusive: bool = False,
    truncate: bool = True,
    append: bool = False,
    wait: bool = True,
) -> int:
    """Open ``path`` for writing as a private output file; return the descriptor.

    ``exclusive`` fails if the file exists. A regular file is truncated (unless
    ``truncate`` is false, or ``append``, which writes at its end) only after its
    owner was checked, and set to mode 0600 (unless files are shared); anything
    else (``/dev/null``, a FIFO) is written as it is. ``wait=False``: a FIFO that
    no reader has open fails at once (``ENXIO``) instead of blocking until one
    opens it (a writer that must never stall, the mitmproxy add-on); the
    descriptor returned blocks as usual.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (os.O_APPEND if append else 0)
    if not wait:
        flags |= os.O_NONBLOCK
    truncate = truncate and not append
    if exclusive:
        flags |= os.O_EXCL
    guarded = privileged()
    if guarded and not _trusted_link(path):
        flags |= os.O_NOFOLLOW
    if guarded:
        # Before the open, which waits for a FIFO's reader: another user's FIFO in a
        # shared directory (/tmp) is that user reading what root writes (a reflector's
        # records, identities and all), or a wait that keeps it from ever listening.
        try:
            seen: os.stat_result | None = os.lstat(path)
        except OSError:
            seen = None  # not there yet (created below), or not to be looked at
        if seen is not None:
            _refuse_foreign_fifo(path, seen)
    try:
        fd = os.open(path, flags, 0o666 if _shared else PRIVATE_MODE)
    except OSError as exc:
        # ELOOP from O_NOFOLLOW; EACCES when the kernel's protected_symlinks got there first.
        if guarded and exc.errno in (errno.ELOOP, errno.EACCES) and os.path.islink(path):
            raise _refuse(path, LINK_NOT_FOLLOWED) from None
        raise
    try:
        if not wait:
            os.set_blocking(fd, True)
        st = os.fstat(fd)
        if guarded:
            _refuse_foreign_fifo(path, st)  # swapped in since the look before the open
        if stat.S_ISREG(st.st_mode):
            if guarded and st.st_uid != os.geteuid():
                raise _refuse(
                    path, f"belongs to another user (uid {st.st_uid}), not replaced as root"
                )
            if truncate:
                os.ftruncate(fd, 0)
            if not _shared and stat.S_IMODE(st.st_mode) != PRIVATE_MODE:
                # Exactly 0600: a umask of 0277 would otherwise make it read-only,
                # and an existing 0644 file is about to hold identities.
                os.fchmod(fd, PRIVATE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


@overload
def open_private(
    path: str,
    mode: Literal["w", "x"],
    *,
    buffering: int = -1,
    encoding: str | None = None,
    newline: str | None = None,
) -> TextIO: ...


@overload
def open_private(
    path: str,
    mode: Literal["wb", "xb"] = "wb",
    *,
    buffering: int = -1,
    encoding: str | None = None,
    newline: str | None = None,
) -> BinaryIO: ...


def open_private(
    path: str,
    mode: str = "wb",
    *,
    buffering: int = -1,
    encoding: str | None = None,
    newline: str | None = None,
) -> TextIO | BinaryIO:
    """:func:`open` for output files: ``mode`` is ``"w"``, ``"x"``, ``"wb"`` or ``"xb"``.

    Raises :class:`OSError` as ``open`` does, and for the refusals above.
    """
    if mode not in ("w", "x", "wb", "xb"):
        raise ValueError(f"open_private writes new files only, not mode {mode!r}")
    fd = create_private(path, exclusive=mode.startswith("x"))
    try:
        out: Any = open(  # noqa: SIM115 - the caller owns the file object
            fd,
            "wb" if "b" in mode else "w",
            buffering=buffering,
            encoding=encoding,
            newline=newline,
            closefd=True,
        )
        return cast(TextIO | BinaryIO, out)
    except BaseException:
        os.close(fd)
        raise


def create_new(path: str) -> int:
    """:func:`create_private` for a recording, which must never destroy an earlier
    one: a regular file already at ``path`` (or where a link there points) is
    refused with :data:`NOT_REPLACED` and left as it was. A device or FIFO there
    (``/dev/null``, a reader's pipe) is written as it is. A link is followed as
    :func:`create_private` follows one (a new file is made where a dangling one
    points), and refused when privileged unless trusted."""
    if os.path.islink(path):
        if privileged() and not _trusted_link(path):
            raise _refuse(path, LINK_NOT_FOLLOWED)
        path = os.path.realpath(path)
    try:
        return create_private(path, exclusive=True)
    except FileExistsError:
        pass
    if stat.S_ISREG(os.stat(path).st_mode):
        raise _refuse(path, NOT_REPLACED)
    fd = create_private(path, truncate=False)
    if stat.S_ISREG(os.fstat(fd).st_mode):  # swapped for a file since the look above
        os.close(fd)
        raise _refuse(path, NOT_REPLACED)
    return fd


def remove_new(fd: int, path: str) -> bool:
    """Remove the file ``fd`` has open at ``path``, which :func:`create_new` made for a
    recording that could not take even its first bytes (a full disk): left empty, it
    would refuse the next try as a file that exists. Only a regular file, and only
    that very one (the same inode still at ``path``): never one put there since, nor
    a device or FIFO written as it is. True if it was removed."""
    try:
        made, there = os.fstat(fd), os.lstat(path)
        if not stat.S_ISREG(made.st_mode) or not os.path.samestat(made, there):
            return False
        os.unlink(path)
    except OSError:
        return False
    return True


def check_replaceable(path: str) -> None:
    """Raise :class:`OSError` if a privileged rename must not replace ``path``.

    Unprivileged, the kernel's permissions are the rule and this does nothing.
    Privileged, the target must be absent or owned by us (a link counts as what
    it is, since a rename replaces the link itself), and its directory must not
    be writable by others without the sticky bit, where someone could swap the
    target between this check and the rename.
    """
    if not privileged():
        return
    me = os.geteuid()
    directory = os.path.dirname(os.path.abspath(path))
    try:
        dst = os.stat(directory)
    except OSError:
        return  # the rename itself will say what is wrong
    shared_dir = dst.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not dst.st_mode & stat.S_ISVTX
    if shared_dir and dst.st_uid != me:
        raise _refuse(path, "its directory is writable by other users, not written as root")
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if st.st_uid != me:
        raise _refuse(path, f"belongs to another user (uid {st.st_uid}), not replaced as root")
