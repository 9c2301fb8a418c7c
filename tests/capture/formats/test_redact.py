"""``--redact``: identity values masked everywhere, recognisable within one file only."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from capture.formats.export import export
from capture.formats.redact import Redactor
from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.model import Finding, Record, Response
from capture.scan import scan
from capture.view.store import Entry
from tests.tui.fakes import record
from tui.app import SaveError, write_entries
from tui.screens import SaveRequest

DEMO = Path(__file__).resolve().parents[3] / "capture" / "data" / "demo-o2-2012.pcap"
NUMBER = "447700900123"
MASK = re.compile(r"<msisdn …23 #[0-9a-f]{10}>")


def _leaky() -> Record:
    finding = Finding(
        "x-msisdn", "header", "msisdn", NUMBER, "+" + NUMBER, "catalog", "high", "+44 7700 900123"
    )
    via = Finding("via", "header", "network_info", "1.1 gw", "1.1 gw", "catalog", "info", "proxy")
    return record(
        1,
        uri=f"/t?m=%2B{NUMBER}&n={NUMBER}",
        headers=[("Host", "ads.example"), ("x-msisdn", NUMBER), ("Via", "1.1 gw")],
        findings=[finding, via],
        response=Response(1.0, "HTTP/1.1", 200, "OK", (("X-Echo", NUMBER),)),
    )


def test_a_mask_keeps_kind_last_two_digits_and_a_keyed_hash() -> None:
    redactor = Redactor.new()
    mask = redactor.mask("msisdn", "+447700900123")
    assert MASK.fullmatch(mask)
    assert redactor.mask("msisdn", "+447700900123") == mask  # correlates within a file
    assert Redactor.new().mask("msisdn", "+447700900123") != mask  # and nowhere else
    assert redactor.mask("msisdn", "+447700900124") != mask


def test_the_number_is_gone_from_every_field() -> None:
    masked = Redactor.new().record(_leaky())
    text = json.dumps(
        [
            masked.request.uri,
            masked.request.headers,
            masked.response.headers if masked.response else None,
            [(f.value, f.normalized, f.detail) for f in masked.findings],
        ]
    )
    assert NUMBER not in text and "900123" not in text
    assert masked.request.headers[1][1] == masked.findings[0].value
    assert MASK.fullmatch(masked.findings[0].value)
    # Not an identity: the proxy's name stays for the reader.
    assert masked.findings[1].value == "1.1 gw" and ("Via", "1.1 gw") in masked.request.headers


@pytest.mark.parametrize("fmt", ["jsonl", "table", "har"])
def test_scan_redact_leaves_no_number_in_any_format(fmt: str) -> None:
    out = io.StringIO()
    detector = IdentityDetector(IdentityConfig(msisdns=("+447700900123",)))
    code = scan([str(DEMO)], fmt=fmt, detector=detector, out=out, err=io.StringIO(), redact=True)
    assert code == 0
    text = out.getvalue()
    assert NUMBER not in text and "7700 900123" not in text
    masks = set(MASK.findall(text))
    assert len(masks) == 1  # one number, one mask, in the whole output


def test_two_redacted_scans_cannot_be_joined() -> None:
    def masks() -> set[str]:
        out = io.StringIO()
        scan([str(DEMO)], detector=IdentityDetector(), out=out, err=io.StringIO(), redact=True)
        return set(MASK.findall(out.getvalue()))

    assert masks().isdisjoint(masks())


@pytest.mark.parametrize("fmt", ["jsonl", "har"])
def test_dashboard_exports_can_be_redacted(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"out.{fmt}"
    assert export([Entry(_leaky(), comment="note")], str(path), fmt, redact=True) == 1
    text = path.read_text()
    assert NUMBER not in text and MASK.search(text) and "note" in text


def test_a_session_is_not_saved_redacted(tmp_path: Path) -> None:
    request = SaveRequest(str(tmp_path / "s.pcapng"), "all", "pcapng")
    with pytest.raises(SaveError, match="cannot be redacted"):
        write_entries(request, [], None, sources=[str(DEMO)], source_name="demo", redact=True)
    assert not (tmp_path / "s.pcapng").exists()


def test_what_a_reflector_echoed_is_masked_too(tmp_path: Path) -> None:
    from capture.formats.jsonl import dumps
    from capture.http.echo import ECHO_HEADER, encode_echo, transit
    from tests.helpers import conversation, save, simple_request

    number = "447700900987"
    received = (("Host", "example.com"), ("X-MSISDN", number))
    echo = f"{ECHO_HEADER}: {encode_echo(received)}\r\n".encode()
    conv = conversation()
    frames = conv.handshake() + conv.send(True, simple_request("/p"))
    frames += conv.send(False, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n" + echo + b"\r\n")
    for fmt in ("jsonl", "table", "har"):
        out = io.StringIO()
        scan([save(tmp_path, frames)], fmt=fmt, out=out, err=io.StringIO(), redact=True,
             detector=IdentityDetector(IdentityConfig(region="GB")))  # fmt: skip
        assert number not in out.getvalue() and "X-MSISDN" in out.getvalue(), fmt
        assert encode_echo(received) not in out.getvalue(), fmt
    moved = transit((("Host", "example.com"),), received)
    finding = Finding("X-MSISDN", "header", "msisdn", number, f"+{number}", "catalog", "high")
    rec = record(1, headers=[("Host", "example.com")])
    masked = Redactor.new().record(rec.__class__(1, rec.request, (finding,), None, moved))
    assert number not in dumps(masked)
