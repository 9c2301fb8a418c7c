"""E-mail addresses and Network Access Identifiers (``user@realm``, RFC 7542).

Both have the same shape; a NAI whose user part is a phone number
(``447700900123@mms.operator.example``) is reported by the value scanner as an
MSISDN. URL user-info (``http://user:pass@host/``) is not an address: a match
must not follow ``/`` or ``:``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ADDRESS = re.compile(
    r"(?<![\w.%+/:@-])"
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
    return [AddressMatch(m.group(0), m.group(1), m.group(2)) for m in _ADDRESS.finditer(text)]
