#!/usr/bin/env python3
"""Independent check of doppel's Parquet output, written against pyarrow (not the Rust crate).

    python3 scripts/check_parquet.py --input IN_DIR --output OUT_DIR
        [--kept TABLE.COLUMN ...] [--transformed TABLE.COLUMN ...] [--redacted TABLE.COLUMN ...]
        [--max-unchanged 0.02] [--leak-min-len 8] [--leak-max-repeat 1]
        [--leak-exclude TABLE.COLUMN ...] [--no-leak-check]

A table is a ``NAME.parquet`` file, or a folder ``NAME`` / ``NAME.parquet`` holding part files
(``*.parquet``, read in name order and concatenated).  TABLE is the name without ``.parquet``,
e.g. ``public.customers``; in TABLE.COLUMN the table is the longest known table name before a dot.
Each option taking columns can be given several names and be repeated.

Checks:
  (a) every input table exists in the output (and no other table does) with the identical Arrow
      schema, field by field (name, order, type, nullability; schema-level key-value metadata is
      only reported), and the same row count;
  (b) every --kept column is equal row by row (NULL == NULL, NaN == NaN, other floats compared
      bit for bit, so -0.0 != 0.0);
  (c) every --transformed column: the share of non-null input rows whose output equals their own
      input must stay below --max-unchanged (default 2%); the rate is printed;
  (d) leak check: needles are taken from the input of the --transformed string columns
        - whole values of at least --leak-min-len (8) characters held by at most
          --leak-max-repeat (1) rows: identifying values, not cities or template sentences;
        - e-mail addresses, phone numbers, IBANs (mod-97), card numbers (Luhn) and IPv4
          addresses found in their text, also for --redacted columns (free text that may keep its
          wording but must lose the personal data in it);
        - "first_name last_name" of each table with both columns where either is transformed
          (those two columns add no single-name needles);
      and none may occur, case-insensitively, inside any string value anywhere in the output,
      as a substring with a word boundary at each end that is a letter or digit (so
      "anna.mueller@gmx.de" is not reported inside "johanna.mueller@gmx.de", nor "10.1.2.3"
      inside "10.1.2.34").  --leak-exclude drops a column's needles (for fakes drawn from a
      small pool that can collide with real values by chance).

Exit status: 0 all checks passed; 1 a check failed (each failure names table, column and counts);
2 bad usage.  No cell value is ever printed: only names, types, counts, rates and row numbers.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import time

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

# ------------------------------------------------------------------------------------------
# Reading
# ------------------------------------------------------------------------------------------


class Table:
    def __init__(self, name: str, files: list[str]):
        self.name = name
        self.files = files
        self._table: pa.Table | None = None
        self.error: str | None = None
        self.kv_keys: set[str] = set()
        self.schemas: list[pa.Schema] = []
        for f in files:
            pf = pq.ParquetFile(f)
            self.schemas.append(pf.schema_arrow)
            md = pf.metadata.metadata or {}
            self.kv_keys.update(k.decode("utf-8", "replace") for k in md)
        self.schema = self.schemas[0]
        for i, s in enumerate(self.schemas[1:], 1):
            if not s.remove_metadata().equals(self.schema.remove_metadata()):
                self.error = f"part file {os.path.basename(files[i])} has a different schema from the first part"
        self.num_rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)

    @property
    def table(self) -> pa.Table:
        if self._table is None:
            parts = [pq.ParquetFile(f).read() for f in self.files]
            if len(parts) == 1:
                self._table = parts[0]
            else:
                self._table = pa.concat_tables([p.replace_schema_metadata(None) for p in parts])
        return self._table

    def column(self, name: str) -> pa.Array:
        col = self.table.column(name)
        arr = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        return arr


def discover(root: str) -> dict[str, Table]:
    tables: dict[str, Table] = {}
    for entry in sorted(os.listdir(root)):
        if entry.startswith((".", "_")) or entry.endswith(".tmp"):
            continue
        path = os.path.join(root, entry)
        name = entry[: -len(".parquet")] if entry.endswith(".parquet") else entry
        if os.path.isfile(path) and entry.endswith(".parquet"):
            files = [path]
        elif os.path.isdir(path):
            files = []
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_")))
                files += [os.path.join(dirpath, f) for f in sorted(filenames)
                          if f.endswith(".parquet") and not f.startswith((".", "_"))]
            if not files:
                continue
        else:
            continue
        if name in tables:
            raise SystemExit(f"check_parquet: table {name} appears twice in {root}")
        tables[name] = Table(name, files)
    return tables


# ------------------------------------------------------------------------------------------
# Row equality
# ------------------------------------------------------------------------------------------

_INT_OF_WIDTH = {16: pa.int16(), 32: pa.int32(), 64: pa.int64()}


def _deep_equal(x, y) -> bool:
    if isinstance(x, float) and isinstance(y, float):
        if math.isnan(x) or math.isnan(y):
            return math.isnan(x) and math.isnan(y)
        return x == y and math.copysign(1.0, x) == math.copysign(1.0, y)
    if isinstance(x, (list, tuple)) and isinstance(y, (list, tuple)):
        return len(x) == len(y) and all(_deep_equal(a, b) for a, b in zip(x, y))
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(_deep_equal(x[k], y[k]) for k in x)
    return type(x) is type(y) and x == y


def row_equal(a: pa.Array, b: pa.Array) -> pa.BooleanArray:
    """Per row: both NULL, or both non-NULL and equal (NaN == NaN, floats bitwise otherwise)."""
    both_null = pc.and_(pc.is_null(a), pc.is_null(b))
    if a.type.equals(b.type):
        try:
            if pa.types.is_floating(a.type):
                ints = _INT_OF_WIDTH[a.type.bit_width]
                eq = pc.equal(a.view(ints), b.view(ints))
                eq = pc.or_kleene(eq, pc.and_kleene(pc.is_nan(a), pc.is_nan(b)))
            else:
                eq = pc.equal(a, b)
            return pc.or_(both_null, pc.fill_null(eq, False))
        except (pa.ArrowNotImplementedError, pa.ArrowTypeError, pa.ArrowInvalid, TypeError):
            pass
    # Nested or unusual types: compare in Python.
    return pa.array([x is None and y is None or (x is not None and y is not None and _deep_equal(x, y))
                     for x, y in zip(a.to_pylist(), b.to_pylist())], pa.bool_())


def true_count(mask: pa.BooleanArray) -> int:
    return pc.sum(pc.cast(mask, pa.int64())).as_py() or 0


# ------------------------------------------------------------------------------------------
# Leak check
# ------------------------------------------------------------------------------------------

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
PHONE_RE = re.compile(r"(?<!\w)\+?\(?\d[\d ()./\-]{5,}\d(?!\w)")
IBAN_RE = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
CARD_RE = re.compile(r"(?<!\w)\d(?:[ \-]?\d){12,18}(?!\w)")
IPV4_RE = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\w|\.\d)")
DIGITS_RE = re.compile(r"\d")
DATE_RE = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}$|^\d{1,2}[-/.]\d{1,2}[-/.]\d{4}$")
_IBAN_TRANS = {ord(ch): str(10 + i) for i, ch in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ")}

MIN_EXTRACTED = 6  # shorter extracted fragments are not worth a needle


def iban_ok(compact: str) -> bool:
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = (compact[4:] + compact[:4]).translate(_IBAN_TRANS)
    return rearranged.isdigit() and int(rearranged) % 97 == 1


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        v = ord(ch) - 48
        if i % 2 == 1:
            v *= 2
            if v > 9:
                v -= 9
        total += v
    return total % 10 == 0


def extract_pii(text: str):
    """Yield (kind, fragment) for personal data embedded in free text."""
    if "@" in text:
        for m in EMAIL_RE.finditer(text):
            yield "email", m.group().strip(".")
    if DIGITS_RE.search(text) is None:  # everything below needs digits
        return
    for m in IBAN_RE.finditer(text):
        s = m.group()
        # The match may run into a following word: take the longest prefix that validates.
        positions = [i for i, ch in enumerate(s) if ch != " "]
        compact = s.replace(" ", "")
        for n in range(len(compact), 14, -1):
            if iban_ok(compact[:n]):
                yield "iban", s[: positions[n - 1] + 1]
                yield "iban", compact[:n]
                break
    for m in CARD_RE.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and luhn_ok(digits):
            yield "card", m.group()
            yield "card", digits
    for m in PHONE_RE.finditer(text):
        s = m.group().strip()
        ndigits = sum(ch.isdigit() for ch in s)
        # A bare run of digits is an order or invoice number more often than a phone number.
        least = 7 if (len(s) > ndigits or s[0] == "+") else 10
        if least <= ndigits <= 15 and not DATE_RE.match(s):
            yield "phone", s
    for m in IPV4_RE.finditer(text):
        if all(int(p) <= 255 for p in m.group().split(".")):
            yield "ipv4", m.group()


def is_string(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        t = t.value_type
    return pa.types.is_string(t) or pa.types.is_large_string(t) or \
        (hasattr(pa.types, "is_string_view") and pa.types.is_string_view(t))


def distinct_strings(arr: pa.Array) -> list[str]:
    if hasattr(pa.types, "is_string_view") and pa.types.is_string_view(arr.type):
        arr = arr.cast(pa.large_string())
    return [v for v in pc.unique(arr).to_pylist() if v is not None]


TOKEN_RE = re.compile(r"[^\W_]+")  # runs of letters and digits


def _is_tok(ch: str) -> bool:
    return TOKEN_RE.match(ch) is not None


class Needles:
    """Case-insensitive search for many needles at word boundaries, in pure Python.

    A needle counts as found where it occurs with a word boundary on each side that starts or
    ends with a letter or digit: "anna.mueller@gmx.de" is not found inside
    "johanna.mueller@gmx.de", nor "10.1.2.3" inside "10.1.2.34".  Then every word of the needle
    is a whole word of the text, so each needle is indexed under one of its words (or one pair of
    adjacent words, chosen so few needles share a key), texts are scanned word by word, and
    candidates are verified with startswith.
    """

    def __init__(self):
        self.source: dict[str, str] = {}  # needle -> "table.column"

    def add(self, needle: str, source: str, min_len: int) -> None:
        n = needle.lower()
        if len(n.strip()) >= min_len and n not in self.source:
            self.source[n] = source

    def build(self) -> None:
        self.uni: dict[str, list[tuple[str, int]]] = {}
        self.bi: dict[str, list[tuple[str, int]]] = {}
        bi_get = self.bi.get
        for n in self.source:
            prev = None  # start of the previous word
            best = None  # (load, key, offset) of the least shared pair of words so far
            for m in TOKEN_RE.finditer(n):
                if prev is not None:
                    key = n[prev:m.end()]
                    load = len(bi_get(key, ()))
                    if best is None or load < best[0]:
                        best = (load, key, prev)
                        if load == 0:
                            break
                    prev = m.start()
                else:
                    prev, first = m.start(), m.group()
            if best is not None:
                self.bi.setdefault(best[1], []).append((n, best[2]))
            elif prev is not None:  # a single word
                self.uni.setdefault(first, []).append((n, prev))

    def scan(self, texts) -> set[str]:
        uni_get, bi_get = self.uni.get, self.bi.get
        finditer = TOKEN_RE.finditer
        hits: set[str] = set()

        def verify(s, cands, at):
            for needle, off in cands:
                start = at - off
                if start < 0 or not s.startswith(needle, start):
                    continue
                end = start + len(needle)
                if start > 0 and _is_tok(needle[0]) and _is_tok(s[start - 1]):
                    continue
                if end < len(s) and _is_tok(needle[-1]) and _is_tok(s[end]):
                    continue
                hits.add(needle)

        for t in texts:
            s = t.lower()
            spans = [m.span() for m in finditer(s)]
            last = len(spans) - 1
            for k, (st, en) in enumerate(spans):
                c = uni_get(s[st:en])
                if c is not None:
                    verify(s, c, st)
                if k < last:
                    c = bi_get(s[st:spans[k + 1][1]])
                    if c is not None:
                        verify(s, c, st)
        return hits


# ------------------------------------------------------------------------------------------
# Main
# ------------------------------------------------------------------------------------------


class Checker:
    def __init__(self, args):
        self.args = args
        self.failures: list[str] = []

    def fail(self, msg: str) -> None:
        self.failures.append(msg)

    def info(self, msg: str) -> None:
        print(msg, flush=True)

    def resolve(self, spec: str, tables: dict[str, Table], what: str):
        for name in sorted(tables, key=len, reverse=True):
            if spec.startswith(name + "."):
                col = spec[len(name) + 1:]
                if col in tables[name].schema.names:
                    return name, col
                self.fail(f"{spec} ({what}): input table {name} has no column {col!r}")
                return None
        self.fail(f"{spec} ({what}): no input table matches (tables: {', '.join(sorted(tables))})")
        return None

    def run(self) -> int:
        a = self.args
        t0 = time.monotonic()
        ins, outs = discover(a.input), discover(a.output)
        self.info(f"check_parquet: {len(ins)} input tables in {a.input}, {len(outs)} output tables in {a.output}")
        if not ins:
            self.fail(f"no *.parquet tables found in input {a.input}")

        # (a) tables, schemas, row counts
        for name in sorted(set(outs) - set(ins)):
            self.fail(f"{name}: output has a table that the input does not have")
        for name, tin in sorted(ins.items()):
            for t, side in ((tin, "input"), (outs.get(name), "output")):
                if t is not None and t.error:
                    self.fail(f"{name} ({side}): {t.error}")
            tout = outs.get(name)
            if tout is None:
                self.fail(f"{name}: missing from the output")
                continue
            self.compare_schema(name, tin.schema, tout.schema)
            if tin.num_rows != tout.num_rows:
                self.fail(f"{name}: row count differs: input {tin.num_rows}, output {tout.num_rows}")
            else:
                self.info(f"  {name}: {len(tin.schema)} columns, {tin.num_rows} rows")

        kept = [r for s in a.kept for r in [self.resolve(s, ins, "kept")] if r]
        transformed = [r for s in a.transformed for r in [self.resolve(s, ins, "transformed")] if r]
        redacted = [r for s in a.redacted for r in [self.resolve(s, ins, "redacted")] if r]
        for tc in set(kept) | set(transformed) | set(redacted):
            n = (tc in kept) + (tc in transformed) + (tc in redacted)
            if n > 1:
                self.fail(f"{tc[0]}.{tc[1]}: listed under more than one of --kept, --transformed, --redacted")

        # (b) kept columns
        for t, c in kept:
            arrs = self.pair(ins, outs, t, c, "kept")
            if arrs is None:
                continue
            eq = row_equal(*arrs)
            bad = len(eq) - true_count(eq)
            if bad:
                first = pc.index(eq, False).as_py()
                self.fail(f"{t}.{c} (kept): {bad} of {len(eq)} rows differ from the input (first at row {first})")
            else:
                self.info(f"  kept {t}.{c}: all {len(eq)} rows equal")

        # (c) transformed columns
        for t, c in transformed:
            arrs = self.pair(ins, outs, t, c, "transformed")
            if arrs is None:
                continue
            a_in, a_out = arrs
            nonnull = pc.is_valid(a_in)
            total = true_count(nonnull)
            same = true_count(pc.and_(row_equal(a_in, a_out), nonnull))
            rate = same / total if total else 0.0
            msg = f"{t}.{c} (transformed): {rate:.2%} of {total} non-null rows unchanged ({same})"
            if total and rate >= a.max_unchanged:
                self.fail(msg + f", limit {a.max_unchanged:.2%}")
            else:
                self.info("  " + msg)

        # (d) leak check
        if a.no_leak_check:
            self.info("  leak check: skipped (--no-leak-check)")
        elif transformed or redacted:
            self.leak_check(ins, outs, transformed, redacted)

        keys = sorted(set().union(*(t.kv_keys for t in outs.values())) if outs else set())
        self.info(f"  output key-value metadata keys: {', '.join(keys) if keys else '(none)'}")
        elapsed = time.monotonic() - t0
        if self.failures:
            print(f"FAILED: {len(self.failures)} check(s) failed ({elapsed:.1f}s)")
            for f in self.failures:
                print(f"  - {f}")
            return 1
        print(f"OK: {len(ins)} tables, {len(kept)} kept, {len(transformed)} transformed and "
              f"{len(redacted)} redacted columns checked ({elapsed:.1f}s)")
        return 0

    def compare_schema(self, name: str, s_in: pa.Schema, s_out: pa.Schema) -> None:
        si, so = s_in.remove_metadata(), s_out.remove_metadata()
        if si.names != so.names:
            missing = [n for n in si.names if n not in so.names]
            extra = [n for n in so.names if n not in si.names]
            if missing:
                self.fail(f"{name}: output lacks columns {missing}")
            if extra:
                self.fail(f"{name}: output has extra columns {extra}")
            if not missing and not extra:
                self.fail(f"{name}: column order differs: input {si.names}, output {so.names}")
        for fi in si:
            if fi.name not in so.names:
                continue
            fo = so.field(fi.name)
            if not fi.type.equals(fo.type):
                self.fail(f"{name}.{fi.name}: type differs: input {fi.type}, output {fo.type}")
            if fi.nullable != fo.nullable:
                self.fail(f"{name}.{fi.name}: nullability differs: input "
                          f"{'nullable' if fi.nullable else 'not null'}, output "
                          f"{'nullable' if fo.nullable else 'not null'}")
            mi, mo = fi.metadata or {}, fo.metadata or {}
            if mi != mo:
                self.info(f"  note: {name}.{fi.name}: field metadata keys differ: input "
                          f"{sorted(k.decode() for k in mi)}, output {sorted(k.decode() for k in mo)}")
        ki = sorted(k.decode() for k in (s_in.metadata or {}))
        ko = sorted(k.decode() for k in (s_out.metadata or {}))
        if ki != ko:
            self.info(f"  note: {name}: schema metadata keys differ (ignored): input {ki}, output {ko}")

    def pair(self, ins, outs, t, c, what):
        if t not in outs or ins[t].error or outs[t].error:
            return None  # already reported
        if c not in outs[t].schema.names:
            self.fail(f"{t}.{c} ({what}): column missing from the output")
            return None
        if ins[t].num_rows != outs[t].num_rows:
            self.fail(f"{t}.{c} ({what}): cannot compare rows, row counts differ")
            return None
        return ins[t].column(c), outs[t].column(c)

    def leak_check(self, ins, outs, transformed, redacted) -> None:
        a = self.args
        t0 = time.monotonic()
        excluded = set()
        for s in a.leak_exclude:
            r = self.resolve(s, ins, "leak-exclude")
            if r:
                excluded.add(r)
        needles = Needles()
        sources = []
        tset = set(transformed)
        name_pairs = set()
        for t, tin in sorted(ins.items()):
            names = tin.schema.names
            if "first_name" in names and "last_name" in names and \
                    ((t, "first_name") in tset or (t, "last_name") in tset) and \
                    not {(t, "first_name"), (t, "last_name")} & excluded:
                name_pairs.add(t)
        for (t, c), whole in [(tc, True) for tc in transformed] + [(tc, False) for tc in redacted]:
            if (t, c) in excluded or ins[t].error or not is_string(ins[t].schema.field(c).type):
                continue
            # Single first or last names are not identifying; they count as full names below.
            whole = whole and not (t in name_pairs and c in ("first_name", "last_name"))
            label = f"{t}.{c}"
            sources.append(label)
            arr = ins[t].column(c)
            if hasattr(pa.types, "is_string_view") and pa.types.is_string_view(arr.type):
                arr = arr.cast(pa.large_string())
            counts = pc.value_counts(arr)
            for v, n in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()):
                if v is None:
                    continue
                if whole and n <= a.leak_max_repeat:
                    needles.add(v, label, a.leak_min_len)
                for _kind, frag in extract_pii(v):
                    needles.add(frag, label, MIN_EXTRACTED)
        for t in sorted(name_pairs):
            if ins[t].error:
                continue
            label = f"{t}.first_name+last_name"
            sources.append(label)
            first = ins[t].column("first_name").to_pylist()
            last = ins[t].column("last_name").to_pylist()
            for f, l in zip(first, last):
                if f and l:
                    needles.add(f"{f} {l}", label, MIN_EXTRACTED)
        needles.build()
        t_built = time.monotonic()

        found: dict[tuple[str, str], int] = {}
        scanned_cols = 0
        chars = 0
        for t, tout in sorted(outs.items()):
            if tout.error:
                continue
            for field in tout.schema:
                if not is_string(field.type):
                    continue
                values = distinct_strings(tout.column(field.name))
                scanned_cols += 1
                chars += sum(map(len, values))
                for n in needles.scan(values):
                    key = (needles.source[n], f"{t}.{field.name}")
                    found[key] = found.get(key, 0) + 1
        self.info(f"  leak check: {len(needles.source)} needles from {len(sources)} sources "
                  f"(collected in {t_built - t0:.1f}s), {scanned_cols} output string columns "
                  f"({chars} distinct characters) scanned in {time.monotonic() - t_built:.1f}s")
        for (src, dst), n in sorted(found.items()):
            self.fail(f"leak: {n} distinct value(s) from input {src} found in output {dst}")


def main() -> int:
    p = argparse.ArgumentParser(
        description="Check doppel Parquet output against its input (schemas, row counts, kept "
                    "and transformed columns, leaks). Never prints cell values.")
    p.add_argument("--input", required=True, metavar="IN_DIR")
    p.add_argument("--output", required=True, metavar="OUT_DIR")
    p.add_argument("--kept", nargs="+", action="extend", default=[], metavar="TABLE.COLUMN",
                   help="columns that must come out equal to the input, row by row")
    p.add_argument("--transformed", nargs="+", action="extend", default=[], metavar="TABLE.COLUMN",
                   help="columns that must change (and whose values must not leak)")
    p.add_argument("--redacted", nargs="+", action="extend", default=[], metavar="TABLE.COLUMN",
                   help="free-text columns that may keep their wording but must lose the e-mails, "
                        "phones, IBANs, card numbers and IPv4 addresses in them (leak check only)")
    p.add_argument("--max-unchanged", type=float, default=0.02, metavar="RATE",
                   help="largest allowed share of unchanged non-null values (exclusive, default 0.02)")
    p.add_argument("--leak-min-len", type=int, default=8, metavar="N",
                   help="whole values shorter than this are not leak needles (default 8)")
    p.add_argument("--leak-max-repeat", type=int, default=1, metavar="N",
                   help="whole values found in more than N input rows (cities, template sentences) "
                        "are not leak needles; extracted e-mails, phones, etc. always are (default 1)")
    p.add_argument("--leak-exclude", nargs="+", action="extend", default=[], metavar="TABLE.COLUMN",
                   help="transformed columns whose values are not searched for (e.g. fakes drawn "
                        "from a small pool that may collide with real values)")
    p.add_argument("--no-leak-check", action="store_true", help="skip check (d)")
    args = p.parse_args()
    for d in (args.input, args.output):
        if not os.path.isdir(d):
            p.error(f"not a folder: {d}")
    return Checker(args).run()


if __name__ == "__main__":
    sys.exit(main())
