"""``scan`` in-process: pairing responses for the HAR document."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from capture import pipeline as pipeline_module
from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.model import RequestSeen, ResponseSeen
from capture.net.decode import ACK, FIN, RST, SYN
from capture.net.reassembly import (
    AHEAD_NOTE,
    CLIENT_AFTER_RESET_NOTE,
    DATA_AFTER_RESET_NOTE,
    FIN_NOTE,
    RESET_NOTE,
    SYN_DATA_NOTE,
)
from capture.scan import answered, scan
from capture.sources import frames as frames_module
from capture.sources import inputs
from tests.capture.factories import record, response
from tests.helpers import conversation, save, simple_request
from tests.packets.craft import tcp_frame

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import gen_capture


def test_records_wait_for_their_responses_in_capture_order() -> None:
    one, two = record(1), record(2)
    events = [RequestSeen(one), RequestSeen(two), ResponseSeen(2, response(404))]
    assert list(answered(events)) == [one, two.__class__(2, two.request, (), response(404))]
    out = answered([RequestSeen(one), RequestSeen(two), ResponseSeen(1, response(301))])
    assert next(out).response == response(301)
    assert next(out) == two  # end of input: written without a response


def test_unanswered_requests_do_not_pile_up() -> None:
    consumed = []

    def events() -> Iterator[RequestSeen]:
        for i in range(1, 6):
            consumed.append(i)
            yield RequestSeen(record(i))

    out = answered(events(), limit=2)
    assert next(out).id == 1
    assert consumed == [1, 2, 3]  # a third waiting request pushed the first out
    assert [r.id for r in out] == [2, 3, 4, 5]


def test_har_of_a_capture_without_responses(tmp_path: Path) -> None:
    conv = conversation()
    frames = conv.handshake() + conv.send(True, simple_request("/a"))
    frames += conv.send(True, simple_request("/b"))
    out, err = io.StringIO(), io.StringIO()
    assert scan([save(tmp_path, frames)], fmt="har", out=out, err=err) == 0
    entries = json.loads(out.getvalue())["log"]["entries"]
    assert [e["request"]["url"] for e in entries] == [
        "http://example.com/a",
        "http://example.com/b",
    ]
    assert all(e["response"]["status"] == 0 for e in entries)  # HAR's "no response"
    assert "2 HTTP requests" in err.getvalue()


class _TextWrites(io.TextIOWrapper):
    """A buffered text stream that keeps what was written to it as text."""

    texts: list[str]

    def write(self, text: str) -> int:
        self.texts.append(text)
        return super().write(text)


def test_jsonl_to_a_byte_stream_is_the_same_as_to_text(tmp_path: Path) -> None:
    """scan writes JSONL lines as bytes to a buffered stdout: the same bytes as text."""
    from capture.identity.detector import IdentityDetector

    conv = conversation()
    request = simple_request("/é", extra="X-MSISDN: 447700900123\r\n")
    path = str(save(tmp_path, conv.handshake() + conv.send(True, request)))
    text, err = io.StringIO(), io.StringIO()
    scan([path], detector=IdentityDetector(), out=text, err=err, jobs=1)
    raw = io.BytesIO()
    stream = _TextWrites(io.BufferedWriter(raw), encoding="utf-8", newline="")  # type: ignore[arg-type]
    stream.texts = []
    scan([path], detector=IdentityDetector(), out=stream, err=err, jobs=1)
    stream.flush()
    assert raw.getvalue() == text.getvalue().encode("utf-8")
    assert json.loads(raw.getvalue())["findings"][0]["name"] == "X-MSISDN"
    assert not any("findings" in written for written in stream.texts)  # went as bytes


def _summary(path: str, fmt: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    scan([path], fmt=fmt, out=out, err=err)
    return err.getvalue().splitlines()[0]


def test_a_tls_connection_counts_once_as_non_http_in_every_format(tmp_path: Path) -> None:
    # The demo's shape: one port-443 connection whose both sides speak TLS, beside HTTP.
    tls = conversation(sport=443, cport=40001)
    frames = tls.handshake() + tls.send(True, b"\x16\x03\x01\x00\xa5" + bytes(165))
    frames += tls.send(False, b"\x16\x03\x03\x00\x5a" + bytes(90)) + tls.close()
    web = conversation()
    frames += web.handshake() + web.send(True, simple_request("/a")) + web.close()
    path = save(tmp_path, frames)
    summaries = {fmt: _summary(path, fmt) for fmt in ("jsonl", "table", "har")}
    assert all(line.endswith("; 1 non-HTTP connection") for line in summaries.values()), summaries


_DATA = Path(__file__).resolve().parents[1] / "data" / "pcaps" / "zeek"


def _shark_openers(path: Path) -> dict[tuple[str, int, str, int], int]:
    """Each TCP connection of ``path`` (client end first) → the number tshark gives the
    first frame of it in that file (Wireshark's ``frame.number``, from 1 per file)."""
    if shutil.which("tshark") is None:
        pytest.skip("needs tshark (apt-get install tshark; .ci/run installs it)")
    shark = subprocess.run(
        ["tshark", "-r", str(path), "-Y", "tcp", "-T", "fields", "-e", "frame.number",
         "-e", "ip.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "tcp.dstport"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    first: dict[tuple[str, int, str, int], int] = {}
    for line in shark.stdout.splitlines():
        number, src, sport, dst, dport = line.split("\t")
        for ends in ((src, int(sport), dst, int(dport)), (dst, int(dport), src, int(sport))):
            first.setdefault(ends, int(number))
    return first


def test_a_scan_of_two_captures_names_each_request_s_file_and_its_frame_there(
    tmp_path: Path,
) -> None:
    one, two = _DATA / "wikipedia.pcap", tmp_path / "methods.pcap.gz"
    two.write_bytes(gzip.compress((_DATA / "methods.pcap").read_bytes()))
    out, err = io.StringIO(), io.StringIO()
    assert scan([str(one), str(two)], out=out, err=err) == 0
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert {r["input"] for r in records} == {str(one), str(two)}
    assert records[-1]["input"] == str(two)
    openers = {str(one): _shark_openers(one), str(two): _shark_openers(_DATA / "methods.pcap")}
    for r in records:
        ends = (r["src"], r["sport"], r["dst"], r["dport"])
        assert r["flow"] == openers[r["input"]][ends], r
    # One file: the same numbers, and no "input" (its lines as they always were).
    alone = io.StringIO()
    assert scan([str(_DATA / "methods.pcap")], out=alone, err=io.StringIO()) == 0
    lines = [json.loads(line) for line in alone.getvalue().splitlines()]
    assert all("input" not in r for r in lines)
    assert [r["flow"] for r in lines] == [r["flow"] for r in records if r["input"] == str(two)]


def test_a_split_scan_of_two_captures_names_inputs_as_one_process_does(tmp_path: Path) -> None:
    paths = [str(_DATA / "wikipedia.pcap"), str(_DATA / "methods.pcap")]
    one, split = io.StringIO(), io.StringIO()
    assert scan(paths, out=one, err=io.StringIO(), jobs=1) == 0
    assert scan(paths, out=split, err=io.StringIO(), jobs=3) == 0
    assert split.getvalue() == one.getvalue()
    assert '"input":' in one.getvalue()


def test_a_har_of_two_captures_keeps_each_connection_s_id_unique(tmp_path: Path) -> None:
    paths = [str(_DATA / "wikipedia.pcap"), str(_DATA / "methods.pcap")]
    out = io.StringIO()
    assert scan(paths, fmt="har", out=out, err=io.StringIO()) == 0
    entries = json.loads(out.getvalue())["log"]["entries"]
    ids = {(e["_input"], e["_flow"]): e["connection"] for e in entries}
    assert len(set(ids.values())) == len(ids)
    assert ids[(paths[1], 1)] == f"{paths[1]}:1"


DEMO = Path(__file__).resolve().parents[2] / "capture" / "data" / "demo-o2-2012.pcap"


def test_a_canary_confirming_a_found_number_does_not_count_it_twice() -> None:
    def summary(config: IdentityConfig) -> str:
        err = io.StringIO()
        scan([str(DEMO)], detector=IdentityDetector(config), out=io.StringIO(), err=err)
        return err.getvalue().splitlines()[-1]

    plain = summary(IdentityConfig(region="GB"))
    confirmed = summary(IdentityConfig(region="GB", msisdns=("07700 900123",)))
    # Each x-up-calling-line-id gives the catalog's msisdn and the canary's finding:
    # one identity seen there, as without the canary.
    assert "21 identities in 20 requests" in plain
    assert confirmed == plain


class _Interrupted(io.RawIOBase):
    """A stream that gives ``data``, then Ctrl-C, as ``tail -F LOG | scan -`` stopped."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._data:
            raise KeyboardInterrupt
        size = min(len(buffer), len(self._data))
        buffer[:size] = self._data[:size]
        self._data = self._data[size:]
        return size


def test_a_stream_stopped_by_ctrl_c_says_what_it_passed_over_though_none_of_it_was_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # tail -F http.log starts at its last lines, past the header lines a TSV log is
    # read by: every row is passed over, and Ctrl-C must not leave the user unaware.
    rows = b"1700000000.0\tCabc\t10.0.0.2\t40000\t192.0.2.1\t80\n" * 3
    stdin = io.TextIOWrapper(io.BufferedReader(_Interrupted(rows)))
    monkeypatch.setattr("sys.stdin", stdin)
    out, err = io.StringIO(), io.StringIO()
    assert scan(["-"], detector=IdentityDetector(), out=out, err=err, kind="zeek") == 130
    assert out.getvalue() == ""
    assert (
        "headerwatch: warning: <stdin>: 3 lines passed over: not Zeek http.log records "
        "(first: line 1: a record before the #fields line: not a Zeek TSV log)"
    ) in err.getvalue().splitlines()


def test_ctrl_c_in_a_scan_of_a_file_still_writes_every_request_the_summary_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Lines go out 256 at a time: Ctrl-C in the middle of a batch lost the lines made
    # of it, while the summary counted their requests (9,136 said, 8,960 written).
    path = tmp_path / "records.jsonl"
    one = {"ts": 1700000000.0, "src": "10.0.0.2", "sport": 40000, "dst": "192.0.2.1",
           "dport": 80, "method": "GET", "uri": "/", "version": "HTTP/1.1",
           "headers": [["Host", "news.example"]]}  # fmt: skip
    path.write_text((json.dumps(one) + "\n") * 300, encoding="utf-8")
    real = inputs.parsed_from_dict
    read = 0

    def ctrl_c_after_100(obj: Any, responses: bool = True) -> Any:
        nonlocal read
        read += 1
        if read > 100:
            raise KeyboardInterrupt
        return real(obj, responses)

    monkeypatch.setattr(inputs, "parsed_from_dict", ctrl_c_after_100)
    out, err = io.StringIO(), io.StringIO()
    assert scan([str(path)], detector=IdentityDetector(), out=out, err=err) == 130
    assert len(out.getvalue().splitlines()) == 100
    assert "; 100 HTTP requests;" in err.getvalue()


@pytest.mark.parametrize("frames_read", [700, 1500])
def test_ctrl_c_in_a_scan_of_a_capture_writes_what_was_read_as_one_request_at_a_time_did(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, frames_read: int
) -> None:
    # A file scan detects its requests in batches and hands its records out so: Ctrl-C
    # (or SIGTERM, made one) lost the batch waiting, up to 127 records, and the summary
    # counted them as requests but not their identities.
    path = save(tmp_path, list(gen_capture.frames(1200, 150, traffic="ad")))
    real = frames_module.CaptureFile.frames

    def ctrl_c(self: Any, *args: Any) -> Any:
        for n, frame in enumerate(real(self, *args)):
            if n == frames_read:
                raise KeyboardInterrupt
            yield frame

    monkeypatch.setattr(frames_module.CaptureFile, "frames", ctrl_c)
    results = []
    for batch in (0, pipeline_module.DETECT_BATCH):
        monkeypatch.setattr(pipeline_module, "DETECT_BATCH", batch)
        out, err = io.StringIO(), io.StringIO()
        detector = IdentityDetector(IdentityConfig(region="GB"))
        assert scan([path], detector=detector, out=out, err=err, jobs=1) == 130
        results.append((out.getvalue(), err.getvalue()))
    assert results[0] == results[1]
    lines, said = results[1]
    assert len(lines.splitlines()) > 150 and "identities in" in said
    assert "not in the output" not in said


def test_a_log_without_http_events_is_summed_up_in_its_own_words_not_in_packets(
    tmp_path: Path,
) -> None:
    eve = tmp_path / "eve.json"
    eve.write_text(
        '{"timestamp":"2026-12-03T10:00:00.000000+0000","event_type":"dns","src_ip":"a"}\n' * 3
    )
    zeek = tmp_path / "http.log"
    zeek.write_text("#separator \\x09\n#fields\tts\tuid\tid.orig_h\n")
    har = tmp_path / "empty.har"
    har.write_text('{"log": {"version": "1.2", "entries": []}}')
    capture = save(tmp_path, conversation().handshake())
    expected = {
        (str(eve),): f"0 HTTP events in {eve}; 0 HTTP requests",
        (str(zeek),): f"0 HTTP log records in {zeek}; 0 HTTP requests",
        (str(har),): f"0 HAR entries in {har}; 0 HTTP requests",
        (capture, str(eve)): f"3 packets; 1 TCP connection; 0 HTTP events in {eve}; 0 HTTP",
    }
    for paths, lead in expected.items():
        for jobs in (1, 2):  # one process, and split over two (captures aside)
            out, err = io.StringIO(), io.StringIO()
            scan(list(paths), out=out, err=err, jobs=jobs)
            summary = [line for line in err.getvalue().splitlines() if "warning" not in line]
            assert summary[0].startswith(f"headerwatch: {lead}"), (paths, jobs, summary)


def test_a_scan_of_the_records_of_a_gapped_capture_says_a_gap_touched_one(
    tmp_path: Path,
) -> None:
    # Reassembly sees no gap in a record file: what its records say is all there is.
    from tests.helpers import gapped_capture

    records, err = io.StringIO(), io.StringIO()
    scan([gapped_capture(tmp_path)], detector=IdentityDetector(), out=records, err=err)
    path = tmp_path / "gapped.jsonl"
    path.write_text(records.getvalue())
    err = io.StringIO()
    scan([str(path)], detector=IdentityDetector(), out=io.StringIO(), err=err)
    assert (
        err.getvalue().rstrip().endswith("; capture gaps in the records read: 1 request touched")
    ), err.getvalue()


def _evasions() -> list[tuple[float, bytes]]:
    """The outside tester's cases 5c, 5g, 5e, 5h (both ways) and 5a, each on its own connection:
    what the server read was the real value (REAL) every time."""
    real = simple_request("/", extra="X-MSISDN: 447700900123\r\n")
    fake = simple_request("/", extra="X-MSISDN: 447911222333\r\n")
    client, server = "10.0.0.1", "10.0.0.2"
    frames: list[tuple[float, bytes]] = []
    for port, offset, flags in (
        (40042, 10_000_000, RST | ACK),
        (40046, 10, RST | ACK),
        (40044, 10_000_000, FIN | ACK),
        (40047, 0, RST),
    ):
        conv = conversation(cport=port)
        frames += conv.handshake()
        # A RST out of the window (5c), or in it but not at the next byte (5g), a FIN
        # out of the window (5e), a RST at the next byte that never reached the server
        # (5h: its checksum was bad).
        frames.append((conv.ts, tcp_frame(client, port, server, 80, 1001 + offset, 5001, flags)))
        frames += conv.send(True, real) + conv.close()
    # 5h the other way: a RST from the server's side at its next byte, forged on the
    # way, that the client never got; the client goes on and the server reads it.
    conv = conversation(cport=40048)
    frames += conv.handshake()
    frames.append((conv.ts, tcp_frame(server, 80, client, 40048, 5001, 1001, RST | ACK)))
    frames += conv.send(True, real) + conv.close()
    # 5a: a SYN carrying the fake value, not acknowledged; the real one at ISN+1.
    ts = 2000.0
    frames.append((ts, tcp_frame(client, 40040, server, 80, 1000, 0, SYN, fake)))
    frames.append((ts + 0.1, tcp_frame(server, 80, client, 40040, 5000, 1001, SYN | ACK)))
    frames.append((ts + 0.2, tcp_frame(client, 40040, server, 80, 1001, 5001, ACK)))
    frames.append((ts + 0.3, tcp_frame(client, 40040, server, 80, 1001, 5001, ACK, real)))
    return frames


def _sent_ahead(ending: str) -> list[tuple[float, bytes]]:
    """A request carrying the real number, then an evader's segment 5,000 bytes ahead of
    the next byte (in the server's window: it holds it) carrying a request with
    another number; the connection then closed (``ending``: "fin", "reset") or not."""
    real = simple_request("/", extra="X-MSISDN: 447700900123\r\n")
    fake = simple_request("/fake", extra="X-MSISDN: 447911222333\r\n")
    conv = conversation(cport=40050)
    frames = conv.handshake() + conv.send(True, real)
    ahead = 1001 + len(real) + 5000
    frames.append((conv.ts, tcp_frame("10.0.0.1", 40050, "10.0.0.2", 80, ahead, 5001, ACK, fake)))
    if ending == "fin":
        frames += conv.close()
    elif ending == "reset":
        frames += conv.reset()
    elif ending == "reset, the server waiting":
        # The server acknowledges the request only, twice (the second for the segment
        # past the hole): it waits for the 5,000 bytes.
        ack = tcp_frame("10.0.0.2", 80, "10.0.0.1", 40050, 5001, 1001 + len(real), ACK)
        frames += [(conv.ts, ack), (conv.ts, ack)]
        frames += conv.reset()
    return frames


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_request_sent_past_the_client_s_fin_is_not_read(tmp_path: Path, jobs: int) -> None:
    """The server drops the segment sent ahead at the client's FIN. It was read after a
    gap of 5,000 bytes, as a second request carrying a number the server never
    received."""
    out, err = io.StringIO(), io.StringIO()
    assert scan([save(tmp_path, _sent_ahead("fin"))], out=out, err=err, jobs=jobs) == 0
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["uri"] for r in records] == ["/"]
    assert "447911222333" not in out.getvalue()
    summary = err.getvalue()
    assert "; 1 TCP segment's data past its sender's FIN not read" in summary, summary
    assert "capture gaps: 0 client side" in summary, summary


def test_a_request_sent_ahead_of_bytes_the_server_awaited_is_not_read(tmp_path: Path) -> None:
    """The server acknowledged the first request only, then the connection was reset:
    it never read the second, which came after bytes it was still waiting for."""
    out, err = io.StringIO(), io.StringIO()
    frames = _sent_ahead("reset, the server waiting")
    assert scan([save(tmp_path, frames)], out=out, err=err) == 0
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["uri"] for r in records] == ["/"]
    assert "447911222333" not in out.getvalue()
    assert "; 1 TCP segment sent ahead of bytes the receiver awaited not read" in err.getvalue()


@pytest.mark.parametrize("ending", ["reset", "capture end"])
def test_a_request_read_after_bytes_the_capture_never_saw_says_so(
    tmp_path: Path, ending: str
) -> None:
    """The connection reset or the capture over instead: no FIN says where the stream
    ended, and the bytes before the segment sent ahead may have been lost by the
    capture (the server read it) or never sent (it did not). It is read, and its record
    says bytes were missing before it."""
    out, err = io.StringIO(), io.StringIO()
    assert scan([save(tmp_path, _sent_ahead(ending))], out=out, err=err) == 0
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["uri"] for r in records] == ["/", "/fake"]
    assert "anomalies" not in records[0]
    assert records[1]["anomalies"] == ["capture gap: 5000 bytes missing before this request"]
    assert "(5,000 bytes missing, 1 request touched)" in err.getvalue(), err.getvalue()


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_megabyte_sent_ahead_of_the_request_does_not_hide_it(tmp_path: Path, jobs: int) -> None:
    """1.1 MB sent from 100 bytes past the next byte, while the server acknowledges
    only what came before (it waits for those 100 bytes), then the request there:
    the server reads it. The held bytes went over the buffer, the hole was made a gap
    and the request passed over as a retransmission: no request was reported."""
    real = simple_request("/", extra="X-MSISDN: 447700900123\r\n")
    conv = conversation(cport=40052)
    frames = conv.handshake()
    junk = b"x" * 1400
    for i in range(800):
        seq = 1001 + 100 + 1400 * i
        frames.append((conv.ts, tcp_frame("10.0.0.1", 40052, "10.0.0.2", 80, seq, 5001, ACK, junk)))
        frames.append((conv.ts, tcp_frame("10.0.0.2", 80, "10.0.0.1", 40052, 5001, 1001, ACK)))
    frames += conv.send(True, real)
    out, err = io.StringIO(), io.StringIO()
    assert scan([save(tmp_path, frames)], out=out, err=err, jobs=jobs) == 0
    [record] = [json.loads(line) for line in out.getvalue().splitlines()]
    assert ["X-MSISDN", "447700900123"] in record["headers"]
    assert record["anomalies"] == [AHEAD_NOTE]
    assert "TCP segments sent ahead of bytes the receiver awaited not read" in err.getvalue()


@pytest.mark.parametrize("jobs", [1, 2])
def test_resets_and_fins_the_server_ignores_or_never_got_and_syn_data_give_the_value_it_read(
    tmp_path: Path, jobs: int
) -> None:
    path = save(tmp_path, _evasions())
    out, err = io.StringIO(), io.StringIO()
    assert scan([path], out=out, err=err, jobs=jobs) == 0
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    by_port = {r["sport"]: r for r in records}
    assert sorted(by_port) == [40040, 40042, 40044, 40046, 40047, 40048]
    for rec in records:
        assert ["X-MSISDN", "447700900123"] in rec["headers"], rec
    assert by_port[40042]["anomalies"] == [RESET_NOTE]
    assert by_port[40046]["anomalies"] == [RESET_NOTE]
    assert by_port[40040]["anomalies"] == [SYN_DATA_NOTE]
    assert by_port[40044]["anomalies"] == [FIN_NOTE]
    assert by_port[40047]["anomalies"] == [DATA_AFTER_RESET_NOTE]
    assert by_port[40047]["src"] == "10.0.0.1"
    assert by_port[40048]["anomalies"] == [CLIENT_AFTER_RESET_NOTE]
    assert by_port[40048]["src"] == "10.0.0.1"
    summary = err.getvalue()
    assert "; 2 TCP resets passed over (not at the next byte)" in summary
    assert "; 1 TCP SYN's data not read (not acknowledged)" in summary
    assert "; 1 TCP FIN passed over (out of the window)" in summary
    assert "; 2 TCP connections read on after a reset at the next byte" in summary
    assert "6 TCP connections" in summary and "after their connection closed" not in summary
    assert "capture gaps: 0 client side" in summary, summary
