"""``headerwatch reflect`` and ``headerwatch probe`` as a user runs them: real processes,
with a carrier's enrichment proxy between them."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.carrier import enrichment_proxy


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def reflector() -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "reflect", "--bind", "127.0.0.1", "--port", str(port),
         "--region", "GB"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert f"reflecting on http://127.0.0.1:{port}/" in line, line
    yield proc, port
    if proc.poll() is None:
        proc.kill()
    proc.wait(5)


def headerwatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_probe_through_a_carrier_proxy_shows_the_injected_number(
    reflector: tuple[subprocess.Popen[str], int],
) -> None:
    proc, port = reflector
    clean = headerwatch("probe", "--fail-on-identity", f"http://127.0.0.1:{port}/")
    assert clean.returncode == 0, clean.stderr
    assert "nothing added, removed or changed" in clean.stdout
    o2 = {"x-up-calling-line-id": "447700900123"}
    with enrichment_proxy(("127.0.0.1", port), o2) as proxy:
        url = f"http://127.0.0.1:{proxy}/"
        leak = headerwatch("probe", "--region", "GB", "--fail-on-identity", url)
        as_json = headerwatch("probe", "--format", "jsonl", url)
    assert leak.returncode == 1, leak.stderr
    assert "1 identity injected" in leak.stdout
    assert "+ x-up-calling-line-id: 447700900123   [msisdn +447700900123]" in leak.stdout
    assert json.loads(as_json.stdout)["injected"] == [["x-up-calling-line-id", "447700900123"]]
    # The reflector's own log: the server-side view, findings included.
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == 3
    assert [f["normalized"] for f in records[1]["findings"] if f["kind"] == "msisdn"] == [
        "+447700900123"
    ]
    assert "3 requests reflected" in err


def test_reflect_on_a_busy_port_is_a_one_line_error(
    reflector: tuple[subprocess.Popen[str], int],
) -> None:
    _, port = reflector
    busy = headerwatch("reflect", "--bind", "127.0.0.1", "--port", str(port))
    assert busy.returncode == 2
    assert busy.stderr.strip().splitlines() == [
        f"headerwatch: error: cannot listen on 127.0.0.1:{port}: address already in use"
    ]


def test_reflect_stops_on_sigterm_with_its_summary(
    reflector: tuple[subprocess.Popen[str], int],
) -> None:
    proc, _ = reflector
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "0 requests reflected" in err


def test_probe_errors_exit_2_with_one_line() -> None:
    result = headerwatch("probe", f"http://127.0.0.1:{_free_port()}/")
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "connection refused" in line


def test_probe_piped_into_head_is_quiet(reflector: tuple[subprocess.Popen[str], int]) -> None:
    _, port = reflector
    url = f"http://127.0.0.1:{port}/"
    # Two URLs: the second line goes to a pipe whose reader has left.
    result = subprocess.run(
        f"{sys.executable} -m tui.cli probe --region GB {url} {url} {url} | head -c 1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout == "h"
    assert result.stderr == ""


def test_probe_exits_1_for_an_injected_identity_even_when_another_url_fails(
    reflector: tuple[subprocess.Popen[str], int],
) -> None:
    _, port = reflector
    dead = f"http://127.0.0.1:{_free_port()}/"
    with enrichment_proxy(("127.0.0.1", port), {"x-msisdn": "447700900456"}) as proxy:
        result = headerwatch(
            "probe", "--region", "GB", "--fail-on-identity", dead, f"http://127.0.0.1:{proxy}/"
        )
    assert result.returncode == 1, result.stderr
    assert "+ x-msisdn: 447700900456   [msisdn +447700900456]" in result.stdout
    err = result.stderr.strip().splitlines()
    assert "connection refused" in err[0]
    assert err[1] == (
        "headerwatch: an identity was injected (exit 1), though 1 of 2 URLs could not be probed"
    )


def test_probe_exits_2_only_when_no_url_could_be_probed(
    reflector: tuple[subprocess.Popen[str], int],
) -> None:
    _, port = reflector
    dead = [f"http://127.0.0.1:{_free_port()}/" for _ in range(2)]
    none = headerwatch("probe", "--fail-on-identity", *dead)
    assert none.returncode == 2
    assert len(none.stderr.strip().splitlines()) == 2
    some = headerwatch("probe", "--fail-on-identity", dead[0], f"http://127.0.0.1:{port}/")
    assert some.returncode == 0, some.stderr
    assert "nothing added, removed or changed" in some.stdout
    # Before: "1 of 2 URLs could not be probed; the others were", of one URL.
    assert "headerwatch: 1 of 2 URLs could not be probed; 1 URL was probed" in some.stderr
    two = headerwatch("probe", *dead, f"http://127.0.0.1:{port}/", f"http://127.0.0.1:{port}/a")
    assert "headerwatch: 2 of 4 URLs could not be probed; 2 URLs were probed" in two.stderr


def test_probe_scramble_case_names_the_headers_a_proxy_re_cased_in_jsonl(
    reflector: tuple[subprocess.Popen[str], int],
) -> None:
    _, port = reflector
    with enrichment_proxy(("127.0.0.1", port), {}, strip=("Cookie",), recase=True) as proxy:
        url = f"http://127.0.0.1:{proxy}/"
        plain = headerwatch("probe", "--format", "jsonl", url)
        scrambled = headerwatch("probe", "--format", "jsonl", "--scramble-case", url)
    assert plain.returncode == 0 and scrambled.returncode == 0, scrambled.stderr
    before, after = json.loads(plain.stdout), json.loads(scrambled.stdout)
    assert before["recased"] == [] and before["scrambled"] is False
    assert [r[0].lower() for r in before["removed"]] == ["cookie"]
    assert after["scrambled"] is True
    assert [received for _, received in after["recased"]] == [
        "Host", "User-Agent", "Accept", "Accept-Language", "Accept-Encoding", "Connection",
        "Cache-Control",
    ]  # fmt: skip
    assert all(sent != received for sent, received in after["recased"])
    assert [r[0].lower() for r in after["removed"]] == ["cookie"]


def test_probe_piped_into_head_one_line_is_quiet_with_a_zero_status(
    reflector: tuple[subprocess.Popen[str], int],
) -> None:
    _, port = reflector
    with enrichment_proxy(("127.0.0.1", port), {"Via": "1.1 carrier"}, strip=("Accept",)) as proxy:
        url = f"http://127.0.0.1:{proxy}/"
        result = subprocess.run(
            ["bash", "-c", f'{sys.executable} -m tui.cli probe --region GB {url} {url} {url} '
             '| head -1; echo "status ${PIPESTATUS[0]}" >&2'],
            capture_output=True,
            text=True,
            timeout=60,
        )  # fmt: skip
    assert result.stdout == f"{url}: 1 header added, 1 removed, 0 changed on the way\n"
    assert result.stderr == "status 0\n"


def test_probe_jsonl_escapes_bidi_and_c1_characters_a_proxy_put_in_a_header(
    reflector: tuple[subprocess.Popen[str], int],
) -> None:
    _, port = reflector
    hostile = "\u202eevil\u0085tail"
    with enrichment_proxy(("127.0.0.1", port), {"X-Note": hostile}) as proxy:
        result = headerwatch("probe", "--format", "jsonl", f"http://127.0.0.1:{proxy}/")
    assert result.returncode == 0, result.stderr
    assert "\u202e" not in result.stdout and "\u0085" not in result.stdout
    assert "\\u202e" in result.stdout  # escaped, still JSON
    assert ["X-Note", hostile] in json.loads(result.stdout)["injected"]


def test_probe_label_is_carried_into_jsonl_and_a_url_without_echo_is_a_line_with_its_error(
    reflector: tuple[subprocess.Popen[str], int],
) -> None:
    _, port = reflector
    dead = f"http://127.0.0.1:{_free_port()}/"
    label = "carrier=Test Mobile, sim=prepaid"
    result = headerwatch(
        "probe", "--format", "jsonl", "--label", label, dead, f"http://127.0.0.1:{port}/"
    )
    assert result.returncode == 0, result.stderr
    failed, probed = (json.loads(line) for line in result.stdout.splitlines())
    assert failed["url"] == dead and failed["label"] == label
    assert "connection refused" in failed["error"]
    assert "sent" not in failed
    assert probed["label"] == label and probed["client"] == "127.0.0.1"
    assert "error" not in probed
