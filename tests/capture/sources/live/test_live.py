"""The live source: filters, link state, and counters that tell the truth.

The counter tests inject an exact number of frames on one end of a veth pair in
a namespace of their own and capture on the other end (``tests.capture.live_driver``),
so what was lost can be compared with what the source says it lost.
"""

from __future__ import annotations

import ctypes.util
import json
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from capture.net.decode import LINKTYPE_ETHERNET, LINKTYPE_RAW
from capture.sources.live import bpf, link, packet_socket
from capture.sources.live.link import LiveError, link_state, linktype_for
from capture.sources.live.packet_socket import check_filter
from capture.sources.live.source import FRAME_OVERHEAD, LiveSource
from capture.sources.source import halt_of
from tests.helpers import fresh_python
from tests.netns import REPO, make_pair


@pytest.fixture
def pair() -> Iterator[tuple[str, str, str]]:
    """(namespace, send_if, capture_if): a veth pair inside one namespace."""
    yield from make_pair()


READERS = ["ring", "socket"]
"""The TPACKET_V3 ring (the default) and one recvmsg per frame (the fallback)."""


def _driver(
    pair: tuple[str, str, str], mode: str, n: int = 300, reader: str = "ring"
) -> dict[str, Any]:
    ns, send_if, capture_if = pair
    result = subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            ns,
            sys.executable,
            "-m",
            "tests.capture.live_driver",
            mode,
            send_if,
            capture_if,
            str(n),
            reader,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    out: dict[str, Any] = json.loads(result.stdout)
    return out


# -- without privileges --------------------------------------------------------------


def test_default_filter_compiles_without_privileges() -> None:
    check_filter("tcp")
    check_filter("tcp port 80 or tcp port 8080", LINKTYPE_RAW)


def test_bad_filter_names_the_filter_and_libpcaps_reason() -> None:
    with pytest.raises(LiveError, match=r"^bad capture filter 'tcp port banana': .*banana"):
        check_filter("tcp port banana")


def test_missing_libpcap_says_which_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    monkeypatch.setattr(bpf, "_LIBRARIES", ("libpcap-not-here.so",))
    bpf._libpcap.cache_clear()
    try:
        with pytest.raises(LiveError) as info:
            check_filter("tcp")
    finally:
        bpf._libpcap.cache_clear()
    assert str(info.value) == packet_socket.libpcap_missing_message()
    assert "apt-get install libpcap0.8" in str(info.value)


def test_a_filter_keeps_each_frame_up_to_the_snap_length_as_tcpdump_does() -> None:
    """The kernel keeps what the filter's accepting instruction says: SNAPLEN, not
    the 65,535 bytes that the filter scapy compiled kept (a veth's or GRO's frames
    are larger)."""
    program = check_filter("tcp")
    kept = {k for code, _, _, k in struct.iter_unpack("HBBI", program) if code == 0x06}
    assert kept == {0, packet_socket.SNAPLEN}


def test_a_live_capture_checks_its_filter_without_scapy() -> None:
    """libpcap compiles the filter through ctypes: the live commands no longer import
    scapy for it (19 MB of its tables, 0.4 s), nor to open the socket."""
    code = (
        "import sys\n"
        "from capture.sources.live.source import LiveSource\n"
        "LiveSource('lo').check()\n"
        "print('scapy' in sys.modules)\n"
    )
    assert fresh_python(code).strip() == "False"


def test_unknown_interface_is_one_line() -> None:
    with pytest.raises(LiveError, match=r"^no network interface named 'hw-nope0' "):
        LiveSource("hw-nope0").check()


@pytest.mark.parametrize(
    ("arphrd", "linktype"),
    [
        (1, LINKTYPE_ETHERNET),
        (772, LINKTYPE_ETHERNET),
        (0xFFFE, LINKTYPE_RAW),
        (519, LINKTYPE_RAW),
        (512, LINKTYPE_RAW),
        (803, None),
    ],
    ids=["ether", "loopback", "none-raw-ip", "rawip", "ppp", "radiotap"],
)
def test_link_types(arphrd: int, linktype: int | None) -> None:
    assert linktype_for(arphrd) == linktype


def test_link_state_of_loopback_and_of_nothing() -> None:
    state, index = link_state("lo")
    assert state == link.UP and index == 1
    assert link_state("hw-nope0") == (link.GONE, 0)


