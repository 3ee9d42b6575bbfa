#!/usr/bin/env python3
"""Checks one JSON document of doppel's `--json` output against its documented schema, with
Python's own JSON reader: an independent reading of what the Rust tests also check.

    doppel check --json ... | python3 scripts/check_json.py docs/machine-output.md doppel.check/1

The schema is the table under the heading that names it (`## `doppel.check/1` ...`) in the
Markdown file: rows `| `field` | type | meaning |`, where `a[].b` is field `b` of every
element of array `a`, and types are string, integer, number, boolean, array, object, each
possibly "or null". Every documented field must be present with its type (a document with
`"ok": false` is the documented short form of a failure: its missing fields are allowed), and
every field present must be documented. Exits 1 naming each problem, 0 when the document fits.
"""

from __future__ import annotations

import json
import re
import sys

TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def documented(markdown: str, schema: str) -> dict[str, str]:
    """The field → type rows of the first table after the heading naming `schema`."""
    lines = markdown.splitlines()
    start = next((i for i, l in enumerate(lines) if l.startswith("#") and f"`{schema}`" in l), None)
    if start is None:
        sys.exit(f"no heading names `{schema}`")
    rows: dict[str, str] = {}
    for line in lines[start + 1:]:
        if line.startswith("#"):
            break
        m = re.match(r"^\|\s*`([^`]+)`\s*\|\s*([^|]+?)\s*\|", line)
        if m:
            rows[m.group(1)] = m.group(2)
        elif rows and not line.startswith("|"):
            break
    if not rows:
        sys.exit(f"no field table under the heading of `{schema}`")
    return rows


def values_at(doc, path: str):
    """The values at `path` (`a[].b`: every element's `b`); missing fields give nothing."""
    found = [doc]
    for part in path.split("."):
        each = part.endswith("[]")
        key = part[:-2] if each else part
        nxt = []
        for v in found:
            if isinstance(v, dict) and key in v:
                x = v[key]
                if each:
                    nxt.extend(x if isinstance(x, list) else [])
                else:
                    nxt.append(x)
        found = nxt
    return found


def present(value, prefix: str = ""):
    """Every field path in a document, arrays written `a[]`."""
    if isinstance(value, dict):
        for k, v in value.items():
            p = f"{prefix}.{k}" if prefix else k
            yield p
            yield from present(v, p)
    elif isinstance(value, list):
        for v in value:
            yield from present(v, f"{prefix}[]")


def main() -> int:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    markdown_file, schema = sys.argv[1], sys.argv[2]
    with open(markdown_file, encoding="utf-8") as f:
        rows = documented(f.read(), schema)
    doc = json.load(sys.stdin)
    problems = []
    if doc.get("schema") != schema:
        problems.append(f"schema is {doc.get('schema')!r}, not {schema!r}")
    partial = doc.get("ok") is False
    for path, ty in rows.items():
        kinds = [t.strip() for t in ty.split(" or ")]
        values = values_at(doc, path)
        parent = path.rsplit(".", 1)[0] if "." in path else ""
        in_object = not parent or any(isinstance(x, dict) for x in values_at(doc, parent))
        if not values and not partial and "[]" not in path and in_object:
            problems.append(f"{path}: documented but missing")
        for v in values:
            if not any(v is None if k == "null" else TYPES.get(k, lambda _: False)(v) for k in kinds):
                problems.append(f"{path}: {json.dumps(v)[:60]} is not {ty}")
    for p in sorted(set(present(doc))):
        if p not in rows:
            problems.append(f"{p}: printed but not documented")
    for p in problems:
        print(f"{schema}: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
