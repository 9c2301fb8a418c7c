"""``--redact``: identity values masked everywhere, recognisable within one file only."""

from __future__ import annotations

import base64
import dataclasses
import gzip
import html
import io
import ipaddress
import json
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from capture.formats import redact
from capture.formats.export import export
from capture.formats.redact import Redactor
from capture.formats.session import SessionInfo, canary_digest
from capture.http.echo import transit
from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.model import Finding, Record, RequestSeen, Response
from capture.pipeline import Pipeline
from capture.scan import scan
from capture.sources.frames import CaptureFile
from capture.version import catalog_version
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


def test_a_mask_is_told_by_its_exact_form_and_kept_as_it_is_when_masked_again() -> None:
    redactor = Redactor.new()
    values = (("msisdn", "+447700900123"), ("email", "a@b.c"))
    masks = [redactor.mask(kind, value) for kind, value in values]
    assert all(redact.is_mask(m) for m in masks)
    again = Redactor.new()
    assert [again.mask(kind, m) for (kind, _), m in zip(values, masks, strict=True)] == masks
    mask = masks[0]
    for near in (
        mask + " ",
        mask.replace("msisdn", "phone"),  # not a kind that is masked
        mask.replace("…23", "…2"),
        mask.replace("…23", "…ab"),
        mask[:-2] + "G>",  # the hash is lower-case hex, of 10 digits
        mask[:-2] + ">",
        "<msisdn …23 #>",
    ):
        assert not redact.is_mask(near), near
    once = redactor.record(_leaky())
    twice = Redactor.new().record(once)
    assert twice.findings == once.findings
    assert (twice.request.uri, twice.request.headers) == (once.request.uri, once.request.headers)


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


def test_a_value_with_a_byte_that_is_no_utf8_is_masked_not_a_crash() -> None:
    # A captured head is read with surrogateescape: a middlebox's stray byte before
    # the number made every shareable output (a redacted scan, the default report)
    # fail with a traceback. It is masked, with its URL-encoded spelling.
    value = "\udcff" + NUMBER
    finding = Finding("x-msisdn", "header", "msisdn", value, "+" + NUMBER, "catalog", "high", "")
    leaky = record(
        1,
        uri=f"/t?m=%FF{NUMBER}",
        headers=[("Host", "ads.example"), ("x-msisdn", value)],
        findings=[finding],
    )
    masked = Redactor.new().record(leaky)
    text = json.dumps([masked.request.uri, masked.request.headers], ensure_ascii=False)
    assert NUMBER not in text and "900123" not in text


def test_a_compressed_body_is_written_decoded_and_masked_or_left_out() -> None:
    # A redacted HAR carried a beacon's number in its gzip body's bytes, where no
    # search for its text sees it.
    beacon = json.dumps({"msisdn": NUMBER}).encode()
    finding = Finding("msisdn", "body", "msisdn", NUMBER, "+" + NUMBER, "name", "high", "")
    for coding, body in (
        ("gzip", gzip.compress(beacon)),
        ("deflate", zlib.compress(beacon)),
        (None, gzip.compress(beacon)),  # gzip told by its first bytes
    ):
        headers = [("Host", "ads.example")] + ([("Content-Encoding", coding)] if coding else [])
        leaky = dataclasses.replace(record(1, method="POST", headers=headers, findings=[finding]))
        leaky = dataclasses.replace(leaky, request=dataclasses.replace(leaky.request, body=body))
        masked = Redactor.new().record(leaky).request
        assert NUMBER.encode() not in masked.body and b'"msisdn": "<msisdn' in masked.body
        assert any(a.startswith(redact.BODY_DECODED_TO_MASK) for a in masked.anomalies)
    unknown = dataclasses.replace(
        leaky.request, headers=(("Host", "a"), ("Content-Encoding", "x-unknown")), body=body
    )
    masked = Redactor.new().record(dataclasses.replace(leaky, request=unknown)).request
    assert masked.body == b"" and any(a.startswith(redact.BODY_LEFT_OUT) for a in masked.anomalies)


def test_a_wrapper_holding_the_number_and_a_header_name_spelling_it_are_masked() -> None:
    # The finding names the value inside a JWT's claims or a query's base64 JSON; the
    # wrapper as sent carried it out, and so did a header named for the number.
    claims = base64.urlsafe_b64encode(
        json.dumps({"phone_number": "+" + NUMBER, "imei": "490154203237518"}).encode()
    )
    jwt = "eyJhbGciOiJub25lIn0." + claims.decode().rstrip("=") + "."
    data = base64.b64encode(json.dumps({"properties": {"$phone": "+" + NUMBER}}).encode())
    assert data.endswith(b"=")  # its padding is masked with it, not left after the mask
    findings = [
        Finding("Authorization.phone_number", "header", "msisdn", "+" + NUMBER, "+" + NUMBER,
                "name", "high", ""),
        Finding("data.properties.$phone", "query", "msisdn", "+" + NUMBER, "+" + NUMBER,
                "name", "high", ""),
        Finding("Authorization.imei", "header", "imei", "490154203237518", "490154203237518",
                "imei", "high", ""),
    ]  # fmt: skip
    leaky = record(
        1,
        uri=f"/track?data={data.decode()}",
        headers=[("Host", "a"), ("Authorization", f"Bearer {jwt}"), (f"X-{NUMBER}-Tag", "1")],
        findings=findings,
    )
    masked = Redactor.new().record(leaky).request
    text = json.dumps([masked.uri, masked.headers])
    assert NUMBER not in text and claims.decode()[:20] not in text and data.decode() not in text
    assert ">=" not in text and "%3E=" not in text
    assert "eyJhbGciOiJub25lIn0." in text  # the JWT's header, which holds nothing, stays
    # Both identities in the claims, each by its own mask (the IMEI's was nowhere).
    auth = dict(masked.headers)["Authorization"]
    assert re.search(r"<msisdn …23 #[0-9a-f]{10}>", auth) and re.search(r"<imei …18 #", auth)
    assert "490154203237518" not in text


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


