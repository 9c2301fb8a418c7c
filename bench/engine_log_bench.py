"""Suricata eve.json at scale: ``headerwatch scan --input suricata`` against ``jq``.

A report, not a test. It writes an eve.json of N events (default 1,000,000) as a
Suricata sensor with ``dump-all-headers: both`` would: mostly http events from
many clients to many hosts, with 4-20 request headers, cookies, query parameters,
some identity headers (MSISDN, IMSI, UIDH, IMEI), some repeated headers joined by
Suricata, 2-7 response headers, and other event types (dns, tls, flow, alert,
fileinfo: 15% of the events; alert and fileinfo events carry an ``http`` object, as
Suricata's do). Keys come in Suricata's order (``event_type`` fourth, after
``in_iface``) and ``/`` is escaped as ``\\/``, as Suricata writes them.

Then it times, as a user runs them, over the same file:

* ``headerwatch scan --input suricata --jobs 1 FILE`` (JSONL out to /dev/null):
  reading, mapping, full identity detection, output;
* ``jq`` doing a plain header-name match, the floor a user would script:
  ``jq -c 'select(.event_type=="http") | select(any(.http.request_headers[]?;
  .name|ascii_downcase|test("^x-(msisdn|up-calling-line-id|uidh|imsi)$")))'``;
* and ``scan --jobs N`` (the file split by line ranges over N processes).

It prints events/s for each and the ratio. Target: >= 50,000 events/s with
detection in one process.

    python bench/engine_log_bench.py [--events 1000000] [--jobs 2] [--keep FILE [--reuse]]

The runs are timed without ``PYTHONUNBUFFERED`` and ``PYTHONDONTWRITEBYTECODE``,
as in a user's shell.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[1]

_UA = [
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "okhttp/4.12.0",
    "Dalvik/2.1.0 (Linux; U; Android 12; SM-G991B Build/SP1A.210812.016)",
]
_EXTRA = [
    ("Accept", "*/*"),
    ("Accept-Language", "en-GB,en;q=0.9"),
    ("Accept-Encoding", "gzip, deflate"),
    ("Connection", "keep-alive"),
    ("Cache-Control", "no-cache"),
    ("Upgrade-Insecure-Requests", "1"),
    ("X-Requested-With", "com.example.app"),
    ("Referer", "http://news.example/articles/2026/12/03/story.html"),
    ("DNT", "1"),
    ("Sec-Fetch-Mode", "navigate"),
    ("X-Forwarded-For", "10.64.3.7"),
    ("Via", "1.1 wap-gw.carrier.example"),
    ("If-Modified-Since", "Thu, 03 Dec 2026 09:00:00 GMT"),
    ("Pragma", "no-cache"),
    ("X-App-Version", "5.12.3"),
    ("Content-Type", "application/x-www-form-urlencoded"),
]
_IDENTITIES = [
    ("X-MSISDN", lambda r: f"4477009{r.randrange(100000):05d}"),
    ("X-Up-Calling-Line-ID", lambda r: f"4477009{r.randrange(100000):05d}"),
    ("X-UIDH", lambda r: "OTgxNTk2NDk0ADJVquRu5NS5+rSbBANlrp+13QL7CXLGsFHpMi4LsUHw"),
    ("X-IMSI", lambda r: f"23415{r.randrange(10**10):010d}"),
]


_RESPONSE = [
    ("Date", "Thu, 03 Dec 2026 09:00:00 GMT"),
    ("Content-Type", "text/html; charset=utf-8"),
    ("Content-Length", "5120"),
    ("Server", "nginx"),
    ("Cache-Control", "max-age=300"),
    ("Vary", "Accept-Encoding"),
    ("ETag", '"5f3a-1b2c"'),
    ("Set-Cookie", "sid=0a1b2c3d4e5f; Path=/; HttpOnly"),
]


def _other(r: random.Random, kind: str, common: dict[str, object]) -> dict[str, object]:
    """A dns, tls, flow, alert or fileinfo event as Suricata writes them (their main
    fields; alert and fileinfo events on http flows carry an ``http`` object too)."""
    event: dict[str, object] = {**common, "event_type": kind}
    http = {
        "hostname": f"cdn{r.randrange(5000)}.site{r.randrange(20000)}.example",
        "url": f"/path/{r.randrange(10**6)}/file.bin",
        "http_user_agent": r.choice(_UA),
        "http_content_type": "application/octet-stream",
        "http_method": "GET",
        "protocol": "HTTP/1.1",
        "status": 200,
        "length": r.randrange(100, 100000),
    }
    if kind == "dns":
        event["proto"] = "UDP"
        event["dest_port"] = 53
        event["dns"] = {
            "type": "query",
            "id": r.randrange(65536),
            "rrname": f"site{r.randrange(20000)}.example",
            "rrtype": "A",
            "tx_id": 0,
            "opcode": 0,
        }
    elif kind == "tls":
        event["dest_port"] = 443
        event["tls"] = {
            "subject": f"CN=site{r.randrange(20000)}.example",
            "issuerdn": "C=US, O=Let's Encrypt, CN=R3",
            "serial": "04:2A:7F:19:33:0C:5E:71",
            "fingerprint": "7a:1c:88:3e:90:4b:5d:2f:11:0e:6a:c4:d9:87:23:5b:aa:10:c2:7e",
            "sni": f"site{r.randrange(20000)}.example",
            "version": "TLS 1.3",
            "notbefore": "2026-10-01T00:00:00",
            "notafter": "2026-12-30T00:00:00",
            "ja3": {"hash": "e7d705a3286e19ea42f587b344ee6865"},
        }
    elif kind == "flow":
        event["app_proto"] = "http"
        event["flow"] = {
            "pkts_toserver": r.randrange(3, 50),
            "pkts_toclient": r.randrange(3, 80),
            "bytes_toserver": r.randrange(300, 9000),
            "bytes_toclient": r.randrange(300, 90000),
            "start": event["timestamp"],
            "end": event["timestamp"],
            "age": r.randrange(0, 30),
            "state": "closed",
            "reason": "timeout",
            "alerted": False,
        }
        event["tcp"] = {"tcp_flags": "1b", "syn": True, "fin": True, "psh": True, "ack": True}
    elif kind == "alert":
        event["tx_id"] = r.randrange(3)
        event["alert"] = {
            "action": "allowed",
            "gid": 1,
            "signature_id": 2018358,
            "rev": 10,
            "signature": "ET HUNTING GENERIC SUSPICIOUS POST to Dotted Quad with Fake Browser 1",
            "category": "Potentially Bad Traffic",
            "severity": 2,
        }
        event["http"] = http
        event["app_proto"] = "http"
    else:  # fileinfo
        event["http"] = http
        event["app_proto"] = "http"
        event["fileinfo"] = {
            "filename": "/path/file.bin",
            "state": "CLOSED",
            "stored": False,
            "size": http["length"],
            "tx_id": 0,
        }
    return event


def _event(r: random.Random, n: int, base: float) -> dict[str, object]:
    """One event, its keys in the order Suricata writes them (timestamp, flow_id,
    in_iface, event_type, the tuple, proto, tx_id, then the event's own object)."""
    ts = base + n * 0.0005
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1e6):06d}+0000"
    client = f"10.{r.randrange(64)}.{r.randrange(256)}.{r.randrange(1, 255)}"
    common: dict[str, object] = {
        "timestamp": stamp,
        "flow_id": r.randrange(1 << 50),
        "in_iface": "eth1",
    }
    tuple_: dict[str, object] = {
        "src_ip": client,
        "src_port": r.randrange(1024, 65536),
        "dest_ip": f"198.51.{r.randrange(100)}.{r.randrange(1, 255)}",
        "dest_port": 80,
        "proto": "TCP",
    }
    roll = r.random()
    if roll < 0.15:  # other event types, as a sensor logs them
        kind = r.choice(["dns", "tls", "flow", "alert", "fileinfo"])
        event = _other(r, kind, common)
        event.update({k: v for k, v in tuple_.items() if k not in event})
        return {**common, "event_type": kind, **tuple_, **event}
    host = f"cdn{r.randrange(5000)}.site{r.randrange(20000)}.example"
    headers = [("Host", host), ("User-Agent", r.choice(_UA))]
    headers += r.sample(_EXTRA, r.randrange(2, 12))
    if r.random() < 0.6:
        cookies = "; ".join(f"c{i}={r.getrandbits(64):016x}" for i in range(r.randrange(1, 8)))
        headers.append(("Cookie", cookies))
    if r.random() < 0.03:
        name, value = r.choice(_IDENTITIES)
        headers.insert(r.randrange(1, len(headers)), (name, value(r)))
    if r.random() < 0.01:  # a repeated header, joined by Suricata
        headers.append(("X-Tracking", f"{r.getrandbits(32):08x}, {r.getrandbits(32):08x}"))
    params = "&".join(f"p{i}={r.randrange(10**6)}" for i in range(r.randrange(0, 6)))
    url = f"/path/{r.randrange(10**6)}/page.html" + (f"?{params}" if params else "")
    http: dict[str, object] = {
        "hostname": host,
        "url": url,
        "http_user_agent": headers[1][1],
        "http_content_type": "text/html",
    }
    referer = dict(headers).get("Referer")
    if referer is not None:
        http["http_refer"] = referer
    response = _RESPONSE[:2] + r.sample(_RESPONSE[2:], r.randrange(1, 6))
    http.update(
        {
            "http_method": "GET" if r.random() < 0.9 else "POST",
            "protocol": "HTTP/1.1",
            "status": 200,
            "length": r.randrange(100, 100000),
            "request_headers": [{"name": k, "value": v} for k, v in headers],
            "response_headers": [{"name": k, "value": v} for k, v in response],
        }
    )
    return {
        **common,
        "event_type": "http",
        **tuple_,
        "tx_id": r.randrange(3),
        "http": http,
        "app_proto": "http",
    }


