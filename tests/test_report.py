"""`xling report`: records recognised by their keys, PNG figures with the expected series, bad input."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("matplotlib")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def eval_record(p1: float, bands: dict[str, float], retrieval: str = "csls") -> dict:
    """A record shaped like `xling lexicon eval --json` (one retrieval)."""
    return {"signature": f"retrieval={retrieval}|oov=wrong|cov=1.00|xling=0.1.0", "retrieval": retrieval,
            "csls_k": 10, "oov": "wrong", "coverage": {"src_words": 40, "covered": 40, "oov": 0, "coverage": 1.0},
            "queries": 40, "p@1": p1, "p@5": min(1.0, p1 + 0.2), "p@10": min(1.0, p1 + 0.3), "mrr": p1 + 0.05,
            "bands": [{"band": b, "lo": 0, "hi": None, "queries": 10, "p@1": v, "p@5": v, "p@10": v, "mrr": v}
                      for b, v in bands.items()],
            "hubness": {"k": 10, "skewness": 1.0}, "seconds": 0.5}


def align_record(recipe: str, curves: dict[str, list[tuple[int, float | None]]]) -> dict:
    """A record shaped like `xling align`'s record.json."""
    return {"recipe": recipe, "seed": 0, "chosen": next(iter(curves)), "best_iteration": 0,
            "timings": {"total": 1.5},
            "candidates": [{"name": name, "best_iteration": 0, "val_p1": its[0][1],
                            "iterations": [{"iteration": i, "dict_size": size, "val_p1": v, "objective": 0.1}
                                           for i, (size, v) in enumerate(its)]}
                           for name, its in curves.items()]}


def shift_record(n: int) -> dict:
    return {"signature": "by=cosine|k=10", "a": "out/kjv.vec", "b": "out/web.vec", "shared": 900,
            "top": [{"rank": i + 1, "word": f"word{i}", "cosine_distance": 0.9 - 0.01 * i, "neighbour_distance": 0.8,
                     "count_a": 30, "count_b": 25} for i in range(n)]}


def vocab_record(method: str, fid: float) -> dict:
    return {"original": "model", "expanded": f"results/vocab/{method}", "text": "heldout.txt", "lines": 10,
            "words": 120, "pieces_per_word_before": 1.9, "pieces_per_word_after": 1.2, "fidelity_mean": fid,
            "fidelity_median": fid, "fidelity_min": fid - 0.2, "signature": "pool=mean"}


