"""What the dashboard copies to the clipboard: a request as text, as a ``curl``
command, or the value of its most severe identity.

Wire data is chosen by whoever sent the request, so everything copied goes through
:func:`capture.text.printable` (control characters, bidi overrides and raw bytes
become ``\\xNN``/``\\uNNNN``, as on screen), and the ``curl`` command quotes every
argument for the shell: pasting it runs ``curl`` and nothing else (:func:`shell_word`).
"""

from __future__ import annotations

import re
import shlex

from capture.http.urls import endpoint, request_url, server_url
from capture.model import SEVERITIES, Record
from capture.target import split_absolute
from capture.text import from_bytes, printable

SKIPPED_BY_CURL = frozenset({"content-length", "transfer-encoding", "connection"})
"""Headers curl works out itself (it would send them twice or wrongly)."""


class CopyError(ValueError):
    """Nothing to copy of that kind; ``str()`` is one line for the user."""


def request_text(record: Record) -> str:
    """The request line and headers as sent, in wire order, and the body kept."""
    req = record.request
    line = " ".join(p for p in (req.method, req.uri, req.version) if p is not None)
    lines = [printable(line)]
    lines += [f"{printable(name)}: {printable(value)}" for name, value in req.headers]
    text = "\n".join(lines) + "\n"
    if req.body:
        text += "\n" + printable(from_bytes(req.body))
        if req.body_length > len(req.body):
            text += f"\n[… {req.body_length - len(req.body):,} more bytes not kept]"
    return text


def curl_command(record: Record) -> str:
    """A ``curl`` command that sends the same request again (each argument quoted), its
    request target as it was sent.

    curl makes a target of its own from its URL, so a target it would not make the
    same (asterisk-form, absolute-form, a CONNECT's authority-form, dot segments, a
    fragment, raw bytes, ...) is given with ``--request-target`` and the URL names only
    where to send it. A request sent to a proxy (absolute-form or CONNECT) goes to the
    server the capture saw receive it: a CONNECT means nothing to any other.

    Raises :class:`CopyError` for a request curl cannot repeat: a request line with no
    target, or a request to a proxy whose address the record does not have."""
    req = record.request
    target = req.uri
    if target is None:
        raise CopyError("curl cannot send a request line with no target; copy the request instead")
    args = ["curl"]
    if req.method != "GET" or req.body_length:
        args += ["-X", req.method]
    if req.method.upper() == "CONNECT" or split_absolute(target) is not None:
        if not req.dst or not req.dport:
            raise CopyError(
                "the proxy this request was sent to is not known; copy the request instead"
            )
        args += ["--request-target", target, f"http://{endpoint(req.dst, req.dport)}"]
    elif _curl_keeps(target):
        args.append(request_url(req))
    else:
        args += ["--request-target", target, server_url(req)]
    for name, value in req.headers:
        if name.lower() in SKIPPED_BY_CURL:
            continue
        args += ["-H", f"{name}: {value}"]
    if any("\x00" in arg for arg in args):
        raise CopyError(
            "the request holds a NUL byte, which no command line can carry; "
            "copy the request instead"
        )
    feed = ""
    if req.body:
        if b"\x00" in req.body:
            # An argument cannot hold a NUL byte: printf writes the body to curl's stdin.
            feed = f"printf {_printf_format(req.body)} | "
            args += ["--data-binary", "@-"]
        else:
            args += ["--data-binary", from_bytes(req.body)]
    return feed + " ".join(shell_word(arg) for arg in args)


def _printf_format(data: bytes) -> str:
    """A quoted ``printf`` format that writes ``data``: printable ASCII as it is, every
    other byte (and ``\\``, ``%``, ``'``) as a ``\\NNN`` octal escape, which POSIX
    printf reads in its format."""
    out = []
    for byte in data:
        char = chr(byte)
        if 0x20 <= byte < 0x7F and char not in "\\%'":
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return "'" + "".join(out) + "'"


def shell_word(text: str) -> str:
    """``text`` as one shell word that the shell turns back into its very bytes.

    Printable text goes in POSIX single quotes (``shlex.quote``). Text with what a
    terminal would act on or a reader be fooled by (control characters, bidi
    overrides, raw bytes: :func:`capture.text.printable`'s) goes in bash's ``$'...'``
    with each such character written as the ``\\xNN`` escapes of its bytes: pasted,
    nothing reaches the terminal raw; run by bash, zsh or ksh, curl gets the bytes
    that were sent (a replay is evidence). A shell without ``$'...'`` (an old dash)
    reads the escapes as text: still one argument, and nothing but curl runs."""
    if printable(text) == text:
        return shlex.quote(text)
    out = ["$'"]
    for char in text:
        if char in "\\'":
            out.append("\\" + char)
        elif printable(char) == char:
            out.append(char)
        else:
            # A raw byte kept as a lone surrogate is that byte again; any other
            # character is its UTF-8 (bash's \u depends on the locale).
            raw = char.encode("utf-8", "surrogateescape")
            out.append("".join(f"\\x{byte:02x}" for byte in raw))
    out.append("'")
    return "".join(out)


# An origin-form target curl sends as it is when it is a URL's path and query (tried
# with curl 7.88): RFC 3986's unreserved and sub-delims, ":", "@", "/", "?" and "%".
# curl squashes dot segments ("/a/../b" -> "/b"), drops a fragment, percent-encodes
# what is not ASCII and refuses spaces and quotes, so any other target goes in
# --request-target.
_CURL_KEEPS = re.compile(r"/[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*")
_DOT_SEGMENT = re.compile(r"/\.\.?(?:/|$)")


def _curl_keeps(target: str) -> bool:
    """Whether curl sends ``target`` unchanged when it is its URL's path and query."""
    return (
        _CURL_KEEPS.fullmatch(target) is not None
        and _DOT_SEGMENT.search(target.partition("?")[0]) is None
    )


def identity_value(record: Record) -> tuple[str, str]:
    """(kind, value) of the request's most severe identity, as normalised.

    Raises :class:`CopyError` when the request carries none."""
    found = [f for f in record.findings if f.is_identity]
    if not found:
        raise CopyError("this request carries no identity to copy")
    rank = {severity: i for i, severity in enumerate(SEVERITIES)}
    best = min(found, key=lambda f: rank.get(f.severity, len(rank)))
    return best.kind, printable(best.normalized or best.value)