def write_eve(path: Path, events: int, seed: int = 19) -> int:
    """Write ``events`` events to ``path``; return how many are http."""
    r = random.Random(seed)
    base = 1764756000.0
    http = 0
    with open(path, "wb") as out:
        batch = []
        for n in range(events):
            event = _event(r, n, base)
            http += event["event_type"] == "http"
            # Suricata's JSON writer escapes "/" (as the real events in
            # tests/data/engines/suricata show: "url":"\\/download\\/eicar.com").
            batch.append(orjson.dumps(event).replace(b"/", b"\\/"))
            if len(batch) == 10000:
                out.write(b"\n".join(batch) + b"\n")
                batch.clear()
        if batch:
            out.write(b"\n".join(batch) + b"\n")
    return http


def _http_events(path: Path) -> int:
    """How many events of a kept file are http (as :func:`write_eve` counted them)."""
    with open(path, "rb") as f:
        return sum(1 for line in f if b'"event_type":"http",' in line)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# As in a user's shell: python -u (which some CI and sandbox shells set) makes stdout
# a raw stream, and no bytecode cache makes every run compile every module again.
_ENV = {
    k: v for k, v in os.environ.items() if k not in ("PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE")
}


def _timed(cmd: list[str], out: Path, cwd: Path = REPO) -> tuple[float, float, str]:
    """Wall time, CPU time (user + system, all processes of the run) and stderr."""
    start, cpu = time.perf_counter(), _cpu()
    with open(out, "wb") as sink:
        result = subprocess.run(
            cmd, stdout=sink, stderr=subprocess.PIPE, text=True, check=False, env=_ENV, cwd=cwd
        )
    elapsed, used = time.perf_counter() - start, _cpu() - cpu
    if result.returncode not in (0, 1):
        sys.exit(f"{' '.join(cmd[:4])}... failed: {result.stderr.strip()[-300:]}")
    return elapsed, used, result.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, default=2, help="processes for the split run")
    parser.add_argument("--keep", type=Path, help="write the eve.json here and keep it")
    parser.add_argument(
        "--reuse", action="store_true", help="with --keep: read the file kept by an earlier run"
    )
    parser.add_argument(
        "--against",
        type=Path,
        help="another tree of headerwatch (an older commit: git archive REV | tar -x -C DIR, "
        "its C extensions copied in): its scan --jobs 1 is timed too, turn about with this "
        "one's, best of --rounds",
    )
    parser.add_argument("--rounds", type=int, default=1, help="with --against: turns each")
    args = parser.parse_args()
    if shutil.which("jq") is None:
        sys.exit("jq is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        eve = args.keep or Path(tmp) / "eve.json"
        start = time.perf_counter()
        if args.reuse and eve.exists():
            with open(eve, "rb") as f:
                lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 24), b""))
            if lines != args.events:
                sys.exit(f"{eve} has {lines:,} events, not {args.events:,}: run without --reuse")
            http, made = _http_events(eve), "kept from an earlier run"
        else:
            http = write_eve(eve, args.events)
            made = f"written in {time.perf_counter() - start:.1f} s"
        size = eve.stat().st_size
        print(f"eve.json: {args.events:,} events ({http:,} http), {size / 1e6:,.0f} MB, {made}")
        cmd = [sys.executable, "-m", "tui.cli", "scan", "--input", "suricata", str(eve)]
        out = Path(tmp) / "out"
        one, one_cpu, err = _timed([*cmd, "--jobs", "1"], out)
        found = len(out.read_bytes().splitlines())
        other: tuple[float, float] | None = None
        if args.against is not None:
            for turn in range(args.rounds):
                wall, cpu, _ = _timed([*cmd, "--jobs", "1"], out, cwd=args.against)
                assert len(out.read_bytes().splitlines()) == found
                other = (wall, cpu) if other is None else (min(other[0], wall), min(other[1], cpu))
                if turn + 1 < args.rounds:
                    wall, cpu, _ = _timed([*cmd, "--jobs", "1"], out)
                    one, one_cpu = min(one, wall), min(one_cpu, cpu)
        summary = err.strip().splitlines()[-1]
        split, split_cpu, _ = _timed([*cmd, "--jobs", str(args.jobs)], out)
        assert len(out.read_bytes().splitlines()) == found
        jq_filter = (
            'select(.event_type=="http") | select(any(.http.request_headers[]?; '
            '.name|ascii_downcase|test("^x-(msisdn|up-calling-line-id|uidh|imsi)$")))'
        )
        jq, jq_cpu, _ = _timed(["jq", "-c", jq_filter, str(eve)], out)
        matched = len(out.read_bytes().splitlines())
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0]
    n = args.events
    if other is not None:
        print(f"--against {args.against}: best of {args.rounds} turn(s) each, turn about")
    print(
        f"machine: {cpus} CPUs available, load average {load:.1f} at the end, "
        f"Python {sys.version.split()[0]}"
    )
    print("                              wall s   events/s (wall)   CPU s   events per CPU-second")
    rows = [
        ("headerwatch scan --jobs 1", one, one_cpu),
        (f"headerwatch scan --jobs {args.jobs}", split, split_cpu),
        ("jq header-name match", jq, jq_cpu),
    ]
    if other is not None:
        rows.insert(1, ("  the same, --against", *other))
    for name, wall, cpu in rows:
        print(f"{name:<28} {wall:8.1f} {n / wall:15,.0f} {cpu:9.1f} {n / cpu:17,.0f}")
    print(summary)
    print(f"jq matched {matched:,} events (the requests with a named identity header)")
    print(
        f"ratio headerwatch --jobs 1 / jq: {jq / one:.2f}x the events/s (wall), "
        f"{jq_cpu / one_cpu:.2f}x per CPU-second"
    )
    target = 50_000
    verdict = "meets" if n / one_cpu >= target else "misses"
    print(f"target {target:,} events/s with detection in one process (per CPU-second): {verdict}")


if __name__ == "__main__":
    main()
