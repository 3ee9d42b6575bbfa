#!/usr/bin/env python3
"""End-to-end benchmark: doppel against PostgreSQL's own copy, in one run (issue 5).

    python3 scripts/bench/run.py [--customers N] [--orders M] [--repetitions R]
                                 [--threads 1,2] [--variants ...] [--output BENCHMARKS.md]

What it does, all by itself (Python 3.9+ standard library, PostgreSQL's server and client
programs, cargo):

1. Starts a throwaway PostgreSQL server: initdb and pg_ctl of `pg_config --bindir` (or
   $DOPPEL_PG_BIN), in a temporary directory under target/bench/, on a free port of
   127.0.0.1, as the `postgres` user (or $DOPPEL_PG_USER) when run as root. fsync, full page
   writes and autovacuum are off (for every run alike); it is stopped and removed at the end,
   also on Ctrl-C.
2. Builds doppel in release mode (or takes --doppel BIN).
3. Creates the source database with scripts/bench/fixture.sql (N customers, M orders, fixed
   seed) and checks rules/bench.toml and rules/bench_keep.toml against it.
4. Prepares the Parquet → Parquet input once: a keep-all PostgreSQL → Parquet run.
5. Runs every variant once per repetition, alternating (the order rotates each repetition),
   each after a CHECKPOINT and a sync, its target dropped afterwards, and its row counts
   verified:
     a            baseline A: createdb, pg_dump --section=pre-data | psql, one binary
                  `COPY t TO STDOUT | COPY t FROM STDIN` psql pipe per table in parallel,
                  pg_dump --section=post-data | psql
     b            baseline B: the same pipes alone, into empty tables without indexes (the
                  database and pre-data are made before the clock starts)
     anon-pg      doppel PostgreSQL → new PostgreSQL database with rules/bench.toml, once per
                  --threads value (tables side by side up to doppel's default --jobs);
                  compared with A, and its data phase (from its log) with B
     anon-pg-report
                  the anon-pg run at the core count with --report (the report's utility
                  figures), compared with the same run without it (issue 20: at most 10% slower)
     anon-pg-jobs1
                  the same with --jobs 1: tables one after another, so that doppel's own
                  CPU time can be told per table
     keep-pg      the same with every column kept (rules/bench_keep.toml)
     anon-parquet doppel PostgreSQL → Parquet with rules/bench.toml (compared with A; issue 17:
                  at least 1.0×)
     parquet      doppel Parquet → Parquet with rules/bench.toml (compared with keep-parquet:
                  issue 17 asks at least 0.5× its speed)
     keep-parquet doppel Parquet → Parquet with every column kept (rules/bench_keep.toml): read,
                  decode, encode and zstd write of the same files, the format's own cost
     subset-pg    doppel PostgreSQL → new PostgreSQL database with rules/bench_subset (the
                  rules of bench.toml plus a [subset] of 1% of the customers with their
                  orders, issue 6); compared with A (the full copy) in time, and checked for
                  valid foreign keys instead of equal row counts
     verify       doppel verify of an anonymising PostgreSQL → PostgreSQL output (made once,
                  before the timed runs) against the source; compared with the anon-pg run
                  at all cores (issue 4: under 2× the run's own time)
     pgdump       baseline D: `pg_dump -t public.customers -f FILE` (plain SQL: schema, COPY
                  data, indexes and constraints of the one table)
     anon-dump    doppel PostgreSQL → SQL dump file (`--to FILE.sql`) with rules/bench.toml
                  and public.orders skipped (customers alone, unique email kept); compared
                  with D (issue 17: at least 0.6× the speed of pg_dump)
     dump-dump    doppel plain pg_dump file of the whole source (made once, before the timed
                  runs) → SQL dump file, the same rules as anon-dump (issue 19: a backup
                  anonymised without a database; the file's orders rows are read past, not
                  written); compared with anon-dump
6. Prints, per variant, the median wall time with min and max, rows/s, the throughput ratio
   to its baseline (baseline time / doppel time, paired per repetition: median, min, max),
   CPU time (user + sys of the measured process and the children it waited for: doppel and
   the pg_dump/psql it runs, or the baseline's pg_dump/psql; the servers' CPU is not
   counted), peak RSS, and doppel's own CPU time per row (sampled from /proc/PID/stat within
   the data phase, and per table where no other table ran beside it), then writes the same as
   markdown into the
   --output file (default BENCHMARKS.md), replacing the section of the same fixture size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import pwd
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "scripts" / "bench" / "fixture.sql"
RULES = REPO / "rules" / "bench.toml"
RULES_KEEP = REPO / "rules" / "bench_keep.toml"
RULES_SUBSET = REPO / "rules" / "bench_subset"
# rules/bench.toml with public.orders skipped, written into the work directory (anon-dump).
RULES_DUMP_NAME = "bench_dump.toml"
TABLES = ["public.customers", "public.orders"]
SOURCE_DB = "bench"
KEY = "bench-key-not-secret-0123456789abcdef"
# Targets of issues 5 and 17: throughput ratio to baseline A (anonymising at all cores 0.8,
# keep-all 1.0 since issue 17), Parquet → Parquet customers rows/s, peak RSS.
TARGET_RATIO_ANON = 0.8
TARGET_RATIO_KEEP = 1.0
# issue 4: verify in under 2x the run's own time (ratio = run time / verify time).
TARGET_RATIO_VERIFY = 0.5
# issue 17: customers into an anonymised SQL dump at least 0.6x the speed of pg_dump -t customers.
TARGET_RATIO_DUMP = 0.6
# Issue 17: Parquet → Parquet with the rules at least 0.5× doppel's own keep-all Parquet copy,
# PostgreSQL → Parquet at least as fast as A.
TARGET_RATIO_PARQUET = 0.5
TARGET_RATIO_PG_PARQUET = 1.0
# Issue 20: the run with --report (utility figures) at least 0.9x the speed of the same run without.
TARGET_RATIO_REPORT = 0.9
TARGET_PARQUET_CUSTOMERS_ROWS_PER_S = 700_000
TARGET_RSS_MIB = 300
# issue 17: verify reads the source's personal values as fingerprints; its own bound.
TARGET_RSS_MIB_VERIFY = 500


class BenchError(Exception):
    """A step failed; the message says which and what to do."""


# --------------------------------------------------------------------------------------------
# The throwaway server


@dataclass
class Server:
    work: Path
    bin_dir: Path
    run_as: pwd.struct_passwd | None
    port: int = 0
    started: bool = False

    @property
    def data(self) -> Path:
        return self.work / "pgdata"

    @property
    def log(self) -> Path:
        return self.work / "postgres.log"

    def url(self, db: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"

    def _server_cmd(self, args: list[str], **kw) -> subprocess.CompletedProcess:
        extra = {}
        if self.run_as is not None:
            extra = {"user": self.run_as.pw_uid, "group": self.run_as.pw_gid, "extra_groups": []}
        return subprocess.run(args, capture_output=True, text=True, stdin=subprocess.DEVNULL, **extra, **kw)

    def start(self) -> None:
        if self.run_as is not None:
            os.chown(self.work, self.run_as.pw_uid, self.run_as.pw_gid)
        out = self._server_cmd([str(self.bin_dir / "initdb"), "-D", str(self.data), "--auth=trust",
                                "--username=postgres", "--encoding=UTF8", "--locale=C", "--no-sync"])
        if out.returncode != 0:
            raise BenchError(f"initdb failed ({out.returncode}):\n{out.stdout}{out.stderr}")
        last = ""
        for _ in range(10):
            self.port = free_port()
            options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
                       "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c autovacuum=off "
                       "-c max_wal_size=4GB -c checkpoint_timeout=1h -c max_connections=100")
            self.log.unlink(missing_ok=True)
            out = self._server_cmd([str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-o", options,
                                    "-l", str(self.log), "-w", "-t", "120", "start"])
            if out.returncode == 0:
                self.started = True
                return
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            last = f"pg_ctl start failed ({out.returncode}):\n{out.stdout}{out.stderr}\nserver log:\n{log}"
            if "could not bind" not in log and "already in use" not in log:
                break
        raise BenchError(last)

    def stop(self) -> None:
        if self.started:
            self._server_cmd([str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"])
            self.started = False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_bin_dir() -> Path:
    env = os.environ.get("DOPPEL_PG_BIN")
    if env:
        return Path(env)
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True)
        candidate = Path(out.stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    except (OSError, subprocess.CalledProcessError):
        pass
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name)
                      if p.parent.name.isdigit() else 0)
    if versions:
        return versions[-1]
    raise BenchError("PostgreSQL's server programs (initdb, pg_ctl) were not found: install PostgreSQL "
                     "(Debian/Ubuntu: apt-get install postgresql) or point DOPPEL_PG_BIN at the directory "
                     "holding initdb")


# --------------------------------------------------------------------------------------------
# Running and measuring


@dataclass
class Measured:
    wall: float
    cpu: float  # user + sys of the process and its waited-for children
    rss_mib: float  # peak RSS of the process or of one of its children
    # per table: seconds of its data phase and (doppel only) the process's own CPU seconds in it
    tables: dict[str, dict[str, float]] = field(default_factory=dict)
    # the data phase: from the first table's start to the last one's end
    data: float = 0.0
    # doppel only: the process's own CPU seconds within the data phase
    data_cpu: float | None = None
    # rows written, when they are not the source's (a subset, one table)
    rows: int | None = None
    # doppel only: seconds of the steps its log times (post-data, ANALYZE), for the progress lines
    steps: dict[str, float] = field(default_factory=dict)


class CpuSampler(threading.Thread):
    """Samples the user + sys CPU time of one process (all its threads) from /proc/PID/stat."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, float]] = []
        self.stopping = threading.Event()
        self.tick = os.sysconf("SC_CLK_TCK")

    def run(self) -> None:
        path = f"/proc/{self.pid}/stat"
        while not self.stopping.is_set():
            try:
                with open(path) as f:
                    stat = f.read()
            except OSError:
                break
            fields = stat[stat.rindex(")") + 2:].split()
            self.samples.append((time.time(), (int(fields[11]) + int(fields[12])) / self.tick))
            self.stopping.wait(0.02)

    def cpu_at(self, t: float) -> float:
        s = self.samples
        if not s:
            return 0.0
        if t <= s[0][0]:
            return s[0][1]
        for (t0, c0), (t1, c1) in zip(s, s[1:]):
            if t <= t1:
                return c0 + (c1 - c0) * (t - t0) / max(t1 - t0, 1e-9)
        return s[-1][1]


