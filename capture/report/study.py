"""Study mode: many tests (probe results, reflector logs, echoed captures) per network.

Each test gets a verdict after AIBT (Access Now's AmIBeingTracked) and OONI's
HTTP Header Field Manipulation test:

- ``injected``: an identity arrived in a header the device did not send (the
  probe's echo, or a capture's echo, sets what was sent beside what arrived and
  shows it added or changed on the way);
- ``arrived with identity``: a reflector's own log
  (:data:`~capture.formats.jsonl.REFLECTOR_KEY`) shows a request arrive with an
  identity header in it. The log holds only what arrived: whether the device sent
  it or the network added it, only what was sent can tell (the probe's echo);
- ``clean``: the test was echoed and no identity was added (or a reflector's log
  shows the request arrive without one);
- ``inconclusive``: the test says nothing about the network: it went over HTTPS
  (no carrier can add headers inside TLS), came over Wi-Fi (the label says so:
  ``net=wifi``), or had no echo (the probe failed, or a captured or recorded
  request was never answered by a reflector: what the device sent is not known,
  whatever the request carried; or it was recorded on the phone's side, by mitmproxy
  or in a HAR, before any network: the device sent what it carried).

Tests are grouped by network: the ``label`` a tester gave ``probe --label``
(``carrier=O2 UK, sim=…``), else the client address range (/24 for IPv4, /48
for IPv6; in a redacted study a mask of it, :func:`client_network`). Everything
here is pure; :mod:`capture.report.write` reads the files.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from capture.formats.redact import Redactor
from capture.http.echo import added_on_the_way
from capture.model import IDENTITY_KINDS, WHERE_HEADER, Finding, Record
from capture.report.attribution import RECEIVED, SENT, vantage
from capture.report.model import safe
from capture.text import counted

INJECTED = "injected"
ARRIVED = "arrived with identity"
CLEAN = "clean"
INCONCLUSIVE = "inconclusive"
VERDICTS = (INJECTED, ARRIVED, CLEAN, INCONCLUSIVE)

NETWORK_COLUMNS = (
    "Network",
    "Tests",
    *(verdict.capitalize() for verdict in VERDICTS),
    "Headers added or changed",
)
"""The table of networks, in both renderers: a count of each verdict in its order."""

WIFI_VALUES = frozenset(("wifi", "wi-fi", "wlan"))
"""Label values (``net=wifi``) that say the test did not go over the mobile network."""


STUDY_METHOD = (
    "Each test is one request from the tester's device to a reflector (headerwatch probe, "
    "or a reflector's log) with what arrived. Verdicts, after Access Now's AmIBeingTracked "
    "and OONI's HTTP Header Field Manipulation test: injected, when an identity arrived "
    "in a header the device did not send (an echo sets what was sent beside what arrived); "
    "arrived with identity, when a reflector's log shows a request arrive with an identity "
    "header (the log holds only what arrived, so who put it there is not known); clean, "
    "when the echo shows none was added, or the log that none arrived; "
    "inconclusive, when the test cannot tell: it went over HTTPS (no one on the way can "
    "add headers inside TLS), over Wi-Fi (the label says net=wifi), or had no echo (the "
    "probe failed, or a captured request was never answered by a reflector, so what the "
    "device sent is not known, whatever the request carried). An echo signed with the "
    "tester's echo key (reflect --echo-key) says so (\"signed\"): only the tester's "
    "reflector can have written it, where any server can write one that is not. Tests are "
    "grouped by the label given to probe --label, else by the client address range "
    "(/24 for IPv4, /48 for IPv6)."
)
"""The Method section of a study, in both renderers."""


@dataclass(frozen=True, slots=True)
class Test:
    """One test and its verdict."""

    ts: float
    target: str
    """The probed URL, or the site the request went to."""
    network: str
    verdict: str
    why: str
    headers: tuple[str, ...]
    """Names of the headers an echo shows added or changed on the way."""
    identities: tuple[str, ...]
    """``kind value`` of the identities injected, that arrived, or that the request
    carried where who put them there is not known (the verdict says which; masked in
    a redacted study)."""
    echoed: bool = False
    """An echo set what was sent beside what arrived: ``headers`` is all that was added."""


@dataclass(frozen=True, slots=True)
class Network:
    """The tests of one network."""

    name: str
    tests_list: tuple[Test, ...]

    @property
    def tests(self) -> int:
        """How many tests."""
        return len(self.tests_list)

    def count(self, verdict: str) -> int:
        """Tests with ``verdict``."""
        return sum(1 for t in self.tests_list if t.verdict == verdict)

    @property
    def injected(self) -> int:
        """Tests that showed an identity injected."""
        return self.count(INJECTED)

    @property
    def arrived(self) -> int:
        """Tests a reflector's log shows arriving with an identity, from whoever."""
        return self.count(ARRIVED)

    @property
    def clean(self) -> int:
        """Tests echoed with no identity added (or logged arriving without one)."""
        return self.count(CLEAN)

    @property
    def inconclusive(self) -> int:
        """Tests that say nothing about the network."""
        return self.count(INCONCLUSIVE)

    @property
    def headers(self) -> tuple[str, ...]:
        """Every header added on the way in this network's tests, first seen first."""
        seen: dict[str, None] = {}
        for test in self.tests_list:
            seen.update(dict.fromkeys(test.headers))
        return tuple(seen)

    @property
    def added(self) -> str:
        """:attr:`headers` in words: "none" only where an echo showed what was added;
        without one (a log, a capture no reflector answered) it is not known."""
        if self.headers:
            return ", ".join(self.headers)
        return "none" if any(t.echoed for t in self.tests_list) else "not known (no echo)"


