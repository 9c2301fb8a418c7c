"""Input files compressed with gzip, read as what they decompress to.

Zeek archives its logs as ``.log.gz``, tcpdump rotations are often gzipped, and
files are shipped compressed: every kind of input is read through gzip the same
way (:func:`capture.sources.frames.open_stream`), and recognised by its
decompressed first bytes. Imported only when a file starts with gzip's magic: most
inputs are not compressed.
"""

from __future__ import annotations

import gzip
import sys
from typing import IO


class Gunzipped(gzip.GzipFile):
    """What the gzip stream ``compressed`` decompresses to. Closing it closes
    ``compressed`` too (not stdin), which a plain :class:`gzip.GzipFile` given a
    file object leaves open."""

    def __init__(self, compressed: IO[bytes]) -> None:
        super().__init__(fileobj=compressed, mode="rb")
        self.compressed = compressed
        """The file read: its position and size are in compressed bytes."""

    def close(self) -> None:
        """Close the decompressed stream and the file below it (not stdin)."""
        try:
            super().close()
        finally:
            if self.compressed is not sys.stdin.buffer:
                self.compressed.close()
