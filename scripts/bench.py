#!/usr/bin/env python3
"""Benchmark: ledgerbook's collect + summary against the loop a user would write by hand.

Usage:
    python scripts/bench.py                  # 40, 1,000 and 10,000 files × 20 rows
    python scripts/bench.py --sizes 40,1000  # a quicker run
    python scripts/bench.py --big            # also the 200 units × 200 rows inbox

Inboxes are generated once with the demo generator (ledgerbook.demo.samples) into
scripts/.bench-cache/ and reused (10,000 files take a few minutes on 2 cores). Each
measurement runs in a fresh process so that its peak RSS is its own.

The baseline ("plain pandas") is what a clerk with pandas would write:
    for path in files: frames.append(pandas.read_excel(path, sheet_name="整顿台账", header=None))
    pandas.concat(frames).to_excel(out)
It is measured in the same run, on the same files (on at most --baseline-max files; beyond
that its time is scaled from the measured per-file rate, and the table says so).

The writer's floor ("bare xlsxwriter") is measured in the same process right after the
summary is written: every cell the summary wrote (value, format, position, sheet) is recorded
during a second, untimed write, then written again by a bare loop of xlsxwriter calls
(write_string/number/datetime/url, one per cell) into a constant_memory workbook, closed.
The writer's ratio to it is what ledgerbook's own work adds to writing those cells.

Targets (2 cores; never timed tests, only printed):
  * 1,000 files end to end ≤ 0.25 × the pandas loop; reading ≥ 1,000 files/s;
  * 10,000 files end to end < 12 × the 1,000-file time, peak RSS < 600 MB;
  * the summary writer ≤ 1.3 × the bare-xlsxwriter floor;
  * `ledgerbook --help` < 0.3 s.
The machine is shared: the load average at the start and end of the run is printed with it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".bench-cache"


# --------------------------------------------------------------------------- generating inboxes

def bench_campaign(n_units: int):
    """The built-in campaign with a roster of n synthetic units (one file each)."""
    from ledgerbook.campaign import Unit, default_campaign

    base = default_campaign()
    units = tuple(Unit(name=f"第{i:04d}学院党委", email=f"u{i:04d}@example.edu.cn", secretary=None)
                  for i in range(1, n_units + 1))
    return replace(base, units=units)


def _file_name(index: int) -> str:
    return f"整顿台账_第{index + 1:04d}学院党委.xlsx"


def _write_one(args):
    """One returned ledger of synthetic unit `index`, written into the built-in campaign's form
    (so each file carries the real 25-unit drop-down list, as a real campaign's files would)."""
    from ledgerbook.demo import samples
    from ledgerbook.campaign import default_campaign
    from ledgerbook.template import write_template

    index, rows, folder = args
    campaign = default_campaign()
    unit = bench_campaign(index + 1).units[index]
    targets = max(1, rows // 5)
    spec = samples.clean_ledger(campaign, unit, seed=index, n_rows=rows // targets, n_targets=targets)
    if index % 7 == 3:  # some sloppy ones so the checks have work to do
        spec = samples.SLOPPY["deadlines"](spec, campaign)
    if index % 11 == 5:
        spec = samples.humanise(spec, campaign)
    write_template(campaign, Path(folder) / _file_name(index), unit=unit, fill=spec.as_fill(),
                   created=dt.datetime(2019, 9, 12, 9, 0))


def make_inbox(n_files: int, rows: int) -> Path:
    """An inbox of n files: hard links to the first n files of a shared pool, generated once."""
    folder = CACHE / f"inbox-{n_files}x{rows}"
    done = CACHE / f".inbox-{n_files}x{rows}.complete"  # beside the inbox, not in it
    if done.exists():
        return folder
    pool = CACHE / f"pool-{rows}"
    pool.mkdir(parents=True, exist_ok=True)
    missing = [i for i in range(n_files) if not (pool / _file_name(i)).exists()]
    if missing:
        from concurrent.futures import ProcessPoolExecutor

        print(f"  generating {len(missing)} files × {rows} rows in {pool} …", file=sys.stderr, flush=True)
        with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as workers:
            list(workers.map(_write_one, [(i, rows, str(pool)) for i in missing], chunksize=32))
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n_files):
        target = folder / _file_name(i)
        if not target.exists():
            os.link(pool / _file_name(i), target)
    done.write_text("ok")
    return folder


def files_of(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix == ".xlsx")


# --------------------------------------------------------------------------- workers (fresh process each)

def worker_ledgerbook(folder: str, n_units: int, workers: int | None, repeats: int) -> dict:
    from ledgerbook.collect import _assemble, read_documents
    from ledgerbook.inbox import scan_inbox
    from ledgerbook.summary import write_summary

    campaign = bench_campaign(n_units)
    c0, t0 = _cpu(), time.perf_counter()
    docs = scan_inbox(folder)
    t1 = time.perf_counter()
    ledgers = read_documents(docs, campaign, workers=workers)
    t2 = time.perf_counter()
    collection = _assemble(folder, docs, ledgers, campaign, None)
    t3 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        c3 = _own_cpu()
        write_summary(collection, Path(tmp) / "汇总表.xlsx")
        t4, c4 = time.perf_counter(), _cpu()
        write_cpu = [_own_cpu() - c3]
        rss = _peak_mb()
        sheets = record_cells(lambda: write_summary(collection, Path(tmp) / "recorded.xlsx"))
        cells = sum(len(calls) for _, calls in sheets)
        # Writer and floor alternate, best of `repeats` each, in CPU seconds of this one
        # process: on a shared machine wall-clock times taken minutes apart do not compare.
        floor_cpu, floor_wall = [], []
        for i in range(repeats):
            if i:
                c = _own_cpu()
                write_summary(collection, Path(tmp) / "汇总表.xlsx")
                write_cpu.append(_own_cpu() - c)
            c, t = _own_cpu(), time.perf_counter()
            bare_xlsxwriter(sheets, Path(tmp) / "floor.xlsx")
            floor_cpu.append(_own_cpu() - c)
            floor_wall.append(time.perf_counter() - t)
    return {"intake": t1 - t0, "read": t2 - t1, "checks": t3 - t2, "write": t4 - t3, "total": t4 - t0,
            "cpu": c4 - c0, "rows": len(collection.rows), "findings": len(collection.findings), "rss_mb": rss,
            "floor": min(floor_wall), "write_cpu": min(write_cpu), "floor_cpu": min(floor_cpu), "cells": cells}


def _own_cpu() -> float:
    return time.process_time()


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the reading processes): on a
    shared machine they say what the work costs, whatever the others are doing."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


# --------------------------------------------------------------------------- the writer's floor

_CELL_CALLS = {"_write_string": "write_string", "_write_number": "write_number",
               "_write_datetime": "write_datetime", "_write_url": "write_url",
               "_write_rich_string": "write_rich_string", "_write_blank": "write_blank"}


def record_cells(write) -> list[tuple[str, list]]:
    """Run write() and return, per sheet in order, the cell writes it made: (public method, args, kwargs).

    Recorded at xlsxwriter's inner methods, which every public write goes through (so
    nothing the summary writes, however it calls xlsxwriter, is missed); nested calls
    (write_url writes its string) are recorded once. Formats are recorded with the
    properties they were made from.
    """
    from xlsxwriter.workbook import Workbook
    from xlsxwriter.worksheet import Worksheet

    sheets: dict[str, list] = {}
    depth = [0]
    saved = {name: getattr(Worksheet, name) for name in _CELL_CALLS}
    saved_add_format = Workbook.add_format

    def add_format(self, properties=None):
        fmt = saved_add_format(self, properties)
        fmt._bench_props = dict(properties or {})
        return fmt

    def recorder(name):
        inner = saved[name]

        def record(self, *args, **kwargs):
            if depth[0] == 0:
                sheets.setdefault(self.name, []).append((_CELL_CALLS[name], args, kwargs))
            depth[0] += 1
            try:
                return inner(self, *args, **kwargs)
            finally:
                depth[0] -= 1
        return record

    try:
        Workbook.add_format = add_format
        for name in _CELL_CALLS:
            setattr(Worksheet, name, recorder(name))
        write()
    finally:
        Workbook.add_format = saved_add_format
        for name, method in saved.items():
            setattr(Worksheet, name, method)
    return list(sheets.items())


def bare_xlsxwriter(sheets: list[tuple[str, list]], path: Path) -> None:
    """Write these cells by a bare loop of xlsxwriter calls (constant_memory), as the floor."""
    import xlsxwriter
    from xlsxwriter.format import Format

    from ledgerbook.summary import WORKBOOK_OPTIONS

    wb = xlsxwriter.Workbook(str(path), WORKBOOK_OPTIONS)
    formats: dict[int, Format] = {}

    def same(value):
        if isinstance(value, Format):
            if id(value) not in formats:
                formats[id(value)] = wb.add_format(getattr(value, "_bench_props", {}))
            return formats[id(value)]
        return value

    # Formats, sheets and bound methods are made before the clock starts: only cell writes are timed.
    plans = []
    for sheet, calls in sheets:
        ws = wb.add_worksheet(sheet)
        bound = {name: getattr(ws, name) for name in set(_CELL_CALLS.values())}
        plans.append([(bound[name], tuple(same(a) for a in args), {k: same(v) for k, v in kwargs.items()})
                      for name, args, kwargs in calls])
    # The recorded calls are millions of tuples: frozen, so the garbage collector does not walk
    # them again and again while the floor runs (the writer has no such list to carry).
    gc.collect()
    gc.freeze()
    try:
        for plan in plans:
            for method, args, kwargs in plan:
                if kwargs:
                    method(*args, **kwargs)
                else:
                    method(*args)
        wb.close()
    finally:
        gc.unfreeze()


def worker_baseline(folder: str, limit: int) -> dict:
    import pandas as pd

    files = files_of(Path(folder))[:limit]
    c0, t0 = _cpu(), time.perf_counter()
    frames = [pd.read_excel(p, sheet_name="整顿台账", header=None) for p in files]
    with tempfile.TemporaryDirectory() as tmp:
        pd.concat(frames).to_excel(Path(tmp) / "out.xlsx")
    return {"seconds": time.perf_counter() - t0, "cpu": _cpu() - c0, "files": len(files), "rss_mb": _peak_mb()}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_worker(kind: str, *args) -> dict:
    cmd = [sys.executable, __file__, "--worker", kind, *map(str, args)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- report

def help_time() -> float:
    exe = Path(sys.executable).with_name("ledgerbook")
    cmd = [str(exe), "--help"] if exe.exists() else [sys.executable, "-m", "ledgerbook", "--help"]
    best = 9e9
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        best = min(best, time.perf_counter() - t)
    return best


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="40,1000,10000")
    ap.add_argument("--rows", type=int, default=20)
    ap.add_argument("--big", action="store_true", help="also the 200 units × 200 rows inbox")
    ap.add_argument("--baseline-max", type=int, default=1000)
    ap.add_argument("--crossover", action="store_true", help="also time reading with 1 vs 2 processes")
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        kind, *rest = args.worker
        if kind == "ledgerbook":
            workers = None if rest[2] == "auto" else int(rest[2])
            print(json.dumps(worker_ledgerbook(rest[0], int(rest[1]), workers, int(rest[3]))))
        elif kind == "read":
            print(json.dumps(worker_read(rest[0], int(rest[1]), int(rest[2]), int(rest[3]))))
        else:
            print(json.dumps(worker_baseline(rest[0], int(rest[1]))))
        return

    cases = [(int(s), args.rows) for s in args.sizes.split(",") if s]
    if args.big:
        cases.append((200, 200))
    for n, rows in cases:  # generated before the clock runs
        make_inbox(n, rows)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; load average at start {_load()}",
          flush=True)
    results = []
    for n, rows in cases:
        folder = make_inbox(n, rows)
        lb = run_worker("ledgerbook", folder, n, "auto", 2 if n <= 1000 else 1)
        base = run_worker("baseline", folder, min(n, args.baseline_max))
        scaled = base["files"] < n
        base_s = base["seconds"] * n / base["files"]
        lb["cpu_ratio"] = lb["cpu"] / (base["cpu"] * n / base["files"])
        results.append((n, rows, lb, base_s, scaled, base["rss_mb"]))

    head = ("inbox", "rows", "intake s", "read s", "checks s", "write s", "total s", "CPU s", "files/s",
            "read files/s", "peak RSS MB", "pandas s", "× pandas", "CPU × pandas", "floor s", "write × floor")
    lines = [head]
    for n, rows, lb, base_s, scaled, base_rss in results:
        lines.append((f"{n}×{rows}", f"{lb['rows']:,}", f"{lb['intake']:.2f}", f"{lb['read']:.2f}",
                      f"{lb['checks']:.2f}", f"{lb['write']:.2f}", f"{lb['total']:.2f}", f"{lb['cpu']:.1f}",
                      f"{n / lb['total']:,.0f}", f"{n / lb['read']:,.0f}", f"{lb['rss_mb']:.0f}",
                      f"{base_s:.1f}" + ("*" if scaled else ""), f"{lb['total'] / base_s:.3f}", f"{lb['cpu_ratio']:.3f}",
                      f"{lb['floor']:.2f}", f"{lb['write_cpu'] / lb['floor_cpu']:.2f}"))
    widths = [max(len(str(r[i])) for r in lines) for i in range(len(head))]
    for i, r in enumerate(lines):
        print("  ".join(str(v).rjust(w) for v, w in zip(r, widths)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    if any(r[4] for r in results):
        print(f"* pandas loop measured on {args.baseline_max} files and scaled to the inbox size")
    print("CPU s: CPU time of ledgerbook's process and its reading processes, intake to summary written;"
          " CPU × pandas: against the pandas loop's CPU time")
    print("pandas: loop of pandas.read_excel(path, sheet_name='整顿台账', header=None) + concat + to_excel")
    counts = ", ".join(f"{r[2]['cells']:,}" for r in results)
    print(f"floor: the same cells written by a bare loop of xlsxwriter calls, constant_memory ({counts} cells);"
          " write × floor: CPU seconds of the writer against the floor's, best of 2 alternating (1 at 10,000)")
    help_s = help_time()
    print(f"`ledgerbook --help`: {help_s:.3f} s (best of 5)")
    print(f"load average at end {_load()}")
    print()
    print(_targets(results, help_s))

    if args.crossover:
        biggest = max(n for n, rows in cases if rows == args.rows)
        folder = make_inbox(biggest, args.rows)
        print("\nreading stage by worker processes (0 = in this process, no isolation; best of 3):")
        for n in (20, 60, 200, 1000):
            if n > biggest:
                continue
            times = {w: run_worker("read", folder, biggest, n, w)["read"] for w in (0, 1, 2)}
            print(f"  {n:>5} files: " + ", ".join(f"{w} → {t:.3f} s" for w, t in times.items()))


def _targets(results: list, help_s: float) -> str:
    """The issue's targets against what was measured, one line each."""
    by_n = {n: (lb, base_s) for n, rows, lb, base_s, _, _ in results if rows == 20}
    out = ["targets:"]

    def line(ok: bool, text: str) -> None:
        out.append(f"  [{'met' if ok else 'MISSED'}] {text}")

    if 1000 in by_n:
        lb, base_s = by_n[1000]
        line(lb["total"] <= 0.25 * base_s, f"1,000 files end to end {lb['total']:.2f} s ≤ 0.25 × pandas "
                                            f"{base_s:.1f} s (ratio {lb['total'] / base_s:.3f})")
        line(1000 / lb["read"] >= 1000, f"reading 1,000 files at {1000 / lb['read']:,.0f} files/s ≥ 1,000")
    if 1000 in by_n and 10000 in by_n:
        big, small = by_n[10000][0], by_n[1000][0]
        line(big["total"] < 12 * small["total"], f"10,000 files {big['total']:.2f} s < 12 × {small['total']:.2f} s "
                                                  f"(× {big['total'] / small['total']:.1f})")
    if 10000 in by_n:
        line(by_n[10000][0]["rss_mb"] < 600, f"10,000 files peak RSS {by_n[10000][0]['rss_mb']:.0f} MB < 600 MB")
    for n, (lb, _) in sorted(by_n.items()):
        if n >= 1000:
            ratio = lb["write_cpu"] / lb["floor_cpu"]
            line(ratio <= 1.3, f"{n:,} files: summary writer {lb['write_cpu']:.2f} CPU s ≤ 1.3 × "
                               f"bare xlsxwriter {lb['floor_cpu']:.2f} CPU s (× {ratio:.2f})")
    line(help_s < 0.3, f"`ledgerbook --help` {help_s:.3f} s < 0.3 s")
    return "\n".join(out)


def worker_read(folder: str, n_units: int, n_files: int, workers: int) -> dict:
    from ledgerbook.collect import read_documents
    from ledgerbook.inbox import scan_inbox

    campaign = bench_campaign(n_units)
    docs = [d for d in scan_inbox(folder) if d.kind == "ledger"][:n_files]
    best = 9e9
    for _ in range(3):
        t = time.perf_counter()
        read_documents(docs, campaign, workers=workers)
        best = min(best, time.perf_counter() - t)
    return {"read": best}


if __name__ == "__main__":
    main()
