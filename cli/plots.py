"""What `xling report` draws: result records → tables and matplotlib figures (presentation only).

Every record that another command writes as JSON declares its ``kind`` and ``schema``
(:class:`xling.data.jsonfile.RecordKind`); older records without them are recognised by their keys:

- ``lexicon-eval``: ``xling lexicon eval --json`` (one result, or ``results``): ``p@1``, ``bands``,
  ``retrieval``;
- ``align``: ``xling align``'s ``record.json``: ``recipe``, ``candidates``;
- ``cade-shift``: ``xling cade shift --json``: ``top`` (rows with a ``word``);
- ``vocab-eval``: ``xling vocab eval --json`` (``fidelity_mean``), or the vocab bench's
  ``results.json`` (a list of rows with ``method`` and ``fidelity``);
- ``vocab-expand``: ``xling vocab expand --json`` or ``xling-vocab.json``: ``old_rows``, ``new_rows``,
  ``tokens`` (its time and method join the fidelity row of the eval of its output folder, or else of
  the eval with the same run name);
- ``dict-stats``: ``xling data stats --json``: ``pairs``, ``src_words``, ``tgt_words``, ...

A :class:`Section` holds one table and, when it has a figure, a ``draw(fig)`` function that
fills a :class:`matplotlib.figure.Figure` (no pyplot, so no display is ever needed); the figure
can be inspected (axes, legend entries) before it is saved.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..data.errors import InputError
from ..data.jsonfile import RecordKind, read_json, record_kind

#: kinds drawn as figures, in the order they appear in the report
KINDS = tuple(k.value for k in (RecordKind.lexicon_eval, RecordKind.align, RecordKind.cade_shift,
                                RecordKind.vocab_eval, RecordKind.vocab_expand, RecordKind.dict_stats))


#: file stems that say nothing about the run (the folder names it instead)
GENERIC_STEMS = {"eval", "record", "shift", "stats", "results"}


@dataclass
class Record:
    """One recognised JSON record: its kind, its file, a short label, the parsed data."""

    kind: str
    path: str
    label: str
    data: Any


@dataclass
class Section:
    """A table (always) and a figure (when ``draw`` is set) of the report."""

    name: str                      # file stem of the figure: ``<name>.png``
    title: str
    columns: list[str]
    rows: list[list[Any]]
    series: list[str] = field(default_factory=list)   # legend entries of the figure
    draw: Callable[[Any], None] | None = None       # draw(fig)
    note: str = ""
    figsize: tuple[float, float] = (8, 4.5)           # inches

    def as_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "columns": self.columns, "rows": self.rows,
                "series": self.series, "figure": f"{self.name}.png" if self.draw else None, "note": self.note}


# ============================================================================ reading
def detect_kind(obj: Any) -> str | None:
    """The kind of a parsed record: the one it declares when it is drawn here; else (a record
    written before records had a ``kind``) the one its keys show (see the module docstring);
    ``None`` when unknown or a declared kind the report does not draw."""
    declared = record_kind(obj)
    if declared is not None:
        return declared.value if declared.value in KINDS else None
    if isinstance(obj, dict) and isinstance(obj.get("schema"), int) and "kind" in obj:
        return None  # a kind this version does not know
    return _sniff_kind(obj)


def _sniff_kind(obj: Any) -> str | None:
    """The kind of a record without ``kind``, by its keys."""
    if isinstance(obj, list):
        return "vocab-eval" if obj and all(_is_fidelity(o) for o in obj) else None
    if not isinstance(obj, dict):
        return None
    if "results" in obj and isinstance(obj["results"], list) and obj["results"] \
            and all(_is_eval(r) for r in obj["results"]):
        return "lexicon-eval"
    if _is_eval(obj):
        return "lexicon-eval"
    if "recipe" in obj and isinstance(obj.get("candidates"), list):
        return "align"
    if isinstance(obj.get("top"), list) and all(isinstance(r, dict) and "word" in r for r in obj["top"]):
        return "cade-shift"
    if "fidelity_mean" in obj or (isinstance(obj.get("methods"), list) and obj["methods"]
                                  and all(_is_fidelity(m) for m in obj["methods"])):
        return "vocab-eval"
    if {"old_rows", "new_rows", "tokens"} <= obj.keys():
        return "vocab-expand"
    if {"pairs", "src_words", "tgt_words", "translations_per_src_word"} <= obj.keys():
        return "dict-stats"
    return None


def _is_fidelity(obj: Any) -> bool:
    """A `vocab eval --json` record, or a row of the vocab bench's results.json (``method``, ``fidelity``)."""
    return isinstance(obj, dict) and ("fidelity_mean" in obj or ("method" in obj and "fidelity" in obj))