def write(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


@pytest.fixture
def results(tmp_path):
    """Three en→fr runs (eval + align record each), two CADE shifts, three vocab methods, one stray file."""
    r = tmp_path / "results"
    files = []
    for i, recipe in enumerate(["procrustes", "supervised", "semi"]):
        p1 = 0.2 + 0.05 * i
        files.append(write(r / recipe / "eval.json", eval_record(p1, {"0-1k": p1 + 0.1, "1k-5k": p1, "oov": 0.0})))
        curves = {"unit/target": [(100, 0.3), (120, 0.32), (125, 0.31)]}
        if recipe != "procrustes":
            curves["unit,center,unit/shared"] = [(100, 0.28), (130, 0.3)]
        files.append(write(r / recipe / "record.json", align_record(recipe, curves)))
    files.append(write(r / "cade" / "shift.json", shift_record(30)))
    files.append(write(r / "cade2" / "shift.json", shift_record(5)))
    for m, f in [("random", 0.3), ("mvn", 0.35), ("subword-mean", 0.8)]:
        files.append(write(r / "vocab" / f"{m}.eval.json", vocab_record(m, f)))
        files.append(write(r / "vocab" / f"{m}.expand.json", {"tokens": {"added": 9}, "init": {}, "old_rows": 50,
                                                                "new_rows": 59, "seconds": 2.5}))
    files.append(write(r / "other.json", {"hello": "world"}))
    return files


def test_sections_and_series(results):
    from xling.cli.plots import build_sections, legend_entries, load_records, make_figure

    records, unknown = load_records([str(p) for p in results])
    assert [u.endswith("other.json") for u in unknown] == [True]
    kinds = sorted({r.kind for r in records})
    assert kinds == ["align", "cade-shift", "lexicon-eval", "vocab-eval", "vocab-expand"]
    sections = {s.name: s for s in build_sections(records, top_words=20)}
    assert set(sections) == {"results", "p1-by-band", "refinement", "shift-cade", "shift-cade2", "vocab-fidelity"}
    # P@1 by band: one bar series per run, the bands of the records plus "all"
    fig = make_figure(sections["p1-by-band"])
    assert legend_entries(fig) == ["procrustes", "supervised", "semi"]  # input order
    assert len(fig.axes[0].containers) == 3
    # each band's tick says its n (test words in the band)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["0-1k\nn=10", "1k-5k\nn=10", "oov\nn=10",
                                                                     "all\nn=40"]
    row = {r[0]: r[1:] for r in sections["p1-by-band"].rows}
    assert row["semi"] == [40.0, 30.0, 0.0, 30.0]
    # refinement: one line per candidate with iterations (1 + 2 + 2), on both axes; one legend per
    # panel: the candidates (colours) left, the runs (line styles) and the chosen mark right
    fig = make_figure(sections["refinement"])
    assert sections["refinement"].series == ["procrustes", "supervised: unit/target",
                                             "supervised: unit,center,unit/shared", "semi: unit/target",
                                             "semi: unit,center,unit/shared"]
    assert [[t.get_text() for t in ax.get_legend().get_texts()] for ax in fig.axes] == [
        ["unit/target", "unit,center,unit/shared"], ["procrustes", "supervised", "semi", "chosen, kept iteration"]]
    assert [len(ax.get_lines()) for ax in fig.axes] == [5, 5]
    assert fig.axes[1].get_lines()[0].get_ydata().tolist() == [100, 120, 125]
    # shift: the top words, capped by top_words
    fig = make_figure(sections["shift-cade"])
    assert len(fig.axes[0].patches) == 20 and len(sections["shift-cade"].rows) == 20
    assert len(make_figure(sections["shift-cade2"]).axes[0].patches) == 5
    # vocab: one bar per run, named by the run's label
    fig = make_figure(sections["vocab-fidelity"])
    assert legend_entries(fig) == ["random", "mvn", "subword-mean"]
    assert [r[-1] for r in sections["vocab-fidelity"].rows] == [2.5, 2.5, 2.5]  # expand time joined
    # the results table joins each eval with its align record (same run label)
    res = sections["results"]
    assert res.columns[-2:] == ["chosen", "align s"]
    assert [r[0] for r in res.rows] == ["procrustes", "supervised", "semi"]
    assert res.rows[0][2] == 20.0 and res.rows[0][-1] == 1.5


def test_cli_writes_pngs_report_and_json(results, tmp_path, cli):
    out = tmp_path / "report"
    code, stdout, err = cli("report", *results, "-o", out, "--json")
    assert code == 0, err
    summary = json.loads(stdout)
    assert "other.json: not a record" in err
    series = {f["section"]: f["series"] for f in summary["figures"]}
    assert series == {"p1-by-band": 3, "refinement": 5, "shift-cade": 1, "shift-cade2": 1, "vocab-fidelity": 3}
    for f in summary["figures"]:
        data = open(f["path"], "rb").read()
        assert data.startswith(PNG_MAGIC) and len(data) > 2000
    md = (out / "report.md").read_text(encoding="utf-8")
    # every figure is linked and also given as a table
    for name in series:
        assert f"]({name}.png)" in md
    assert "| procrustes | 30.00 | 20.00 | 0.00 | 20.00 |" in md
    assert md.count("\n| word") == 0 and "| 1 | word0 | 0.9 |" in md
    rep = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert [s["name"] for s in rep["sections"]] == summary["sections"]
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_cli_multi_retrieval_eval_and_table_only(tmp_path, cli):
    """A `--retrieval all` record gives one row per criterion; --no-plots writes no PNG."""
    rec = {"results": [eval_record(0.2, {"0-1k": 0.3}, "nn"), eval_record(0.25, {"0-1k": 0.35}, "csls")]}
    p = write(tmp_path / "run.json", rec)
    stats = write(tmp_path / "en-si.stats.json", {"path": "d.tsv", "pairs": 10, "src_words": 8, "tgt_words": 9,
                                            "translations_per_src_word": {"mean": 1.25}, "identical_pairs": 0,
                                            "origins": {"cldr": 10}})
    out = tmp_path / "r"
    code, stdout, err = cli("report", p, stats, "-o", out, "--no-plots", "--json")
    assert code == 0, err
    s = json.loads(stdout)
    assert s["figures"] == [] and not list(out.glob("*.png"))
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "| run (nn) | nn | 20.00 |" in md and "| run (csls) | csls | 25.00 |" in md
    # by frequency band: only the --band-retrieval criterion (csls by default)
    assert "| run (csls) | 35.00 | 25.00 |" in md and "| run (nn) | 30.00 |" not in md
    code, _, err = cli("report", p, "-o", tmp_path / "r2", "--no-plots", "--band-retrieval", "all")
    assert code == 0, err
    assert "| run (nn) | 30.00 | 20.00 |" in (tmp_path / "r2" / "report.md").read_text(encoding="utf-8")
    assert "| en-si.stats | 10 | 8 | 9 | 1.25 | 0 | cldr 10 |" in md


