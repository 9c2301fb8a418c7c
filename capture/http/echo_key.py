"""The echo key: a secret the reflector signs its echoes with, and captures check them by.

Any server can answer with an :data:`~capture.http.echo.ECHO_HEADER` of its own
making. On a tethered laptop every site the phone's browser visits could then claim
that the network added an ``X-MSISDN`` it never saw, and a capture would show the
carrier injecting a number it did not inject. With an echo key, ``headerwatch
reflect`` signs each echo (HMAC-SHA256 over the echo and its omitted count, in
:data:`ECHO_SIGNATURE_HEADER`), and every command that compares sent with received
(``scan``, ``live``, ``open``, ``report``, ``probe``) given the same key trusts only
echoes whose signature it checks: the others are counted and not compared.

The key file holds 32 random bytes as 64 hex digits and a newline, mode 0600;
``reflect --echo-key FILE`` makes one where there is none (:func:`make_key_file`).
The same file, copied to the laptop, is what the capture side is given.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Collection, Sequence

from capture.model import Header

ECHO_SIGNATURE_HEADER = "X-Headerwatch-Received-Signature"
"""Response header with the echo's signature: ``v1=`` and the hex HMAC-SHA256, under
the echo key, of :func:`signed_text`."""
_SIGNATURE_LOWER = ECHO_SIGNATURE_HEADER.lower()
_PREFIX = "v1="

KEY_BYTES = 32
"""Bytes of a key made here; a key file read must hold at least :data:`MIN_KEY_BYTES`."""
MIN_KEY_BYTES = 16

_key: bytes | None = None


class EchoKeyError(Exception):
    """An echo key file that cannot be read or made; ``str()`` is one line for the user."""


def set_echo_key(key: bytes | None) -> None:
    """Make ``key`` the echo key of the pipelines and probes made from now on (None:
    echoes are compared unsigned, from any server)."""
    global _key
    _key = key


def echo_key() -> bytes | None:
    """The echo key set by :func:`set_echo_key`, or None."""
    return _key


def signed_text(echo: str, omitted: int) -> bytes:
    """What a signature covers: the echo value as sent and how many headers it leaves
    out (:data:`~capture.http.echo.ECHO_OMITTED_HEADER`), so that neither can be
    swapped for another echo's; prefixed with the scheme, which a later one changes."""
    return b"headerwatch-echo-v1\n%d\n%s" % (omitted, echo.encode("ascii", "replace"))


def sign_echo(key: bytes, echo: str, omitted: int) -> str:
    """The :data:`ECHO_SIGNATURE_HEADER` value of an echo."""
    # Imported here: every pipeline imports this module, few sign or check (hashlib
    # and its OpenSSL constructors were 3 ms of every scan's start-up).
    import hashlib
    import hmac

    return _PREFIX + hmac.new(key, signed_text(echo, omitted), hashlib.sha256).hexdigest()


def host_named(headers: Sequence[Header]) -> str | None:
    """The host a request's ``Host`` header names (the first one), lower case, without
    its port or an IPv6 literal's brackets; None without one."""
    for name, value in headers:
        if len(name) == 4 and name.lower() == "host":
            host = value.strip().lower()
            if host.startswith("["):
                return host[1:].partition("]")[0]
            return host.rpartition(":")[0] if host.count(":") == 1 else host
    return None


def signed_for(headers: Sequence[Header], names: Collection[str]) -> bool:
    """Whether a reflector known by ``names`` (its addresses, and the names it was given)
    signs the echo of a request with ``headers``: only where its Host names it. Else
    any site could pass the requests it gets on to the reflector, with whatever it
    likes added, and show the signed echo as the network's doing (an outside tester
    did); such a request names the site, not the reflector."""
    host = host_named(headers)
    return host is not None and host in names


def signature_of(headers: tuple[Header, ...]) -> str | None:
    """The :data:`ECHO_SIGNATURE_HEADER` value among response ``headers``, or None (the
    first, where a response has several: only one can be the reflector's)."""
    for name, value in headers:
        if len(name) == len(_SIGNATURE_LOWER) and name.lower() == _SIGNATURE_LOWER:
            return value
    return None


def signature_holds(key: bytes, echo: str, omitted: int, signature: str | None) -> bool:
    """Whether ``signature`` is ``key``'s of this echo (compared in constant time)."""
    if signature is None:
        return False
    # As bytes: compare_digest raises TypeError for a str past ASCII, and the
    # signature is what any server sent (one byte of it stopped a scan).
    import hmac  # with sign_echo's

    given = signature.strip().encode("utf-8", "surrogateescape")
    return hmac.compare_digest(sign_echo(key, echo, omitted).encode("ascii"), given)


def read_key_file(path: str) -> bytes:
    """The key in the file at ``path``. Raises :class:`EchoKeyError`."""
    try:
        # Non-blocking: a FIFO put where the key should be would wait for a writer.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as handle:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise EchoKeyError(f"echo key {path}: not a regular file")
            text = handle.read(4096)
    except OSError as exc:
        raise EchoKeyError(f"echo key {path}: {exc.strerror or exc}") from None
    if st.st_uid != os.geteuid():
        # Its owner can write another key in it (root reads anyone's 0600 file).
        raise EchoKeyError(f"echo key {path}: belongs to another user (uid {st.st_uid})")
    if st.st_mode & 0o077:
        # Whoever can read it can sign echoes: a capture's evidence would then be theirs.
        raise EchoKeyError(
            f"echo key {path}: other users can read or change it (mode "
            f"{stat.S_IMODE(st.st_mode):04o}); chmod 600 {path}"
        )
    try:
        key = bytes.fromhex(text.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        raise EchoKeyError(
            f"echo key {path}: not a key (hex digits, as `reflect --echo-key` writes)"
        ) from None
    if len(key) < MIN_KEY_BYTES:
        raise EchoKeyError(
            f"echo key {path}: {len(key)} bytes, fewer than {MIN_KEY_BYTES}: make a new "
            "one with `headerwatch reflect --echo-key NEWFILE`"
        )
    return key


def make_key_file(path: str) -> bool:
    """Write a new random key to ``path`` where there is no file; True if one was
    made. Raises :class:`EchoKeyError`.

    The key is written to a new file beside ``path`` and linked there whole: two
    reflectors started at once with one new key file (a lab's on two ports) never
    read it half written, and the one that comes second reads the first one's key."""
    import secrets  # a key is made once, by reflect

    if os.path.lexists(path):
        return False
    folder = os.path.dirname(path) or "."
    # Made 0600 from the start, not by create_private: where output files are shared
    # (--shared-files) they are made with the umask's mode, and a key is no output.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    draft = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(8)}")
    try:
        fd = os.open(draft, flags, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(KEY_BYTES) + "\n")
            os.link(draft, path)
        except FileExistsError:
            return False  # made since the look: read as it is
        finally:
            with contextlib.suppress(OSError):
                os.unlink(draft)
    except OSError as exc:
        raise EchoKeyError(f"echo key {path}: {exc.strerror or exc}") from None
    return True