def _is_eval(obj: Any) -> bool:
    return isinstance(obj, dict) and "p@1" in obj and isinstance(obj.get("bands"), list) and "retrieval" in obj


def labels_for(paths: Sequence[str]) -> list[str]:
    """Short, distinct labels: each path relative to the files' common folder, without ``.json``;
    a last component shared by all (``…/eval``) is dropped, ``a.eval`` becomes ``a``."""
    if not paths:
        return []
    absp = [os.path.abspath(p) for p in paths]
    common = os.path.commonpath([os.path.dirname(p) for p in absp])
    rel = [os.path.relpath(p, common) for p in absp]
    rel = [r[:-5] if r.endswith(".json") else r for r in rel]
    parts = [r.split(os.sep) for r in rel]
    if len(parts) > 1 and all(len(p) > 1 for p in parts) and len({p[-1] for p in parts}) == 1:
        parts = [p[:-1] for p in parts]
    out = ["/".join(p) for p in parts]
    # a lone ``results/cade/shift.json`` reads ``cade``, not ``shift``
    out = [os.path.basename(os.path.dirname(a)) or o if o in GENERIC_STEMS else o
           for o, a in zip(out, absp, strict=True)]
    # ``procrustes.eval`` and ``procrustes.align`` → ``procrustes`` (a common dotted suffix)
    tails = {o.rsplit(".", 1)[1] if "." in o else None for o in out}
    if len(out) > 1 and len(tails) == 1 and None not in tails:
        out = [o.rsplit(".", 1)[0] for o in out]
    return out


def load_records(paths: Sequence[str]) -> tuple[list[Record], list[str]]:
    """Read every file; return the recognised records and the paths of unknown ones.

    Labels are made per kind, so ``run/eval.json`` and ``run/record.json`` both read ``run``.
    """
    parsed = []
    unknown = []
    for p in paths:
        if os.path.isdir(p):
            raise InputError("is a directory (give the JSON files, e.g. results/*.json)", p)
        obj = read_json(p)
        kind = detect_kind(obj)
        if kind is None:
            unknown.append(p)
        else:
            parsed.append((kind, p, obj))
    records = []
    for kind in KINDS:
        mine = [(p, o) for k, p, o in parsed if k == kind]
        for (p, o), label in zip(mine, labels_for([p for p, _ in mine]), strict=True):
            records.append(Record(kind, p, label, o))
    return records, unknown


# ============================================================================ sections
def _pct(v) -> float | None:
    return None if v is None else round(100.0 * float(v), 2)


def _eval_runs(records: Sequence[Record], only: str | None = None) -> list[tuple[str, str, dict]]:
    """(file label, series name, one lexicon-eval result) for every result of every file; the
    name adds the criterion when the file holds several. With ``only``, such a file keeps that
    criterion's first result (when it has one)."""
    runs = []
    for r in records:
        results = r.data["results"] if "results" in r.data else [r.data]
        several = len(results) > 1
        if only is not None and any(res.get("retrieval") == only for res in results):
            results = [next(res for res in results if res.get("retrieval") == only)]
        for res in results:
            runs.append((r.label, f"{r.label} ({res.get('retrieval')})" if several else r.label, res))
    return runs


def results_section(records: Sequence[Record], align_by_label: dict[str, dict]) -> Section:
    """The headline table: P@k, MRR, coverage per run (with the align record's recipe and time)."""
    runs = _eval_runs(records)
    cols = ["run", "retrieval", "P@1", "P@5", "P@10", "MRR", "coverage", "eval s"]
    with_align = any(label in align_by_label for label, _, _ in runs)
    if with_align:
        cols += ["chosen", "align s"]
    rows = []
    for label, name, res in runs:
        cov = res.get("coverage") or {}
        row = [name, res.get("retrieval"), _pct(res.get("p@1")), _pct(res.get("p@5")), _pct(res.get("p@10")),
               _pct(res.get("mrr")), _pct(cov.get("coverage")) if isinstance(cov, dict) else None,
               res.get("seconds")]
        if with_align:
            a = align_by_label.get(label)
            row += [None, None] if a is None else [a.get("chosen"), (a.get("timings") or {}).get("total")]
        rows.append(row)
    return Section("results", "Bilingual lexicon induction: results", cols, rows,
                   note="P@k, MRR and coverage in %; eval/align times in seconds.")


