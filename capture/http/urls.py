"""The URL and address texts of a request, as filters and exports show them."""

from __future__ import annotations

from capture.model import Request
from capture.target import split_absolute


def endpoint(address: str, port: int) -> str:
    """``address:port``, with IPv6 addresses in brackets (``[2001:db8::1]:80``);
    empty when neither is known (a request read from a HAR has no client)."""
    if not address and not port:
        return ""
    if ":" in address:
        return f"[{address}]:{port}"
    return f"{address}:{port}"


def route(request: Request) -> str:
    """``src:sport → dst:dport`` (:func:`endpoint`: an IPv6 address in brackets,
    ``2001:db8::10:80`` being an address too), saying what a HAR did not record: its
    client, and a server's address unless its tool wrote one."""
    client = endpoint(request.src, request.sport) if request.src else "client not recorded"
    server = endpoint(request.dst, request.dport) if request.dst else f"server port {request.dport}"
    return f"{client} → {server}"


def request_url(request: Request) -> str:
    """The absolute URL a request asked for: ``http://host/target``.

    An absolute-form target (sent to a proxy) is already a URL and is kept as
    sent; a CONNECT's authority-form target is returned bare. Without a Host
    header the server address stands in for the host (non-80 port appended),
    which is what the server itself would have had to assume.
    """
    uri = request.uri
    if uri is None:
        uri = ""
    elif split_absolute(uri) is not None:
        return uri
    if request.method == "CONNECT":
        return uri
    server = server_url(request)
    if uri and not uri.startswith("/"):
        # Asterisk-form (OPTIONS *) or a malformed target: keep it, separated.
        return f"{server}/{uri}" if uri != "*" else server
    return f"{server}{uri}"


def server_url(request: Request) -> str:
    """``http://host`` of the server a request not sent to a proxy was for: its Host
    header (or ``:authority``), else the server address, a port other than 80 appended."""
    host = request.host
    if not host:
        host = request.dst if request.dport == 80 else endpoint(request.dst, request.dport)
        if request.dport == 80 and ":" in host:
            host = f"[{host}]"
    return f"http://{host}"