def measure(args: list[str], env: dict[str, str], log: Path, sample_cpu: bool = False,
            ok_codes: tuple[int, ...] = (0,)) -> tuple[Measured, CpuSampler | None]:
    """Runs a command, its stdout and stderr into `log`; wall time, CPU and peak RSS by wait4."""
    with open(log, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        sampler = CpuSampler(proc.pid) if sample_cpu else None
        if sampler:
            sampler.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    if sampler:
        sampler.stopping.set()
        sampler.join()
    if proc.returncode not in ok_codes:
        tail = log.read_text(errors="replace")[-3000:]
        raise BenchError(f"`{shlex.join(args)[:300]}` failed (exit {proc.returncode}); its output ends with:\n{tail}")
    return Measured(wall=wall, cpu=usage.ru_utime + usage.ru_stime, rss_mib=usage.ru_maxrss / 1024), sampler


@dataclass
class Bench:
    args: argparse.Namespace
    server: Server
    work: Path
    doppel: Path
    env: dict[str, str]
    key_file: Path
    rows: dict[str, int] = field(default_factory=dict)

    # -- helpers ---------------------------------------------------------------------------------

    def psql(self, db: str, sql: str) -> str:
        out = subprocess.run(["psql", "-qXAt", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql],
                             capture_output=True, text=True, env=self.env)
        if out.returncode != 0:
            raise BenchError(f"psql on {db} failed: {sql[:200]}\n{out.stderr}")
        return out.stdout.strip()

    def drop(self, db: str) -> None:
        self.psql("postgres", f'DROP DATABASE IF EXISTS "{db}"')

    def quiesce(self) -> None:
        """Before each timed run: WAL checkpointed and dirty pages on disk, so runs start alike."""
        self.psql("postgres", "CHECKPOINT")
        os.sync()

    def verify_counts(self, db: str) -> None:
        for table in TABLES:
            n = int(self.psql(db, f"SELECT count(*) FROM {table}"))
            if n != self.rows[table]:
                raise BenchError(f"{db}: {table} has {n} rows after the run, the source {self.rows[table]}")

    def pipes_script(self, target: str, timings: Path) -> str:
        """Bash: one binary COPY pipe per table, in parallel, each timing itself into `timings`."""
        lines = ["pids=()"]
        for table in TABLES:
            lines.append(
                f"( s=$EPOCHREALTIME; psql -qX -v ON_ERROR_STOP=1 -d {SOURCE_DB} -c 'COPY {table} TO STDOUT (FORMAT binary)'"
                f" | psql -qX -v ON_ERROR_STOP=1 -d {target} -c 'COPY {table} FROM STDIN (FORMAT binary)';"
                f" echo \"{table} $s $EPOCHREALTIME\" >> {shlex.quote(str(timings))} ) & pids+=($!)")
        lines.append('for p in "${pids[@]}"; do wait "$p"; done')
        return "\n".join(lines)

    @staticmethod
    def read_pipes(m: Measured, timings: Path) -> None:
        spans = []
        for line in timings.read_text().splitlines():
            name, start, end = line.split()
            m.tables[name] = {"seconds": float(end) - float(start)}
            spans.append((float(start), float(end)))
        m.data = max(e for _, e in spans) - min(s for s, _ in spans)

    def run_bash(self, script: str, log: Path) -> Measured:
        m, _ = measure(["bash", "-c", "set -euo pipefail\n" + script], self.env, log)
        return m

    # -- the variants ------------------------------------------------------------------------------

    def baseline_a(self, rep: int) -> Measured:
        db, timings = "bench_a", self.work / f"a-{rep}.timings"
        self.drop(db)
        self.quiesce()
        m = self.run_bash("\n".join([
            f"createdb {db}",
            f"pg_dump --schema-only --section=pre-data -d {SOURCE_DB} | psql -qX -v ON_ERROR_STOP=1 -d {db}",
            self.pipes_script(db, timings),
            f"pg_dump --schema-only --section=post-data -d {SOURCE_DB} | psql -qX -v ON_ERROR_STOP=1 -d {db}",
        ]), self.work / f"a-{rep}.log")
        self.read_pipes(m, timings)
        self.verify_counts(db)
        self.drop(db)
        return m

    def baseline_b(self, rep: int) -> Measured:
        db, timings = "bench_b", self.work / f"b-{rep}.timings"
        self.drop(db)
        self.run_bash(f"createdb {db}\npg_dump --schema-only --section=pre-data -d {SOURCE_DB} "
                      f"| psql -qX -v ON_ERROR_STOP=1 -d {db}", self.work / f"b-{rep}-setup.log")
        self.quiesce()
        m = self.run_bash(self.pipes_script(db, timings), self.work / f"b-{rep}.log")
        self.read_pipes(m, timings)
        self.verify_counts(db)
        self.drop(db)
        return m

    def doppel_run(self, name: str, rep: int, rules: Path, source: str, target: str,
                   threads: int | None = None, jobs: int | None = None, subset: bool = False,
                   report: bool = False) -> Measured:
        report_file = self.work / f"{name}-{rep}.json"
        report_file.unlink(missing_ok=True)
        cmd = [str(self.doppel), "run", "--rules", str(rules), "--from", source, "--to", target,
               "--key-file", str(self.key_file), "--log", "info"]
        if report:
            cmd += ["--report", str(report_file)]
        if threads is not None:
            cmd += ["--threads", str(threads)]
        if jobs is not None:
            cmd += ["--jobs", str(jobs)]
        log = self.work / f"{name}-{rep}.log"
        self.quiesce()
        m, sampler = measure(cmd, self.env, log, sample_cpu=True)
        done = {}
        logged = {}
        for line in log.read_text(errors="replace").splitlines():
            line = re.sub(r"\x1b\[[0-9;]*m", "", line)
            # The line a table's end is logged with: `INFO public.t: 1,000 rows in 1.00 s (…)`
            # (before 2026-12-03: `INFO done table=public.t …`).
            hit = (re.match(r"(\S+)\s+INFO\s+done\s+table=(\S+)", line)
                   or re.match(r"(\S+)\s+INFO\s+([^\s:]+): [0-9,]+ rows in ", line))
            if hit:
                done[hit.group(2)] = dt.datetime.fromisoformat(hit.group(1).replace("Z", "+00:00")).timestamp()
            end = re.match(r"\S+\s+INFO\s+([^\s:]+): ([0-9,]+) rows in ([0-9.]+) s", line)
            if end:
                logged[end.group(1)] = {"table": end.group(1), "rows": int(end.group(2).replace(",", "")),
                                        "seconds": float(end.group(3))}
            step = re.search(r'INFO\s+(post-data restored|ANALYZE done)\s.*\bseconds="?([0-9.]+)', line)
            if step:
                m.steps[step.group(1).split()[0]] = float(step.group(2))
        windows = {}
        # The per-table rows and times: from the report when one was asked for, else from the log.
        tables = json.loads(report_file.read_text())["tables"] if report else list(logged.values())
        for table in tables:
            name_, seconds = table["table"], table["seconds"]
            rows = table.get("rows_written", table.get("rows"))
            if subset:
                m.rows = (m.rows or 0) + rows
            elif rows != self.rows[name_]:
                raise BenchError(f"{name}: doppel reports {rows} rows for {name_}, the source has {self.rows[name_]}")
            m.tables[name_] = {"seconds": seconds}
            if name_ in done:
                windows[name_] = (done[name_] - seconds, done[name_])
        if len(windows) == len(m.tables):
            start, end = min(s for s, _ in windows.values()), max(e for _, e in windows.values())
            m.data = end - start
            m.data_cpu = sampler.cpu_at(end) - sampler.cpu_at(start)
            # A table's own CPU only where no other table ran at the same time (--jobs 1).
            for name_, (s0, e0) in windows.items():
                if all(e1 <= s0 + 0.005 or s1 >= e0 - 0.005 for other, (s1, e1) in windows.items() if other != name_):
                    m.tables[name_]["cpu"] = sampler.cpu_at(e0) - sampler.cpu_at(s0)
        else:
            m.data = sum(t["seconds"] for t in m.tables.values())
        return m

    def to_database(self, name: str, rep: int, rules: Path, threads: int | None = None,
                    jobs: int | None = None, subset: bool = False, report: bool = False) -> Measured:
        db = "bench_doppel"
        self.drop(db)
        m = self.doppel_run(name, rep, rules, self.server.url(SOURCE_DB), self.server.url(db), threads, jobs, subset,
                            report)
        if subset:
            invalid = int(self.psql(db, "SELECT count(*) FROM pg_constraint WHERE NOT convalidated"))
            fks = int(self.psql(db, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"))
            if invalid or fks == 0 or not m.rows:
                raise BenchError(f"{name}: the subset has {m.rows} rows, {fks} foreign keys, {invalid} not valid")
        else:
            self.verify_counts(db)
        self.drop(db)
        return m

    def verify(self, name: str, rep: int, rules: Path, output_db: str) -> Measured:
        """`doppel verify` of an anonymised output database against the source (exit 6, a
        finding, still counts: its time is what is measured)."""
        cmd = [str(self.doppel), "verify", "--rules", str(rules), "--from", self.server.url(SOURCE_DB),
               "--to", self.server.url(output_db)]
        self.quiesce()
        m, _ = measure(cmd, self.env, self.work / f"{name}-{rep}.log", ok_codes=(0, 6))
        m.data = m.wall
        return m

    def pg_dump_table(self, rep: int) -> Measured:
        """Baseline D: a plain `pg_dump -t public.customers -f FILE` of the source."""
        out = self.work / "pgdump.sql"
        out.unlink(missing_ok=True)
        self.quiesce()
        m, _ = measure(["pg_dump", "-t", "public.customers", "-f", str(out), "-d", SOURCE_DB], self.env,
                       self.work / f"pgdump-{rep}.log")
        m.rows = self.dump_rows(out, "pgdump")
        m.data = m.wall
        out.unlink()
        return m

    def to_dump(self, name: str, rep: int, rules: Path) -> Measured:
        """doppel PostgreSQL → SQL dump file, public.orders skipped."""
        out = self.work / "anon-dump.sql"
        out.unlink(missing_ok=True)
        m = self.doppel_run(name, rep, rules, self.server.url(SOURCE_DB), str(out), subset=True)
        rows = self.dump_rows(out, name)
        if rows != m.rows:
            raise BenchError(f"{name}: the dump holds {rows} customers rows, doppel reports {m.rows} rows")
        out.unlink()
        return m

    def dump_to_dump(self, name: str, rep: int, rules: Path, source: Path) -> Measured:
        """doppel plain dump file → SQL dump file, public.orders skipped."""
        out = self.work / "dump-dump.sql"
        out.unlink(missing_ok=True)
        m = self.doppel_run(name, rep, rules, str(source), str(out), subset=True)
        rows = self.dump_rows(out, name)
        if rows != m.rows:
            raise BenchError(f"{name}: the dump holds {rows} customers rows, doppel reports {m.rows} rows")
        out.unlink()
        return m

    def dump_rows(self, path: Path, name: str) -> int:
        """Rows of public.customers' COPY block in a plain SQL dump; checked against the source."""
        rows, inside = 0, False
        with open(path, "rb") as f:
            for line in f:
                if inside:
                    if line == b"\\.\n":
                        break
                    rows += 1
                elif re.match(rb'COPY ("?public"?\.)?"?customers"? ', line):
                    inside = True
        if rows != self.rows["public.customers"]:
            raise BenchError(f"{name}: {path.name} holds {rows} public.customers rows, the source "
                             f"{self.rows['public.customers']}")
        return rows

    def to_parquet(self, name: str, rep: int, rules: Path, source: str) -> Measured:
        out = self.work / "parquet-out"
        shutil.rmtree(out, ignore_errors=True)
        m = self.doppel_run(name, rep, rules, source, str(out))
        shutil.rmtree(out, ignore_errors=True)
        return m


# --------------------------------------------------------------------------------------------
# Variants and results


@dataclass
class Variant:
    id: str
    label: str
    run: Callable[[int], Measured]  # repetition → measurement
    baseline: str | None = None  # id of the variant it is compared with
    data_baseline: str | None = None  # id of the variant its data phase is compared with
    ratio_target: float | None = None  # the issue's target for the ratio to the baseline
    doppel: bool = True
    subset: bool = False  # writes a subset or one table: rows/s of its own rows, no data-phase rows
    results: list[Measured] = field(default_factory=list)


def spread(values: list[float], fmt: str) -> str:
    if not values:
        return "—"
    med = statistics.median(values)
    if len(values) == 1:
        return format(med, fmt)
    return f"{format(med, fmt)} ({format(min(values), fmt)}–{format(max(values), fmt)})"


def ratios(variant: Variant, baseline: Variant | None, data: bool = False) -> list[float]:
    """Throughput ratios, paired per repetition: baseline time / variant time."""
    if baseline is None or not baseline.results:
        return []
    out = []
    for mine, theirs in zip(variant.results, baseline.results):
        out.append(theirs.data / mine.data if data else theirs.wall / mine.wall)
    return out


def target_verdict(variant: Variant, rs: list[float]) -> str:
    parts = []
    if variant.ratio_target is not None and rs:
        ok = statistics.median(rs) >= variant.ratio_target
        parts.append(f"≥ {variant.ratio_target:.2f} of {variant.baseline.upper()}: {'met' if ok else 'missed'}")
    if variant.doppel and variant.results:
        limit = TARGET_RSS_MIB_VERIFY if variant.id == "verify" else TARGET_RSS_MIB
        ok = max(m.rss_mib for m in variant.results) < limit
        parts.append(f"RSS < {limit} MiB: {'met' if ok else 'missed'}")
    return "; ".join(parts)


def render(bench: Bench, variants: list[Variant], meta: dict[str, str]) -> str:
    by_id = {v.id: v for v in variants}
    total = sum(bench.rows.values())
    lines = [
        f"## {bench.rows['public.customers']:,} customers + {bench.rows['public.orders']:,} orders ({total:,} rows)",
        "",
        f"- Command: `{meta['command']}`",
        f"- Machine: {meta['cores']} cores ({meta['cpu']}), {meta['memory']}, Linux {meta['kernel']}; "
        f"PostgreSQL {meta['postgres']} (fsync, full_page_writes and autovacuum off, same server for every run)",
        f"- doppel {meta['commit']}; {meta['date']}; {meta['repetitions']}, variants alternating; "
        f"fixture (seed `{meta['seed']}`) built in {meta['fixture_seconds']} s; load average "
        f"{meta['load_before']} before the timed runs, {meta['load_after']} after",
        *([f"- Note: {meta['note']}"] if meta["note"] else []),
        "",
        "Whole run. Wall time in seconds: median (min–max). Ratio: throughput relative to the baseline "
        "(baseline time / this time, paired per repetition; above 1 is faster). CPU: user + sys of the measured "
        "process and the children it waited for (doppel with its pg_dump/psql; a baseline's pg_dump/psql), "
        "not the servers'. Peak RSS: the largest of those processes, max over repetitions.",
        "",
        "| run | wall s | rows/s | vs | ratio | CPU s | CPU µs/row | peak RSS MiB | target |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for v in variants:
        if not v.results:
            continue
        walls = [m.wall for m in v.results]
        base = by_id.get(v.baseline) if v.baseline else None
        rs = ratios(v, base)
        cpus = [m.cpu for m in v.results]
        rows = statistics.median([m.rows for m in v.results]) if v.subset else total
        lines.append(
            f"| {v.label} | {spread(walls, '.2f')} | {rows / statistics.median(walls):,.0f} | "
            f"{v.baseline.upper() if base else '—'} | {spread(rs, '.2f')} | {spread(cpus, '.2f')} | "
            f"{statistics.median(cpus) / rows * 1e6:.2f} | {max(m.rss_mib for m in v.results):.0f} | "
            f"{target_verdict(v, rs)} |")
    lines += [
        "",
        "Data phase: the tables alone. For the baselines, each table's COPY pipe (the pipes run in parallel; "
        "the row for all tables is from the first pipe's start to the last one's end); for doppel, the per-table "
        "times of its log (each table read, transformed and written in a pipeline; tables run side by side "
        "up to `--jobs`, whose default is the core count, at most 4), the row for all tables again from the first "
        "table's start to the last one's end, compared with B. Per table, doppel's time is compared with B's pipe "
        "for the same table (which ran beside the other table's pipe). doppel CPU µs/row: CPU time of the doppel "
        "process alone (all its threads, sampled from /proc/PID/stat) within the time window, per row; per table "
        "only where no other table ran at the same time, as in the `--jobs 1` run.",
        "",
        "| run | table | rows | data s | rows/s | vs | ratio | doppel CPU µs/row | target |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for v in variants:
        if not v.results or v.subset:
            continue
        base = by_id.get(v.data_baseline) if v.data_baseline else None
        if v.data_baseline or not v.doppel or any(m.data_cpu is not None for m in v.results):
            secs = [m.data for m in v.results]
            rs = ratios(v, base, data=True) if v.doppel else []
            cpus = [m.data_cpu / total * 1e6 for m in v.results if m.data_cpu is not None]
            lines.append(f"| {v.label} | all | {total:,} | {spread(secs, '.2f')} | "
                         f"{total / statistics.median(secs):,.0f} | {v.data_baseline.upper() if base else '—'} | "
                         f"{spread(rs, '.2f')} | {spread(cpus, '.2f') if cpus else ''} | |")
        for table in TABLES:
            secs = [m.tables[table]["seconds"] for m in v.results if table in m.tables]
            if not secs:
                continue
            cpus = [m.tables[table]["cpu"] for m in v.results if "cpu" in m.tables.get(table, {})]
            rows = bench.rows[table]
            target = ""
            if v.id == "parquet" and table == "public.customers":
                ok = rows / statistics.median(secs) >= TARGET_PARQUET_CUSTOMERS_ROWS_PER_S
                target = f"≥ {TARGET_PARQUET_CUSTOMERS_ROWS_PER_S:,} rows/s: {'met' if ok else 'missed'}"
            table_rs = [b.tables[table]["seconds"] / m.tables[table]["seconds"]
                        for m, b in zip(v.results, base.results) if table in b.tables] if base and v.doppel else []
            lines.append(f"| {v.label} | {table} | {rows:,} | {spread(secs, '.2f')} | "
                         f"{rows / statistics.median(secs):,.0f} | {v.data_baseline.upper() if table_rs else ''} | "
                         f"{spread(table_rs, '.2f') if table_rs else ''} | "
                         f"{spread([c / rows * 1e6 for c in cpus], '.2f') if cpus else ''} | {target} |")
    return "\n".join(lines) + "\n"


HEADER = """# Benchmarks

Produced by `python3 scripts/bench/run.py` (see benches/README.md): doppel against PostgreSQL's
own copy of the same database, measured in the same run on the same throwaway server, as asked
by issue 5. Each section below is one fixture size; a run replaces the section of its size.

Runs: **A** is PostgreSQL's own copy of the whole database (createdb, `pg_dump
--section=pre-data | psql`, one `psql -c "COPY t TO STDOUT (FORMAT binary)" | psql -c "COPY t
FROM STDIN (FORMAT binary)"` pipe per table in parallel, `pg_dump --section=post-data | psql`);
**B** is the same pipes alone into empty tables without indexes. doppel builds a new database
as in production use (pre-data, COPY, post-data, sequences, ANALYZE), so its whole-run figure
is compared with A and its data phase with B. **D** is a plain `pg_dump -t public.customers
-f FILE` of the one table (schema, data, indexes); doppel's SQL dump of the same table (rules,
orders skipped, unique email kept) is compared with it (issue 17: at least 0.6× its speed).
The doppel runs take their per-table times from their log and write no `--report`, except
`anon-pg-report`: the anonymising PostgreSQL → PostgreSQL run with `--report` (utility figures
included), compared with the same run without it (issue 20: the report costs at most 10%).
Before 2026-12-03 every run wrote its `--report`.
"""


def write_markdown(path: Path, section: str, marker: str) -> None:
    begin, end = f"<!-- bench {marker} -->", f"<!-- /bench {marker} -->"
    block = f"{begin}\n{section}{end}\n"
    text = path.read_text() if path.exists() else HEADER
    if begin in text and end in text:
        before, rest = text.split(begin, 1)
        _, after = rest.split(end, 1)
        text = before + block + after.lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.write_text(text)


def machine(bench: Bench, args: argparse.Namespace, fixture_seconds: float, load_before: str) -> dict[str, str]:
    cpu = "unknown CPU"
    mem = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB RAM"
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip() or "unknown commit"
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "Cargo.toml", "Cargo.lock"], cwd=REPO,
                           capture_output=True, text=True).stdout.strip()
    if dirty:
        commit += " (with uncommitted changes under src/ or Cargo.*)"
    if args.doppel:
        # Another build than the repository's: say so rather than name the HEAD as its version.
        commit = f"binary given with --doppel (the repository was at {commit})"
    # The command as given, but for --note (printed on its own line).
    argv, rest = [], iter(sys.argv[1:])
    for arg in rest:
        if arg == "--note":
            next(rest, None)
        elif not arg.startswith("--note="):
            argv.append(arg)
    return {
        "command": "python3 scripts/bench/run.py" + (" " + shlex.join(argv) if argv else ""),
        "cores": str(len(os.sched_getaffinity(0))),
        "cpu": cpu,
        "memory": mem,
        "kernel": platform.release(),
        "postgres": bench.psql("postgres", "SHOW server_version"),
        "commit": commit,
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "repetitions": f"{args.repetitions} repetition{'s' if args.repetitions != 1 else ''}",
        "seed": args.seed,
        "fixture_seconds": f"{fixture_seconds:.1f}",
        "load_before": load_before,
        "load_after": load_average(),
        "note": args.note,
    }


def load_average() -> str:
    """The 1-minute load average: more than the core count means other work shared the machine."""
    return f"{os.getloadavg()[0]:.1f}"


# --------------------------------------------------------------------------------------------


ALL_VARIANTS = ["a", "b", "anon-pg", "anon-pg-report", "anon-pg-jobs1", "keep-pg", "anon-parquet", "parquet", "keep-parquet", "subset-pg",
                "verify", "pgdump", "anon-dump", "dump-dump"]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="Variants: " + ", ".join(ALL_VARIANTS) + ". See the module docstring.")
    p.add_argument("--customers", type=int, default=1_000_000, help="customers rows (default 1,000,000)")
    p.add_argument("--orders", type=int, default=3_000_000, help="orders rows (default 3,000,000)")
    p.add_argument("--repetitions", type=int, default=3, help="repetitions of every variant (default 3)")
    p.add_argument("--seed", default="doppel-bench-1", help="fixture seed (default doppel-bench-1)")
    cores = len(os.sched_getaffinity(0))
    p.add_argument("--threads", default=",".join(str(t) for t in sorted({1, 2, cores})),
                   help="--threads values for the anonymising PostgreSQL → PostgreSQL run "
                        "(default 1, 2 and the core count)")
    p.add_argument("--variants", default=",".join(ALL_VARIANTS),
                   help="comma-separated subset of: " + ", ".join(ALL_VARIANTS) + " (default all)")
    p.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md",
                   help="markdown file to update (default BENCHMARKS.md)")
    p.add_argument("--no-write", action="store_true", help="print only; leave the markdown file alone")
    p.add_argument("--doppel", type=Path, help="use this doppel binary instead of building one")
    p.add_argument("--note", default="", help="a sentence to print with the results (e.g. about the machine)")
    p.add_argument("--keep-work", action="store_true",
                   help="keep the work directory (logs, reports) under target/bench/ after the run")
    args = p.parse_args()
    if args.customers < 1 or args.orders < 0 or args.repetitions < 1:
        p.error("--customers must be at least 1, --orders at least 0, --repetitions at least 1")
    try:
        args.threads = sorted({int(t) for t in args.threads.split(",") if t.strip()})
    except ValueError:
        p.error("--threads takes comma-separated numbers, e.g. 1,2")
    if not args.threads or min(args.threads) < 1:
        p.error("--threads takes numbers of at least 1")
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in args.variants if v not in ALL_VARIANTS]
    if unknown:
        p.error(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(ALL_VARIANTS)}")
    return args


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build(args: argparse.Namespace) -> Path:
    if args.doppel:
        return args.doppel.resolve()
    log("building doppel (cargo build --release)")
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "doppel"], cwd=REPO, check=True)
    target_dir = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return (target_dir if target_dir.is_absolute() else REPO / target_dir) / "release" / "doppel"