def bands_section(records: Sequence[Record], retrieval: str | None = "csls") -> Section:
    """P@1 by source-frequency band, one bar series per run (of a file with several criteria,
    only ``retrieval``)."""
    runs = _eval_runs(records, retrieval)
    bands: list[str] = []
    for _, _, res in runs:
        for b in res.get("bands", []):
            if b.get("band") not in bands:
                bands.append(b.get("band"))
    groups = bands + ["all"]
    values = []
    for _, _, res in runs:
        by = {b.get("band"): b.get("p@1") for b in res.get("bands", [])}
        by["all"] = res.get("p@1")
        values.append([_pct(by.get(g)) for g in groups])
    queries = {}
    if runs:
        first = runs[0][2]
        queries = {b.get("band"): b.get("queries") for b in first.get("bands", [])}
        queries["all"] = first.get("queries")
    ticks = [f"{g}\n{_band_n(runs, g)}" for g in groups]
    cols = ["run"] + [f"{g} (n={queries[g]})" if queries.get(g) is not None else g for g in groups]
    rows = [[name, *vals] for (_, name, _), vals in zip(runs, values, strict=True)]
    names = [name for _, name, _ in runs]

    def draw(fig):
        import numpy as np

        ax = fig.add_subplot(1, 1, 1)
        n = max(len(names), 1)
        width = 0.8 / n
        x = np.arange(len(groups))
        for i, (name, vals) in enumerate(zip(names, values, strict=True)):
            ys = [np.nan if v is None else v for v in vals]
            ax.bar(x + (i - (n - 1) / 2) * width, ys, width, label=name)
        ax.set_xticks(x, ticks)
        ax.set_xlabel("source-frequency band (rank in the source vectors); n = test words in the band")
        ax.set_ylabel("P@1 (%)")
        ax.set_title("P@1 by source-frequency band")
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        ax.grid(axis="y", alpha=0.3)

    return Section("p1-by-band", "P@1 by source-frequency band", cols, rows, series=names, draw=draw,
                   note="P@1 in %; n = test source words in the band (first run); 'oov' = words missing "
                        "from the source vectors.")


def _band_n(runs, band: str) -> str:
    """``n=…`` of a band: its test words (a range when the runs differ, ``n=?`` when unknown)."""
    ns = set()
    for _, _, res in runs:
        by = {b.get("band"): b.get("queries") for b in res.get("bands", [])}
        by["all"] = res.get("queries")
        if by.get(band) is not None:
            ns.add(int(by[band]))
    if not ns:
        return "n=?"
    return f"n={min(ns):,}" if len(ns) == 1 else f"n={min(ns):,}–{max(ns):,}"


