#!/usr/bin/env python3
"""The benchmark's driver (bench/run starts it inside a throwaway PostgreSQL; see README.md).

Every figure is a ratio against a bound or a baseline measured in this same run on this same
machine: the API's rate (N / R), the latency bound (N x L / C), psql's COPY, the sqlite3 shell's
.import, the mock's own capacity, and a shell loop of curl + psql. Python standard library only.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
MOCK = ROOT / "tests" / "mock_api" / "qonversion_mock.py"
SNAPSHOT = "2026-11-20"
KEYS = {"A": "bench_key_project_a_0123456789ab", "B": "bench_key_project_b_0123456789ab"}
# 4 platforms x 5 countries = 20 segments per window bucket, times 5 products (100) when the
# cohort count alone (at most 1,000 buckets per window) cannot reach N.
MATRIX = ('[matrix]\ntarget_platform = ["*", "iOS", "Android", "Stripe"]\n'
          'country = ["*", "US", "GB", "DE", "FR"]\n')
PRODUCTS = 'product_id = ["*", "premium_monthly", "premium_annual", "lifetime", "weekly_trial"]\n'
MAX_BUCKETS = 1000
KEY_COLUMNS = ("project", "environment", "snapshot_at", "window_name", "window_from", "segment")


@dataclass
class Sizes:
    rate_per_s: float      # R: the mock's limit per key, and what the config says
    paced_cells: int       # N for pacing and adapting
    latency_ms: float      # L
    concurrency: int       # C
    latency_cells: int     # N for the latency-bound case
    load_rows: int
    plan_cells: int
    run_cells: int         # zero-latency run for CPU and RSS
    shell_cells: int       # the shell-loop baseline
    load_chunks: int       # the load alternates with its baseline this many times
    fleet_projects: int    # projects side by side at a strict server's limit
    api_regime_cells: int  # cells at the API's own 30 requests a minute


FULL = Sizes(rate_per_s=10, paced_cells=600, latency_ms=50, concurrency=32, latency_cells=5000,
             load_rows=1_000_000, plan_cells=100_000, run_cells=20_000, shell_cells=300, load_chunks=4,
             fleet_projects=100, api_regime_cells=20)
SMOKE = Sizes(rate_per_s=20, paced_cells=60, latency_ms=50, concurrency=32, latency_cells=500,
              load_rows=20_000, plan_cells=10_000, run_cells=2_000, shell_cells=20, load_chunks=2,
              fleet_projects=5, api_regime_cells=0)


@dataclass
class Row:
    group: str
    case: str
    measured: str
    reference: str
    ratio: Optional[float]
    target: str
    ok: Optional[bool]
    note: str = ""


@dataclass
class Bench:
    build: Path
    sizes: Sizes
    work: Path
    rows: list[Row] = field(default_factory=list)
    raw: dict = field(default_factory=dict)

    @property
    def etl(self) -> str:
        return str(self.build / "qonversion-etl")

    @property
    def helper(self) -> str:
        return str(self.build / "bench" / "qetl_bench")

    def add(self, *args, **kwargs) -> None:
        row = Row(*args, **kwargs)
        self.rows.append(row)
        verdict = "" if row.ok is None else ("ok" if row.ok else "MISSED")
        ratio = "" if row.ratio is None else f"{row.ratio:.3f}"
        log(f"  {row.case}: {row.measured} vs {row.reference} -> {ratio} {row.target} {verdict}")


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------
# Processes
# ------------------------------------------------------------------------------------------

@dataclass
class Measured:
    seconds: float
    cpu: float            # user + sys of the child
    max_rss_kib: int
    status: int


def timed(argv: list[str], *, env: Optional[dict] = None, stdout=subprocess.DEVNULL,
          stderr=None, stdin=None, timeout: float = 1800) -> Measured:
    """Runs argv; wall time, and the child's own CPU time and peak RSS from wait4()."""
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stdout=stdout, stderr=stderr, stdin=stdin)
    deadline = t0 + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            raise RuntimeError(f"timed out after {timeout} s: {' '.join(argv[:3])} ...")
        time.sleep(0.002)
    seconds = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Measured(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss,
                    proc.returncode)


class Mock:
    """The bundled mock API on a free port, stopped (SIGTERM) when the block ends."""

    def __init__(self, work: Path, *args: str):
        self.log = open(work / "mock.log", "a")
        self.proc = subprocess.Popen(
            [sys.executable, str(MOCK), "--port", "0", *(() if "--keys" in args else ("--keys", ",".join(KEYS.values()))),
             *args],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"port=(\d+)", line)
        if not m:
            self.proc.kill()
            raise RuntimeError(f"the mock did not start: {line!r}")
        self.port = int(m.group(1))
        self.base = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "Mock":
        return self

    def __exit__(self, *exc) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()

    def stats(self) -> dict:
        with urllib.request.urlopen(self.base + "/__stats", timeout=10) as r:
            return json.load(r)

    def reset(self) -> None:
        req = urllib.request.Request(self.base + "/__reset", data=b"", method="POST")
        urllib.request.urlopen(req, timeout=10).read()


def psql(sql: str, *, db: str = "postgres", capture: bool = True) -> str:
    out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", db],
                         input=sql, text=True, capture_output=capture, check=True)
    return (out.stdout or "").strip()


# ------------------------------------------------------------------------------------------
# Job runs
# ------------------------------------------------------------------------------------------

def config_text(base_url: str, warehouse: str, *, cells_per_project: int, projects: int = 1,
                rpm: float, concurrency: int, schema: str = "qonversion") -> str:
    segments, matrix = 20, MATRIX
    if cells_per_project > 20 * MAX_BUCKETS:
        segments, matrix = 100, MATRIX + PRODUCTS
    if cells_per_project % segments or cells_per_project // segments > MAX_BUCKETS:
        raise ValueError(f"{cells_per_project} cells is not a multiple of {segments} up to "
                         f"{segments * MAX_BUCKETS}")
    text = (f'snapshot_grain = "day"\nmax_cells = {max(cells_per_project * projects, 1000)}\n\n'
            f'[api]\nbase_url = "{base_url}/v1/analytics"\nconcurrency = {concurrency}\n'
            f'requests_per_minute = {rpm:g}\ntimeout_seconds = 30\nmax_attempts = 5\n\n'
            f'[warehouse]\nurl = "{warehouse}"\nschema = "{schema}"\n\n')
    for name in list(KEYS)[:projects]:
        text += (f'[[project]]\nname = "bench-{name.lower()}"\n'
                 f'api_key = {{ env = "BENCH_KEY_{name}" }}\nenvironments = [1]\n\n')
    text += (f'[[window]]\nname = "daily"\neach = "day"\ncount = {cells_per_project // segments}'
             f'\n\n{matrix}')
    return text


