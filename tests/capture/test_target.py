"""A request target's form, decided once (capture.target), as every consumer shows it:
the HAR url, the curl command's target, the list's PATH, the host and the filters."""

from __future__ import annotations

import io
import json
import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from capture.formats.copy import CopyError, curl_command
from capture.formats.har import har_entry
from capture.formats.jsonl import record_to_dict
from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.scan import scan
from capture.view.filter import compile_filter
from capture.view.order import uri_path
from capture.view.store import Entry
from tests.capture.factories import record

SERVER = "198.51.100.1"  # the factory's server address, port 80; no Host header below

# target, method, URL (HAR, ~u, curl), PATH column, host (JSONL, Request.host),
# destination (~d, the HOST column).
TARGETS = [
    pytest.param(
        "/x?click=http://a.example/b", "GET",
        f"http://{SERVER}/x?click=http://a.example/b", "/x?click=http://a.example/b",
        None, SERVER, id="origin-form, a URL in the query",
    ),
    pytest.param(
        "/r/http://a.example/b", "GET",
        f"http://{SERVER}/r/http://a.example/b", "/r/http://a.example/b",
        None, SERVER, id="origin-form, a URL in the path",
    ),
    pytest.param(
        "//a.example/b", "GET",
        f"http://{SERVER}//a.example/b", "//a.example/b",
        None, SERVER, id="origin-form, an empty first segment",
    ),
    pytest.param(
        "http://a.example/b?c=d", "GET",
        "http://a.example/b?c=d", "/b?c=d",
        "a.example", "a.example", id="absolute http",
    ),
    pytest.param(
        "https://a.example:8443/b", "GET",
        "https://a.example:8443/b", "/b",
        "a.example:8443", "a.example:8443", id="absolute https with a port",
    ),
    pytest.param(
        "HTTP://A.example/b", "GET",
        "HTTP://A.example/b", "/b",
        "A.example", "A.example", id="absolute, scheme in upper case",
    ),
    pytest.param(
        "http://a.example?q=http://b.example/", "GET",
        "http://a.example?q=http://b.example/", "/?q=http://b.example/",
        "a.example", "a.example", id="absolute, empty path, a URL in the query",
    ),
    pytest.param(
        "http://user:pw@a.example/b", "GET",
        "http://user:pw@a.example/b", "/b",
        "a.example", "a.example", id="absolute with userinfo",
    ),
    pytest.param(
        "a.example/x?u=http://b.example/", "GET",
        f"http://{SERVER}/a.example/x?u=http://b.example/", "a.example/x?u=http://b.example/",
        None, SERVER, id="no form (malformed), a URL in the query",
    ),
    pytest.param(
        "*", "OPTIONS",
        f"http://{SERVER}", "*",
        None, SERVER, id="asterisk-form",
    ),
    pytest.param(
        "a.example:443", "CONNECT",
        "a.example:443", "a.example:443",
        None, "a.example:443", id="CONNECT authority-form",
    ),
    pytest.param("", "GET", f"http://{SERVER}", "", None, SERVER, id="empty"),
    pytest.param(None, "GET", f"http://{SERVER}", "", None, SERVER, id="none"),
]  # fmt: skip


@pytest.mark.parametrize(("target", "method", "url", "path", "host", "destination"), TARGETS)
def test_every_consumer_reads_a_target_by_its_form_not_by_a_scheme_inside_it(
    target: str | None, method: str, url: str, path: str, host: str | None, destination: str
) -> None:
    rec = record(uri=target, method=method, headers=())
    entry = Entry(rec)
    try:
        # No header and no body: the URL is the command's last argument, and the
        # target curl sends is its path and query unless given with --request-target.
        args = shlex.split(curl_command(rec))
        parts = urlsplit(args[-1])
        curl: str | None = (
            args[args.index("--request-target") + 1]
            if "--request-target" in args
            else (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        )
    except CopyError:
        curl = None  # no target: no curl form
    seen = {
        "HAR url": har_entry(rec)["request"]["url"],
        "curl target": curl,
        "PATH": uri_path(rec),
        "host": rec.request.host,
        "JSONL host": record_to_dict(rec)["host"],
        "destination": rec.request.destination,
        "~u": compile_filter(f"~u '^{re.escape(url)}$'")(entry),
        "~d": compile_filter(f"~d '^{re.escape(destination)}$'")(entry),
    }
    assert seen == {
        "HAR url": url,
        "curl target": target,
        "PATH": path,
        "host": host,
        "JSONL host": host,
        "destination": destination,
        "~u": True,
        "~d": True,
    }


CHDLC = (
    Path(__file__).resolve().parents[1]
    / "data/pcaps/suricata-verify/decode-chdlc-01/hdlc-http_1tx.pcap"
)


def test_a_real_ad_request_with_a_url_in_its_query_gets_its_host_in_the_har_url() -> None:
    out, err = io.StringIO(), io.StringIO()
    detector = IdentityDetector(IdentityConfig(region="GB"))
    assert scan([str(CHDLC)], fmt="har", detector=detector, out=out, err=err, jobs=1) == 0
    (entry,) = json.loads(out.getvalue())["log"]["entries"]
    target = entry["_target"]
    assert target.startswith("/CNT/iview/") and "?click=http://desk.opt.fimserve.com/" in target
    assert entry["request"]["url"] == "http://view.atdmt.com" + target
