"""Smoke-run the installed `xling` executable (CI runs this from a fresh venv with the wheel).

Usage: python tests/smoke_wheel.py /path/to/xling
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

exe = sys.argv[1]


def run(*args, ok=True):
    p = subprocess.run([exe, *map(str, args)], capture_output=True, text=True)
    if ok and p.returncode != 0:
        sys.exit(f"xling {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


with tempfile.TemporaryDirectory() as d:
    d = Path(d)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 8)).astype(np.float32)
    with open(d / "a.vec", "w") as f:
        f.write("50 8\n")
        for i, row in enumerate(x):
            f.write(f"w{i} " + " ".join(f"{v:.6f}" for v in row) + "\n")
    run("convert", d / "a.vec", d / "a.npy")
    rec = json.loads(run("info", d / "a.npy", "--json").stdout)
    assert rec["words"] == 50 and rec["dim"] == 8, rec
    bad = run("info", d / "missing.vec", ok=False)
    assert bad.returncode == 2 and "no such file" in bad.stderr, bad.stderr
    # every command group must import from the wheel (a folder missing from it fails here)
    py = str(Path(exe).parent / "python")
    names = subprocess.run([py, "-c", "import typer, xling.cli.main as m; "
                                      "print(' '.join(typer.main.get_command(m.app).commands))"],
                           capture_output=True, text=True, check=True).stdout.split()
    for group in ["convert", "info", "lexicon", "data", "vocab", "cade"]:
        assert group in names, names
    for cmd in names:  # every command and group must import from the wheel
        run(cmd, "--help")
print("smoke ok")
