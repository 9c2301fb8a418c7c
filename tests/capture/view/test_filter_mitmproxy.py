"""Filter operators checked against mitmproxy's own (``mitmproxy.flowfilter``).

For every operator the two languages share, :data:`MITMPROXY` lists mitmproxy's
meaning (its ``help`` strings, as in https://docs.mitmproxy.org/stable/concepts/filters/)
and :data:`SCOPE` what it looks at: the request, the response or both. Our help
text (``OPERATORS``, which help and README are generated from) must say the same
scope. Then mitmproxy itself (its own environment, ``/opt/mitmproxy``) runs every
expression of :data:`CASES` on a crafted flow, and our filter must agree on the
same request and response, except where :data:`DIVERGES` says why not.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from capture.view.filter import OPERATORS, compile_filter
from capture.view.store import Entry
from tests.capture.factories import record, response

MITMPROXY_PYTHON = Path("/opt/mitmproxy/bin/python")

MITMPROXY = {
    "all": "Match all flows",
    "b": "Body",
    "bq": "Request body",
    "c": "HTTP response code",
    "comment": "Flow comment",
    "d": "Domain",
    "dst": "Match destination address",
    "h": "Header",
    "hq": "Request header",
    "hs": "Response header",
    "m": "Method",
    "marked": "Match marked flows",
    "q": "Match request with no response",
    "s": "Match response",
    "src": "Match source address",
    "t": "Content-type header",
    "tq": "Request Content-Type header",
    "ts": "Response Content-Type header",
    "u": "URL",
}
"""mitmproxy 11's help for each operator we share with it (``flowfilter.filter_*``)."""

SCOPE = {
    "b": "both",
    "bq": "request",
    "c": "response",
    "h": "both",
    "hq": "request",
    "hs": "response",
    "t": "both",
    "tq": "request",
    "ts": "response",
}
"""Which message mitmproxy's operator looks at (from its source: ``FBod`` checks the
request and the response content, ``FHead`` both header blocks, ``FContentType``
both Content-Type headers, ``FCode`` the response)."""

DIVERGES = {
    "b": "response bodies are not kept",
}
"""Where we cannot do what mitmproxy does, and the words our help says it with."""

# A POST with a body, answered 200 text/html; marked, with a comment.
REQUEST_HEADERS = (
    ("Host", "example.com"),
    ("X-Req", "alpha"),
    ("Content-Type", "text/plain"),
)
RESPONSE_HEADERS = (("Content-Type", "text/html"), ("X-Resp", "beta"))
BODY = "hello world"
RESPONSE_BODY = "<p>response body</p>"

CASES = [
    "~all",
    "~b hello",
    "~b 'response body'",
    "~bq hello",
    "~bq 'response body'",
    "~c 200",
    "~c 404",
    "~comment carrier",
    "~comment other",
    "~d example",
    "~d other",
    "~dst 198.51.100.10",
    "~dst :80",
    "~dst 10.0.0.1",
    "~h X-Req",
    "~h X-Resp",
    "~h 'X-Req: alpha'",
    "~h 'X-Resp: beta'",
    "~hq X-Req",
    "~hq X-Resp",
    "~hs X-Resp",
    "~hs X-Req",
    "~m post",
    "~m get",
    "~marked",
    "~q",
    "~s",
    "~src 10.0.0.1",
    "~src :40000",
    "~src 198.51",
    "~t html",
    "~t plain",
    "~tq plain",
    "~tq html",
    "~ts html",
    "~ts plain",
    "~u /path",
    "~u 'x=1'",
    "~u other",
    "example.com",
    "!~s",
    "~hq X-Req & ~hs X-Resp",
    "~m get | ~d example",
    "~h x-req",
    "~t PLAIN",
]

CASE = ["~h x-req", "~t PLAIN"]
"""mitmproxy 11 matches headers, Content-Types and bodies case-sensitively (its
``FHead``, ``FContentType`` and ``FBod`` compile without ``re.IGNORECASE``, though
its documentation says regexes are case-insensitive); ours are case-insensitive
always (docs/filters.md): on these we match and mitmproxy does not."""

