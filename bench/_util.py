"""Small helpers shared by the benchmark scripts (not part of the package)."""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from xling.data.benchmarks import bench_dir  # noqa: E402

# the public en→fr benchmark, built by `xling data bench en-fr` ($XLING_BENCH, else the XDG cache)
BENCH_DIR = bench_dir("en-fr")
EN_FR_FILES = ("en.vec", "fr.vec", "fr50.vec", "en-fr.train.tsv", "en-fr.test.tsv")


def need_bench(folder, files=EN_FR_FILES) -> Path:
    """The benchmark folder, or exit with the command that builds it."""
    folder = Path(folder)
    missing = [f for f in files if not (folder / f).is_file()]
    if missing:
        sys.exit(f"{folder}: missing {', '.join(missing)}: build the benchmark with "
                 f"`xling data bench en-fr -o {folder}` (or set XLING_BENCH)")
    return folder


def machine() -> str:
    try:
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    except Exception:  # pragma: no cover
        gpu = "no GPU"
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, {gpu}, Python {platform.python_version()}"


def median_time(fn, repeat: int = 3):
    """Median wall time of ``fn()`` over ``repeat`` runs, and the last result."""
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times, out


def peak_rss_mib() -> float:
    """Peak resident set of this process (VmHWM; unlike ru_maxrss it is reset by exec)."""
    with open("/proc/self/status") as f:
        return int(next(line for line in f if line.startswith("VmHWM")).split()[1]) / 1024


def current_rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_child(code: str) -> dict:
    """Run python ``code`` in a fresh interpreter; it must print one JSON line last. The bench
    folder is on its path, so it can ``from _util import peak_rss_mib``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(Path(__file__).resolve().parent),
                                                   env.get("PYTHONPATH")) if p)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise RuntimeError(p.stderr[-3000:])
    return json.loads(p.stdout.strip().splitlines()[-1])
