"""Print the ``[mnc]`` table of ``capture/identity/mcc.toml`` from musalbas/mcc-mnc-table.

Usage: ``python scripts/make_mnc_table.py mcc-mnc-table.csv >> capture/identity/mcc.toml``
(after deleting the old ``[mnc]`` table). The CSV is ``mcc-mnc-table.csv`` of
github.com/musalbas/mcc-mnc-table (MIT licence, Copyright (c) 2016 Mustafa Al-Bassam;
the table itself was pulled from mcc-mnc.com); the one transcribed is at commit
45b06a15ee614ba3d71ddf2b45717225894d0dd8 (tables last updated 20 September 2022).
Each MCC gets its Mobile Network Codes as written there (2 or 3 digits, leading
zeros kept), space-separated; the 3GPP test network 001 01 is added by hand.
"""

from __future__ import annotations

import csv
import sys
from collections import defaultdict


def main(path: str) -> None:
    """Print the table for the CSV at ``path``."""
    codes: dict[str, set[str]] = defaultdict(set)
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            mcc, mnc = row["MCC"].strip(), row["MNC"].strip()
            if len(mcc) == 3 and mcc.isdigit() and len(mnc) in (2, 3) and mnc.isdigit():
                codes[mcc].add(mnc)
    codes["001"].add("01")
    print("[mnc]")
    for mcc in sorted(codes):
        print(f'"{mcc}" = "{" ".join(sorted(codes[mcc]))}"')


if __name__ == "__main__":
    main(sys.argv[1])
