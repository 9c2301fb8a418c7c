"""Digests of values that stand for no value, and what a name's hint makes of them."""

from __future__ import annotations

import hashlib

import pytest

from capture.identity.detector import IdentityDetector
from capture.identity.placeholder_digests import PLACEHOLDER_DIGESTS, PLACEHOLDER_WORDS
from tests.capture.factories import request


def test_the_digests_written_out_are_hashlibs_of_each_word_and_nothing_else() -> None:
    made = {
        hashlib.new(algorithm, word.encode()).hexdigest()
        for word in PLACEHOLDER_WORDS
        for algorithm in ("md5", "sha1", "sha256")
    }
    assert made == PLACEHOLDER_DIGESTS


@pytest.mark.parametrize(
    ("query", "kinds"),
    [
        # sha256("1") as Meta's udff[ph] and TikTok's auto_phone_number (an outside
        # HAR of a shop's checkout): "the phone number hashed", of no phone number.
        ("udff[ph]=6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b", []),
        ("auto_phone_number=6B86B273FF34FCE19D6B804EFF5A3F5747ADA4EAA22F1D49C01E52DDB7875B4B", []),
        ("em=d41d8cd98f00b204e9800998ecf8427e", []),  # md5("")
        # A digest of something is still the identifier hashed.
        ("em=90c0ee0365a159e7ed45bc6e30f680c6", ["tracking_id"]),
    ],
)
def test_a_digest_of_an_empty_or_placeholder_value_is_no_identifier_hashed(
    query: str, kinds: list[str]
) -> None:
    found = IdentityDetector().detect(request(uri="/tr?" + query, headers=[("Host", "a.example")]))
    assert [f.kind for f in found] == kinds