@dataclass(frozen=True, slots=True)
class Study:
    """Networks in order of first test."""

    networks: tuple[Network, ...]

    @property
    def summary(self) -> str:
        """One paragraph: how many tests, networks, which networks injected, and apart
        from them where an identity arrived at a reflector from whoever put it there."""
        tests = sum(n.tests for n in self.networks)
        bad = [n.name for n in self.networks if n.injected]
        arrived = [n.name for n in self.networks if n.arrived]
        text = f"{counted(tests, 'test')} over {counted(len(self.networks), 'network')}. "
        said = []
        if bad:
            said.append("An identity was injected on the way in " + "; ".join(bad) + ".")
        if arrived:
            said.append(
                "An identity arrived at a reflector in " + "; ".join(arrived) + ": its log "
                "holds only what arrived, so whether the device or the network put it "
                "there is not known (headerwatch probe sets what was sent beside it)."
            )
        if said:
            text += " ".join(said)
        elif any(n.clean for n in self.networks):
            # What could not be judged is not counted as clean.
            unsure = sum(n.inconclusive for n in self.networks)
            text += "No network injected an identity in " + (
                f"the {counted(tests - unsure, 'test')} that could tell ({unsure} inconclusive)."
                if unsure
                else "these tests."
            )
        else:
            text += (
                "None of them could tell whether a network added an identity: each is "
                "inconclusive (no reflector's echo, HTTPS or Wi-Fi)."
            )
        return text


def _label_says_wifi(label: str) -> bool:
    for part in re.split(r"[,;]", label):
        _key, sep, value = part.partition("=")
        if sep and value.strip().lower() in WIFI_VALUES:
            return True
    return False