@pytest.mark.parametrize("fmt", ["jsonl", "har"])
def test_a_comment_spelling_the_number_or_the_client_is_masked_as_its_request(
    tmp_path: Path, fmt: str
) -> None:
    leaky = _leaky()
    client = leaky.request.src
    path = tmp_path / f"out.{fmt}"
    note = f"got +{NUMBER} (and {NUMBER}) from {client}"
    export([Entry(leaky, comment=note)], str(path), fmt, redact=True)
    text = path.read_text()
    assert NUMBER not in text and client not in text
    if fmt == "jsonl":
        said = json.loads(text)["comment"]
    else:
        said = json.loads(text)["log"]["entries"][0]["_comment"]
    assert re.fullmatch(rf"got {MASK.pattern} \(and {MASK.pattern}\) from 198\.1[89]\S+", said)


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


# -- client addresses --------------------------------------------------------------------

DEMO_CLIENTS = ("203.0.113.7", "192.0.2.10", "192.0.2.66")
"""Every client address in the demo capture."""
PSEUDONYMS = (ipaddress.ip_network("198.18.0.0/15"), ipaddress.ip_network("2001:db8::/32"))


def _pseudonym(text: str) -> bool:
    return any(ipaddress.ip_address(text) in net for net in PSEUDONYMS)


def _scan(path: str, fmt: str, redact: bool) -> str:
    out = io.StringIO()
    scan([path], fmt=fmt, detector=IdentityDetector(), out=out, err=io.StringIO(), redact=redact)
    return out.getvalue()


def _clients(text: str, fmt: str) -> dict[int, tuple[str, int]]:
    """Record id → (client address, port) in a JSONL or HAR output."""
    if fmt == "jsonl":
        return {o["id"]: (o["src"], o["sport"]) for o in map(json.loads, text.splitlines())}
    out = {}
    for entry in json.loads(text)["log"]["entries"]:
        address, _, port = entry["_client"].rpartition(":")
        out[entry["_id"]] = (address.strip("[]"), int(port))
    return out


def _one_to_one(raw: dict[int, tuple[str, int]], masked: dict[int, tuple[str, int]]) -> None:
    """Each record's client has its pseudonym, one per client, the port kept."""
    assert raw.keys() == masked.keys()
    pairs = {(raw[i][0], masked[i][0]) for i in raw}
    assert len(pairs) == len({a for a, _ in pairs}) == len({p for _, p in pairs})
    assert all(_pseudonym(p) for _, p in pairs)
    assert all(raw[i][1] == masked[i][1] for i in raw)


def test_a_client_address_gets_a_pseudonym_address_one_per_client() -> None:
    redactor = Redactor.new()
    v4 = redactor.address("203.0.113.7")
    assert ipaddress.ip_address(v4) in PSEUDONYMS[0] and redactor.address("203.0.113.7") == v4
    v6 = redactor.address("2A00:23C8:AB::7")
    assert ipaddress.ip_address(v6) in PSEUDONYMS[1] and redactor.address("2a00:23c8:ab::7") == v6
    assert redactor.address("") == ""  # no client known (a browser's HAR)
    # 17 bits of range: a hash alone would give two of a few hundred clients the same one.
    many = [f"10.{i // 256}.{i % 256}.1" for i in range(3000)]
    given = [redactor.address(a) for a in many]
    assert len(set(given)) == len(many) and all(_pseudonym(p) for p in given)
    assert [redactor.address(a) for a in many] == given
    other = Redactor.new()
    assert sum(other.address(a) == p for a, p in zip(many, given, strict=True)) < 10


def test_past_the_ipv4_pseudonyms_a_client_gets_an_ipv6_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(redact, "MAX_V4_PSEUDONYMS", 2)
    redactor = Redactor.new()
    given = [redactor.address(f"192.0.2.{i}") for i in range(4)]
    assert [ipaddress.ip_address(p).version for p in given] == [4, 4, 6, 6]
    assert len(set(given)) == 4 and redactor.address("192.0.2.3") == given[3]