def job_env() -> dict:
    env = dict(os.environ)
    for name, key in KEYS.items():
        env[f"BENCH_KEY_{name}"] = key
    return env


@dataclass
class JobRun:
    measured: Measured
    stats: dict
    rows: int

    @property
    def http_429(self) -> int:
        return int(self.stats.get("by_status", {}).get("429", 0))

    @property
    def requests(self) -> int:
        return int(self.stats.get("requests_total", 0))


def sqlite_rows(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT count(*) FROM customer_metrics WHERE snapshot_at = ?",
                          (SNAPSHOT + " 00:00:00",)).fetchone()[0]


def run_job(b: Bench, mock: Mock, name: str, **config) -> JobRun:
    """One `qonversion-etl run` into a fresh SQLite file, migrated beforehand (not timed)."""
    db = b.work / f"{name}.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    cfg = b.work / f"{name}.toml"
    cfg.write_text(config_text(mock.base, f"sqlite:{db}", **config))
    env = job_env()
    subprocess.run([b.etl, "migrate", "-c", str(cfg), "-q"], env=env, check=True)
    mock.reset()
    with open(b.work / f"{name}.log", "w") as err:
        m = timed([b.etl, "run", "-c", str(cfg), "--snapshot", SNAPSHOT, "-q"], env=env, stderr=err)
    if m.status != 0:
        raise RuntimeError(f"{name}: qonversion-etl exited {m.status}; see {b.work / name}.log")
    return JobRun(m, mock.stats(), sqlite_rows(db))


# ------------------------------------------------------------------------------------------
# Cases
# ------------------------------------------------------------------------------------------

def case_pacing(b: Bench) -> None:
    s = b.sizes
    n, r = s.paced_cells, s.rate_per_s
    bound = n / r
    log(f"== pacing: N={n}, mock and config at R={r:g}/s per key")
    with Mock(b.work, "--rate-limit-per-minute", f"{r * 60:g}", "--latency-ms", "20") as mock:
        one = run_job(b, mock, "pacing_one", cells_per_project=n, rpm=r * 60, concurrency=4)
        b.add("pacing", f"1 project, {n} cells at R = {r:g}/s", f"{one.measured.seconds:.2f} s",
              f"N / R = {bound:.1f} s", one.measured.seconds / bound, "≤ 1.03",
              one.measured.seconds / bound <= 1.03 and one.http_429 == 0 and one.rows == n,
              f"{one.http_429} × 429, {one.requests} requests, {one.rows} rows")
        two = run_job(b, mock, "pacing_two", cells_per_project=n, projects=2, rpm=r * 60,
                      concurrency=4)
        ratio = two.measured.seconds / one.measured.seconds
        b.add("pacing", f"2 projects (separate keys), {n} cells each", f"{two.measured.seconds:.2f} s",
              f"1 project: {one.measured.seconds:.2f} s", ratio, "≤ 1.05",
              ratio <= 1.05 and two.http_429 == 0 and two.rows == 2 * n,
              f"{two.http_429} × 429, {two.requests} requests, {two.rows} rows")
        b.raw["pacing"] = {"one": vars(one.measured), "two": vars(two.measured),
                           "one_429": one.http_429, "two_429": two.http_429}


def case_adapting(b: Bench) -> None:
    s = b.sizes
    n, r = s.paced_cells, s.rate_per_s
    bound = n / r
    log(f"== adapting: N={n}, config 2R = {2 * r:g}/s, mock R = {r:g}/s")
    with Mock(b.work, "--rate-limit-per-minute", f"{r * 60:g}", "--latency-ms", "20") as mock:
        run = run_job(b, mock, "adapting", cells_per_project=n, rpm=2 * r * 60, concurrency=4)
    ratio = run.measured.seconds / bound
    share = run.http_429 / n
    b.add("adapting", f"config 2R against a mock allowing R, {n} cells",
          f"{run.measured.seconds:.2f} s", f"N / R = {bound:.1f} s", ratio, "≤ 1.5",
          ratio <= 1.5 and run.rows == n, f"{run.rows}/{n} rows stored")
    b.add("adapting", "429 answers", f"{run.http_429}", f"N = {n}", share, "≤ 0.10",
          share <= 0.10, f"{run.requests} requests in all")
    b.raw["adapting"] = {"run": vars(run.measured), "http_429": run.http_429,
                         "requests": run.requests, "rows": run.rows}


def many_keys(n: int) -> dict:
    return {f"P{i:03d}": f"bench_key_fleet_{i:03d}_0123456789abcd" for i in range(n)}


def fleet_config(base_url: str, warehouse: str, keys: dict, *, rpm: float) -> str:
    """One project per key, 20 cells each (one bucket of the 20-segment matrix)."""
    text = (f'snapshot_grain = "day"\nmax_cells = {20 * len(keys) + 1000}\n\n'
            f'[api]\nbase_url = "{base_url}/v1/analytics"\nconcurrency = 4\n'
            f'requests_per_minute = {rpm:g}\ntimeout_seconds = 30\nmax_attempts = 5\n\n'
            f'[warehouse]\nurl = "{warehouse}"\n\n')
    for name in keys:
        text += (f'[[project]]\nname = "fleet-{name.lower()}"\n'
                 f'api_key = {{ env = "BENCH_KEY_{name}" }}\nenvironments = [1]\n\n')
    return text + f'[[window]]\nname = "daily"\neach = "day"\ncount = 1\n\n{MATRIX}'


def strict_row(b: Bench, case: str, run: JobRun, n: int, r: float, keys: int, target: float) -> None:
    bound = n / r
    ratio = run.measured.seconds / bound
    by_key = run.stats.get("by_key_status", {})
    worst = max((int(v.get("429", 0)) for v in by_key.values()), default=0)
    b.add("strict", case, f"{run.measured.seconds:.2f} s", f"N / R = {bound:.1f} s", ratio, f"≤ {target:.2f}",
          ratio <= target and worst <= 2 and run.rows == n * keys,
          f"{run.http_429} × 429 in all, at most {worst} for one key (≤ 2); {run.rows} rows")