def refinement_section(records: Sequence[Record]) -> Section | None:
    """Validation P@1 and dictionary size per refinement iteration, one line per candidate of each
    run: colour = candidate, line style = run (when several); a star marks each run's chosen
    candidate at its kept iteration. One legend per panel: the candidates (colours) on the left,
    the runs and the chosen mark on the right."""
    curves = []  # (series name, run label, candidate name, iterations, chosen iteration or None)
    rows = []
    for r in records:
        cands = r.data.get("candidates") or []
        for c in cands:
            its = c.get("iterations") or []
            if not its:
                continue
            name = r.label if len(cands) == 1 else f"{r.label}: {c.get('name')}"
            chosen = r.data.get("chosen") == c.get("name") or len(cands) == 1
            kept = r.data.get("best_iteration", c.get("best_iteration")) if chosen else None
            curves.append((name, r.label, str(c.get("name")), its, kept))
            best = c.get("best_iteration")
            for e in its:
                rows.append([name, e.get("iteration"), e.get("dict_size"), _pct(e.get("val_p1")),
                             e.get("objective"), "*" if e.get("iteration") == best else ""])
    if not curves:
        return None
    names = [cv[0] for cv in curves]
    has_val = any(e.get("val_p1") is not None for cv in curves for e in cv[3])
    runs = list(dict.fromkeys(cv[1] for cv in curves))
    cand_names = list(dict.fromkeys(cv[2] for cv in curves))

    def draw(fig):
        _draw_refinement(fig, curves, runs, cand_names, has_val)

    height = 4.5 + 0.22 * max(0, (len(cand_names) + 1) // 2 - 2)
    return Section("refinement", "Refinement curves", ["run", "iteration", "dictionary pairs", "val P@1",
                                                       "objective", "kept"], rows, series=names, draw=draw,
                   note="val P@1 in % on the held-out part of the seed dictionary; * = the iteration kept; "
                        "star in the figure: the chosen candidate at its kept iteration.",
                   figsize=(11, height))


_STYLES = ("-", "--", ":", "-.")


def _draw_refinement(fig, curves, runs, cand_names, has_val) -> None:
    """The refinement figure (see :func:`refinement_section`)."""
    from matplotlib import colormaps
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    cmap = colormaps["tab10" if len(cand_names) <= 10 else "tab20"]
    colour = {c: cmap(i % cmap.N) for i, c in enumerate(cand_names)}
    style = {r: _STYLES[i % len(_STYLES)] for i, r in enumerate(runs)}
    val_ax, dict_ax = fig.subplots(1, 2) if has_val else (None, fig.add_subplot(1, 1, 1))
    for ax in (val_ax, dict_ax):
        if ax is not None:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel("iteration")
            ax.grid(alpha=0.3)
    for _, run, cand, its, kept in curves:
        it = [e.get("iteration") for e in its]
        kw = {"color": colour[cand], "linestyle": style[run], "marker": "o", "markersize": 3,
              "linewidth": 2.2 if kept is not None else 1.2}
        sizes = [e.get("dict_size") for e in its]
        no_dict = not any(sizes)  # the spaces left as they are (identity candidate): no dictionary to draw
        if val_ax is not None:
            val_ax.plot(it, [_nan(_pct(e.get("val_p1"))) for e in its], **kw)
        if not no_dict:
            dict_ax.plot(it, sizes, **kw)
        at = [k for k, e in enumerate(its) if e.get("iteration") == kept]
        if at:
            e = its[at[0]]
            star = {"marker": "*", "s": 180, "color": colour[cand], "edgecolors": "black", "zorder": 5}
            if val_ax is not None:
                val_ax.scatter([kept], [_nan(_pct(e.get("val_p1")))], **star)
            if not no_dict:
                dict_ax.scatter([kept], [e.get("dict_size")], **star)
    chosen_mark = Line2D([], [], marker="*", markersize=12, color="white", markeredgecolor="black",
                         linestyle="none", label="chosen, kept iteration")
    cand_handles = [Line2D([], [], color=colour[c], linewidth=2, label=c) for c in cand_names]
    run_handles = [Line2D([], [], color="dimgray", linestyle=style[r], label=r) for r in runs] if len(runs) > 1 else []
    below = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.17), "fontsize": "small", "frameon": False}
    if val_ax is not None:
        val_ax.set_ylabel("validation P@1 (%)")
        val_ax.set_title("validation P@1")
        val_ax.legend(handles=cand_handles, title="candidate", ncol=2, **below)
        dict_ax.legend(handles=run_handles + [chosen_mark], title="run" if run_handles else None,
                       ncol=2 if len(run_handles) > 3 else 1, **below)
    else:
        dict_ax.legend(handles=cand_handles + run_handles + [chosen_mark], ncol=2, **below)
    dict_ax.set_ylabel("dictionary pairs")
    dict_ax.set_title("dictionary size")


def _nan(v):
    return float("nan") if v is None else v