def test_the_client_address_is_replaced_wherever_the_record_holds_it() -> None:
    client = "203.0.113.7"
    via = Finding("via", "header", "network_info", f"1.1 gw ({client})", "1.1 gw", "catalog",
                  "info", f"proxy for {client}")  # fmt: skip
    rec = record(
        1,
        src=client,
        uri=f"/t?ip={client}&near=203.0.113.70&v=1{client}",
        headers=[("Host", "ads.example"), ("X-Client", f"ip{client}"), ("Via", via.value)],
        findings=[via],
        response=Response(1.0, "HTTP/1.1", 200, "OK", (("X-Your-Address", client),)),
    )
    rec = dataclasses.replace(rec, request=dataclasses.replace(rec.request, body=client.encode()))
    redactor = Redactor.new()
    masked = redactor.record(rec)
    pseudonym = redactor.address(client)
    req = masked.request
    assert (req.src, req.sport, req.dst, req.dport) == (pseudonym, 40001, "198.51.100.10", 80)
    assert req.uri == f"/t?ip={pseudonym}&near=203.0.113.70&v=1{client}"  # other numbers kept
    assert ("X-Client", f"ip{pseudonym}") in req.headers and req.body == pseudonym.encode()
    assert masked.response is not None
    assert masked.response.headers == (("X-Your-Address", pseudonym),)
    assert masked.findings[0].value == f"1.1 gw ({pseudonym})"
    assert masked.findings[0].detail == f"proxy for {pseudonym}"


@pytest.mark.parametrize("fmt", ["jsonl", "har", "table"])
def test_scan_redact_leaves_no_client_address_and_keeps_who_sent_what(
    tmp_path: Path, fmt: str
) -> None:
    text = _scan(str(DEMO), fmt, redact=True)
    assert [a for a in DEMO_CLIENTS if a in text] == []
    if fmt == "table":
        raw = _scan(str(DEMO), fmt, redact=False).splitlines()
        column = [line.split()[1] for line in text.splitlines()[1:]]
        want = [line.split()[1] for line in raw[1:]]
        _one_to_one(
            {i: tuple(c.rsplit(":", 1)) for i, c in enumerate(want)},  # type: ignore[misc]
            {i: tuple(c.rsplit(":", 1)) for i, c in enumerate(column)},  # type: ignore[misc]
        )
        return
    _one_to_one(_clients(_scan(str(DEMO), fmt, redact=False), fmt), _clients(text, fmt))
    assert "198.51.100.10" in text  # the server's address stays
    # headerwatch reads its redacted output back, pseudonyms and all.
    path = tmp_path / f"shareable.{fmt}"
    path.write_text(text)
    again = [json.loads(line) for line in _scan(str(path), "jsonl", redact=False).splitlines()]
    assert {(o["id"], o["src"], o["sport"]) for o in again} == {
        (i, a, p) for i, (a, p) in _clients(text, fmt).items()
    }


@pytest.mark.parametrize(
    ("method", "target", "site"),
    [
        ("GET", "/p?ip=203.0.113.7", ""),
        ("GET", "http://203.0.113.7:8080/p?ip=203.0.113.7", "http://203.0.113.7:8080"),
        ("CONNECT", "203.0.113.7:443", "203.0.113.7:443"),
    ],
)
def test_the_site_a_request_went_to_is_kept_when_it_is_the_clients_address_too(
    method: str, target: str, site: str
) -> None:
    """A reflector reached from its own host: client and server have one address. The
    Host, the ``:authority``, an absolute-form or CONNECT target, as sent and as
    received, name the site that got the request (the evidence); an identity value
    in them is still masked."""
    client = "203.0.113.7"
    number = Finding("x-msisdn", "header", "msisdn", NUMBER, "+" + NUMBER, "catalog", "high")
    sent = (("Host", f"{client}:8080"), ("X-Note", client), ("x-msisdn", NUMBER))
    received = (*sent, ("X-Via", f"{NUMBER}@{client}"))
    rec = record(1, src=client, method=method, uri=target, headers=sent, findings=[number])
    rec = dataclasses.replace(
        rec,
        request=dataclasses.replace(rec.request, authority=f"{NUMBER}.{client}:8080"),
        transit=transit(sent, (("Host", client), *received[1:])),
    )
    redactor = Redactor.new()
    masked = redactor.record(rec)
    pseudonym, mask = redactor.address(client), masked.findings[0].value
    req = masked.request
    assert req.uri == site + target[len(site) :].replace(client, pseudonym)
    assert req.headers == (("Host", f"{client}:8080"), ("X-Note", pseudonym), ("x-msisdn", mask))
    assert req.authority == f"{mask}.{client}:8080"  # the site kept, the number masked
    assert masked.transit is not None
    assert masked.transit.changed == (("Host", f"{client}:8080", client),)
    assert masked.transit.injected == (("X-Via", f"{mask}@{pseudonym}"),)


def test_the_site_is_kept_when_another_request_named_its_address_as_a_client() -> None:
    """X-Real-IP: 192.0.2.55 in one request, a client's address header (masked); a
    request to Host 192.0.2.55:8080 in another: the site it went to, kept, not the
    mask of a client's address."""
    client = "192.0.2.55"
    real_ip = Finding("X-Real-IP", "header", "client_ip", client, client, "catalog", "low")
    redactor = Redactor.new()
    first = record(1, headers=[("Host", "a.example"), ("X-Real-IP", client)], findings=[real_ip])
    to_site = record(2, src="198.51.100.9", headers=[("Host", f"{client}:8080")], uri="/self")
    redactor.learn(first)
    redactor.learn(to_site)
    assert redactor.record(first).request.headers[1][1].startswith("<client_ip")
    assert redactor.record(to_site).request.headers == (("Host", f"{client}:8080"),)