def test_bad_json_names_file_and_line(tmp_path, cli):
    good = write(tmp_path / "a.json", eval_record(0.2, {"0-1k": 0.3}))
    bad = tmp_path / "b.json"
    bad.write_text('{\n  "p@1": 0.2,\n  oops\n}\n', encoding="utf-8")
    out = tmp_path / "out"
    code, _, err = cli("report", good, bad, "-o", out)
    assert code == 2
    assert f"{bad}:3:" in err and "not valid JSON" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()  # nothing written
    latin = tmp_path / "c.json"
    latin.write_bytes('{"note": "caf\u00e9"}'.encode("latin-1"))
    code, _, err = cli("report", good, latin, "-o", out)
    assert code == 2 and f"{latin}: not UTF-8 text" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("case", ["unknown-only", "missing", "directory", "output-is-file"])
def test_bad_inputs(tmp_path, cli, case):
    good = write(tmp_path / "a.json", eval_record(0.2, {"0-1k": 0.3}))
    out = tmp_path / "out"
    if case == "unknown-only":
        args = [write(tmp_path / "x.json", [1, 2, 3])]
        msg = "none of the 1 files is a result record"
    elif case == "missing":
        args = [good, tmp_path / "nope.json"]
        msg = "nope.json: no such file"
    elif case == "directory":
        args = [tmp_path]
        msg = "is a directory"
    else:
        out.write_text("x")
        args = [good]
        msg = "exists and is not a folder"
    code, _, err = cli("report", *args, "-o", out)
    assert code == 2
    assert msg in err and len(err.strip().splitlines()) == 1
    if case != "output-is-file":
        assert not out.exists()


def test_labels_for():
    from xling.cli.plots import labels_for

    assert labels_for(["r/en-fr/a/eval.json", "r/en-fr/b/eval.json"]) == ["a", "b"]
    assert labels_for(["r/x.eval.json", "r/y.eval.json"]) == ["x", "y"]
    assert labels_for(["r/a/eval.json", "r/b.json"]) == ["a/eval", "b"]
    assert labels_for(["only.json"]) == ["only"]
    assert labels_for(["results/cade/shift.json"]) == ["cade"]


def test_vocab_bench_results_json(tmp_path, cli):
    """The vocab bench's results.json (rows with method/fidelity/ppw_*/init_s) is read as well."""
    rows = [{"method": m, "fidelity": f, "fidelity_median": f, "ppw_before": 2.0, "ppw_after": 1.1, "init_s": 0.5}
            for m, f in [("mvn", 0.4), ("cw2v", 0.85)]]
    p = write(tmp_path / "results.json", rows)
    out = tmp_path / "r"
    code, stdout, err = cli("report", p, "-o", out, "--json")
    assert code == 0, err
    assert json.loads(stdout)["figures"][0]["series"] == 2
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "| cw2v | 0.85 | 0.85 | — | 2.00 | 1.10 | — | — | 0.5 |" in md