def case_strict(b: Bench) -> None:
    """SPEC: configured at a server's true limit, a strict one (no burst, no forgiveness)
    included, a run takes at most 1.10 × N / R; a 429 lowers the rate once per event."""
    s = b.sizes
    n, r = s.paced_cells, s.rate_per_s
    log(f"== strict: N={n}, mock a strict bucket at R={r:g}/s per key, config R")
    with Mock(b.work, "--rate-limit-per-minute", f"{r * 60:g}", "--rate-limit-tolerance-ms", "0",
              "--latency-ms", "20") as mock:
        one = run_job(b, mock, "strict_one", cells_per_project=n, rpm=r * 60, concurrency=4)
    strict_row(b, f"1 project, {n} cells at a strict R = {r:g}/s", one, n, r, 1, 1.10)

    log(f"== strict: {s.fleet_projects} projects side by side, 20 cells each, strict bucket at 1/s")
    keys = many_keys(s.fleet_projects)
    env = job_env() | {f"BENCH_KEY_{name}": key for name, key in keys.items()}
    db = b.work / "strict_fleet.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    with Mock(b.work, "--rate-limit-per-minute", "60", "--rate-limit-tolerance-ms", "0", "--latency-ms", "20",
              "--keys", ",".join(keys.values())) as mock:
        cfg = b.work / "strict_fleet.toml"
        cfg.write_text(fleet_config(mock.base, f"sqlite:{db}", keys, rpm=60))
        subprocess.run([b.etl, "migrate", "-c", str(cfg), "-q"], env=env, check=True)
        mock.reset()
        with open(b.work / "strict_fleet.log", "w") as err:
            m = timed([b.etl, "run", "-c", str(cfg), "--snapshot", SNAPSHOT, "-q"], env=env, stderr=err)
        fleet = JobRun(m, mock.stats(), sqlite_rows(db))
    strict_row(b, f"{s.fleet_projects} projects side by side, 20 cells each at a strict 1/s", fleet, 20, 1.0,
               s.fleet_projects, 1.10)

    api = None
    if s.api_regime_cells:  # 40 s at the smallest size: not in a smoke run
        log(f"== strict: the API's own regime, {s.api_regime_cells} cells at 30 requests a minute")
        with Mock(b.work, "--rate-limit-per-minute", "30", "--rate-limit-tolerance-ms", "0",
                  "--latency-ms", "20") as mock:
            api = run_job(b, mock, "strict_api", cells_per_project=s.api_regime_cells, rpm=30, concurrency=4)
        strict_row(b, f"{s.api_regime_cells} cells at the API's 30 requests a minute, strict", api,
                   s.api_regime_cells, 0.5, 1, 1.10)

    log(f"== strict: N={n}, a bursty server (burst 5) at R={r:g}/s, config R")
    with Mock(b.work, "--rate-limit-per-minute", f"{r * 60:g}", "--rate-limit-burst", "5",
              "--latency-ms", "20") as mock:
        bursty = run_job(b, mock, "strict_bursty", cells_per_project=n, rpm=r * 60, concurrency=4)
    strict_row(b, f"1 project, {n} cells at a bursty R = {r:g}/s (burst 5)", bursty, n, r, 1, 1.05)
    b.raw["strict"] = {"one": vars(one.measured), "fleet": vars(fleet.measured),
                       "api": vars(api.measured) if api else None, "bursty": vars(bursty.measured)}


def write_urls(b: Bench, cfg: Path, mock: Mock, out: Path, *, with_cells: bool = False) -> int:
    """The job's own plan, as full URLs (and, for the shell loop, window start and segment)."""
    plan = subprocess.run([b.etl, "plan", "-c", str(cfg), "--snapshot", SNAPSHOT],
                          env=job_env(), capture_output=True, text=True, check=True).stdout
    lines = []
    for line in plan.splitlines():
        parts = line.split("\t")
        if len(parts) != 5:
            continue  # the footer
        project, _env, window, segment, path = parts
        key = KEYS[project.split("-")[-1].upper()]
        url = mock.base + path.replace("****", key)
        if with_cells:
            window_from = re.search(r"\[(\S+) \.\.", window).group(1)
            lines.append(f"{url}\t{window_from}\t{segment}")
        else:
            lines.append(url)
    out.write_text("\n".join(lines) + "\n")
    return len(lines)


def mock_capacity(b: Bench, mock: Mock, urls: Path, concurrency: int) -> float:
    mock.reset()
    out = subprocess.run([b.helper, "http", "--urls", str(urls), "--concurrency", str(concurrency)],
                         capture_output=True, text=True, check=True).stdout
    result = json.loads(out)
    if set(result["by_status"]) != {"200"}:
        raise RuntimeError(f"capacity probe got {result['by_status']}")
    return float(result["seconds"])


def case_latency(b: Bench) -> None:
    s = b.sizes
    n, lat, c = s.latency_cells, s.latency_ms / 1000, s.concurrency
    bound = n * lat / c
    log(f"== latency-bound: N={n}, L={s.latency_ms:g} ms, C={c}, no rate limit")
    with Mock(b.work, "--latency-ms", f"{s.latency_ms:g}") as mock:
        cfg = b.work / "latency_probe.toml"
        cfg.write_text(config_text(mock.base, f"sqlite:{b.work / 'unused.sqlite'}", cells_per_project=n, rpm=6e6,
                                   concurrency=c))
        urls = b.work / "latency_urls.txt"
        write_urls(b, cfg, mock, urls)
        # The same requests from a bare client first: whatever the mock itself costs shows here,
        # and it warms the mock's answer cache, as later nights would not but the job's run does
        # not depend on.
        probe = mock_capacity(b, mock, urls, c)
        run = run_job(b, mock, "latency", cells_per_project=n, rpm=6e6, concurrency=c)
    ratio = run.measured.seconds / bound
    b.add("latency", f"{n} cells, L = {s.latency_ms:g} ms, C = {c}", f"{run.measured.seconds:.2f} s",
          f"N × L / C = {bound:.2f} s", ratio, "≤ 1.15", ratio <= 1.15 and run.rows == n,
          f"{run.rows} rows; a bare libcurl client on the same mock: {probe:.2f} s "
          f"({probe / bound:.3f} × bound)")
    b.raw["latency"] = {"run": vars(run.measured), "bare_client_seconds": probe, "bound": bound}


