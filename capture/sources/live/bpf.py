"""Capture filters (tcpdump syntax) compiled by libpcap into classic BPF, for a
packet socket's ``SO_ATTACH_FILTER``.

libpcap is loaded with ctypes and asked for ``pcap_compile`` on a "dead" handle of
the link type, so no privileges are needed. scapy did this for us before, and
importing it (its protocol tables, its interface list) cost every live capture
19 MB of memory and 0.4 s of start-up for this one call.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import socket
import struct
from typing import Any

SO_ATTACH_FILTER = 26
PCAP_NETMASK_UNKNOWN = 0xFFFFFFFF
_INSN = 8
"""Bytes of one ``struct sock_filter`` (code, jt, jf, k)."""
_DLT = {101: 12}
"""Link types (as files name them) whose DLT (what ``pcap_open_dead`` takes) differs:
raw IP, LINKTYPE_RAW 101, is DLT_RAW 12 on Linux."""


class LibpcapMissing(Exception):
    """libpcap cannot be loaded."""


class FilterError(Exception):
    """libpcap refused the filter; ``str()`` is its reason."""


class _Program(ctypes.Structure):
    """``struct bpf_program``."""

    _fields_ = (("bf_len", ctypes.c_uint), ("bf_insns", ctypes.c_void_p))


_LIBRARIES = ("libpcap.so.1", "libpcap.so.0.8")
"""Tried after what ``ctypes.util.find_library`` finds (it needs ldconfig or a compiler)."""


@functools.cache
def _libpcap() -> Any:
    found = ctypes.util.find_library("pcap")
    for candidate in (found, *_LIBRARIES) if found else _LIBRARIES:
        try:
            lib = ctypes.CDLL(candidate)
        except OSError:
            continue
        lib.pcap_open_dead.restype = ctypes.c_void_p
        lib.pcap_open_dead.argtypes = (ctypes.c_int, ctypes.c_int)
        lib.pcap_compile.restype = ctypes.c_int
        lib.pcap_compile.argtypes = (
            ctypes.c_void_p,
            ctypes.POINTER(_Program),
            ctypes.c_char_p,
            ctypes.c_int,
            ctypes.c_uint32,
        )
        lib.pcap_geterr.restype = ctypes.c_char_p
        lib.pcap_geterr.argtypes = (ctypes.c_void_p,)
        lib.pcap_freecode.restype = None
        lib.pcap_freecode.argtypes = (ctypes.POINTER(_Program),)
        lib.pcap_close.restype = None
        lib.pcap_close.argtypes = (ctypes.c_void_p,)
        return lib
    raise LibpcapMissing("libpcap cannot be loaded")


def compile_bpf(expr: str, linktype: int, snaplen: int) -> bytes:
    """``expr`` compiled for frames of ``linktype``, accepting up to ``snaplen`` bytes
    of each: the ``struct sock_filter`` array, as bytes.

    Raises :class:`FilterError` with libpcap's reason, :class:`LibpcapMissing`
    without libpcap."""
    lib = _libpcap()
    handle = lib.pcap_open_dead(_DLT.get(linktype, linktype), snaplen)
    if not handle:
        raise FilterError(f"libpcap cannot compile for link type {linktype}")
    try:
        program = _Program()
        if lib.pcap_compile(handle, ctypes.byref(program), expr.encode(), 1, PCAP_NETMASK_UNKNOWN):
            reason = lib.pcap_geterr(handle) or b"not understood"
            raise FilterError(reason.decode("utf-8", "replace"))
        try:
            return ctypes.string_at(program.bf_insns, program.bf_len * _INSN)
        finally:
            lib.pcap_freecode(ctypes.byref(program))
    finally:
        lib.pcap_close(handle)


def attach(sock: socket.socket, program: bytes) -> None:
    """Make the kernel pass only the frames ``program`` (from :func:`compile_bpf`)
    accepts to ``sock``. Raises :class:`OSError` if it refuses."""
    insns = ctypes.create_string_buffer(program, len(program))
    # struct sock_fprog: the number of instructions, then a pointer to them (the
    # kernel copies them during the call).
    fprog = struct.pack("HL", len(program) // _INSN, ctypes.addressof(insns))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
