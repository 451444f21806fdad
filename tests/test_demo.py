"""`xling demo` on the real data shipped in the package (data/demo/), and that data's provenance."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"


@pytest.mark.slow  # ~8 s: the whole supervised recipe
def test_demo_json_gives_a_real_result(cli):
    code, out, err = cli("demo", "--json")
    assert code == 0, err
    rec = json.loads(out)
    d = rec["data"]
    assert d["src"] == {"words": 6000, "dim": 50} and d["tgt"] == {"words": 3000, "dim": 300}
    assert d["test_sources"] == 100 and d["seed_pairs"] > 300
    nn, csls = rec["results"]["nn"], rec["results"]["csls"]
    assert nn["coverage"] == 1.0 and csls["coverage"] == 1.0 and csls["queries"] == 100
    # measured 59 (NN) and 62 (CSLS): far above chance (1/3000); CSLS helps on this pair
    assert nn["p@1"] >= 0.40 and csls["p@1"] >= 0.45, rec["results"]
    assert csls["p@1"] >= nn["p@1"]
    assert csls["p@1"] <= csls["p@5"] <= csls["p@10"]
    assert rec["chance_p@1"] == pytest.approx(1 / 3000)
    assert rec["timings"]["total"] < 60
    assert "recipe=supervised" in rec["signature"]
    ex = rec["examples"]
    assert len(ex) == 8 and all(set(e) == {"src", "top1", "gold", "right"} for e in ex)
    assert all(e["right"] == (e["top1"] in e["gold"]) for e in ex)


@pytest.mark.slow  # three Procrustes runs, ~3 s each
def test_demo_table_and_same_result_twice(cli):
    code, out, err = cli("demo", "--recipe", "procrustes")
    assert code == 0, err
    assert "P@1" in out and "CSLS" in out and "NN" in out and "100%" in out
    assert "CSLS top-1, some test words:" in out and " → " in out
    code2, out2, _ = cli("demo", "--recipe", "procrustes", "--json")
    code3, out3, _ = cli("demo", "--recipe", "procrustes", "--json")
    r2, r3 = json.loads(out2)["results"], json.loads(out3)["results"]
    assert r2 == r3  # deterministic
    assert f"{100 * r2['csls']['p@1']:.1f}" in out


def test_demo_bad_folder_is_one_line_exit_2(cli, tmp_path):
    code, out, err = cli("demo", "--data", tmp_path)
    assert code == 2
    assert "not a demo folder" in err and "en.npy" in err and "Traceback" not in err


def test_demo_data_is_small_licensed_and_matches_its_manifest():
    manifest = json.loads((DEMO / "manifest.json").read_text())
    files = sorted(p.name for p in DEMO.iterdir())
    assert sum((DEMO / f).stat().st_size for f in files) < 3_000_000
    for name in ("README.md", "LICENSE-CLDR.txt", "en.npy", "en.words", "fr.npy", "fr.words",
                 "en-fr.seed.tsv", "en-fr.test.tsv"):
        assert name in files
    for name, digest in manifest["sha256"].items():
        assert hashlib.sha256((DEMO / name).read_bytes()).hexdigest() == digest, name
    readme = (DEMO / "README.md").read_text()
    for needle in ("PDDL", "CC0", "Unicode License", "bench/build_demo_data.py"):
        assert needle in readme
    assert "Permission is hereby granted" in (DEMO / "LICENSE-CLDR.txt").read_text()
    en = np.load(DEMO / "en.npy", allow_pickle=False)
    assert en.dtype == np.float16 and en.shape == (6000, 50) and np.isfinite(en).all()


def test_demo_dictionaries_are_disjoint_two_column_and_in_vocabulary():
    words = {lang: set((DEMO / f"{lang}.words").read_text(encoding="utf-8").split("\n")[:-1])
             for lang in ("en", "fr")}
    pairs = {}
    for part in ("seed", "test"):
        lines = (DEMO / f"en-fr.{part}.tsv").read_text(encoding="utf-8").splitlines()
        pairs[part] = [tuple(line.split("\t")) for line in lines]
        assert all(len(p) == 2 for p in pairs[part])  # MUSE-compatible: two columns
        assert all(s in words["en"] and t in words["fr"] for s, t in pairs[part])
    assert not {s for s, _ in pairs["seed"]} & {s for s, _ in pairs["test"]}
    assert len({s for s, _ in pairs["test"]}) == 100
    assert all(s != t for s, t in pairs["test"])  # identical strings are seeds only


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("build") is None, reason="needs `pip install build`")
def test_wheel_contains_the_demo_data(tmp_path):
    """The demo data is package data: the built wheel has it under xling/data/demo/.

    Built without isolation (no network in tests) from a copy of the tracked files."""
    from importlib.metadata import version

    if int(version("setuptools").split(".")[0]) < 77:
        pytest.skip("the build backend needs setuptools>=77 (pip install 'setuptools>=77')")
    src = tmp_path / "src"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in tracked.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    for p in DEMO.iterdir():  # also before the demo files are committed
        (src / "data" / "demo").mkdir(parents=True, exist_ok=True)
        shutil.copy2(p, src / "data" / "demo" / p.name)
    res = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--skip-dependency-check", "--outdir",
                          str(tmp_path / "dist"), str(src)], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("xling-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in ("en.npy", "en.words", "fr.npy", "fr.words", "en-fr.seed.tsv", "en-fr.test.tsv", "README.md",
              "LICENSE-CLDR.txt", "manifest.json"):
        assert f"xling/data/demo/{f}" in names, sorted(n for n in names if "demo" in n)