def address_range(address: str) -> str:
    """The range a client address is grouped in: /24 for IPv4, /48 for IPv6."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown client"
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def client_network(address: str, redactor: Redactor | None) -> str:
    """The network of a test without a label: the client's address range; in a
    redacted study a mask of that range, ``<client /24 #3f9a1c2b7e>`` (the prefix
    length and a keyed hash: the same range, the same mask within one study)."""
    network = address_range(address)
    if redactor is None:
        return safe(network)
    if not address:
        return network  # "unknown client": nothing to hide
    prefix = network.partition("/")[2]
    return f"<client{' /' + prefix if prefix else ''} #{redactor.tag(network)}>"


_LONG_DIGITS = re.compile(r"\+?\d[\d ]{5,}\d")


def network_label(label: str, redactor: Redactor | None) -> str:
    """A tester's label, safe to show; in a redacted study, runs of seven or more
    digits (a SIM's number or IMSI a tester put in the label) are masked, a phone
    number or an IMSI with the mask its findings have (``sim=447700900123`` and the
    number injected on that network read as the same number)."""
    if redactor is not None:
        label = _LONG_DIGITS.sub(lambda m: _label_mask(redactor, m.group()), label)
    return safe(label)


def _label_mask(redactor: Redactor, text: str) -> str:
    """The mask of a run of digits in a label: as a finding of it would be masked."""
    from capture.identity.devices import parse_imsi
    from capture.identity.phone import parse_lenient

    digits = text.replace(" ", "")
    imsi = parse_imsi(digits.lstrip("+"))
    if imsi is not None:
        return redactor.mask("imsi", imsi.digits)
    number = parse_lenient(digits, None)
    if number is not None:
        return redactor.mask("msisdn", number.e164)
    return redactor.mask("label", digits)


def _mask(redactor: Redactor | None, kind: str, value: str) -> str:
    if redactor is None or kind not in IDENTITY_KINDS:
        return safe(f"{kind} {value}")
    return f"{kind} {redactor.mask(kind, value)}"


def is_probe_result(obj: Any) -> bool:
    """Whether a JSON object is a ``probe --format jsonl`` line."""
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("url"), str)
        and ("sent" in obj or "error" in obj)
    )


def probe_test(obj: Mapping[str, Any], redactor: Redactor | None = None) -> Test:
    """The test of one ``probe --format jsonl`` object (see docs/jsonl.md)."""
    url = str(obj.get("url", ""))
    label = str(obj.get("label") or "")
    client = str(obj.get("client") or "")
    network = network_label(label, redactor) if label else client_network(client, redactor)
    ts = obj.get("ts")
    stamp = float(ts) if isinstance(ts, int | float) else 0.0
    target = safe(url)
    if url.lower().startswith("https:"):
        return Test(
            stamp, target, network, INCONCLUSIVE, "HTTPS: nothing can be added inside TLS", (), ()
        )
    wifi = _label_says_wifi(label)
    if "error" in obj or "sent" not in obj:
        why = (
            "over Wi-Fi (label)" if wifi else f"no echo: {safe(str(obj.get('error') or 'no echo'))}"
        )
        return Test(stamp, target, network, INCONCLUSIVE, why, (), ())
    names = [
        h[0]
        for key in ("injected", "changed")
        for h in obj.get(key) or ()
        if isinstance(h, list) and h and isinstance(h[0], str)
    ]
    if wifi:
        # Not the carrier's path, so no verdict on it; but its echo shows what this
        # path added (nothing, or a café's proxy's Via).
        added = tuple(dict.fromkeys(safe(n) for n in names))
        return Test(stamp, target, network, INCONCLUSIVE, "over Wi-Fi (label)", added, (), True)
    identities = tuple(
        _mask(redactor, str(f.get("kind")), str(f.get("normalized")))
        for f in obj.get("findings") or ()
        if isinstance(f, dict) and f.get("kind") in IDENTITY_KINDS
    )
    headers = tuple(dict.fromkeys(safe(n) for n in names))
    echo = "weak JSON echo" if obj.get("echo") == "json-echo" else "reflector's echo"
    if obj.get("echo_signed") is True:
        echo += ", signed"
    if identities:
        return Test(
            stamp, target, network, INJECTED, f"{echo}: identity added", headers, identities, True
        )
    why = f"{echo}: no identity added" + (
        f" ({counted(len(headers), 'header')} added or changed)" if headers else ""
    )
    return Test(stamp, target, network, CLEAN, why, headers, (), True)


def record_test(
    record: Record, redactor: Redactor | None = None, label: str = "", received: bool = False
) -> Test:
    """The test of one record: with a transit (a capture or scan JSONL with a
    reflector's echo), from what was added; ``received`` (read from a reflector's own
    log), the request as received: an identity header in it arrived with the request,
    from the device or the network (:data:`ARRIVED`), never proof of injection.
    Any other record says nothing of what the network did: inconclusive (one recorded
    on the phone's side says the device sent what it carried:
    :func:`capture.report.attribution.vantage`)."""
    req = record.request
    network = network_label(label, redactor) if label else client_network(req.src, redactor)
    target = safe(req.destination)
    if req.dport == 443:
        return Test(req.ts, target, network, INCONCLUSIVE, "HTTPS port", (), ())
    moved = record.transit
    if moved is not None:
        found = [f for f in record.identities if added_on_the_way(req.headers, moved, f)]
        headers = tuple(
            dict.fromkeys(
                safe(n) for n in (*(h[0] for h in moved.injected), *(c[0] for c in moved.changed))
            )
        )
        ids = tuple(_mask(redactor, f.kind, f.normalized) for f in found)
        echo = "echo, signed" if moved.signed else "echo"
        if ids:
            return Test(
                req.ts, target, network, INJECTED, f"{echo}: identity added", headers, ids, True
            )
        why = f"{echo}: no identity added"
        return Test(req.ts, target, network, CLEAN, why, headers, (), True)
    found = [f for f in record.identities if f.where == WHERE_HEADER]
    seen = vantage(record, received)
    if seen.vantage == SENT:
        why = f"seen before any network ({seen.how}): what a network adds is not seen"
        if found:
            names = ", ".join(dict.fromkeys(safe(f.name) for f in found))
            why += f"; the phone or an app on it sent the identity header ({names})"
        return Test(req.ts, target, network, INCONCLUSIVE, why, (), _masked(found, redactor))
    if seen.vantage != RECEIVED:
        why = "no reflector's echo: what the device sent is not known"
        if found:
            names = ", ".join(dict.fromkeys(safe(f.name) for f in found))
            why = (
                f"no reflector's echo: it carried an identity header ({names}), but "
                "whether the device or the network put it there is not known"
            )
        return Test(req.ts, target, network, INCONCLUSIVE, why, (), _masked(found, redactor))
    if found:
        # Only what arrived: the device may have sent it, and only what it sent, set
        # beside this (the probe's echo), can show the network added it.
        names = ", ".join(dict.fromkeys(safe(f.name) for f in found))
        return Test(
            req.ts,
            target,
            network,
            ARRIVED,
            f"received by the reflector with an identity header ({names}); who put it "
            "there is not known without what was sent",
            (),
            _masked(found, redactor),
        )
    return Test(
        req.ts, target, network, CLEAN, "received by the reflector without an identity", (), ()
    )


def _masked(found: Iterable[Finding], redactor: Redactor | None) -> tuple[str, ...]:
    """``kind value`` of each identity of ``found`` (masked where ``redactor`` masks)."""
    return tuple(_mask(redactor, f.kind, f.normalized) for f in found)


def build_study(tests: Iterable[Test]) -> Study:
    """Tests grouped per network, networks in order of first test."""
    groups: dict[str, list[Test]] = {}
    for test in sorted(tests, key=lambda t: t.ts):
        groups.setdefault(test.network, []).append(test)
    return Study(tuple(Network(name, tuple(tests)) for name, tests in groups.items()))
