"""What shape makes a value a device or advertising ID, in the words of its detail."""

from __future__ import annotations

import pytest

from capture.identity.deviceid import device_id_detail


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ("38400000-8cf0-11bd-b23e-10b96e40000d", "UUID"),
        ("9774d56d682e549c", "16 hex digits"),
        # Branch's device_fingerprint_id is decimal: it read "19 hex digits".
        ("1172860168313205995", "19 digits"),
        ("XZ1a2b3c4d5e6f7g8h9i", "20-character token"),
        ("unknown", None),
    ],
)
def test_a_device_ids_detail_names_its_shape(value: str, detail: str | None) -> None:
    assert device_id_detail(value) == detail
