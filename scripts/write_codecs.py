#!/usr/bin/env python3
"""Writes one small Parquet table per compression codec with pyarrow, for the tests.

    python3 scripts/write_codecs.py OUT_DIR

OUT_DIR/public.<codec>.parquet for codec in none, snappy, gzip, lz4, zstd, brotli (pyarrow's
names; snappy is pyarrow's default), each with the same 1000 rows: id (int64), note and email
(strings), in row groups of 300 rows.
"""
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

CODECS = ["none", "snappy", "gzip", "lz4", "zstd", "brotli"]


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    n = 1000
    table = pa.table(
        {
            "id": pa.array(range(1, n + 1), pa.int64()),
            "note": pa.array([f"note {i % 7}" if i % 5 else None for i in range(n)], pa.string()),
            "email": pa.array([f"person{i}@example.com" for i in range(n)], pa.string()),
        }
    )
    for codec in CODECS:
        pq.write_table(table, out / f"public.{codec}.parquet", compression=codec, row_group_size=300)


if __name__ == "__main__":
    main()