def case_cost(b: Bench) -> None:
    s = b.sizes
    log(f"== cost per cell: plan of {s.plan_cells}, run of {s.run_cells} against a zero-latency mock")
    with Mock(b.work) as mock:
        cfg = b.work / "plan.toml"
        cfg.write_text(config_text(mock.base, f"sqlite:{b.work / 'unused.sqlite'}", cells_per_project=s.plan_cells,
                                   rpm=6e6, concurrency=s.concurrency))
        plan = timed([b.etl, "plan", "-c", str(cfg), "--snapshot", SNAPSHOT], env=job_env())
        if plan.status != 0:
            raise RuntimeError(f"plan exited {plan.status}")
        rss = plan.max_rss_kib / 1024
        b.add("cost", f"plan of {s.plan_cells} cells: peak RSS", f"{rss:.1f} MiB", "64 MiB",
              rss / 64, "< 1", rss < 64,
              f"{plan.seconds:.2f} s wall, {plan.cpu:.2f} s CPU "
              f"({plan.cpu / s.plan_cells * 1000 * 1000:.1f} ms per 1,000 cells)")

        probe_cfg = b.work / "cost_probe.toml"
        probe_cfg.write_text(config_text(mock.base, f"sqlite:{b.work / 'unused.sqlite'}", cells_per_project=s.run_cells,
                                         rpm=6e6, concurrency=s.concurrency))
        urls = b.work / "cost_urls.txt"
        write_urls(b, probe_cfg, mock, urls)
        probe = mock_capacity(b, mock, urls, s.concurrency)
        run = run_job(b, mock, "cost", cells_per_project=s.run_cells, rpm=6e6,
                      concurrency=s.concurrency)
    per_k = run.measured.cpu / s.run_cells * 1000
    rss = run.measured.max_rss_kib / 1024
    b.add("cost", f"run of {s.run_cells} cells: peak RSS", f"{rss:.1f} MiB", "64 MiB", rss / 64,
          "< 1", rss < 64 and run.rows == s.run_cells, f"{run.rows} rows")
    b.add("cost", f"run of {s.run_cells} cells: CPU (user + sys)",
          f"{per_k * 1000:.1f} ms per 1,000 cells", "—", None, "—", None,
          f"{run.measured.cpu:.2f} s CPU in {run.measured.seconds:.2f} s wall")
    b.add("cost", f"run of {s.run_cells} cells: wall time, zero-latency mock",
          f"{run.measured.seconds:.2f} s", f"bare client, same URLs: {probe:.2f} s",
          run.measured.seconds / probe, "—", None,
          "the mock (one Python process) bounds both: it is the slower side here")
    b.raw["cost"] = {"plan": vars(plan), "run": vars(run.measured), "bare_client_seconds": probe}


def remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def case_load(b: Bench) -> None:
    """The job's loader against a bulk loader, in chunks that alternate (A B, then B A) so that
    whatever else runs on the machine meanwhile weighs on both sides alike."""
    s = b.sizes
    n, chunks = s.load_rows, s.load_chunks
    size = n // chunks
    log(f"== load: {n} rows through RowBatcher + Warehouse::upsert_metrics, "
        f"{chunks} chunks alternating with the baseline")
    csv = b.work / "chunk.csv"

    def write_csv(backend: str, first: int, p: int) -> str:
        out = subprocess.run([b.helper, "csv", "--backend", backend, "--first", str(first),
                              "--rows", str(size), "--pass", str(p), "--out", str(csv)],
                             capture_output=True, text=True, check=True).stdout
        return json.loads(out)["columns"]

    def job_load(url: str, schema: str, first: int, p: int) -> dict:
        out = subprocess.run([b.helper, "load", "--url", url, "--schema", schema,
                              "--first", str(first), "--rows", str(size), "--pass", str(p)],
                             capture_output=True, text=True, check=True)
        result = json.loads(out.stdout)
        figures["batch_rows"] = result["batch_rows"]
        return result

    def migrate(url: str, schema: str) -> None:
        subprocess.run([b.helper, "load", "--url", url, "--schema", schema, "--rows", "0"],
                       capture_output=True, check=True)

    def alternate(job_step, baseline_step, k: int) -> tuple[float, float, float]:
        """(job seconds, job CPU seconds, baseline seconds) of chunk k, in A B or B A order."""
        if k % 2 == 0:
            j = job_step()
            t = baseline_step()
        else:
            t = baseline_step()
            j = job_step()
        return j["seconds"], j["cpu_seconds"], t

    columns = write_csv("postgresql", 0, 1)
    col_list = [c.strip() for c in columns.split(",")]
    set_list = ", ".join(f"{c} = EXCLUDED.{c}" for c in col_list if c not in KEY_COLUMNS)
    key_list = ", ".join(KEY_COLUMNS)
    figures: dict = {}

    def add(name: str, values: tuple) -> None:
        acc = figures.setdefault(name, [0.0, 0.0, 0.0])
        for i, v in enumerate(values):
            acc[i] += v

    # PostgreSQL: the job into schema bench_job, psql into bench_psql (same DDL, by the job's
    # own migrations), one database.
    db = "qetl_bench"
    url = f"dbname={db}"
    psql(f"DROP DATABASE IF EXISTS {db}")
    psql(f"CREATE DATABASE {db}")
    migrate(url, "bench_job")
    migrate(url, "bench_psql")

    def timed_psql(sql: str) -> float:
        psql("CHECKPOINT", db=db)
        t0 = time.monotonic()
        psql(sql, db=db)
        return time.monotonic() - t0

    def pg_job(first: int, p: int):
        def step():
            psql("CHECKPOINT", db=db)
            return job_load(url, "bench_job", first, p)
        return step

    for p, name in ((1, "pg_fresh"), (2, "pg_existing")):
        for k in range(chunks):
            write_csv("postgresql", k * size, p)
            if p == 1:
                sql = f"\\copy bench_psql.customer_metrics ({columns}) FROM '{csv}' WITH (FORMAT csv)"
            else:
                sql = (f"BEGIN;\nCREATE TEMP TABLE batch (LIKE bench_psql.customer_metrics INCLUDING "
                       f"DEFAULTS) ON COMMIT DROP;\n\\copy batch ({columns}) FROM '{csv}' WITH (FORMAT csv)\n"
                       f"INSERT INTO bench_psql.customer_metrics ({columns}) SELECT {columns} FROM batch "
                       f"ON CONFLICT ({key_list}) DO UPDATE SET {set_list};\nCOMMIT;\n")
            add(name, alternate(pg_job(k * size, p), lambda: timed_psql(sql), k))
    counts = psql("SELECT (SELECT count(*) FROM bench_job.customer_metrics WHERE run_id LIKE '%0002') "
                  "|| ' ' || (SELECT count(*) FROM bench_psql.customer_metrics WHERE run_id LIKE '%0002')",
                  db=db)
    pg_ok = counts == f"{n} {n}"
    psql(f"DROP DATABASE {db}")

    # SQLite: the job into one file, the sqlite3 shell into another, both made by the job's
    # migrations.
    job_db, shell_db = b.work / "load_job.sqlite", b.work / "load_shell.sqlite"
    for f in (job_db, shell_db):
        remove_sqlite(f)
        migrate(f"sqlite:{f}", "qonversion")

    def shell(script: str) -> float:
        t0 = time.monotonic()
        subprocess.run(["sqlite3", "-bail", str(shell_db)], input=script, text=True, check=True,
                       capture_output=True)
        return time.monotonic() - t0

    lite_set = set_list.replace("EXCLUDED", "excluded")
    for p, name in ((1, "sqlite_fresh"), (2, "sqlite_existing")):
        for k in range(chunks):
            write_csv("sqlite", k * size, p)
            if p == 1:
                script = f".mode csv\nBEGIN;\n.import {csv} customer_metrics\nCOMMIT;\n"
            else:
                script = (f".mode csv\nBEGIN;\nCREATE TEMP TABLE batch AS SELECT * FROM "
                          f"customer_metrics WHERE 0;\n.import {csv} batch\n"
                          f"INSERT INTO customer_metrics ({columns}) SELECT {columns} FROM batch "
                          f"WHERE true ON CONFLICT ({key_list}) DO UPDATE SET {lite_set};\nCOMMIT;\n")
            add(name, alternate(lambda: job_load(f"sqlite:{job_db}", "qonversion", k * size, p),
                                lambda: shell(script), k))
    lite_ok = sqlite_rows(job_db) == n and sqlite_rows(shell_db) == n
    csv.unlink(missing_ok=True)
    for f in (job_db, shell_db):
        remove_sqlite(f)

    def rate(sec: float) -> str:
        return f"{n / sec / 1000:.1f}k rows/s"

    cases = (
        ("pg_fresh", f"PostgreSQL, {n:,} rows, fresh", "psql COPY", 0.5, pg_ok),
        ("pg_existing", f"PostgreSQL, {n:,} rows, over existing keys",
         "psql COPY to temp + ON CONFLICT", 0.8, pg_ok),
        ("sqlite_fresh", f"SQLite, {n:,} rows, fresh", "sqlite3 .import", 0.5, lite_ok),
        ("sqlite_existing", f"SQLite, {n:,} rows, over existing keys",
         "sqlite3 .import to temp + ON CONFLICT", 0.5, lite_ok))
    for key, label, baseline, target, rows_ok in cases:
        job_s, job_cpu, base_s = figures[key]
        ratio = base_s / job_s
        b.add("load", label, rate(job_s), f"{baseline}: {rate(base_s)}", ratio, f"≥ {target}",
              ratio >= target and rows_ok,
              f"{job_s:.2f} s vs {base_s:.2f} s; job CPU {job_cpu:.2f} s; "
              f"batches of {figures['batch_rows']}"
              + ("" if rows_ok else "; ROW COUNT WRONG"))
    b.raw["load"] = {"rows": n, "chunks": chunks, **figures}


