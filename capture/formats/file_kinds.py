"""What a file name's suffix says the file holds.

The dashboard's save and export dialogs and ``live -w`` read names through this one
table, so that a name never says one format while the file holds another
(``out.jsonl`` holding pcapng is a file nobody can trust as evidence).
"""

from __future__ import annotations

import os

FILE_KINDS: dict[str, tuple[tuple[str, ...], str]] = {
    "pcapng": ((".pcapng",), "a pcapng session"),
    "jsonl": ((".jsonl",), "JSONL"),
    "har": ((".har",), "HAR"),
    "table": ((".table",), "the table"),
    "html": ((".html", ".htm"), "an HTML report"),
    "md": ((".md", ".markdown"), "a Markdown report"),
    "pcap": ((".pcap",), "a classic pcap"),
    "gzip": ((".gz",), "a gzip file"),
}
"""Each kind, its suffixes (the first is the one a dialog gives its names) and what it
is called."""


def kind_of(path: str) -> tuple[str, str | None]:
    """The suffix of ``path`` (lower case, with its dot; empty for none) and the kind
    of :data:`FILE_KINDS` it names, or None."""
    suffix = os.path.splitext(path)[1].lower()
    for kind, (suffixes, _) in FILE_KINDS.items():
        if suffix in suffixes:
            return suffix, kind
    return suffix, None