def shift_sections(records: Sequence[Record], top_words: int) -> list[Section]:
    """The most shifted words of each ``cade shift`` record (cosine distance, horizontal bars)."""
    out = []
    for r in records:
        top = r.data.get("top", [])[:top_words]
        rows = [[t.get("rank"), t.get("word"), t.get("cosine_distance"), t.get("neighbour_distance"),
                 t.get("count_a"), t.get("count_b")] for t in top]
        a = os.path.basename(str(r.data.get("a", "a")))
        b = os.path.basename(str(r.data.get("b", "b")))
        measure = "cosine_distance" if any(t.get("cosine_distance") is not None for t in top) \
            else "neighbour_distance"

        def draw(fig, top=top, measure=measure, a=a, b=b):
            ax = fig.add_subplot(1, 1, 1)
            words = [t.get("word") for t in top][::-1]
            vals = [_nan(t.get(measure)) for t in top][::-1]
            ax.barh(range(len(words)), vals, label=measure.replace("_", " "))
            ax.set_yticks(range(len(words)), words, fontsize="small")
            ax.set_xlabel(measure.replace("_", " "))
            ax.set_title(f"most shifted words: {a} → {b}")
            ax.legend(fontsize="small", loc="lower right")
            ax.grid(axis="x", alpha=0.3)

        safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in r.label)
        out.append(Section(f"shift-{safe}", f"Semantic shift: {r.label} ({a} → {b})",
                           ["rank", "word", "cosine distance", "1-Jaccard", "count a", "count b"], rows,
                           series=[measure.replace("_", " ")], draw=draw,
                           note=f"{r.data.get('shared', '?')} shared words; {r.data.get('signature', '')}",
                           figsize=(8, max(4.5, 0.28 * len(rows) + 1.5))))
    return out


def _vocab_rows(records: Sequence[Record], expands: Sequence[Record] = ()) -> list[tuple[str, dict]]:
    """(bar name, row) per evaluated model: a bench row's ``method``, else the run's label (the
    file's, without ``.eval``), with the expansion method of its ``vocab expand`` record when the
    label does not already say it. The expand record's time joins the row that lacks one."""
    rows = []
    for r in records:
        items = r.data if isinstance(r.data, list) else r.data.get("methods", [r.data])
        for it in items:
            exp = _expand_for(it, r.label, expands)
            if "seconds" not in it and exp is not None and exp.get("seconds") is not None:
                it = {**it, "seconds": exp.get("seconds")}
            name = it.get("method") or _run_name(r.label)
            method = ((exp or {}).get("init") or {}).get("method") if isinstance((exp or {}).get("init"), dict) \
                else None
            if not it.get("method") and method and method not in name:
                name = f"{name} ({method})"
            rows.append((name, it))
    return rows


def _run_name(label: str) -> str:
    """``random.eval`` → ``random`` (a lone file keeps its dotted suffix in :func:`labels_for`)."""
    head, _, tail = label.rpartition(".")
    return head if head and tail in ("eval", "expand") else label


def _expand_for(item: dict, label: str, expands: Sequence[Record]) -> dict | None:
    """The ``vocab expand`` record of an evaluated model: the one whose ``output`` is the eval's
    ``expanded`` folder, else the one with the same run name."""
    if item.get("expanded"):
        want = os.path.normpath(str(item["expanded"]))
        for e in expands:
            if isinstance(e.data, dict) and e.data.get("output") and os.path.normpath(str(e.data["output"])) == want:
                return e.data
    for e in expands:
        if _run_name(e.label) == _run_name(label) and isinstance(e.data, dict):
            return e.data
    return None


def vocab_section(records: Sequence[Record], expands: Sequence[Record] = ()) -> Section:
    """Fidelity (and pieces per word) per vocabulary-expansion run, one bar per run; the time of
    its `vocab expand` record (same output folder, or same run name), when given."""
    items = _vocab_rows(records, expands)
    cols = ["method", "fidelity mean", "fidelity median", "fidelity min", "pieces/word before",
            "pieces/word after", "NLL/word before", "NLL/word after", "seconds"]
    rows = [[m, _r(_get(it, "fidelity_mean", "fidelity")), _r(it.get("fidelity_median")), _r(it.get("fidelity_min")),
             _r(_get(it, "pieces_per_word_before", "ppw_before")), _r(_get(it, "pieces_per_word_after", "ppw_after")),
             _r(it.get("nll_per_word_before")), _r(it.get("nll_per_word_after")),
             _r(_get(it, "seconds", "init_s"), 2)]
            for m, it in items]
    names = [m for m, _ in items]

    def draw(fig):
        ax = fig.add_subplot(1, 1, 1)
        for i, (m, it) in enumerate(items):
            lo = it.get("fidelity_min")
            mean = _nan(_get(it, "fidelity_mean", "fidelity"))
            ax.bar(i, mean, label=m)
            if lo is not None:
                ax.plot([i], [lo], marker="_", color="black", markersize=14)
        ax.set_xticks(range(len(items)), names, rotation=20, ha="right")
        ax.set_ylabel("fidelity (cosine, 1 = nothing lost)")
        ax.set_title("Sentence-embedding fidelity per expansion run")
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        ax.grid(axis="y", alpha=0.3)

    return Section("vocab-fidelity", "Vocabulary expansion: fidelity per method", cols, rows, series=names,
                   draw=draw, note="fidelity: cosine between the original and the expanded model's sentence "
                                   "embeddings of held-out lines (black tick: minimum); seconds: expansion time.")