def test_each_hop_of_an_address_list_has_its_own_mask_the_same_as_where_it_is_alone() -> None:
    """X-Forwarded-For with two hops: two masks (how many hops there were stays
    readable), each the mask the same address has alone in another request; masked
    again, a list of masks is kept. A Forwarded header's parameters are masked whole."""
    hops = "10.1.2.3, 203.0.113.7"
    xff = Finding("X-Forwarded-For", "header", "client_ip", hops, hops, "catalog", "info")
    alone = Finding(
        "X-Real-IP", "header", "client_ip", "203.0.113.7", "203.0.113.7", "catalog", "info"
    )
    listed = record(1, headers=[("Host", "a.example"), ("X-Forwarded-For", hops)], findings=[xff])
    single = record(
        2, headers=[("Host", "b.example"), ("X-Real-IP", "203.0.113.7")], findings=[alone]
    )
    redactor = Redactor.new()
    redactor.learn(listed)
    redactor.learn(single)
    first, second = (
        redactor.mask("client_ip", "10.1.2.3"),
        redactor.mask("client_ip", "203.0.113.7"),
    )
    assert first != second
    masked = redactor.record(listed)
    assert masked.request.headers[1] == ("X-Forwarded-For", f"{first}, {second}")
    assert masked.findings[0].value == f"{first}, {second}"
    assert redactor.record(single).request.headers[1] == ("X-Real-IP", second)
    assert redactor.mask("client_ip", f"{first}, {second}") == f"{first}, {second}"
    forwarded = "for=192.0.2.60;proto=http, for=198.51.100.17"
    assert redactor.mask("client_ip", forwarded).count("<client_ip") == 1


def test_an_ipv6_client_is_replaced_in_any_letter_case_and_url_encoded() -> None:
    client = "2a00:23c8:aa::1"
    rec = record(
        1,
        src=client,
        uri="/t?ip=2a00%3A23c8%3Aaa%3A%3A1&near=2a00:23c8:aa::10",
        headers=[("Host", "ads.example"), ("X-Client", "[2A00:23C8:AA::1]:5")],
    )
    redactor = Redactor.new()
    masked = redactor.record(rec).request
    pseudonym = redactor.address(client)
    assert masked.src == pseudonym and ipaddress.ip_address(pseudonym) in PSEUDONYMS[1]
    assert masked.uri == f"/t?ip={pseudonym}&near=2a00:23c8:aa::10"
    assert masked.headers[1] == ("X-Client", f"[{pseudonym}]:5")


def test_a_pseudonym_redacted_again_is_kept_unless_another_client_has_it() -> None:
    first = Redactor.new()
    given = [first.address(a) for a in ("203.0.113.7", "2a00:23c8:ab::7")]
    again = Redactor.new()
    assert [again.address(p) for p in given] == given  # a redacted file redacted again
    assert again.address(given[1].upper()) == given[1]  # one address, however spelt
    # A pseudonym that another client of this file has (one of another file, given in a
    # scan beside its inputs) is some other client: it gets a pseudonym of its own.
    third = Redactor.new()
    taken = third.address("192.0.2.1")
    other = third.address(taken)
    assert other != taken and _pseudonym(other) and third.address(taken) == other


def test_a_kept_pseudonym_is_given_to_no_other_client(monkeypatch: pytest.MonkeyPatch) -> None:
    # Four IPv4 pseudonyms: one kept, the three others for three clients.
    monkeypatch.setattr(redact, "PSEUDONYMS_V4", ipaddress.IPv4Network("198.18.0.0/30"))
    redactor = Redactor.new()
    assert redactor.address("198.18.0.1") == "198.18.0.1"
    given = {redactor.address(f"192.0.2.{i}") for i in range(3)}
    assert given == {"198.18.0.0", "198.18.0.2", "198.18.0.3"}


def test_a_redacted_scan_of_a_redacted_file_keeps_its_pseudonyms(tmp_path: Path) -> None:
    once = tmp_path / "once.jsonl"
    once.write_text(_scan(str(DEMO), "jsonl", redact=True))
    twice = _scan(str(once), "jsonl", redact=True)
    assert _clients(twice, "jsonl") == _clients(once.read_text(), "jsonl")


# -- tokens the recurrence detector finds later ------------------------------------------

TOKEN_MASK = re.compile(r"<tracking_id …74 #[0-9a-f]{10}>")
"""The mask of :data:`tests.helpers.SUPERCOOKIE` (its last two digits are 7 and 4)."""


def _supercookie_scan(path: str, fmt: str, redact: bool) -> str:
    out = io.StringIO()
    detector = IdentityDetector(IdentityConfig(recurrence=3))
    assert scan([path], fmt=fmt, detector=detector, out=out, err=io.StringIO(), redact=redact) == 0
    return out.getvalue()


def _found(path: Path) -> list[list[tuple[str, str, str]]]:
    """Each record's findings (name, kind, detector), as headerwatch reads ``path`` back."""
    text = _scan(str(path), "jsonl", redact=False)
    return [
        [(f["name"], f["kind"], f["detector"]) for f in json.loads(line)["findings"]]
        for line in text.splitlines()
    ]


