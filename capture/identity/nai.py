"""E-mail addresses and Network Access Identifiers (``user@realm``, RFC 7542).

Both have the same shape; a NAI whose user part is a phone number
(``447700900123@mms.operator.example``) is reported by the value scanner as an
MSISDN. URL user-info (``http://user:pass@host/``) is not an address: a match
must not follow ``/``, nor a ``:`` inside an authority (after ``//``, with no ``/``,
``?``, ``#`` or ``@`` since). After any other ``:`` it is one: an app's
``1:quiet.heron417@example.com`` (a list's index and the address), ``mailto:``
(RFC 6068, a page's contact links), ``acct:`` (RFC 7565, which WebFinger's
``?resource=acct:user@host`` asks about, RFC 7033).
"""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from capture.cache_files import cache_path, read_keyed, write_cache

_ADDRESS = re.compile(
    r"(?<![\w.%+/@-])"
    r"([A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_])?)"
    r"@"
    r"((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24})"
    r"(?![\w-])"
)


@dataclass(frozen=True, slots=True)
class AddressMatch:
    """An e-mail address or NAI."""

    text: str
    """As it appears in the value."""
    user: str
    realm: str

    @property
    def normalized(self) -> str:
        """Lower-case ``user@realm``."""
        return f"{self.user}@{self.realm}".lower()


def find_addresses(text: str) -> list[AddressMatch]:
    """Every ``user@realm`` address in ``text``."""
    if "@" not in text:
        return []
    return [
        AddressMatch(m.group(0), m.group(1), m.group(2))
        for m in _ADDRESS.finditer(text)
        if not (m.start() and text[m.start() - 1] == ":" and _in_authority(text, m.start()))
    ]


def _in_authority(text: str, at: int) -> bool:
    """Whether ``text[at]`` is inside a URL's authority: after a ``//`` with no ``/``,
    ``?``, ``#`` or ``@`` between (the password of ``http://user:pass@host``)."""
    opened = text.rfind("//", 0, at)
    return opened >= 0 and not any(ch in "/?#@" for ch in text[opened + 2 : at])


# Names reserved for documentation and testing (RFC 2606, RFC 6761): never delegated,
# but what test data and examples are written with (``mms.operator.example``).
_RESERVED_TLDS = frozenset({"example", "test", "invalid", "localhost"})


def _psl_file() -> str:
    """The Public Suffix List file the ``publicsuffixlist`` package bundles
    (``publicsuffixlist.PSLFILE``), found beside the package without running it:
    importing it costs 4 ms, for a matcher of its own not used here, the first time a
    run meets a value shaped like an address. Where the file is not there, the package
    says where it is."""
    spec = importlib.util.find_spec("publicsuffixlist")
    if spec is not None and spec.origin is not None:
        path = os.path.join(os.path.dirname(spec.origin), "public_suffix_list.dat")
        if os.path.isfile(path):
            return path
    from publicsuffixlist import PSLFILE

    return str(PSLFILE)


@cache
def _tlds() -> frozenset[str]:
    """The top-level domains of the Public Suffix List's ICANN section, as the
    ``publicsuffixlist`` package bundles it (no network): its one-label ASCII rules.

    Kept beside this module's bytecode (:mod:`capture.cache_files`) under the list
    file's path, size and modification time, as bytecode is kept under its source's:
    reading the 330 KB list cost 4 ms of the first address a scan met, the cache
    0.4 ms. A list the package updates is read afresh."""
    path = _psl_file()
    stat = os.stat(path)  # a list that is not there fails here as its reading would
    stamp = (path, stat.st_size, stat.st_mtime_ns)
    kept_in = cache_path(Path(__file__).parent, "tlds")
    if kept_in is not None:
        kept: frozenset[str] | None = read_keyed(kept_in, stamp, frozenset)
        if kept is not None:
            return kept
    tlds = _read_tlds(path)
    if kept_in is not None:
        write_cache(kept_in, (stamp, tlds))
    return tlds


def _read_tlds(path: str) -> frozenset[str]:
    """:func:`_tlds` read from the list file ``path``."""
    with open(path, "rb") as source:
        icann = source.read().partition(b"// ===BEGIN PRIVATE DOMAINS===")[0]
    # The rules are lower case, one a line; IDN TLDs are in Unicode, which an
    # address's realm (ASCII letters) never ends in.
    return frozenset(
        line.decode() for line in icann.splitlines() if line.isalpha() and line.islower()
    )


def known_tld(realm: str) -> bool:
    """Whether ``realm`` ends in a delegated top-level domain (or one reserved for
    examples and tests): ``gmail.com`` does, ``0.totcl`` (a cookie's ``key@value``
    pairs) does not."""
    tld = realm.rpartition(".")[2].lower()
    return tld in _RESERVED_TLDS or tld in _tlds()