SHELL_LOOP = r"""#!/usr/bin/env bash
# What a user would write instead of the job: one curl and one psql per cell, in turn.
set -euo pipefail
while IFS=$'\t' read -r url window_from segment; do
  body=$(curl -sS --fail --globoff "$url")
  psql -X -q -v ON_ERROR_STOP=1 -v body="$body" -v wf="$window_from" -v seg="$segment" <<'SQL'
INSERT INTO shell_metrics
SELECT '2026-11-20T00:00:00Z', :'wf', :'seg', d.*
  FROM json_to_record((:'body')::json -> 'data') AS d(
       "clientsWithEvent" bigint, "activeSubscribers" bigint, "churnedSubscribers" float8,
       "activeTrials" bigint, "canceledTrials" float8, "billingRetry" bigint,
       "avgPaymentCount" numeric, "avgPrice" numeric, "sales" numeric)
ON CONFLICT (snapshot_at, window_from, segment) DO UPDATE SET
  clients_with_event = EXCLUDED.clients_with_event, active_subscribers = EXCLUDED.active_subscribers,
  churned_subscribers = EXCLUDED.churned_subscribers, active_trials = EXCLUDED.active_trials,
  canceled_trials = EXCLUDED.canceled_trials, billing_retry = EXCLUDED.billing_retry,
  avg_payment_count = EXCLUDED.avg_payment_count, avg_price = EXCLUDED.avg_price,
  sales = EXCLUDED.sales;
SQL
done < "$1"
"""


