"""What live capture needs from the system, said in one line; giving root back after sudo.

Opening a packet socket needs root or ``CAP_NET_RAW`` (and ``CAP_NET_ADMIN`` to
raise the socket buffer past ``net.core.rmem_max``). Reading files never does.
When headerwatch was started with ``sudo``, :func:`drop_privileges` becomes the
invoking user once the socket is open, so that files are written as that user
and nothing else runs as root; it keeps only ``CAP_NET_RAW`` and ``CAP_NET_ADMIN``
so that the socket can be reopened when an unplugged tether comes back.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.util
import os
import pwd
import sys
import sysconfig
from dataclasses import dataclass

CAP_NET_ADMIN = 12
CAP_NET_RAW = 13
_KEPT_CAPS = (1 << CAP_NET_ADMIN) | (1 << CAP_NET_RAW)

_PR_SET_KEEPCAPS = 8
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


def interpreter_path() -> str:
    """The real file of this Python interpreter (what ``setcap`` must be given).

    A venv's ``bin/python`` is a symlink; file capabilities only work on the
    binary it points to. The kernel's ``/proc/self/exe`` is that binary even when
    this user may not read every directory of the symlink chain.
    """
    try:
        exe = os.readlink("/proc/self/exe")
        if os.path.isabs(exe) and not exe.endswith(" (deleted)"):
            return exe
    except OSError:
        pass
    return os.path.realpath(sys.executable)


def setcap_command() -> str:
    """The exact command that lets this interpreter capture without root."""
    return f"sudo setcap cap_net_raw,cap_net_admin=eip {interpreter_path()}"


def missing_privileges_message(iface: str) -> str:
    """One line saying what to do when the packet socket cannot be opened."""
    return (
        f"live capture on {iface} needs root or the CAP_NET_RAW capability: "
        f"run it with sudo, or allow this Python once with: {setcap_command()}"
    )


def effective_capabilities() -> int:
    """The effective capability set of this process (0 when unknown)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except (OSError, ValueError):
        pass
    return 0


def can_capture() -> bool:
    """True when this process may open packet sockets (root or CAP_NET_RAW)."""
    return os.geteuid() == 0 or bool(effective_capabilities() & (1 << CAP_NET_RAW))


@dataclass(frozen=True)
class Dropped:
    """Who the process became in :func:`drop_privileges`."""

    user: str
    uid: int
    gid: int
    kept_capabilities: bool
    """False if ``CAP_NET_RAW`` could not be kept: the socket cannot be reopened."""


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name or "libc.so.6", use_errno=True)
    except OSError:
        return None


def _keep_caps(libc: ctypes.CDLL | None, on: bool) -> bool:
    if libc is None:
        return False
    return int(libc.prctl(_PR_SET_KEEPCAPS, int(on), 0, 0, 0)) == 0


def _set_capabilities(libc: ctypes.CDLL | None, caps: int) -> bool:
    if libc is None:
        return False
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    data[0].effective = data[0].permitted = caps & 0xFFFFFFFF
    data[1].effective = data[1].permitted = caps >> 32
    return int(libc.capset(ctypes.byref(header), ctypes.byref(data))) == 0


def sudo_user() -> tuple[int, int] | None:
    """``(uid, gid)`` of the user who ran ``sudo headerwatch ...``, if that is what happened."""
    if os.geteuid() != 0:
        return None
    try:
        uid = int(os.environ["SUDO_UID"])
        gid = int(os.environ.get("SUDO_GID", uid))
    except (KeyError, ValueError):
        return None
    if uid == 0:
        return None
    return uid, gid


class CannotDrop(Exception):
    """Root could not be given back; ``str()`` is one line saying why and how to fix it.

    The process is still root: the caller must stop, or go on only if the user
    asked to stay root (``live --stay-root``).
    """


def needed_paths() -> list[str]:
    """Directories this process still imports from after the drop (Python's own
    library, headerwatch, its dependencies)."""
    import capture

    paths = [sysconfig.get_paths()["stdlib"], os.path.dirname(os.path.dirname(capture.__file__))]
    for module in ("scapy", "textual"):
        spec = importlib.util.find_spec(module)
        if spec is not None and spec.origin:
            paths.append(os.path.dirname(os.path.dirname(spec.origin)))
    return paths


def _unreadable_for(uid: int, gid: int, groups: list[int], paths: list[str]) -> str | None:
    """The first of ``paths`` that ``uid`` could not read, checked with effective ids."""
    saved_groups = os.getgroups()
    os.setgroups(groups)
    os.setegid(gid)
    os.seteuid(uid)
    try:
        for path in paths:
            if not os.access(path, os.R_OK | os.X_OK, effective_ids=True):
                return path
        return None
    finally:
        os.seteuid(0)
        os.setegid(0)
        os.setgroups(saved_groups)


def drop_privileges(paths: list[str] | None = None) -> Dropped | None:
    """After ``sudo``: become the invoking user, keeping only the capture capabilities.

    Call once the packet socket is open. Returns ``None`` when there is nothing
    to drop (not root, or root without sudo). Supplementary groups, ``HOME``,
    ``USER`` and ``LOGNAME`` become the user's, so the config directory and
    written files are theirs. Raises :class:`CannotDrop` (still root) when the
    user could not read the Python library or headerwatch itself (``paths``,
    default :func:`needed_paths`), as with an interpreter installed in /root, or
    when the system refuses the change of user.
    """
    who = sudo_user()
    if who is None:
        return None
    uid, gid = who
    try:
        entry: pwd.struct_passwd | None = pwd.getpwuid(uid)
    except KeyError:
        entry = None
    name = entry.pw_name if entry is not None else str(uid)
    groups = os.getgrouplist(entry.pw_name, gid) if entry is not None else [gid]
    unreadable = _unreadable_for(uid, gid, groups, needed_paths() if paths is None else paths)
    if unreadable is not None:
        raise CannotDrop(
            f"cannot give root back: {name} (who ran sudo) cannot read {unreadable}, which "
            f"this Python needs; install headerwatch where {name} can read it, or run it "
            f"without sudo after: {setcap_command()}"
        )
    libc = _libc()
    keeping = _keep_caps(libc, True)
    try:
        os.setgroups(groups)
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    except OSError as exc:
        # No CAP_SETUID/CAP_SETGID (a container's bounding set, a seccomp policy).
        raise CannotDrop(
            f"cannot give root back: becoming {name} failed ({exc.strerror or exc}); "
            f"run headerwatch without sudo after: {setcap_command()}"
        ) from None
    # With KEEPCAPS the permitted set survives setresuid (the effective set is
    # cleared); narrow both to the two capture capabilities.
    kept = keeping and _set_capabilities(libc, _KEPT_CAPS)
    if not kept:
        _set_capabilities(libc, 0)
    _keep_caps(libc, False)
    if entry is not None:
        os.environ["HOME"] = entry.pw_dir
        os.environ["USER"] = os.environ["LOGNAME"] = entry.pw_name
    return Dropped(name, uid, gid, kept)
