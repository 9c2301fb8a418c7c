"""The forms of a request target (RFC 9112 §3.2), told apart in one place.

A request target is origin-form (``/path?query``, what a client sends a server),
absolute-form (``http://host/path``, what it sends a proxy), authority-form
(``host:port``, a CONNECT's) or asterisk-form (``*``, a server-wide OPTIONS). Whatever
shows a request's host, path or URL asks :func:`split_absolute` which it is: a ``://``
somewhere in a target says nothing, since origin-form targets often carry a URL in
their query (``/ad?click=http://a.example/b``, in most ad and analytics traffic).
"""

from __future__ import annotations

import re

# RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then ":". Only a
# scheme followed by "//" (an authority, as http and https URLs have) is taken: the
# host and path are all headerwatch reads off a target. The authority runs to the
# first "/", "?" or "#" (RFC 3986 §3.2).
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://([^/?#]*)")


def split_absolute(target: str | None) -> tuple[str, str] | None:
    """``(host, origin_form)`` of an absolute-form target; ``None`` for any other form
    (origin, authority, asterisk, empty or none).

    ``host`` is the target's authority without userinfo, a port kept, as the Host
    header would carry it (RFC 9112 §3.2.2: "identical to that authority component,
    excluding any userinfo subcomponent and its "@" delimiter"); it may be empty.
    ``origin_form`` is the rest, the path and query, with ``/`` for an empty path
    (RFC 9112 §3.2.1: "If the target URI's path component is empty, the client MUST
    send "/" as the path within the origin-form").
    """
    if not target or target[0] == "/":
        return None  # origin-form, nearly every target: no pattern to run
    found = _ABSOLUTE.match(target)
    if found is None:
        return None
    rest = target[found.end() :]
    return found[1].rpartition("@")[2], rest if rest[:1] == "/" else "/" + rest


def site_end(target: str) -> int:
    """How many characters at the start of ``target`` name the site it is sent to: the
    ``scheme://authority`` of an absolute-form target; none (0) for any other form."""
    if target[:1] == "/":
        return 0  # origin-form, nearly every target: no pattern to run
    found = _ABSOLUTE.match(target)
    return 0 if found is None else found.end()


def shown_path(target: str | None) -> str:
    """What a list or table shows as a request's path: the target, an absolute-form
    one without ``scheme://authority`` (the host has a column of its own)."""
    absolute = split_absolute(target)
    if absolute is not None:
        return absolute[1]
    return target or ""