def case_baseline(b: Bench) -> None:
    s = b.sizes
    n, lat = s.shell_cells, s.latency_ms / 1000
    log(f"== baseline: shell loop of curl + psql over {n} cells, L={s.latency_ms:g} ms")
    psql("DROP TABLE IF EXISTS shell_metrics; CREATE TABLE shell_metrics ("
         "snapshot_at timestamptz, window_from timestamptz, segment text, "
         "clients_with_event bigint, active_subscribers bigint, churned_subscribers float8, "
         "active_trials bigint, canceled_trials float8, billing_retry bigint, "
         "avg_payment_count numeric, avg_price numeric, sales numeric, "
         "PRIMARY KEY (snapshot_at, window_from, segment))")
    script = b.work / "shell_loop.sh"
    script.write_text(SHELL_LOOP)
    with Mock(b.work, "--latency-ms", f"{s.latency_ms:g}") as mock:
        cfg = b.work / "shell_cells.toml"
        cfg.write_text(config_text(mock.base, f"sqlite:{b.work / 'unused.sqlite'}", cells_per_project=n, rpm=6e6,
                                   concurrency=s.concurrency))
        cells = b.work / "shell_cells.tsv"
        write_urls(b, cfg, mock, cells, with_cells=True)
        mock.reset()
        shell = timed(["bash", str(script), str(cells)], stderr=subprocess.PIPE)
        if shell.status != 0:
            raise RuntimeError(f"the shell loop failed ({shell.status})")
        shell_rows = int(psql("SELECT count(*) FROM shell_metrics"))
        seq = run_job(b, mock, "baseline_c1", cells_per_project=n, rpm=6e6, concurrency=1)
        par = run_job(b, mock, "baseline_cN", cells_per_project=n, rpm=6e6,
                      concurrency=s.concurrency)
    psql("DROP TABLE shell_metrics")
    per_cell = shell.seconds / n * 1000
    b.add("baseline", f"shell loop (curl + psql), {n} cells, sequential",
          f"{shell.seconds:.2f} s", f"N × L = {n * lat:.2f} s", shell.seconds / (n * lat), "—", None,
          f"{per_cell:.0f} ms per cell; {shell_rows} rows; {shell.cpu:.2f} s CPU (curl, psql, bash)")
    b.add("baseline", "the job, concurrency 1, same cells and mock", f"{seq.measured.seconds:.2f} s",
          f"shell loop: {shell.seconds:.2f} s", seq.measured.seconds / shell.seconds, "—", None,
          f"{seq.rows} rows; {seq.measured.cpu:.2f} s CPU")
    b.add("baseline", f"the job, concurrency {s.concurrency}, same cells and mock",
          f"{par.measured.seconds:.2f} s", f"shell loop: {shell.seconds:.2f} s",
          par.measured.seconds / shell.seconds, "—", None,
          f"{par.rows} rows; shell loop is {shell.seconds / par.measured.seconds:.0f} × slower")
    b.raw["baseline"] = {"shell": vars(shell), "job_c1": vars(seq.measured),
                         "job_cN": vars(par.measured), "shell_rows": shell_rows}


def case_checks(b: Bench) -> None:
    """The data checks of one snapshot against the night before, as many cells as the run of the
    cost case (bench/checks_bench.cpp): the checks' own time against 2 s, the process's peak RSS
    against 64 MiB."""
    n = b.sizes.run_cells
    log(f"== checks: {n} current + {n} previous rows through DataChecks")
    out = b.work / "checks.json"
    with open(out, "w") as f:
        m = timed([str(b.build / "bench" / "qetl_checks_bench"), "--cells", str(n)], stdout=f)
    if m.status != 0:
        raise RuntimeError(f"qetl_checks_bench exited {m.status}")
    r = json.loads(out.read_text())
    rows_ok = r["current_rows"] == n and r["previous_rows"] == n
    # The program's own high-water mark: wait4's figure would be the Python parent's size at
    # fork() whenever the child stays smaller (Linux carries it across exec).
    seconds, rss = r["checks_seconds"], r["peak_rss_kib"] / 1024
    found = ", ".join(f"{v} {k}" for k, v in sorted(r["by_check"].items())) or "none"
    b.add("checks", f"checks of {n} cells + {n} previous rows: time", f"{seconds:.3f} s", "2 s",
          seconds / 2, "< 1", seconds < 2 and rows_ok,
          f"adding rows and run(), the generator's time apart; run() alone {r['run_seconds']:.3f} s; "
          f"process {m.seconds:.2f} s wall; {r['segments']} segments with groups x {r['buckets']} "
          f"buckets; findings: {found}")
    b.add("checks", f"checks of {n} cells + {n} previous rows: peak RSS", f"{rss:.1f} MiB", "64 MiB",
          rss / 64, "< 1", rss < 64 and rows_ok,
          f"the whole process (VmHWM); {r['peak_rss_before_rows_kib'] / 1024:.1f} MiB before the first row")
    b.raw["checks"] = {"process": vars(m), **r}


# ------------------------------------------------------------------------------------------
# history: the trend views over years of history (issue "trend views whose cost follows the
# rows they show"). Self-contained: its sizes, SQL and timing live here.
# ------------------------------------------------------------------------------------------

HISTORY_FULL = (2000, 1000, 5)    # series, daily snapshots, timed rounds
HISTORY_SMOKE = (40, 60, 2)
HISTORY_NIGHTS = 3
HISTORY_FIRST_DAY = datetime.date(2023, 1, 1)
HISTORY_PG_DB, HISTORY_SCHEMA = "qetl_history", "bench_history"

# One row per series and day, in the order a nightly job writes them: every figure moves with
# the series and the day. Fixed window, one country per series ('C<n>'), as a matrix would.
HISTORY_PG = """
INSERT INTO customer_metrics (snapshot_at, project, environment, window_name, window_kind, window_from,
    window_to, segment, country, clients_with_event, active_subscribers, active_trials, billing_retry,
    churned_subscribers, canceled_trials, avg_payment_count, avg_price, sales, fetched_at, run_id)
SELECT '{first} 00:00:00+00'::timestamptz + d * interval '1 day', 'bench-app', 1, 'all_time', 'fixed',
       '2015-01-01 00:00:00+00', '{first} 00:00:00+00'::timestamptz + d * interval '1 day',
       'country=C' || s, 'C' || s, 1000 * s + d, 100 * s + d % 97, s % 50 + d % 7, d % 5, 12.5, 33.25,
       1.5, 9.99, 1000.5 * s + d, '{first} 00:05:00+00'::timestamptz + d * interval '1 day', {run_id}
FROM generate_series({d0}, {d1}) AS d, generate_series(1, {series}) AS s
ORDER BY d, s;
"""
HISTORY_SQLITE = """
WITH RECURSIVE d(n) AS (SELECT {d0} UNION ALL SELECT n + 1 FROM d WHERE n < {d1}),
               s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {series})
INSERT INTO customer_metrics (snapshot_at, project, environment, window_name, window_kind, window_from,
    window_to, segment, country, clients_with_event, active_subscribers, active_trials, billing_retry,
    churned_subscribers, canceled_trials, avg_payment_count, avg_price, sales, fetched_at, run_id)
SELECT datetime('{first}', '+' || d.n || ' days'), 'bench-app', 1, 'all_time', 'fixed', '2015-01-01 00:00:00',
       datetime('{first}', '+' || d.n || ' days'), 'country=C' || s.n, 'C' || s.n, 1000 * s.n + d.n,
       100 * s.n + d.n % 97, s.n % 50 + d.n % 7, d.n % 5, 12.5, 33.25, 1.5, 9.99, 1000.5 * s.n + d.n,
       datetime('{first} 00:05:00', '+' || d.n || ' days'), {run_id}
FROM d, s ORDER BY d.n, s.n;
"""


