"""Typed readers of the fields of a decoded JSON record, with one wording for errors.

Every record format read from JSON goes through these: headerwatch's own JSONL
(:mod:`capture.formats.jsonl`), HAR (:mod:`capture.sources.har_input`), Suricata's
eve.json (:mod:`capture.sources.eve`) and Zeek's http.log
(:mod:`capture.sources.zeek`). A field that is wrong raises :class:`ValueError`
worded the same whatever the format, which the reader passes on as the reason a
line or entry was passed over:

- ``<field>: missing`` (absent, and no default);
- ``<field>: not a string`` / ``not a whole number`` / ``not a number`` /
  ``not an object`` / ``not a list`` / ``not a list of strings`` /
  ``not a list of {name, value} objects`` / ``not a list of [name, value] pairs``;
- ``<field>: not an ISO 8601 time ('...')``;
- and, for the request a record gives (:func:`checked`): ``time ...: not from 1970
  to 2106-02-07``, ``source port ...: not from 0 to 65535`` and the like.

A field is read by its key in the object given; ``at`` names where that object sits
in the record, so that the message gives the dotted path from the top
(``request.url``, ``http.request_headers``). Keys are not split at dots: Zeek's
``id.orig_h`` is one key.

Types are checked exactly (``type(x) is str``): a JSON decoder gives exact types,
and ``true`` is not taken for a whole number. JSON ``null`` is a value of the wrong
type for a required field, and no list for a list field.

Eve is read a million lines at a time: each reader is one dictionary lookup and one
type test when the field is right; the message is built only when it is wrong.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from capture.model import Header, Parsed

MISSING: Any = object()
"""The default of a required field: absent, it raises ``<field>: missing``."""

_NAME_VALUE = itemgetter("name", "value")


def _wrong(key: str, at: str, value: Any, what: str) -> ValueError:
    path = f"{at}.{key}" if at else key
    return ValueError(f"{path}: missing" if value is MISSING else f"{path}: not {what}")


def string(obj: dict[str, Any], key: str, default: Any = MISSING, at: str = "") -> str:
    """The string at ``key`` (``default`` when absent)."""
    value = obj.get(key, default)
    if type(value) is str:
        return value
    raise _wrong(key, at, value, "a string")


def optional_string(obj: dict[str, Any], key: str, at: str = "") -> str | None:
    """The string at ``key``; None when absent or null."""
    value = obj.get(key)
    if value is None or type(value) is str:
        return value
    raise _wrong(key, at, value, "a string")


def whole(obj: dict[str, Any], key: str, default: Any = MISSING, at: str = "") -> int:
    """The whole number at ``key`` (``default`` when absent); not ``true``/``false``."""
    value = obj.get(key, default)
    if type(value) is int:
        return value
    raise _wrong(key, at, value, "a whole number")


def number(obj: dict[str, Any], key: str, default: Any = MISSING, at: str = "") -> float:
    """The number (whole or not) at ``key`` as a float (``default`` when absent)."""
    value = obj.get(key, default)
    if type(value) is float or type(value) is int:
        return float(value)
    raise _wrong(key, at, value, "a number")


def mapping(obj: dict[str, Any], key: str, at: str = "") -> dict[str, Any]:
    """The object at ``key`` (required)."""
    value = obj.get(key, MISSING)
    if type(value) is dict:
        return value
    raise _wrong(key, at, value, "an object")


def array(obj: dict[str, Any], key: str, at: str = "") -> list[Any]:
    """The list at ``key``; empty when absent or null."""
    value = obj.get(key)
    if type(value) is list:
        return value
    if value is None:
        return []
    raise _wrong(key, at, value, "a list")


def optional_strings(obj: dict[str, Any], key: str, at: str = "") -> list[str] | None:
    """The list of strings at ``key``; None when absent or null (which a log can mean
    apart from an empty list: not logged, rather than none)."""
    value = obj.get(key)
    if value is None:
        return None
    if type(value) is list and all(type(x) is str for x in value):
        return value
    raise _wrong(key, at, value, "a list of strings")


def strings(obj: dict[str, Any], key: str, at: str = "") -> list[str]:
    """The list of strings at ``key``; empty when absent or null."""
    value = optional_strings(obj, key, at)
    return [] if value is None else value


def name_values(items: Any, where: str) -> tuple[Header, ...]:
    """A ``[{"name": ..., "value": ...}]`` list (HAR's and Suricata's header lists) as
    header pairs, in order, duplicates kept; none for ``None``. ``where`` is the
    field's dotted path, for the message."""
    if type(items) is list:
        try:
            # itemgetter over the list runs in C: this is once per eve.json event.
            pairs = tuple(map(_NAME_VALUE, items))
        except (TypeError, KeyError):
            pass
        else:
            for name, value in pairs:
                if type(name) is not str or type(value) is not str:
                    break
            else:
                return pairs
        raise ValueError(f"{where}: not a list of {{name, value}} objects")
    if items is None:
        return ()
    raise ValueError(f"{where}: not a list")