def test_kind_is_dispatched_on_and_old_records_are_sniffed(tmp_path):
    """Records declare their kind; a record without one (written before kinds) falls back to its keys."""
    from xling.cli.plots import detect_kind, load_records
    from xling.data.jsonfile import RecordKind, record

    old = align_record("semi", {"unit/target": [(100, 0.3)]})
    assert detect_kind(old) == "align"  # no kind: by its keys
    declared = record(RecordKind.align, {k: v for k, v in old.items() if k != "recipe"})
    assert detect_kind({k: v for k, v in declared.items() if k not in ("kind", "schema")}) is None
    assert detect_kind(declared) == "align"  # by its kind alone (no recipe key to sniff)
    # a declared kind wins over the keys; kinds the report does not draw, or does not know, are skipped
    assert detect_kind(record(RecordKind.cade_shift, {**eval_record(0.5, {"0-1k": 0.5}), "top": []})) == "cade-shift"
    assert detect_kind(record(RecordKind.cade_train, {"slices": []})) is None
    assert detect_kind({"kind": "from-the-future", "schema": 1, **eval_record(0.5, {"0-1k": 0.5})}) is None
    assert detect_kind({"kind": "lexicon-eval", **eval_record(0.5, {"0-1k": 0.5})}) == "lexicon-eval"  # no schema
    paths = [write(tmp_path / "new" / "record.json", declared), write(tmp_path / "old" / "record.json", old)]
    records, unknown = load_records([str(p) for p in paths])
    assert [r.kind for r in records] == ["align", "align"] and unknown == []


def test_report_json_declares_its_kind(results, tmp_path, cli):
    out = tmp_path / "rep"
    code, _, err = cli("report", *results, "-o", out, "--no-plots")
    assert code == 0, err
    rep = json.loads((out / "report.json").read_text())
    assert rep["kind"] == "report" and rep["schema"] == 1


def _overlaps(fig, ax, artists) -> bool:
    """Does the legend of ``ax`` cover any of ``artists`` (display coordinates, after drawing)?"""
    fig.canvas.draw()
    box = ax.get_legend().get_window_extent()
    return any(box.overlaps(a.get_window_extent()) for a in artists)


def test_refinement_marks_the_chosen_candidate_at_its_kept_iteration(tmp_path):
    from xling.cli.plots import build_sections, load_records, make_figure

    rec = align_record("semi", {"unit/target": [(100, 0.3), (120, 0.32), (125, 0.31)],
                                "unit/shared": [(100, 0.28), (130, 0.35), (131, 0.36)]})
    rec.update(chosen="unit/shared", best_iteration=2)
    p = write(tmp_path / "run" / "record.json", rec)
    sec = {s.name: s for s in build_sections(load_records([str(p)])[0])}["refinement"]
    fig = make_figure(sec)
    val_ax, dict_ax = fig.axes
    # one star per panel, at (kept iteration, its value) of the chosen candidate only
    stars = [[c.get_offsets().tolist() for c in ax.collections] for ax in (val_ax, dict_ax)]
    assert stars == [[[[2.0, 36.0]]], [[[2.0, 131.0]]]]
    # one legend per panel, neither covering the other panel; a single run has no run legend
    assert [[t.get_text() for t in ax.get_legend().get_texts()] for ax in fig.axes] == [
        ["unit/target", "unit/shared"], ["chosen, kept iteration"]]
    assert not _overlaps(fig, val_ax, [dict_ax]) and not _overlaps(fig, dict_ax, [val_ax])
    # the chosen curve is drawn thicker than the others
    assert [ln.get_linewidth() for ln in dict_ax.get_lines()] == [1.2, 2.2]


def test_p1_by_band_legend_does_not_cover_bars(results):
    from xling.cli.plots import build_sections, load_records, make_figure

    sections = {s.name: s for s in build_sections(load_records([str(p) for p in results])[0])}
    for name in ("p1-by-band", "vocab-fidelity"):
        fig = make_figure(sections[name])
        ax = fig.axes[0]
        assert ax.patches and not _overlaps(fig, ax, ax.patches), name


