"""``headerwatch mitmproxy-addon``: print the path of the mitmproxy add-on.

The add-on is one file that imports only mitmproxy and the standard library (and
loads two of headerwatch's modules that need nothing more from beside it), so it
runs inside mitmproxy's own environment (``pipx install mitmproxy``) without
headerwatch installed there::

    mitmdump -s "$(headerwatch mitmproxy-addon)" --set headerwatch_out=/tmp/hw.jsonl
    headerwatch live --from /tmp/hw.jsonl
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import capture

ADDON = Path(capture.__file__).resolve().parent / "data" / "mitmproxy_addon.py"
"""The add-on file (shipped as package data)."""


def register(sub: Any) -> None:
    """Add the ``mitmproxy-addon`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "mitmproxy-addon",
        help="print the path of the mitmproxy add-on that feeds live --from",
        description="Print the path of headerwatch's mitmproxy add-on, for "
        'mitmdump -s "$(headerwatch mitmproxy-addon)" --set headerwatch_out=PATH; then '
        "follow PATH with headerwatch live --from PATH. PATH is a file, a FIFO, or "
        "unix:SOCKET.",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``mitmproxy-addon``."""
    print(ADDON)
    return 0