@pytest.mark.parametrize("fmt", ["jsonl", "har", "table"])
def test_a_supercookie_is_masked_in_the_records_written_before_recurrence_finds_it(
    tmp_path: Path, fmt: str
) -> None:
    from tests.helpers import SUPERCOOKIE, supercookie_capture

    capture = supercookie_capture(tmp_path)
    raw = _supercookie_scan(capture, fmt, redact=False)
    text = _supercookie_scan(capture, fmt, redact=True)
    # As sent, URL-encoded, as a HAR's queryString decodes it ("+" is a space), and
    # its start (a table cuts a long path).
    forms = (SUPERCOOKIE, quote(SUPERCOOKIE, safe=""), SUPERCOOKIE.replace("+", " "))
    forms += (SUPERCOOKIE[:16],)
    assert SUPERCOOKIE in raw
    assert [form for form in forms if form in text] == []
    # One token, one mask: in the first two records, where it is not found yet, the
    # mask its finding has in the last two.
    assert len(set(TOKEN_MASK.findall(text))) == 1
    if fmt == "table":
        return
    path = tmp_path / f"shareable.{fmt}"
    path.write_text(text)
    found = [("X-Sub-Tag", "tracking_id", "recurrence"), ("u", "tracking_id", "recurrence")]
    # Found where it was found, and nowhere else: masking the token adds no finding.
    assert _found(path) == [[], [], found, found]
    records = [json.loads(line) for line in _scan(str(path), "jsonl", False).splitlines()]
    masks = [dict(r["headers"])["X-Sub-Tag"] for r in records]
    assert len(set(masks)) == 1 and TOKEN_MASK.fullmatch(masks[0])
    assert records[2]["findings"][0]["value"] == masks[0]


def test_without_the_recurrence_detector_a_redacted_scan_keeps_opaque_values(
    tmp_path: Path,
) -> None:
    """What no detector of the run can report is not masked: the headers stay readable."""
    from tests.helpers import SUPERCOOKIE, supercookie_capture

    text = _scan(supercookie_capture(tmp_path), "jsonl", redact=True)
    assert SUPERCOOKIE in text and not TOKEN_MASK.search(text)


def test_the_dashboards_report_masks_a_supercookie_added_before_it_was_found(
    tmp_path: Path,
) -> None:
    """Always redacted: the requests the network added the token to before the third
    site are shown altered, the token masked as where it was found."""
    from capture.pipeline import Pipeline
    from tests.helpers import SUPERCOOKIE, run_file, supercookie_capture

    detector = IdentityDetector(IdentityConfig(recurrence=3))
    # Requests only: each comes with its transit, as the dashboard's store has it.
    records = run_file(supercookie_capture(tmp_path, True), Pipeline(detector, responses=False))
    assert [bool(r.findings) for r in records] == [False, False, True, True]
    path = tmp_path / "report.md"
    request = SaveRequest(str(path), "all", "md")
    entries = [Entry(r) for r in records]
    write_entries(request, entries, None, sources=[], source_name="test", detector=detector)
    text = path.read_text().replace("\\", "")
    assert SUPERCOOKIE[:16] not in text
    assert len(set(TOKEN_MASK.findall(text))) == 1
    assert text.count("X-Sub-Tag: <tracking_id …74 #") == 4  # each request's injected header


# -- every copy of a value, in every record ---------------------------------------------

NSN = NUMBER[2:]
"""The number's national significant number: in its national form, 07700900123."""


def _answer(extra: str = "") -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n{extra}\r\n".encode()


def _copies_capture(tmp_path: Path) -> str:
    """Three requests: the first carries the number where no detector looks (its path,
    headers no catalog knows, the cookie its answer sets; as sent and grouped as people
    and libphonenumber write it), the second in a catalog
    header, the third in national form and URL-encoded in lower case, beside text
    that is no number's ("cc=44", "y=2023", an order number with its digits inside)."""
    from tests.helpers import conversation, save, simple_request

    exchanges = [
        (
            simple_request(
                f"/u/{NUMBER}/profile?tel=tel:%2B44-7700-900123",
                "a.example",
                f"X-Line-Ref: {NUMBER}\r\nX-Shown: +44 (0)7700 900123, 7700 900123\r\n",
            ),
            _answer(f"Set-Cookie: ln={NUMBER}; Path=/\r\n"),
        ),
        (simple_request("/p", "b.example", f"X-MSISDN: {NUMBER}\r\n"), _answer()),
        (
            simple_request(f"/n?cc=44&y=2023&ref=0{NSN}&e=%2b{NUMBER}&o=9{NUMBER}9", "c.example"),
            _answer(f"X-Echo: 0{NSN}\r\n"),
        ),
    ]
    frames = []
    for index, (request, answer) in enumerate(exchanges):
        conv = conversation(cport=40000 + index, ts=1000.0 + index)
        frames += conv.handshake() + conv.send(True, request) + conv.send(False, answer)
    return save(tmp_path, frames, "copies.pcap")