def test_band_n_when_runs_differ(tmp_path):
    from xling.cli.plots import build_sections, load_records, make_figure

    a, b = eval_record(0.5, {"0-1k": 0.5}), eval_record(0.4, {"0-1k": 0.4})
    b["bands"][0]["queries"], b["queries"] = 7, 30
    paths = [str(write(tmp_path / n / "eval.json", r)) for n, r in (("a", a), ("b", b))]
    sec = {s.name: s for s in build_sections(load_records(paths)[0])}["p1-by-band"]
    ticks = [t.get_text() for t in make_figure(sec).axes[0].get_xticklabels()]
    assert ticks == ["0-1k\nn=7–10", "all\nn=30–40"]


def test_one_vocab_run_keeps_its_label_and_expand_time(tmp_path, cli):
    """One `vocab eval` record with its one `vocab expand` record: the bar is named by the run
    (not by the expanded folder) with its method, and the table keeps the expansion time."""
    from xling.cli.plots import build_sections, legend_entries, load_records, make_figure
    from xling.data.jsonfile import RecordKind, record

    ev = record(RecordKind.vocab_eval, {**vocab_record("x", 0.8), "expanded": "models/out-7"})
    ex = record(RecordKind.vocab_expand, {"tokens": {"added": 9}, "init": {"method": "mvn"}, "old_rows": 50,
                                          "new_rows": 59, "seconds": 4.25, "output": "models/out-7"})
    paths = [str(write(tmp_path / "fr-run.eval.json", ev)), str(write(tmp_path / "xling-vocab.json", ex))]
    sec = {s.name: s for s in build_sections(load_records(paths)[0])}["vocab-fidelity"]
    assert [r[0] for r in sec.rows] == ["fr-run (mvn)"] and sec.rows[0][-1] == 4.25
    assert legend_entries(make_figure(sec)) == ["fr-run (mvn)"]
    # joined by run name when the eval does not name the expand's output folder
    ex2 = {**ex, "output": "elsewhere"}
    paths = [str(write(tmp_path / "b" / "run1.eval.json", ev)), str(write(tmp_path / "b" / "run1.expand.json", ex2))]
    sec = {s.name: s for s in build_sections(load_records(paths)[0])}["vocab-fidelity"]
    assert sec.rows[0][0] == "run1 (mvn)" and sec.rows[0][-1] == 4.25
    out = tmp_path / "rep"
    code, _, err = cli("report", *paths, "-o", out)
    assert code == 0, err
    assert "| run1 (mvn) | 0.8 | 0.8 | 0.6 | 1.90 | 1.20 | — | — | 4.25 |" in (out / "report.md").read_text()


def test_refinement_without_validation_and_with_an_identity_candidate(tmp_path):
    """Starts compared without validation: one panel, one legend (candidates + chosen mark); a
    candidate without a dictionary (the spaces left as they are) is drawn on the P@1 panel only."""
    from xling.cli.plots import build_sections, load_records, make_figure

    rec = align_record("unsupervised", {"unit/whitened/similarity": [(2200, None), (850, None)],
                                        "unit/whitened/identity": [(860, None), (900, None), (950, None)]})
    rec.update(chosen="unit/whitened/identity", best_iteration=2)
    p = write(tmp_path / "un" / "record.json", rec)
    fig = make_figure({s.name: s for s in build_sections(load_records([str(p)])[0])}["refinement"])
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "unit/whitened/similarity", "unit/whitened/identity", "chosen, kept iteration"]
    assert [c.get_offsets().tolist() for c in ax.collections] == [[[2.0, 950.0]]]
    # a validated run with the identity candidate (dictionary size 0): not on the dictionary panel
    rec = align_record("supervised", {"unit/target": [(100, 0.3), (120, 0.32)], "unit/identity": [(0, 0.1)]})
    p = write(tmp_path / "sup" / "record.json", rec)
    fig = make_figure({s.name: s for s in build_sections(load_records([str(p)])[0])}["refinement"])
    assert [len(ax.get_lines()) for ax in fig.axes] == [2, 1]
