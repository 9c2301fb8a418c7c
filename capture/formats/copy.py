"""What the dashboard copies to the clipboard: a request as text, as a ``curl``
command, or the value of its most severe identity.

Wire data is chosen by whoever sent the request, so everything copied goes through
:func:`capture.text.printable` (control characters, bidi overrides and raw bytes
become ``\\xNN``/``\\uNNNN``, as on screen), and the ``curl`` command quotes every
argument for a POSIX shell: pasting it runs ``curl`` and nothing else.
"""

from __future__ import annotations

import shlex

from capture.http.urls import request_url
from capture.model import SEVERITIES, Record
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
    """A ``curl`` command that sends the same request again (each argument quoted).

    Raises :class:`CopyError` for a request curl cannot repeat (CONNECT)."""
    req = record.request
    if req.method.upper() == "CONNECT":
        raise CopyError("a CONNECT request has no curl form; copy the request instead")
    args = ["curl"]
    if req.method != "GET" or req.body_length:
        args += ["-X", printable(req.method)]
    args.append(printable(request_url(req)))
    for name, value in req.headers:
        if name.lower() in SKIPPED_BY_CURL:
            continue
        args += ["-H", f"{printable(name)}: {printable(value)}"]
    if req.body:
        args += ["--data-binary", printable(from_bytes(req.body))]
    return " ".join(shlex.quote(arg) for arg in args)


def identity_value(record: Record) -> tuple[str, str]:
    """(kind, value) of the request's most severe identity, as normalised.

    Raises :class:`CopyError` when the request carries none."""
    found = [f for f in record.findings if f.is_identity]
    if not found:
        raise CopyError("this request carries no identity to copy")
    rank = {severity: i for i, severity in enumerate(SEVERITIES)}
    best = min(found, key=lambda f: rank.get(f.severity, len(rank)))
    return best.kind, printable(best.normalized or best.value)