@pytest.mark.parametrize("fmt", ["jsonl", "table", "har"])
def test_a_number_found_in_one_request_is_masked_in_every_request_of_a_scan(
    tmp_path: Path, fmt: str
) -> None:
    out = io.StringIO()
    detector = IdentityDetector(IdentityConfig(region="GB"))
    path = _copies_capture(tmp_path)
    assert scan([path], fmt=fmt, detector=detector, out=out, err=io.StringIO(), redact=True) == 0
    text = out.getvalue()
    kept = text.replace(f"9{NUMBER}9", "")  # (an order number, kept)
    assert NSN not in kept and "900123" not in kept
    assert len(set(MASK.findall(text))) == 1  # one number, one mask, in every request
    if fmt != "table":  # (whose columns cut a long path)
        # In the request target, escaped: the URL stays one.
        assert f"/u/{quote(MASK.findall(text)[0], safe='')}/profile" in text
        assert "cc=44&y=2023&ref=" in text  # a country code, a year: not the number
        assert f"&o=9{NUMBER}9" in text  # nor an order number with its digits inside


def _copies() -> list[Record]:
    """The number where no detector looks (path, an unknown header, the body, the
    answer's cookie) in a request before the one it is found in, and in national form
    in a request that carries another identity (shown in a report)."""
    before = record(
        1,
        uri=f"/u/{NUMBER}/profile",
        headers=[("Host", "a.example"), ("X-Line-Ref", NUMBER)],
        response=Response(2.0, "HTTP/1.1", 200, "OK", (("Set-Cookie", f"ln={NUMBER}"),)),
    )
    before = dataclasses.replace(
        before, request=dataclasses.replace(before.request, body=f"line={NUMBER}".encode())
    )
    imei = "490154203237518"
    other = Finding("x-imei", "header", "imei", imei, imei, "catalog", "high")
    sent = (("Host", "c.example"), ("x-imei", imei))
    later = record(3, uri=f"/n?cc=44&ref=0{NSN}", headers=[*sent], findings=[other])
    # A header the network added on the way, as a reflector's echo shows: a report
    # lists it, with its value.
    received = (*sent, ("X-Note", f"+44 {NSN[:4]} {NSN[4:]}"))
    return [before, _leaky(), dataclasses.replace(later, transit=transit(sent, received))]


@pytest.mark.parametrize("fmt", ["jsonl", "har", "table"])
def test_a_dashboard_export_masks_a_number_in_every_request_it_holds(
    tmp_path: Path, fmt: str
) -> None:
    path = tmp_path / f"out.{fmt}"
    entries = [Entry(r) for r in _copies()]
    entries[0] = Entry(entries[0].record, comment=f"{NSN} again")
    assert export(entries, str(path), fmt, redact=True) == 3
    text = path.read_text()
    assert NSN not in text and f"{NSN[:4]} {NSN[4:]}" not in text
    assert len(set(MASK.findall(text))) == 1


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_a_report_masks_a_number_in_every_request_it_shows(tmp_path: Path, fmt: str) -> None:
    from capture.report.write import report_records

    path = tmp_path / f"report.{fmt}"
    report_records(_copies(), str(path), fmt)
    # As written for a reader: Markdown's escapes and HTML's entities undone.
    text = html.unescape(path.read_text()) if fmt == "html" else path.read_text()
    text = text.replace("\\", "")
    assert "X-Note" in text and f"{NSN[:4]} {NSN[4:]}" not in text and NSN not in text
    assert len(set(MASK.findall(text))) == 1


def test_a_stream_masks_a_number_in_every_request_after_the_one_it_is_found_in() -> None:
    """``live --format`` and ``reflect`` write each record as it comes: a number found
    once is masked wherever it turns up later, under any name."""
    redactor = Redactor.new()
    found = redactor.record(_leaky())
    later = redactor.record(record(2, uri=f"/u/{NUMBER}", headers=[("X-Ref", f"0{NSN}")]))
    assert later.request.uri == f"/u/{quote(found.findings[0].value, safe='')}"
    assert later.request.headers == (("X-Ref", found.findings[0].value),)


ALONE = (f"msisdn={NUMBER}&", f'"{NUMBER}"', f"tel:+{NUMBER}", f"ip{NUMBER}x", f"a%20{NUMBER}")
"""Copies of the number beside punctuation, letters, a URL escape: the number."""
INSIDE = (f"9{NUMBER}999", f"{NUMBER}0", f"order=1{NUMBER}", f"+{NUMBER}5")
"""Its digits inside longer digit strings (order numbers, IDs): other numbers."""


def test_a_number_is_masked_where_it_stands_alone_not_inside_a_longer_number() -> None:
    redactor = Redactor.new()
    leaky = _leaky()
    own = dataclasses.replace(
        leaky,
        request=dataclasses.replace(
            leaky.request, headers=(*leaky.request.headers, ("X-Order", INSIDE[0]))
        ),
    )
    masked = redactor.record(own)
    mask = masked.findings[0].value
    assert masked.request.headers[-1] == ("X-Order", INSIDE[0])  # even in its own request
    copies = ALONE + INSIDE
    other = record(2, uri="/?" + "&".join(copies), headers=[("X-C", c) for c in copies])
    other = dataclasses.replace(
        other, request=dataclasses.replace(other.request, body="\n".join(copies).encode())
    )
    got = redactor.record(other).request
    want = [c.replace("+" + NUMBER, mask).replace(NUMBER, mask) for c in ALONE] + list(INSIDE)
    assert [value for _, value in got.headers] == want
    assert got.uri == "/?" + "&".join(want).replace(mask, quote(mask, safe=""))
    assert got.body == "\n".join(want).encode()