def main() -> int:
    args = parse_args()
    doppel = build(args)
    if not doppel.is_file():
        raise BenchError(f"{doppel}: no doppel binary there")

    run_as = None
    if os.geteuid() == 0:
        user = os.environ.get("DOPPEL_PG_USER", "postgres")
        try:
            run_as = pwd.getpwnam(user)
        except KeyError:
            raise BenchError(f"running as root, the server must run as an unprivileged user, and `{user}` does "
                             "not exist: create it or set DOPPEL_PG_USER") from None
    (REPO / "target" / "bench").mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=REPO / "target" / "bench"))
    server = Server(work=work, bin_dir=find_bin_dir(), run_as=run_as)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        server.start()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "DOPPEL_KEY"}
        env.update(PGHOST="127.0.0.1", PGPORT=str(server.port), PGUSER="postgres", PGDATABASE="postgres",
                   DOPPEL_LOG="info", NO_COLOR="1", PATH=f"{server.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
        key_file = work / "key"
        key_file.write_text(KEY + "\n")
        key_file.chmod(0o600)
        bench = Bench(args=args, server=server, work=work, doppel=doppel, env=env, key_file=key_file)
        log(f"server on 127.0.0.1:{server.port} in {work}")

        log(f"fixture: {args.customers:,} customers, {args.orders:,} orders")
        bench.psql("postgres", f"CREATE DATABASE {SOURCE_DB}")
        started = time.perf_counter()
        out = subprocess.run(["psql", "-qX", "-v", "ON_ERROR_STOP=1", "-d", SOURCE_DB, "-v", f"customers={args.customers}",
                              "-v", f"orders={args.orders}", "-v", f"seed={args.seed}", "-f", str(FIXTURE)],
                             capture_output=True, text=True, env=env)
        if out.returncode != 0:
            raise BenchError(f"{FIXTURE.relative_to(REPO)} failed:\n{out.stderr}")
        fixture_seconds = time.perf_counter() - started
        for table in TABLES:
            bench.rows[table] = int(bench.psql(SOURCE_DB, f"SELECT count(*) FROM {table}"))
        log(f"fixture built in {fixture_seconds:.1f} s")
        rules_dump = work / RULES_DUMP_NAME
        bench_rules = RULES.read_text()
        rules_dump.write_text(bench_rules[:bench_rules.index('[tables."public.orders"]')]
                              + '[tables."public.orders"]\naction = "skip"\n')
        for rules in (RULES, RULES_KEEP, RULES_SUBSET, rules_dump):
            out = subprocess.run([str(doppel), "check", "--rules", str(rules), "--from", server.url(SOURCE_DB)],
                                 capture_output=True, text=True, env=env)
            if out.returncode != 0:
                raise BenchError(f"doppel check --rules {rules} failed:\n{out.stdout}{out.stderr}")

        parquet_input = work / "parquet-input"
        if "parquet" in args.variants or "keep-parquet" in args.variants:
            log("preparing the Parquet input (keep-all PostgreSQL → Parquet)")
            bench.doppel_run("parquet-input", 0, RULES_KEEP, server.url(SOURCE_DB), str(parquet_input))

        source_dump = work / "source.sql"
        if "dump-dump" in args.variants:
            log("preparing the dump-dump input (pg_dump of the whole source, plain)")
            subprocess.run(["pg_dump", "-f", str(source_dump), "-d", SOURCE_DB], env=env, check=True)

        verify_output = "bench_verify_output"
        if "verify" in args.variants:
            log("preparing the output to verify (anonymising PostgreSQL → PostgreSQL)")
            bench.drop(verify_output)
            bench.doppel_run("verify-output", 0, RULES, server.url(SOURCE_DB), server.url(verify_output))

        variants: list[Variant] = []
        if "a" in args.variants:
            variants.append(Variant("a", "A: PostgreSQL copy, whole database", bench.baseline_a, doppel=False))
        if "b" in args.variants:
            variants.append(Variant("b", "B: PostgreSQL COPY pipes, data only", bench.baseline_b, doppel=False))
        if "anon-pg" in args.variants:
            cores = len(os.sched_getaffinity(0))
            for t in args.threads:
                variants.append(Variant(f"anon-pg-t{t}", f"doppel PG → PG, rules, --threads {t}",
                                        (lambda t: lambda rep: bench.to_database(f"anon-pg-t{t}", rep, RULES, t))(t),
                                        baseline="a", data_baseline="b",
                                        ratio_target=TARGET_RATIO_ANON if t == cores else None))
        if "anon-pg-report" in args.variants:
            cores = len(os.sched_getaffinity(0))
            run_id = f"anon-pg-t{cores}" if "anon-pg" in args.variants and cores in args.threads else None
            variants.append(Variant("anon-pg-report", f"doppel PG → PG, rules, --threads {cores}, --report",
                                    lambda rep: bench.to_database("anon-pg-report", rep, RULES, cores, report=True),
                                    baseline=run_id, ratio_target=TARGET_RATIO_REPORT if run_id else None))
        if "anon-pg-jobs1" in args.variants:
            variants.append(Variant("anon-pg-jobs1", "doppel PG → PG, rules, --jobs 1",
                                    lambda rep: bench.to_database("anon-pg-jobs1", rep, RULES, jobs=1),
                                    baseline="a", data_baseline="b"))
        if "keep-pg" in args.variants:
            variants.append(Variant("keep-pg", "doppel PG → PG, all kept",
                                    lambda rep: bench.to_database("keep-pg", rep, RULES_KEEP), baseline="a",
                                    data_baseline="b", ratio_target=TARGET_RATIO_KEEP))
        if "anon-parquet" in args.variants:
            variants.append(Variant("anon-parquet", "doppel PG → Parquet, rules",
                                    lambda rep: bench.to_parquet("anon-parquet", rep, RULES, server.url(SOURCE_DB)),
                                    baseline="a" if "a" in args.variants else None,
                                    ratio_target=TARGET_RATIO_PG_PARQUET if "a" in args.variants else None))
        if "parquet" in args.variants:
            keep = "keep-parquet" in args.variants
            variants.append(Variant("parquet", "doppel Parquet → Parquet, rules",
                                    lambda rep: bench.to_parquet("parquet", rep, RULES, str(parquet_input)),
                                    baseline="keep-parquet" if keep else None,
                                    ratio_target=TARGET_RATIO_PARQUET if keep else None))
        if "keep-parquet" in args.variants:
            variants.append(Variant("keep-parquet", "doppel Parquet → Parquet, all kept",
                                    lambda rep: bench.to_parquet("keep-parquet", rep, RULES_KEEP, str(parquet_input))))

        if "subset-pg" in args.variants:
            variants.append(Variant("subset-pg", "doppel PG → PG, rules + 1% subset",
                                    lambda rep: bench.to_database("subset-pg", rep, RULES_SUBSET, subset=True),
                                    baseline="a", subset=True))
        if "pgdump" in args.variants:
            variants.append(Variant("d", "D: pg_dump -t customers -f FILE", lambda rep: bench.pg_dump_table(rep),
                                    doppel=False, subset=True))
        if "anon-dump" in args.variants:
            variants.append(Variant("anon-dump", "doppel PG → SQL dump, rules, orders skipped",
                                    lambda rep: bench.to_dump("anon-dump", rep, rules_dump),
                                    baseline="d" if "pgdump" in args.variants else None, subset=True,
                                    ratio_target=TARGET_RATIO_DUMP if "pgdump" in args.variants else None))
        if "dump-dump" in args.variants:
            variants.append(Variant("dump-dump", "doppel dump file → SQL dump, rules, orders skipped",
                                    lambda rep: bench.dump_to_dump("dump-dump", rep, rules_dump, source_dump),
                                    baseline="anon-dump" if "anon-dump" in args.variants else None, subset=True))
        if "verify" in args.variants:
            cores = len(os.sched_getaffinity(0))
            run_id = f"anon-pg-t{cores}" if "anon-pg" in args.variants and cores in args.threads else None
            variants.append(Variant("verify", "doppel verify of the PG → PG output (vs the run)",
                                    lambda rep: bench.verify("verify", rep, RULES, verify_output),
                                    baseline=run_id, ratio_target=TARGET_RATIO_VERIFY if run_id else None))

        load_before = load_average()
        for rep in range(args.repetitions):
            shift = rep % len(variants)
            for v in variants[shift:] + variants[:shift]:
                m = v.run(rep)
                v.results.append(m)
                steps = "".join(f", {k} {s:.2f} s" for k, s in m.steps.items())
                log(f"repetition {rep + 1}/{args.repetitions}: {v.label}: {m.wall:.2f} s, cpu {m.cpu:.2f} s, "
                    f"peak RSS {m.rss_mib:.0f} MiB{steps}")

        meta = machine(bench, args, fixture_seconds, load_before)
        section = render(bench, variants, meta)
        print(section)
        if not args.no_write:
            write_markdown(args.output, section, f"customers={bench.rows['public.customers']} "
                                                 f"orders={bench.rows['public.orders']}")
            log(f"written to {args.output}")
        return 0
    finally:
        server.stop()
        if args.keep_work:
            log(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        sys.exit(130)
