"""What shape makes a value a device or advertising ID, in the words of its detail."""

from __future__ import annotations

import pytest

from capture.identity.deviceid import device_id_detail


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ("cdda802e-fb9c-47ad-9866-0794d394c912", "UUID"),
        # Integral Ad Science's asid=, a version-1 UUID per ad session: no device's.
        ("6e3ee32a-255d-11e6-9681-14dda9d4b894", None),
        ("9774d56d682e549c", "16 hex digits"),
        # Branch's device_fingerprint_id is decimal: it read "19 hex digits".
        ("1172860168313205995", "19 digits"),
        ("XZ1a2b3c4d5e6f7g8h9i", "20-character token"),
        ("unknown", None),
    ],
)
def test_a_device_ids_detail_names_its_shape(value: str, detail: str | None) -> None:
    assert device_id_detail(value) == detail


def test_an_ad_sessions_time_based_uuid_under_asid_is_no_device_id() -> None:
    """IAS's asid= on a news page: 23 "device ID" findings, a dozen values in one page
    load; Singular's asid (the app set ID, random) is still one."""
    from capture.identity.detector import IdentityDetector
    from tests.capture.factories import request

    detector = IdentityDetector()
    session = "/dtc?asid=6e3ee32a-255d-11e6-9681-14dda9d4b894&second_pass=1"
    assert detector.detect(request(uri=session, headers=[("Host", "sc.iasds01.com")])) == ()
    app_set = "/api/v1/start?asid=0233f1e9-4801-4178-9b33-6643c9c8137a"
    found = detector.detect(request(uri=app_set, headers=[("Host", "sdk-api-v1.singular.net")]))
    assert [(f.kind, f.detail) for f in found] == [("device_id", "device ID (UUID)")]