def history_queries(last_day: datetime.date) -> dict:
    """The questions of the issue's table, and the full scan they are measured against."""
    since = (last_day - datetime.timedelta(days=90)).isoformat()
    return {
        "scan": "SELECT sum(active_subscribers) FROM customer_metrics",
        "latest": "SELECT * FROM customer_metrics_latest",
        "daily90": "SELECT day, sum(active_subscribers), sum(active_subscribers_change_1d), "
                   "sum(active_subscribers_change_7d) FROM customer_metrics_daily "
                   f"WHERE day > '{since}' GROUP BY day ORDER BY day",
        "series90": "SELECT day, active_subscribers, active_subscribers_change_1d, active_subscribers_change_7d "
                    "FROM customer_metrics_daily WHERE project = 'bench-app' AND environment = 1 "
                    f"AND window_name = 'all_time' AND segment = 'country=C42' AND day > '{since}' ORDER BY day",
    }


def psql_timings(sql: str, db: str) -> list[float]:
    """Runs sql (statements one per line) in one psql session with \\timing; seconds of each."""
    out = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db],
                         input=f"SET search_path = {HISTORY_SCHEMA};\n\\timing on\n\\o /dev/null\n" + sql,
                         text=True, capture_output=True, check=True).stdout
    return [float(m.group(1)) / 1000 for m in re.finditer(r"^Time: ([0-9.]+) ms", out, re.M)]