def _get(d: dict, key: str, alias: str):
    """``d[key]``, or ``d[alias]`` (the vocab bench names some fields differently)."""
    return d.get(key, d.get(alias))


def _r(v, nd: int = 4):
    return None if v is None else round(float(v), nd)


def stats_section(records: Sequence[Record]) -> Section:
    """Dictionary statistics (table only)."""
    rows = []
    for r in records:
        d = r.data
        tpw = d.get("translations_per_src_word") or {}
        origins = ", ".join(f"{k} {v}" for k, v in (d.get("origins") or {}).items())
        rows.append([r.label, d.get("pairs"), d.get("src_words"), d.get("tgt_words"), tpw.get("mean"),
                     d.get("identical_pairs"), origins])
    return Section("dictionaries", "Dictionaries", ["dictionary", "pairs", "source words", "target words",
                                                    "translations/word", "identical pairs", "origins"], rows)


def build_sections(records: Sequence[Record], *, top_words: int = 20,
                   band_retrieval: str | None = "csls") -> list[Section]:
    """All sections of the report, in a fixed order."""
    by = {k: [r for r in records if r.kind == k] for k in KINDS}
    out: list[Section] = []
    if by["dict-stats"]:
        out.append(stats_section(by["dict-stats"]))
    if by["lexicon-eval"]:
        align_by_label = {r.label: r.data for r in by["align"]}
        out.append(results_section(by["lexicon-eval"], align_by_label))
        out.append(bands_section(by["lexicon-eval"], band_retrieval))
    if by["align"]:
        sec = refinement_section(by["align"])
        if sec is not None:
            out.append(sec)
    out.extend(shift_sections(by["cade-shift"], top_words))
    if by["vocab-eval"]:
        out.append(vocab_section(by["vocab-eval"], by["vocab-expand"]))
    return out


# ============================================================================ rendering
def make_figure(section: Section):
    """A matplotlib Figure drawn by the section (Agg canvas: no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if section.draw is None:
        raise ValueError(f"section {section.name!r} has no figure")
    fig = Figure(figsize=section.figsize, dpi=100)
    FigureCanvasAgg(fig)
    section.draw(fig)
    fig.tight_layout()
    return fig


def legend_entries(fig) -> list[str]:
    """Legend texts of every axes of a figure (what a reader sees as the series)."""
    out: list[str] = []
    for ax in fig.axes:
        leg = ax.get_legend()
        if leg is not None:
            out.extend(t.get_text() for t in leg.get_texts())
    return out


def _cell(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.2f}" if abs(v) >= 1 or v == 0 else f"{v:.4g}"
    return str(v).replace("|", "\\|").replace("\n", " ")


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub Markdown table (numbers right-aligned)."""
    numeric = [all(isinstance(r[i], (int, float)) or r[i] is None for r in rows) and bool(rows)
               for i in range(len(columns))]
    head = "| " + " | ".join(_cell(c) for c in columns) + " |"
    sep = "|" + "|".join("---:" if n else "---" for n in numeric) + "|"
    body = ["| " + " | ".join(_cell(v) for v in r) + " |" for r in rows]
    return "\n".join([head, sep, *body])


def markdown_report(sections: Sequence[Section], inputs: Sequence[Record], title: str) -> str:
    """The whole ``report.md``: each section's figure (when drawn) and its table."""
    lines = [f"# {title}", ""]
    for s in sections:
        lines += [f"## {s.title}", ""]
        if s.draw is not None:
            lines += [f"![{s.title}]({s.name}.png)", ""]
        lines += [markdown_table(s.columns, s.rows), ""]
        if s.note:
            lines += [s.note, ""]
    lines += ["## Inputs", ""]
    lines += [f"- `{r.path}` ({r.kind}, as *{r.label}*)" for r in inputs]
    return "\n".join(lines) + "\n"
