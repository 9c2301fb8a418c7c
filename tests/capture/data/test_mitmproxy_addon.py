"""The mitmproxy add-on's writer, run inside mitmproxy's own environment (it imports
mitmproxy, which headerwatch's environment does not have)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from capture.http.stream import BODY_CAP
from tests.mitmproxy_lab import mitmdump, mitmdump_with_addon, plain_server
from tui.cmd_mitmproxy_addon import ADDON

_WITHOUT_READER = r"""
import importlib.util, json, sys, time
spec = importlib.util.spec_from_file_location("addon", sys.argv[1])
addon = importlib.util.module_from_spec(spec)
spec.loader.exec_module(addon)
writer = addon.Writer(sys.argv[2], bound=100)
started = time.monotonic()
for n in range(5000):
    writer.put({"n": n})
took = time.monotonic() - started
time.sleep(0.3)
writer.close(timeout=2.0)
print(json.dumps({"took": took, "dropped": writer.dropped, "written": writer.written,
                  "alive": writer.thread.is_alive()}))
"""


def _python() -> str:
    return str(Path(mitmdump()).with_name("python"))


def test_with_nobody_reading_its_fifo_the_add_on_drops_counts_and_never_blocks(
    tmp_path: Path,
) -> None:
    fifo = tmp_path / "hw.fifo"
    os.mkfifo(fifo)
    run = subprocess.run(
        [_python(), "-c", _WITHOUT_READER, str(ADDON), str(fifo)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["dropped"] == 5000
    assert result["written"] == 0
    assert result["took"] < 1.0  # 5,000 puts: never a wait for a reader
    assert result["alive"] is False


def test_its_file_output_is_private_and_appended(tmp_path: Path) -> None:
    out = tmp_path / "proxy.jsonl"
    out.write_bytes(b'{"old": 1}\n')
    os.chmod(out, 0o644)
    run = subprocess.run(
        [_python(), "-c", _WITHOUT_READER, str(ADDON), str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    lines = out.read_text().splitlines()
    assert lines[0] == '{"old": 1}'
    assert os.stat(out).st_mode & 0o777 == 0o600
    # What fitted the queue of 100 is written; the rest is counted, and the count said.
    objects = [json.loads(line) for line in lines[1:]]
    status = [o["headerwatch_addon"] for o in objects if "headerwatch_addon" in o]
    records = [o for o in objects if "headerwatch_addon" not in o]
    assert len(records) == result["written"] > 0
    assert result["dropped"] == 5000 - result["written"] > 0
    assert status[-1]["dropped"] == result["dropped"]


_BODIES = r"""
import base64, gzip, importlib.util, json, sys
import brotli, zstandard
spec = importlib.util.spec_from_file_location("addon", sys.argv[1])
addon = importlib.util.module_from_spec(spec)
spec.loader.exec_module(addon)
beacon = b'{"user":{"phone":"+447700900123","imei":"490154203237518"}}'
sent = {
    "plain": (beacon, ""),
    "gzip": (gzip.compress(beacon), "gzip"),
    "br": (brotli.compress(beacon), "br"),
    "zstd": (zstandard.ZstdCompressor().compress(beacon), "zstd"),
    "not utf-8": (b"tel=07700900123&city=Z\xfcrich", ""),
    "long": (b"a" * 100_000, ""),
    "gzip bomb": (gzip.compress(bytes(50_000_000)), "gzip"),
    "br bomb": (brotli.compress(bytes(50_000_000)), "br"),
    "damaged": (b"\x1f\x8b" + bytes(30), "gzip"),
    "unknown": (beacon, "snappy"),
}
out = {}
for name, (raw, coding) in sent.items():
    body, notes = addon.body_of(raw, coding)
    kept = body["body"].encode() if "body" in body else base64.b64decode(body["body_base64"])
    out[name] = {"keys": sorted(body), "kept": kept.decode("latin-1"), "notes": notes}
