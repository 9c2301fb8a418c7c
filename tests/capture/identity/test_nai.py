"""E-mail addresses and NAIs, and the top-level domains an address's realm must end in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from publicsuffixlist import PSLFILE

from capture.identity import nai
from capture.identity.nai import find_addresses, known_tld


def test_the_public_suffix_list_read_is_the_one_the_package_names() -> None:
    assert nai._psl_file() == str(PSLFILE)


def test_the_list_is_found_through_the_package_where_it_is_not_beside_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(nai.importlib.util, "find_spec", lambda name: None)
    assert nai._psl_file() == str(PSLFILE)


def test_known_top_level_domains_are_read_without_running_the_package() -> None:
    # The package's own matcher is not used: importing it cost 4 ms a run.
    code = (
        "import sys\n"
        "from capture.identity.nai import known_tld\n"
        "print(known_tld('gmail.com'), known_tld('mms.operator.example'), known_tld('0.totcl'),"
        " 'publicsuffixlist' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["True", "True", "False", "False"]


def _list_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Path:
    """A Public Suffix List of ``text`` as the one read, its cache under ``tmp_path``."""
    listed = tmp_path / "public_suffix_list.dat"
    listed.write_text(text)
    monkeypatch.setattr(nai, "_psl_file", lambda: str(listed))
    monkeypatch.setattr(nai, "cache_path", lambda directory, name: tmp_path / f"{name}.marshal")
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    nai._tlds.cache_clear()
    return listed


def test_the_top_level_domains_kept_are_those_read_from_the_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed = "// ICANN\ncom\nuk\nco.uk\n// ===BEGIN PRIVATE DOMAINS===\nxyz\n"
    _list_in(tmp_path, monkeypatch, listed)
    try:
        assert nai._tlds() == {"com", "uk"}
        assert (tmp_path / "tlds.marshal").is_file()
        nai._tlds.cache_clear()
        assert nai._tlds() == {"com", "uk"}  # from the cache
    finally:
        nai._tlds.cache_clear()


def test_a_list_changed_since_it_was_kept_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed = _list_in(tmp_path, monkeypatch, "com\nuk\n")
    try:
        assert nai._tlds() == {"com", "uk"}
        listed.write_text("com\nde\nfr\n")
        os.utime(listed, ns=(1, 1))  # as an update by the package would leave it
        nai._tlds.cache_clear()
        assert nai._tlds() == {"com", "de", "fr"}
    finally:
        nai._tlds.cache_clear()


def test_an_address_is_found_after_mailto_and_not_in_a_urls_user_info() -> None:
    assert [a.normalized for a in find_addresses("mailto:Alice@Example.com")] == [
        "alice@example.com"
    ]
    assert find_addresses("http://user@host.example/") == []
    # A cookie's key@value pairs have an address's shape; the realm's last label is
    # no top-level domain, which is what tells them apart.
    assert [a.realm for a in find_addresses("effcl@0.totcl")] == ["0.totcl"]
    assert not known_tld("0.totcl") and known_tld("Mail.Example.COM")


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("1:quiet.heron417@example.com", ["quiet.heron417@example.com"]),
        ("acct:bob@x.example", ["bob@x.example"]),
        ("https://a.example/p?to=1:bob@x.example", ["bob@x.example"]),
        ("http://user:pass@host.example/", []),
        ("ftp://u:p@files.example.com/x", []),
        ("//u:p@cdn.example.com", []),
    ],
)
def test_an_address_after_a_colon_is_one_unless_the_colon_is_in_a_urls_authority(
    text: str, found: list[str]
) -> None:
    assert [a.normalized for a in find_addresses(text)] == found
