"""Which records a command prints, and its exit code."""

from __future__ import annotations

from capture.view.selection import EXIT_IDENTITY, EXIT_OK, Selection
from tests.capture.factories import finding, record


def test_selection_keeps_and_counts() -> None:
    plain, leak, info = record(1), record(2, (finding(),)), record(3, (finding("client_ip"),))
    every = Selection()
    assert [every.keep(r) for r in (plain, leak, info)] == [True, True, True]
    assert every.identities == 1
    only = Selection(only_identity=True)
    assert [only.keep(r) for r in (plain, leak, info)] == [False, True, False]
    assert only.exit_code(fail_on_identity=True) == EXIT_IDENTITY
    assert only.exit_code(fail_on_identity=False) == EXIT_OK
    assert Selection().exit_code(fail_on_identity=True) == EXIT_OK


def test_selection_keeps_a_record_whose_identity_follows_an_informational_finding() -> None:
    both = record(1, (finding("client_ip", severity="info"), finding()))
    only = Selection(only_identity=True)
    assert only.keep(both)
    assert only.identities == 1
