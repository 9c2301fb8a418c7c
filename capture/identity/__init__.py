"""Identity detection: carrier headers, phone numbers, device IDs and canaries in requests.

The pipeline uses :class:`IdentityDetector`; ``headerwatch rules`` uses
:func:`load_catalog` and :func:`format_rules`.
"""

from capture.identity.catalog import Catalog, CatalogEntry, format_rules, load_catalog
from capture.identity.detector import HeaderRule, IdentityConfig, IdentityDetector

__all__ = [
    "Catalog",
    "CatalogEntry",
    "HeaderRule",
    "IdentityConfig",
    "IdentityDetector",
    "format_rules",
    "load_catalog",
]
