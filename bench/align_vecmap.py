"""xling and VecMap side by side, in one run, on the public en→fr benchmark.

    python bench/align_vecmap.py --vecmap VECMAP_CHECKOUT [--targets fr50 fr] [--repeat 3]
                                 [--xling-args "--recipe procrustes"]

For every target space and repetition, times as a user runs them (fresh processes, from the
``.vec`` files):

* VecMap: ``map_embeddings.py --orthogonal --normalize unit center unit -d train`` then
  ``eval_translation.py --retrieval csls -d test``. VecMap needs equal dimensions: for the
  300-d ``fr.vec`` the English file is padded with 250 zero columns into a temporary ``.vec``
  first (done once, not timed; a VecMap user has to do it by hand).
* xling: ``xling align en.vec TGT.vec --dict train -o OUT/`` then
  ``xling lexicon eval OUT/src.npy OUT/tgt.npy --dict test --retrieval csls --json``.

Prints, per target, the median wall time and the CPU time (children's user+sys) of each tool,
the ratios xling / VecMap (wall; and CPU, which a loaded machine changes less: there xling's
threads share the cores with the other load), and both P@1 (CSLS). VecMap is GPL: it is run, never copied.
Threads are capped at 2 for both (``OMP_NUM_THREADS`` and friends).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _util import BENCH_DIR, need_bench
from xling.cli.plots import markdown_table

ENV = dict(os.environ, OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2", MKL_NUM_THREADS="2")


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """(wall s, CPU s of the child, stdout) of one command; a failure stops the bench."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=ENV)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit(f"failed: {shlex.join(cmd)}\n{p.stderr[-2000:]}")
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime), p.stdout


def pad_vec(src: Path, dst: Path, dim: int) -> None:
    """Copy a text .vec file with zero columns appended up to ``dim`` (VecMap needs equal dims)."""
    with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as g:
        n, d = f.readline().split()
        extra = " 0" * (dim - int(d))
        g.write(f"{n} {dim}\n")
        for line in f:
            g.write(line.rstrip("\n") + extra + "\n")


def vecmap_run(vecmap: Path, en: Path, tgt: Path, train: Path, test: Path, tmp: Path):
    py = sys.executable
    w1, c1, _ = timed([py, str(vecmap / "map_embeddings.py"), "--orthogonal", "--normalize", "unit", "center",
                       "unit", "-d", str(train), str(en), str(tgt), str(tmp / "vm.src"), str(tmp / "vm.trg")])
    w2, c2, out = timed([py, str(vecmap / "eval_translation.py"), "--retrieval", "csls", "-d", str(test),
                         str(tmp / "vm.src"), str(tmp / "vm.trg")])
    acc = float(re.search(r"Accuracy:\s*([0-9.]+)%", out).group(1))
    return w1 + w2, c1 + c2, acc, (w1, w2)


def xling_run(en: Path, tgt: Path, train: Path, test: Path, tmp: Path, extra: list[str]):
    exe = [sys.executable, "-m", "xling.cli.main"] if not shutil.which("xling") else [shutil.which("xling")]
    out = tmp / "xl"
    w1, c1, _ = timed(exe + ["--quiet", "align", str(en), str(tgt), "--dict", str(train), "-o", str(out), "--force"] + extra)
    w2, c2, js = timed(exe + ["--quiet", "lexicon", "eval", str(out / "src.npy"), str(out / "tgt.npy"), "--dict",
                              str(test), "--retrieval", "csls", "--json"])
    # one dictionary and one retrieval: the record has the overall scores at its top level
    return w1 + w2, c1 + c2, 100 * json.loads(js)["p@1"], (w1, w2)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", type=Path, default=BENCH_DIR)
    ap.add_argument("--vecmap", type=Path, default=os.environ.get("XLING_VECMAP"),
                    help="a VecMap checkout (map_embeddings.py, eval_translation.py); default: $XLING_VECMAP")
    ap.add_argument("--targets", nargs="+", default=["fr50", "fr"])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--xling-args", default="", help="extra options for xling align, e.g. '--recipe procrustes'")
    args = ap.parse_args(argv)
    if args.vecmap is None or not (Path(args.vecmap) / "map_embeddings.py").is_file():
        ap.error(f"--vecmap {args.vecmap or '(not given)'}: give a VecMap checkout (git clone "
                 "https://github.com/artetxem/vecmap) with --vecmap DIR or $XLING_VECMAP")
    args.vecmap = Path(args.vecmap)
    b = need_bench(args.bench)
    train, test, en = b / "en-fr.train.tsv", b / "en-fr.test.tsv", b / "en.vec"
    extra = shlex.split(args.xling_args)
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; xling align {' '.join(extra)}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="xling-vecmap-") as td:
        tmp = Path(td)
        for tg in args.targets:
            tgt = b / f"{tg}.vec"
            with open(tgt, encoding="utf-8") as f:
                tdim = int(f.readline().split()[1])
            en_vm = en
            if tdim != 50:
                en_vm = tmp / f"en-pad{tdim}.vec"
                pad_vec(en, en_vm, tdim)
            vm, xl = [], []
            for r in range(args.repeat):  # alternate the tools so a load change hits both
                vm.append(vecmap_run(args.vecmap, en_vm, tgt, train, test, tmp))
                xl.append(xling_run(en, tgt, train, test, tmp, extra))
                print(f"{tg} #{r}: VecMap {vm[-1][0]:.1f} s (map {vm[-1][3][0]:.1f} + eval {vm[-1][3][1]:.1f}), "
                      f"P@1 {vm[-1][2]:.2f}; xling {xl[-1][0]:.1f} s (align {xl[-1][3][0]:.1f} + eval "
                      f"{xl[-1][3][1]:.1f}), P@1 {xl[-1][2]:.2f}; load {os.getloadavg()[0]:.1f}", flush=True)
            med = lambda runs, i: statistics.median(x[i] for x in runs)  # noqa: E731
            ratios = [x[0] / v[0] for x, v in zip(xl, vm, strict=True)]
            cpu_ratios = [x[1] / v[1] for x, v in zip(xl, vm, strict=True)]
            rows.append((tg, med(vm, 0), med(vm, 1), vm[0][2], med(xl, 0), med(xl, 1), xl[0][2],
                         statistics.median(ratios), min(ratios), max(ratios), statistics.median(cpu_ratios)))
    print("\n" + markdown_table(["target", "VecMap wall s", "VecMap CPU s", "VecMap P@1", "xling wall s", "xling CPU s",
                          "xling P@1", "xling / VecMap wall (median, min–max)", "xling / VecMap CPU"],
                         [[r[0], *(f"{v:.1f}" for v in r[1:7]), f"{r[7]:.2f} ({r[8]:.2f}–{r[9]:.2f})", f"{r[10]:.2f}"]
                          for r in rows]))

if __name__ == "__main__":
    main()
