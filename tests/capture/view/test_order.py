"""The request list's display order: sorted rows kept apart from capture order."""

from __future__ import annotations

import dataclasses

from capture.model import Finding, Record, Request, Response
from capture.view.order import (
    BY_NAME,
    ORDERS,
    TIME,
    FieldsOf,
    SortedRows,
    next_order,
    sort_fields,
    uri_path,
)
from capture.view.store import Entry


def _finding(kind: str, severity: str) -> Finding:
    return Finding("h", "header", kind, "v", "v", "catalog", severity)


def _record(
    rid: int,
    host: str,
    uri: str = "/",
    method: str = "GET",
    status: int | None = None,
    findings: tuple[Finding, ...] = (),
) -> Record:
    request = Request(
        ts=float(rid), flow=rid, depth=1, src="192.0.2.1", sport=40000, dst="198.51.100.1",
        dport=80, method=method, uri=uri, version="HTTP/1.1", headers=(("Host", host),),
    )  # fmt: skip
    response = Response(rid + 0.1, "HTTP/1.1", status, "", ()) if status else None
    return Record(rid, request, findings, response)


def _entries() -> dict[int, Entry]:
    records = [
        _record(1, "b.example", "/z", "POST", 200, (_finding("imei", "medium"),)),
        _record(2, "A.example", "/a", "GET", 404),
        _record(3, "c.example", "/m", "GET", None, (_finding("msisdn", "high"),)),
        _record(4, "a.example", "/b", "HEAD", 301),
    ]
    return {r.id: Entry(r) for r in records}


def _fields(entries: dict[int, Entry]) -> FieldsOf:
    """The sort fields of the entries asked for, as the store gives them."""
    return lambda ids: {i: sort_fields(entries[i].record) for i in ids if i in entries}


def test_sorting_by_host_ignores_case_and_ties_keep_capture_order() -> None:
    entries = _entries()
    rows = SortedRows(BY_NAME["host"], False, _fields(entries), [1, 2, 3, 4])
    assert list(rows) == [2, 4, 1, 3]
    assert [rows[i] for i in range(4)] == [2, 4, 1, 3]
    assert rows.index_of(1) == 2 and rows.index_of(99) == -1


def test_reversed_rows_are_indexed_from_the_other_end() -> None:
    entries = _entries()
    rows = SortedRows(BY_NAME["host"], True, _fields(entries), [1, 2, 3, 4])
    # Equal hosts (a.example twice) stay in capture order.
    assert list(rows) == [3, 1, 2, 4] == rows[:]
    assert rows[0] == 3 and rows[-1] == 4
    assert rows.index_of(3) == 0 and rows.index_of(4) == 3
    rows.keep_only(lambda rid: rid != 1)
    assert list(rows) == [3, 2, 4]


def test_time_reversed_is_newest_first() -> None:
    rows = SortedRows(TIME, True, _fields(_entries()), [1, 2, 3, 4])
    assert list(rows) == [4, 3, 2, 1] and rows.index_of(4) == 0


def test_a_new_row_goes_to_its_sorted_place_and_a_deleted_one_leaves() -> None:
    entries = _entries()
    rows = SortedRows(BY_NAME["path"], False, _fields(entries), [1, 2, 3])
    entries[5] = Entry(_record(5, "d.example", "http://d.example/b?q=1"))
    rows.add([5])
    rows.add([5, 5])  # twice: still one row
    assert list(rows) == [2, 5, 3, 1]
    rows.discard(3)
    rows.discard(3)
    assert list(rows) == [2, 5, 1] and 3 not in rows


def test_a_row_whose_status_came_later_moves_to_its_new_place() -> None:
    entries = _entries()
    rows = SortedRows(BY_NAME["status"], False, _fields(entries), [1, 2, 3, 4])
    assert list(rows) == [3, 1, 4, 2]  # no response yet sorts first
    old = entries[3].record
    entries[3].record = dataclasses.replace(old, response=Response(3.1, "HTTP/1.1", 500, "", ()))
    assert rows.rekey([3]) and not rows.rekey([3, 1])
    assert list(rows) == [1, 4, 2, 3]


def test_identities_sort_most_severe_first_when_picked() -> None:
    entries = _entries()
    order = BY_NAME["identities"]
    rows = SortedRows(order, order.descending, _fields(entries), [1, 2, 3, 4])
    assert list(rows) == [3, 1, 2, 4]  # high, medium, then none in capture order


def test_keep_only_drops_the_rows_the_window_trimmed() -> None:
    entries = _entries()
    rows = SortedRows(BY_NAME["method"], False, _fields(entries), [1, 2, 3, 4])
    rows.keep_only(lambda rid: rid >= 3)
    assert list(rows) == [3, 4] and rows.index_of(1) == -1


def test_a_row_gone_from_the_store_still_has_a_place() -> None:
    rows = SortedRows(BY_NAME["status"], False, _fields(_entries()), [1, 2, 99])
    assert list(rows) == [99, 1, 2]


def test_o_goes_round_every_order_back_to_time() -> None:
    seen = [TIME]
    while (order := next_order(seen[-1])) is not TIME:
        seen.append(order)
    assert tuple(seen) == ORDERS
    assert [o.name for o in ORDERS] == ["time", "host", "path", "method", "status", "identities"]


def test_uri_path_drops_scheme_and_authority() -> None:
    assert uri_path(_record(1, "h", "http://h.example/x?y")) == "/x?y"
    assert uri_path(_record(1, "h", "http://h.example")) == "/"
    assert uri_path(_record(1, "h", "/p")) == "/p"