def pairs(obj: dict[str, Any], key: str, at: str = "") -> tuple[Header, ...]:
    """A ``[[name, value], ...]`` list (headerwatch's JSONL header blocks) at ``key``
    as header pairs; empty when absent or null."""
    out = []
    for pair in array(obj, key, at):
        if not (
            type(pair) is list and len(pair) == 2 and type(pair[0]) is str and type(pair[1]) is str
        ):
            raise _wrong(key, at, pair, "a list of [name, value] pairs")
        out.append((pair[0], pair[1]))
    return tuple(out)


def iso_time(obj: dict[str, Any], key: str, at: str = "") -> float:
    """The ISO 8601 time at ``key`` as seconds since the epoch; one without an offset
    is taken as UTC (engines and HAR writers mean UTC; the reading machine's zone
    would shift it)."""
    value = obj.get(key, MISSING)
    if type(value) is str:
        try:
            when = datetime.fromisoformat(value)
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return when.timestamp()
        except (ValueError, OverflowError, OSError):
            pass
        raise _wrong(key, at, value, f"an ISO 8601 time ({value[:40]!r})")
    raise _wrong(key, at, value, "an ISO 8601 time")


LAST_TS = float((1 << 32) - 1)
"""The latest time a record may give (2106-02-07, as for a capture's packets:
:data:`capture.sources.frames.MAX_TS`): past it, times are not ones any tool wrote,
and the report cannot write them as dates."""
_LARGEST = (1 << 63) - 1  # a whole number JSON writers and orjson can write back


def checked(parsed: Parsed) -> Parsed:
    """``parsed``, when its request holds values a request can have: a time from 1970
    to :data:`LAST_TS`, ports from 0 to 65535, a flow, depth and body length from 0 to
    2^63 - 1; else ValueError naming the first that does not (a Zeek ``id.orig_p`` past
    64 bits made the JSONL writer fail, losing every request of the scan; a ``ts`` of
    1e30 the report). A response that does not (a time, or a status past those) is
    left out, the request saying so, as a response that cannot be read is: a request
    is no less sent for it. One test when all are right."""
    r = parsed.request
    response = parsed.response
    if (
        0.0 <= r.ts <= LAST_TS
        and 0 <= r.sport <= 65535
        and 0 <= r.dport <= 65535
        and 0 <= r.flow <= _LARGEST
        and 0 <= r.depth <= _LARGEST
        and 0 <= r.body_length <= _LARGEST
        and (
            response is None or (0.0 <= response.ts <= LAST_TS and 0 <= response.status <= _LARGEST)
        )
    ):
        return parsed
    for what, value, low, high in (
        ("time", r.ts, 0.0, LAST_TS),
        ("source port", r.sport, 0, 65535),
        ("destination port", r.dport, 0, 65535),
        ("flow", r.flow, 0, _LARGEST),
        ("depth", r.depth, 0, _LARGEST),
        ("body length", r.body_length, 0, _LARGEST),
    ):
        if not low <= value <= high:
            raise ValueError(_out_of_range(what, value, low, high))
    assert response is not None  # the request's values are right: the response's are not
    why = (
        _out_of_range("response time", response.ts, 0.0, LAST_TS)
        if not 0.0 <= response.ts <= LAST_TS
        else _out_of_range("response status", response.status, 0, _LARGEST)
    )
    note = f"response not read ({why})"
    return replace(parsed, request=replace(r, anomalies=(*r.anomalies, note)), response=None)


def _out_of_range(what: str, value: float, low: float, high: float) -> str:
    shown = repr(value)
    shown = shown if len(shown) <= 40 else shown[:39] + "…"
    bounds = "1970 to 2106-02-07" if what.endswith("time") else f"{low} to {high}"
    return f"{what} {shown}: not from {bounds}"