MITMPROXY_SCRIPT = r"""
import json, sys
from mitmproxy import flowfilter, http
from mitmproxy.test import tflow

spec = json.load(sys.stdin)

def flow(with_response):
    f = tflow.tflow(resp=True)
    f.request = http.Request.make(
        "POST", "http://example.com/path?x=1", spec["body"].encode(), dict(spec["request_headers"])
    )
    if with_response:
        f.response = http.Response.make(
            200, spec["response_body"].encode(), dict(spec["response_headers"])
        )
    else:
        f.response = None
    f.client_conn.peername = ("10.0.0.1", 40000)
    f.server_conn.address = ("198.51.100.10", 80)
    f.marked = ":default:"
    f.comment = "seen by carrier"
    return f

out = {}
for name, with_response in (("answered", True), ("unanswered", False)):
    f = flow(with_response)
    out[name] = {e: bool(flowfilter.parse(e)(f)) for e in spec["cases"]}
out["help"] = {
    cls.code: cls.help
    for group in (flowfilter.filter_unary, flowfilter.filter_rex, flowfilter.filter_int)
    for cls in group
}
print(json.dumps(out))
"""


def ours(with_response: bool) -> Entry:
    """The crafted flow as our entry: the same request, response, mark and comment."""
    rec = record(
        method="POST",
        uri="/path?x=1",
        headers=REQUEST_HEADERS,
        body=BODY.encode(),
        body_length=len(BODY),
        src="10.0.0.1",
        sport=40000,
        dst="198.51.100.10",
        dport=80,
        resp=response(200, headers=RESPONSE_HEADERS) if with_response else None,
    )
    entry = Entry(rec)
    entry.marked, entry.comment = True, "seen by carrier"
    return entry


@pytest.fixture(scope="module")
def mitmproxy_results() -> dict[str, dict[str, object]]:
    if not MITMPROXY_PYTHON.exists():
        if os.environ.get("CI"):
            pytest.fail("mitmproxy is missing in CI (.ci/run makes /opt/mitmproxy)")
        pytest.skip("needs mitmproxy in /opt/mitmproxy (.ci/run installs it)")
    spec = {
        "cases": CASES,
        "body": BODY,
        "response_body": RESPONSE_BODY,
        "request_headers": [list(h) for h in REQUEST_HEADERS],
        "response_headers": [list(h) for h in RESPONSE_HEADERS],
    }
    done = subprocess.run(
        [str(MITMPROXY_PYTHON), "-c", MITMPROXY_SCRIPT],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, dict[str, object]] = json.loads(done.stdout)
    return result


def test_every_shared_operator_is_ours_too() -> None:
    names = {op.name for op in OPERATORS}
    assert set(MITMPROXY) <= names


def test_our_help_says_the_scope_mitmproxy_gives_each_operator() -> None:
    meaning = {op.name: op.meaning for op in OPERATORS}
    wrong = []
    for name, scope in SCOPE.items():
        text = meaning[name].lower()
        says_request = "request" in text
        says_response = "response" in text
        if name in DIVERGES:
            ok = DIVERGES[name] in text
        elif scope == "both":
            ok = says_request and says_response
        elif scope == "request":
            ok = says_request and not says_response
        else:
            ok = says_response and not says_request
        if not ok:
            wrong.append(
                f"~{name}: mitmproxy {MITMPROXY[name]!r} ({scope}); ours {meaning[name]!r}"
            )
    assert not wrong, "\n".join(wrong)


def test_the_meanings_listed_here_are_mitmproxys_own(
    mitmproxy_results: dict[str, dict[str, object]],
) -> None:
    theirs = mitmproxy_results["help"]
    assert {name: theirs.get(name) for name in MITMPROXY} == MITMPROXY


@pytest.mark.parametrize("answered", [True, False], ids=["answered", "unanswered"])
def test_each_shared_operator_matches_as_mitmproxy_does(
    mitmproxy_results: dict[str, dict[str, object]], answered: bool
) -> None:
    theirs = mitmproxy_results["answered" if answered else "unanswered"]
    entry = ours(answered)
    differ = []
    for expr in CASES:
        mine = compile_filter(expr)(entry)
        if mine != theirs[expr]:
            differ.append(f"{expr!r}: mitmproxy {theirs[expr]}, ours {mine}")
    # The known differences: a response body (mitmproxy keeps it; we do not), and case.
    expected = ["\"~b 'response body'\": mitmproxy True, ours False"] if answered else []
    expected += [f"{expr!r}: mitmproxy False, ours True" for expr in CASE]
    assert differ == expected