def test_counters_are_zero_before_anything() -> None:
    assert LiveSource("lo").counters() == {
        "captured": 0,
        "kernel_drops": 0,
        "queue_drops": 0,
        "iface_down": 0,
    }


def test_the_queue_bound_charges_each_frame_its_objects_too() -> None:
    """Small frames cannot hold more memory than the byte bound says: each one is
    charged FRAME_OVERHEAD on top of its bytes."""
    per_frame = 60 + FRAME_OVERHEAD
    source = LiveSource("lo", max_queue_bytes=10 * per_frame)
    source._push(LINKTYPE_ETHERNET, [(0.0, bytes(60))] * 25, 25 * 60)
    assert source.counters()["queue_drops"] == 15
    assert source._queued_bytes == 10 * per_frame


def test_stop_before_start_ends_frames_at_once() -> None:
    source = LiveSource("lo")
    source.stop()
    source.start = lambda: None  # type: ignore[method-assign]  # nothing to open
    assert list(source.frames()) == []


def test_a_capture_thread_that_fails_says_when_and_why_after_the_frames_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    said: list[tuple[str, str]] = []
    source = LiveSource("lo", notify=lambda level, text: said.append((level, text)))

    def failing_loop() -> None:
        source._push(LINKTYPE_ETHERNET, [(1.0, bytes(60))], 60)
        raise RuntimeError("ring torn")

    monkeypatch.setattr(source, "open", lambda: None)  # no socket: the loop is planted
    monkeypatch.setattr(source, "_loop", failing_loop)
    before = time.time()
    got = [frame for frame in source.frames() if frame is not None]
    assert [frame.data for frame in got] == [bytes(60)]  # what came before is delivered
    halt = source.halted
    assert halt is not None and before <= halt.at <= time.time()
    assert halt.why == "capture on lo failed (RuntimeError: ring torn)"
    stamp = time.strftime("%H:%M:%S", time.localtime(halt.at))
    assert said == [
        (
            "error",
            f"lo: capture stopped at {stamp} (RuntimeError: ring torn): "
            "nothing after it is recorded",
        )
    ]
    assert halt_of(source) is halt


# -- in a namespace (root) -----------------------------------------------------------


@pytest.mark.netns
@pytest.mark.parametrize("reader", READERS)
def test_kernel_drops_are_counted_exactly(pair: tuple[str, str, str], reader: str) -> None:
    """A full ring or socket buffer: every frame is captured or counted as a kernel drop."""
    n = 40_000 if reader == "ring" else 300  # the smallest ring holds ~25,000 small frames
    result = _driver(pair, "kernel", n, reader)
    assert result["kernel_drops"] > 0
    assert result["captured"] + result["kernel_drops"] == result["sent"] == n
    assert result["delivered"] == result["captured"]
    assert result["queue_drops"] == 0


@pytest.mark.netns
@pytest.mark.parametrize("reader", READERS)
def test_queue_drops_are_counted_exactly(pair: tuple[str, str, str], reader: str) -> None:
    """A consumer that falls behind: the queue keeps 10, counts the rest, never blocks."""
    result = _driver(pair, "queue", 100, reader)
    assert result["captured"] == 100
    assert result["delivered"] == 10
    assert result["queue_drops"] == 90
    assert result["kernel_drops"] == 0


@pytest.mark.netns
@pytest.mark.parametrize("reader", READERS)
def test_stop_delivers_everything_the_kernel_already_holds(
    pair: tuple[str, str, str], reader: str
) -> None:
    result = _driver(pair, "stop", 5000, reader)
    assert result["delivered"] == result["captured"] == 5000
    assert result["same_bytes"]
    assert "unread_at_stop" not in result


@pytest.mark.netns
@pytest.mark.parametrize("reader", READERS)
def test_frames_are_the_bytes_on_the_wire(pair: tuple[str, str, str], reader: str) -> None:
    """Kernel timestamps, Ethernet link type, VLAN tags put back where they were."""
    result = _driver(pair, "exact", 20, reader)
    assert result["same_bytes"], result
    assert result["linktypes"] == [LINKTYPE_ETHERNET]
    assert result["ts_sane"]
    assert result["kernel_drops"] == result["queue_drops"] == 0


@pytest.mark.netns
def test_buffers_are_raised_past_rmem_max(pair: tuple[str, str, str]) -> None:
    result = _driver(pair, "info")
    assert result["ring_bytes"] == packet_socket.DEFAULT_RING
    assert result["rcvbuf_bytes"] >= packet_socket.DEFAULT_RCVBUF  # used without a ring