GROUPED = (
    "7700 900123",
    "07700-900-123",
    "+44 7700 900123",
    "+44 (0)7700 900123",
    "tel:+44-7700-900123",
    "0044 7700 900123",
    "44.7700.900.123",
    "%2B44%207700%20900123",
    "%2B44+7700+900123",
    "07700%20900123",
    "(07700) 900 123",
    "(+44) 7700 900123",
)
"""The number's digits in the order of one of its forms, grouped as people and
libphonenumber write them, as sent and URL-encoded."""
NOT_GROUPED = ("7700 - - 900123", "17700 900123", "7700 9001234", "7700\n900123", "77 00 900 12")
"""Too many separators, digits run on, a line break, digits missing: not the number."""


def test_a_number_is_masked_however_its_digits_are_grouped() -> None:
    redactor = Redactor.new()
    mask = redactor.record(_leaky()).findings[0].value
    copies = GROUPED + NOT_GROUPED
    other = record(2, uri="/?" + "&".join(GROUPED), headers=[("X-C", c) for c in copies])
    other = dataclasses.replace(
        other, request=dataclasses.replace(other.request, body="; ".join(copies).encode())
    )
    got = redactor.record(other).request
    want = [mask, mask, mask, mask, f"tel:{mask}", mask, mask, mask, mask, mask, mask, mask]
    assert [value for _, value in got.headers] == want + list(NOT_GROUPED)
    assert got.uri == "/?" + "&".join(want).replace(mask, quote(mask, safe=""))
    assert got.body == "; ".join(want + list(NOT_GROUPED)).encode()


def test_a_number_grouped_in_a_comment_is_masked_as_in_its_request() -> None:
    redactor = Redactor.new()
    masked = redactor.record(_leaky())
    said = redactor.comment(_leaky(), "called 07700 900 123 back (or f(447700900123))")
    assert said == f"called {masked.findings[0].value} back (or f({masked.findings[0].value}))"


def test_a_short_value_is_masked_in_its_own_request_only() -> None:
    """Masked everywhere, "AB12C" would be masked in every text that holds it by
    chance; in its own request, it is that value."""
    short = Finding("x-sub", "header", "subscriber_id", "AB12C", "AB12C", "catalog", "high")
    own = record(1, uri="/s?id=AB12C", headers=[("x-sub", "AB12C")], findings=[short])
    elsewhere = record(2, uri="/AB12CD/cc=44", headers=[("X-Year", "2023")])
    redactor = Redactor.new()
    for r in (own, elsewhere):
        redactor.learn(r)
    masked = redactor.record(own)
    assert "AB12C" not in masked.request.uri and masked.request.headers[0][1] != "AB12C"
    kept = redactor.record(elsewhere)
    assert (kept.request.uri, kept.request.headers) == ("/AB12CD/cc=44", (("X-Year", "2023"),))


def test_a_scan_stopped_while_it_reads_writes_what_it_read_masked() -> None:
    def read() -> Iterator[Record]:
        yield record(1, uri=f"/u/{NUMBER}")
        yield _leaky()
        raise KeyboardInterrupt

    stopped: list[KeyboardInterrupt] = []
    written = list(redact.two_pass(read(), Redactor.new(), stopped))
    assert len(written) == 2 and len(stopped) == 1
    assert NUMBER not in written[0].request.uri