print(json.dumps(out))
"""


def test_a_request_body_is_written_decoded_and_kept_as_headerwatch_keeps_one() -> None:
    run = subprocess.run(
        [_python(), "-c", _BODIES, str(ADDON)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    beacon = '{"user":{"phone":"+447700900123","imei":"490154203237518"}}'
    for name in ("plain", "gzip", "br", "zstd"):
        assert got[name] == {"keys": ["body"], "kept": beacon, "notes": []}, name
    # Bytes that are not UTF-8 go as base64, whole.
    assert got["not utf-8"] == {
        "keys": ["body_base64"],
        "kept": "tel=07700900123&city=Z\xfcrich",
        "notes": [],
    }
    # As a capture keeps it: the first 64 KiB (body_length says how many were sent).
    assert got["long"] == {"keys": ["body"], "kept": "a" * BODY_CAP, "notes": []}
    # Decoded, the bytes sent cannot say it was cut: an anomaly does.
    for name, coding in (("gzip bomb", "gzip"), ("br bomb", "br")):
        assert got[name]["kept"] == "\x00" * BODY_CAP, name
        assert got[name]["notes"] == [
            f"request body decoded from {coding} is larger than 65536 bytes; the first 65536 kept"
        ]
    # What cannot be decoded is kept as sent, and said.
    assert got["damaged"]["kept"] == "\x1f\x8b" + "\x00" * 30
    assert got["damaged"]["notes"] == [
        "request body not decoded (Content-Encoding 'gzip' unknown or damaged); kept as sent"
    ]
    assert got["unknown"]["kept"] == beacon
    assert "'snappy' unknown or damaged" in got["unknown"]["notes"][0]


NOBODY = 65534


def test_as_root_the_add_on_follows_no_planted_link_and_writes_no_other_users_file(
    tmp_path: Path,
) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to plant another user's link and file (CI runs as root)")
    victim = tmp_path / "victim"
    victim.write_text("root:x:0:0\n")
    victim.chmod(0o644)
    shared = tmp_path / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp: anyone could have made the link
    link = shared / "phone.jsonl"
    link.symlink_to(victim)
    os.lchown(link, NOBODY, NOBODY)
    theirs = tmp_path / "theirs.jsonl"
    theirs.write_text("theirs\n")
    theirs.chmod(0o644)
    os.chown(theirs, NOBODY, NOBODY)
    refused = {
        link: "is a symbolic link, not followed when running as root",
        theirs: f"belongs to another user (uid {NOBODY}), not replaced as root",
    }
    for target, reason in refused.items():
        with plain_server() as port, mitmdump_with_addon(tmp_path, str(target)) as proxy:
            for _ in range(3):
                answer = proxy.curl(f"http://127.0.0.1:{port}/", "-H", "X-MSISDN: 447700900123")
                assert answer.stdout == "200 1.1", answer.stderr  # the proxy serves on
                time.sleep(0.6)  # the writer's next try (every 0.5 s) meets the refusal again
            log = proxy.stop()
        said = [line for line in log.splitlines() if reason in line]
        # One line, once: not again at every retry.
        assert len(said) == 1, log[-2000:]
        assert said[0].endswith(f"headerwatch: {target}: {reason}")
        assert "Traceback" not in log
        assert "3 records dropped" in log
    assert victim.read_text() == "root:x:0:0\n"
    assert victim.stat().st_mode & 0o777 == 0o644
    assert theirs.read_text() == "theirs\n"
    assert theirs.stat().st_mode & 0o777 == 0o644


def test_a_file_it_cannot_create_is_said_once_in_mitmproxys_log(tmp_path: Path) -> None:
    # A typo in the directory dropped every record, and only the drop count said so,
    # when mitmdump stopped: as a FIFO or socket not there yet is, quietly.
    target = tmp_path / "no-such-dir" / "phone.jsonl"
    with plain_server() as port, mitmdump_with_addon(tmp_path, str(target)) as proxy:
        for _ in range(2):
            answer = proxy.curl(f"http://127.0.0.1:{port}/", "-H", "X-MSISDN: 447700900123")
            assert answer.stdout == "200 1.1", answer.stderr
            time.sleep(0.6)
        log = proxy.stop()
    said = [line for line in log.splitlines() if f"headerwatch: {target}:" in line]
    assert len(said) == 1, log[-2000:]
    assert said[0].endswith(f"headerwatch: {target}: No such file or directory")
    assert "2 records dropped" in log


def test_without_an_output_it_says_it_writes_nothing(tmp_path: Path) -> None:
    with plain_server() as port, mitmdump_with_addon(tmp_path, "") as proxy:
        assert proxy.curl(f"http://127.0.0.1:{port}/").stdout == "200 1.1"
        log = proxy.stop()
    assert "headerwatch: headerwatch_out is not set: no records are written" in log
