"""A request's anomalies (capture gaps, a head cut, TCP evasion, a reflector's
refusal) are caveats on its evidence: its row in the list carries ``⚠``, as its
detail does before each note, and ``~anomaly`` finds it."""

from __future__ import annotations

from capture.model import RequestSeen
from tests.tui.fakes import O2_FINDING, OK, make_app, record
from tui.messages import EventsArrived

RESET = "TCP reset not at the next byte passed over (the server may have ignored it too)"


async def test_a_row_with_anomalies_carries_the_mark_beside_its_badges_at_80x24() -> None:
    app = make_app()
    records = [
        record(1, "www.bbc.co.uk", findings=[O2_FINDING], response=OK),
        record(2, "www.bbc.co.uk", findings=[O2_FINDING], response=OK, anomalies=[RESET]),
        record(3, "www.example.com", anomalies=["header block larger than 65536 bytes; cut"]),
        record(4, "www.example.com", response=OK),
    ]
    async with app.run_test(size=(80, 24)) as pilot:
        app.post_message(EventsArrived([RequestSeen(r) for r in records]))
        await pilot.pause()
        requests = app.main.requests
        header = requests.render_line(0).text
        column = header.index("IDENTITIES")
        rows = [requests.render_line(y).text for y in range(1, 5)]
        assert all(len(row.rstrip()) <= 80 for row in rows)
        marks = [row[column:].lstrip()[:1] == "⚠" for row in rows]
        assert marks == [False, True, True, False], rows
        assert "⚠  MSISDN" in rows[1] and "MSISDN" in rows[0] and "⚠" not in rows[0]
        app.main.apply_filter("~anomaly")
        await pilot.pause()
        assert list(requests.rows) == [2, 3]