def case_history(b: Bench) -> None:
    series, days, rounds = HISTORY_SMOKE if b.sizes is SMOKE else HISTORY_FULL
    last_day = HISTORY_FIRST_DAY + datetime.timedelta(days=days - 1)
    queries = history_queries(last_day)
    targets = {"latest": 0.1, "daily90": 0.3, "series90": 0.05}
    labels = {"latest": f"all of customer_metrics_latest ({series} rows)",
              "daily90": "customer_metrics_daily, last 90 days summed over every series by day",
              "series90": "customer_metrics_daily, one series over 90 days"}
    log(f"== history: {series} series x {days} daily snapshots, generated in SQL; migrate --rebuild; "
        f"{rounds} rounds of the trend queries against a full scan")
    first = HISTORY_FIRST_DAY.isoformat()
    generate = {"postgresql": HISTORY_PG, "sqlite": HISTORY_SQLITE}
    b.raw["history"] = {"series": series, "days": days}
    for backend in ("postgresql", "sqlite"):
        if backend == "postgresql":
            psql(f"DROP DATABASE IF EXISTS {HISTORY_PG_DB}")
            psql(f"CREATE DATABASE {HISTORY_PG_DB}")
            url = f"dbname={HISTORY_PG_DB}"
        else:
            db_file = b.work / "history.sqlite"
            remove_sqlite(db_file)
            url = f"sqlite:{db_file}"
        cfg = b.work / f"history_{backend}.toml"
        cfg.write_text(f'[api]\nbase_url = "http://127.0.0.1:9/v1/analytics"\n\n[warehouse]\nurl = "{url}"\n'
                       f'schema = "{HISTORY_SCHEMA}"\n\n[[project]]\nname = "bench-app"\n'
                       'api_key = { env = "BENCH_KEY_A" }\nenvironments = [1]\n\n'
                       '[[window]]\nname = "all_time"\nfrom = "2015-01-01"\n')
        subprocess.run([b.etl, "migrate", "-c", str(cfg), "-q"], env=job_env(), check=True)
        t0 = time.monotonic()
        rows_sql = generate[backend].format(first=first, d0=0, d1=days - 1, series=series,
                                           run_id="'history-' || d" + ("" if backend == "postgresql" else ".n"))
        if backend == "postgresql":
            psql(f"SET search_path = {HISTORY_SCHEMA};\n{rows_sql}\nANALYZE customer_metrics;", db=HISTORY_PG_DB)
        else:
            with sqlite3.connect(db_file) as lite:
                lite.executescript("BEGIN;\n" + rows_sql + "\nCOMMIT;")
        generated = time.monotonic() - t0
        rebuild = timed([b.etl, "migrate", "--rebuild", "-c", str(cfg), "-q"], env=job_env())
        if rebuild.status != 0:
            raise RuntimeError(f"migrate --rebuild exited {rebuild.status} on {backend}")

        # Rounds of every query, interleaved, after one untimed round (caches, hint bits).
        names = list(queries)
        times: dict = {n: [] for n in names}
        if backend == "postgresql":
            script = "".join(f"{queries[n]};\n" for n in names)
            psql_timings(script, HISTORY_PG_DB)
            measured = psql_timings(script * rounds, HISTORY_PG_DB)
            for i, seconds in enumerate(measured):
                times[names[i % len(names)]].append(seconds)
        else:
            with sqlite3.connect(db_file) as lite:
                for r in range(rounds + 1):
                    for n in names:
                        q0 = time.perf_counter()
                        lite.execute(queries[n]).fetchall()
                        if r:
                            times[n].append(time.perf_counter() - q0)
        median = {n: sorted(v)[len(v) // 2] for n, v in times.items()}

        # Nights after the history: the job's own code (qetl_bench load --night K: start_run,
        # RowBatcher over Warehouse::upsert_metrics, finish_run) stores a night of a daily-cohort
        # matrix as a run, and the run's end brings the trend tables up to date. Against the
        # store alone, what a night cost before the trend tables. One night first, untimed: the
        # matrix's first has no day before to compare with.
        loads, refreshes = [], []
        for night in range(HISTORY_NIGHTS + 1):
            out = subprocess.run([b.helper, "load", "--url", url, "--schema", HISTORY_SCHEMA, "--rows", str(series),
                                  "--night", str(night)], capture_output=True, text=True, check=True)
            figures = json.loads(out.stdout)
            if figures["upserted"] != series:
                raise RuntimeError(f"night {night} stored {figures['upserted']} of {series} rows on {backend}")
            if night:
                loads.append(figures["seconds"])
                refreshes.append(figures["finish_seconds"])
        if backend == "postgresql":
            psql(f"DROP DATABASE {HISTORY_PG_DB}")
        else:
            remove_sqlite(db_file)
        load = sorted(loads)[len(loads) // 2]
        refresh = sorted(refreshes)[len(refreshes) // 2]

        name = "PostgreSQL" if backend == "postgresql" else "SQLite"
        scan = median["scan"]
        for n, target in targets.items():
            ratio = median[n] / scan
            b.add("history", f"{name}: {labels[n]}", f"{median[n] * 1000:.1f} ms",
                  f"full scan: {scan * 1000:.0f} ms", ratio, f"≤ {target}", ratio <= target,
                  f"median of {rounds}")
        b.add("history", f"{name}: migrate --rebuild of {series * days:,} rows",
              f"{rebuild.seconds:.1f} s", f"full scan: {scan * 1000:.0f} ms", None, "—", None,
              f"{series * days / rebuild.seconds / 1000:.1f}k rows/s; history generated in {generated:.1f} s")
        night_ratio = (load + refresh) / load
        b.add("history", f"{name}: a night of {series} rows stored by a run, and the run's end",
              f"{(load + refresh) * 1000:.0f} ms", f"stored alone: {load * 1000:.0f} ms", night_ratio, "≤ 1.5",
              night_ratio <= 1.5,
              f"run's end {refresh / series * 1e6:.1f} µs a row, the store {load / series * 1e6:.1f} µs a row; "
              f"median of {HISTORY_NIGHTS} nights")
        b.raw["history"][backend] = {"median_seconds": median, "all_seconds": times, "rebuild": vars(rebuild),
                                     "generated_seconds": generated, "load_seconds": loads,
                                     "refresh_seconds": refreshes}


CASES = {"pacing": case_pacing, "adapting": case_adapting, "strict": case_strict, "latency": case_latency,
         "load": case_load, "cost": case_cost, "baseline": case_baseline, "checks": case_checks,
         "history": case_history}


# ------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------

def machine() -> str:
    model = cores = "?"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        info = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
        model = info.get("Model name", "?").strip()
        cores = info.get("CPU(s)", "?").strip()
        hyper = info.get("Hypervisor vendor", "").strip()
        if hyper:
            model += f" ({hyper} guest)"
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    pg = subprocess.run(["psql", "-X", "-A", "-t", "-c", "SHOW server_version"],
                        capture_output=True, text=True).stdout.strip()
    lite = subprocess.run(["sqlite3", "--version"], capture_output=True, text=True).stdout.split()
    return (f"{model}, {cores} CPUs, {mem:.0f} GiB RAM; {platform.system()} {platform.release()}; "
            f"PostgreSQL {pg or '?'} (pg_virtualenv), SQLite {lite[0] if lite else '?'}, "
            f"Python {platform.python_version()} (mock)")


def markdown(b: Bench, *, command: str, started: str, minutes: float, loads: tuple,
             smoke: bool) -> str:
    lines = [f"Run {started} with `{command}` ({minutes:.1f} min; load average "
             f"{loads[0]:.2f} before, {loads[1]:.2f} after).  ",
             f"Machine: {machine()}.  ",
             f"Commit: {git_describe()}.", "",
             "| case | measured | bound / baseline (same run) | ratio | target | |",
             "|---|---|---|---|---|---|"]
    for r in b.rows:
        verdict = "" if r.ok is None else ("ok" if r.ok else "**missed**")
        if smoke and r.ok is not None:
            verdict = "(smoke)" if r.ratio is not None else verdict
        ratio = "" if r.ratio is None else f"{r.ratio:.3f}"
        case = r.case + (f" — {r.note}" if r.note else "")
        lines.append(f"| {case} | {r.measured} | {r.reference} | {ratio} | {r.target} | {verdict} |")
    return "\n".join(lines) + "\n"


def git_describe() -> str:
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "etl", "sql"],
                               capture_output=True, text=True).stdout.strip()
        return head + (" with uncommitted changes in etl/ or sql/" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "?"


def update_readme(text: str) -> None:
    readme = ROOT / "bench" / "README.md"
    content = readme.read_text()
    begin, end = "<!-- results:begin -->", "<!-- results:end -->"
    head, sep, rest = content.partition(begin)
    _, sep2, tail = rest.partition(end)
    if not sep or not sep2:
        raise RuntimeError("bench/README.md lacks the results markers")
    readme.write_text(head + begin + "\n" + text + end + tail)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--build-dir", default=str(ROOT / "build-bench"))
    p.add_argument("--smoke", action="store_true", help="tiny sizes (CI: under a minute)")
    p.add_argument("--only", default="", help=f"comma-separated cases: {', '.join(CASES)}")
    p.add_argument("--write-readme", action="store_true",
                   help="put the table into bench/README.md between its results markers")
    p.add_argument("--status-file", default="",
                   help="write the exit status here and exit 0 (pg_virtualenv then stays quiet)")
    p.add_argument("--command", default="bench/run", help="how this run was started (for the report)")
    options = p.parse_args()
    if shutil.which("psql") is None or "PGHOST" not in os.environ:
        print("bench.py runs inside pg_virtualenv: use bench/run", file=sys.stderr)
        return 64
    chosen = [c for c in options.only.split(",") if c] or list(CASES)
    unknown = set(chosen) - set(CASES)
    if unknown:
        p.error(f"unknown case(s): {', '.join(sorted(unknown))}")
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    t0 = time.monotonic()
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="qetl-bench-") as work:
        b = Bench(Path(options.build_dir), SMOKE if options.smoke else FULL, Path(work))
        failed = []
        for name in chosen:
            try:
                CASES[name](b)
            except Exception as e:  # one broken case must not hide the others' figures
                failed.append(name)
                log(f"!! {name} failed: {e}")
                b.add(name, f"{name}: could not run", str(e)[:200], "", None, "", False)
                for logfile in sorted(Path(work).glob("*.log")):
                    tail = logfile.read_text(errors="replace").splitlines()[-5:]
                    if tail:
                        log(f"   {logfile.name}: " + " | ".join(tail))
        minutes = (time.monotonic() - t0) / 60
        text = markdown(b, command=options.command, started=started, minutes=minutes,
                        loads=(load0, os.getloadavg()[0]), smoke=options.smoke)
        results = Path(options.build_dir) / ("bench-smoke" if options.smoke else "bench-results")
        results.with_suffix(".md").write_text(text)
        results.with_suffix(".json").write_text(json.dumps(
            {"sizes": vars(b.sizes), "raw": b.raw, "rows": [vars(r) for r in b.rows]}, indent=2))
    print(text)
    if options.write_readme and not failed:
        update_readme(text)
    # The targets hold for the full sizes only; a smoke run just has to run every case.
    missed = [r for r in b.rows if r.ok is False and not options.smoke]
    status = 1 if failed else (2 if missed else 0)
    if options.status_file:
        Path(options.status_file).write_text(f"{status}\n")
        return 0
    return status


if __name__ == "__main__":
    sys.exit(main())