def test_a_scan_works_out_each_records_spellings_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Learnt in the first pass, they are set aside with the record for the second."""
    worked_out: list[int] = []
    spellings = Redactor.spellings

    def counted(self: Redactor, rec: Record) -> redact.Spelt:
        worked_out.append(rec.id)
        return spellings(self, rec)

    monkeypatch.setattr(Redactor, "spellings", counted)
    records = [record(2, uri=f"/u/{NUMBER}"), _leaky(), *_copies()[2:]]
    written = list(redact.two_pass(iter(records), Redactor.new(), []))
    assert worked_out == [2, 1, 3]
    assert [r.id for r in written] == [2, 1, 3] and NUMBER not in written[0].request.uri
    assert written[2].findings[0].value != records[2].findings[0].value  # its IMEI masked


def test_past_the_shared_spellings_a_value_is_masked_in_its_own_request_and_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(redact, "MAX_SHARED", 0)
    redactor = Redactor.new()
    redactor.learn(_leaky())
    masked = redactor.record(_leaky())
    assert NUMBER not in json.dumps(masked.request.headers) and redactor.unshared > 0
    assert redactor.record(record(2, uri=f"/u/{NUMBER}")).request.uri == f"/u/{NUMBER}"


def test_a_scan_says_how_many_spellings_were_masked_in_their_own_request_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redact, "MAX_SHARED", 0)
    err = io.StringIO()
    path = _copies_capture(tmp_path)
    detector = IdentityDetector(IdentityConfig(region="GB"))
    assert scan([path], detector=detector, out=io.StringIO(), err=err, redact=True) == 0
    assert re.search(r"warning: \d+ copies .* masked only in the request", err.getvalue())


def test_a_redacted_output_cites_what_judged_its_findings_but_no_canary_digest(
    tmp_path: Path,
) -> None:
    """A phone number's SHA-256 is found again by hashing every number: a file meant
    to be shared cites the catalog and region, and leaves the canaries out."""
    detector = IdentityDetector(IdentityConfig(region="GB", msisdns=("+" + NUMBER,)))
    cited = SessionInfo.judged_by(detector)
    digest = canary_digest("+" + NUMBER)
    assert cited.canary_sha256 == (digest,)
    assert redact.redacted_info(cited) == dataclasses.replace(cited, canary_sha256=())
    capture = CaptureFile(str(DEMO))
    try:
        events = list(Pipeline(detector).run(capture))
    finally:
        capture.close()
    records = [e.record for e in events if isinstance(e, RequestSeen)]
    for redacting in (False, True):
        out = io.StringIO()
        scan([str(DEMO)], "har", detector, out=out, err=io.StringIO(), redact=redacting)
        path = tmp_path / f"export-{redacting}.har"
        export(records, str(path), "har", redact=redacting, detector=detector)
        for text in (out.getvalue(), path.read_text()):
            creator = json.loads(text)["log"]["creator"]
            assert (creator["_catalog"], creator["_region"]) == (catalog_version(), "GB")
            assert (digest in text) is not redacting
            assert ("_canary_sha256" in creator) is not redacting


def test_a_number_written_in_percent_escapes_is_masked_as_its_digits() -> None:
    """Every digit escaped (%34%34…) is the same URL (RFC 3986 §6.2.2.2): the detector
    reads the number there, and a HAR's queryString wrote it out in plain digits."""
    escaped = "".join(f"%{ord(digit):02X}" for digit in NUMBER)
    redactor = Redactor.new()
    mask = redactor.record(_leaky()).findings[0].value
    other = record(
        2,
        uri=f"/p?pct_digits={escaped}&keep=%7Euser",
        headers=[("X-Note", f"n={escaped.lower()}"), ("X-Other", "%41%42")],
    )
    other = dataclasses.replace(
        other, request=dataclasses.replace(other.request, body=f"pct={escaped}".encode())
    )
    got = redactor.record(other).request
    assert escaped not in got.uri and NUMBER not in got.uri
    assert got.uri == f"/p?pct_digits={quote(mask, safe='')}&keep=~user"
    assert got.headers == (("X-Note", f"n={mask}"), ("X-Other", "%41%42"))  # nothing to mask
    assert got.body == f"pct={mask}".encode()


def test_a_mask_in_a_request_target_is_escaped_so_the_url_stays_one() -> None:
    # "<msisdn …23 #5f0c…>" in a URL: its "#" began a fragment, and a HAR's
    # queryString lost the mask's hash and every parameter after it.
    from urllib.parse import parse_qsl, urlsplit

    redactor = Redactor.new()
    masked = redactor.record(_leaky())
    mask = masked.findings[0].value
    parts = urlsplit(masked.request.uri)
    assert parts.fragment == "" and " " not in masked.request.uri
    assert parse_qsl(parts.query) == [("m", mask), ("n", mask)]
    assert masked.request.headers[1] == ("x-msisdn", mask)  # a header keeps it readable


def test_an_input_file_named_for_the_number_is_masked_in_its_records() -> None:
    redactor = Redactor.new()
    redactor.record(_leaky())
    named = dataclasses.replace(
        _leaky(), request=dataclasses.replace(_leaky().request, input=f"subject-{NUMBER}.pcap")
    )
    got = redactor.record(named).request
    assert NUMBER not in got.input and MASK.search(got.input)


def test_many_swaps_mask_a_text_as_each_swap_tried_in_turn_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past 64 swaps a text is tried only against those whose first characters it holds
    (a request of 3,000 identity headers took 20 s to report): the same text results."""
    import random

    from capture.formats import redact

    rng = random.Random(7)
    values = [f"44770090{n:04d}" for n in range(200)] + ["abc", "447700"]
    swaps = sorted(((v, f"<msisdn …{v[-2:]} #{n:010x}>") for n, v in enumerate(values)),
                   key=lambda item: -len(item[0]))  # fmt: skip
    texts = [
        " ".join(rng.choice([*values, "x", "tel:", "4477009", "abc447700900012"]) for _ in range(6))
        for _ in range(300)
    ]
    indexed = [redact._scrub(text, swaps, (), "") for text in texts]
    monkeypatch.setattr(redact, "_INDEXED_FROM", 10**9)
    assert indexed == [redact._scrub(text, swaps, (), "") for text in texts]


def test_a_long_learnt_value_is_masked_where_a_record_repeats_it_without_reading_it_again() -> None:
    """A record file's lines have no bound: a 2 MB value of one letter, learnt, was
    encoded again at each of the 2 million places its start was found (hours)."""
    value = "A" * 2_000_000
    found = Finding("x-token", "header", "canary", value, value, "canary", "high", "as given")
    leaked = record(1, headers=[("Host", "h.example"), ("x-token", value)], findings=[found])
    again = record(2, headers=[("Host", "h.example"), ("x-other", value + ";B")])
    redactor = Redactor.new()
    redactor.learn(leaked)
    masked = dict(redactor.record(again).request.headers)["x-other"]
    assert value not in masked and masked.endswith(";B") and redact.is_mask(masked[:-2])
