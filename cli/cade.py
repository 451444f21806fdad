"""`xling cade ...` commands: train compass-aligned slices, rank semantic shift, compare neighbours."""
from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import typer

from ..align.cade import SLICE_ALPHA
from ..align.cade import ShiftMeasure as ShiftBy
from ..align.cade import SliceInit as InitChoice
from ..align.cade_io import slice_labels
from ..align.w2v import Arch as ArchChoice
from ..data.atomic import output_folder, shown_path
from ..data.errors import XlingError
from ..data.jsonfile import RecordKind
from ..lexicon.device import Device
from . import options as opt
from .common import (
    emit_json,
    err_console,
    escape,
    handle_errors,
    info,
    load_vectors,
    no_progress,
    out_console,
    progress,
    signature,
    state,
    write_json,
)

app = typer.Typer(help="CADE: train corpora in one shared space (compass), rank words by semantic shift.",
                  no_args_is_help=True)


REPLICATES = 3  # default of `cade train --replicates` (BENCHMARKS.md, CADE: steadier, better rankings)


@contextlib.contextmanager
def _word_progress(description: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar with a words/s column (stderr; silent with --quiet or off a terminal)."""
    if state.quiet or not err_console.is_terminal:
        yield no_progress
        return
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

    cols = [TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(),
            TextColumn("{task.fields[rate]}"), TimeRemainingColumn()]
    with Progress(*cols, console=err_console, transient=True) as p:
        task = p.add_task(description, total=None, rate="")
        t0 = time.perf_counter()

        def update(done: int, total: int = 0) -> None:
            dt = time.perf_counter() - t0
            rate = f"{done / dt:,.0f} words/s" if dt > 0 else ""
            p.update(task, completed=done, total=total or None, rate=rate)

        yield update


@app.command("train")
@handle_errors
def train_cmd(
    corpora: list[Path] = typer.Argument(..., help="Corpora, one per slice: UTF-8 text, one sentence a line, "
                                                   "tokens separated by whitespace."),
    out: Path = typer.Option(..., "--output", "--out", "-o", help="Output folder (created): one vectors file per slice, "
                                                      "compass.vec, <slice>.counts.tsv, cade.json."),
    arch: ArchChoice = typer.Option(ArchChoice.sg, "--arch", help="word2vec architecture: sg (skip-gram, the "
                                                                   "default: clearer shifts, BENCHMARKS CADE) or cbow "
                                                                   "(faster).", case_sensitive=False),
    dim: int = typer.Option(100, "--dim", min=1, help="Vector dimension."),
    window: int = typer.Option(5, "--window", min=1, help="Maximum context window (each side)."),
    negative: int = typer.Option(5, "--negative", min=1, help="Negative samples per positive."),
    epochs: int = typer.Option(5, "--epochs", min=1, help="Epochs of every slice."),
    compass_epochs: int | None = typer.Option(None, "--compass-epochs", min=1,
                                              help="Epochs of the compass (default: --epochs)."),
    min_count: int = typer.Option(5, "--min-count", min=1, help="Minimum count of a word in a slice."),
    compass_min_count: int | None = typer.Option(None, "--compass-min-count", min=1,
                                                 help="Minimum count in all corpora together "
                                                      "(default: --min-count)."),
    alpha: float = typer.Option(0.025, "--alpha", min=1e-6, help="Start learning rate of the compass "
                                                                  "(gensim's default)."),
    slice_alpha: float | None = typer.Option(None, "--slice-alpha", min=1e-6,
                                             help="Start learning rate of the slices (default: "
                                                  f"{SLICE_ALPHA} x 2M / (tokens a slice x epochs), within "
                                                  "0.001-0.025: more updates afford smaller, less noisy steps; "
                                                  "BENCHMARKS, CADE)."),
    sample: float = typer.Option(1e-3, "--sample", min=0.0, help="Subsampling threshold of frequent words "
                                                                  "(0: off)."),
    threads: int | None = typer.Option(None, "--threads", min=1,
                                       help="Training threads (default: all cores). More than 1 is not "
                                            "bit-reproducible (hogwild updates)."),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed gives the same bytes with --threads 1 "
                                               "(with more threads the run says it is not bit-reproducible, "
                                               "also in cade.json: params.bit_reproducible)."),
    device: Device = opt.device_option(Device.cpu, "Slice trainer: cpu (numba; bit-reproducible with --threads "
                                                   "1), cuda (torch), or auto (cuda when available)."),
    init: InitChoice = typer.Option(InitChoice.random, "--init",
                                    help="Slice input vectors start as the compass's, or random (TWEC's default). "
                                         "The output matrix is the compass's, frozen, either way.",
                                    case_sensitive=False),
    replicates: int = typer.Option(REPLICATES, "--replicates", "-r", min=1,
                                   help="Train every slice R times (different seeds) and write the mean of the "
                                        "R unit-length vectors: less training noise, steadier shift rankings, "
                                        "R x the slice training time (1: one run, raw vectors)."),
    lowercase: bool = typer.Option(False, "--lowercase", help="Lower-case the corpora before training."),
    precision: int = typer.Option(6, "--precision", min=1, max=9, help="Significant digits in .vec output."),
    json_out: bool = opt.Json,
    force: bool = opt.Force,
):
    """Train a compass on all corpora, then one slice per corpus with the compass's output matrix frozen.

    All slices land in one space: compare them directly with `xling cade shift` / `neighbours`.
    """
    from ..align.cade_io import read_corpora
    from ..lexicon.device import resolve_device
    from ..lexicon.knn import default_threads

    # 1. read everything and settle every setting first, so bad input fails before any training
    names, texts = read_corpora(corpora, lowercase=lowercase)
    tokens = [sum(map(len, t)) for t in texts]
    threads = threads or default_threads()
    cparams, params, auto = _train_params(tokens, arch=arch, dim=dim, window=window, negative=negative,
                                          epochs=epochs, compass_epochs=compass_epochs, alpha=alpha,
                                          slice_alpha=slice_alpha, sample=sample, threads=threads, seed=seed)
    cmin = compass_min_count or min_count
    dev = resolve_device(device)
    reproducible = threads == 1
    if not reproducible:
        info(f"{threads} training threads: the vectors are not bit-reproducible (hogwild updates); "
             "--threads 1 gives the same bytes for the same --seed")
    # 2. compass on the concatenation, 3. one slice per corpus with the compass's output frozen; the
    # folder is built aside and swapped in whole at the end
    with output_folder(out, force=force, inputs=corpora) as tmp:
        compass = _train_compass(texts, cparams, cmin, tmp, precision)
        slices = [_train_slice(name, path, text, n_tokens, compass, params, tmp, min_count=min_count, init=init,
                               device=dev, replicates=replicates, precision=precision)
                  for name, path, text, n_tokens in zip(names, corpora, texts, tokens, strict=True)]
        record = {"signature": signature(arch=arch, dim=dim, window=window, negative=negative, epochs=epochs,
                                         compass_epochs=cparams.epochs, alpha=alpha,
                                         slice_alpha=f"auto:{params.alpha:.4g}" if auto else slice_alpha,
                                         min_count=min_count, compass_min_count=cmin, sample=sample, seed=seed,
                                         init=init, replicates=replicates, lowercase=lowercase, threads=threads),
                  "params": {**params.__dict__, "arch": arch.value, "compass_epochs": cparams.epochs,
                             "compass_alpha": cparams.alpha, "slice_alpha_auto": auto,
                             "min_count": min_count, "compass_min_count": cmin, "lowercase": lowercase,
                             "init": init.value, "replicates": replicates, "device": dev.value,
                             "bit_reproducible": reproducible},
                  "compass": _compass_record(compass, out, sum(tokens)),
                  "slices": slices}
        write_json(tmp / "cade.json", record, RecordKind.cade_train)
    if json_out:
        emit_json(record, RecordKind.cade_train)
    else:
        _print_train(record, out)


def _train_params(tokens: list[int], *, arch, dim, window, negative, epochs, compass_epochs, alpha, slice_alpha,
                  sample, threads, seed):
    """(compass settings, slice settings, slice rate is the default one)."""
    from ..align.cade import slice_params
    from ..align.w2v import W2VParams

    params = W2VParams(arch=arch.value, dim=dim, window=window, negative=negative, epochs=epochs, alpha=alpha,
                       sample=sample, threads=threads, seed=seed)
    cparams = replace(params, epochs=compass_epochs or epochs)
    # the slices' rate: given, or inversely proportional to their tokens x epochs
    sparams, auto = slice_params(params, tokens, slice_alpha)
    if auto:
        info(f"slice learning rate {sparams.alpha:.4g} ({sum(tokens) / len(tokens):,.0f} tokens a slice x "
             f"{sparams.epochs} epochs)")
    return cparams, sparams, auto


def _train_compass(texts, cparams, cmin: int, out: Path, precision: int):
    from ..align.cade import train_compass
    from ..align.cade_io import COMPASS, save_slice

    everything = [s for t in texts for s in t]
    with _word_progress("compass (gensim)") as upd:
        compass = train_compass(everything, cparams, min_count=cmin, progress=upd)
    del everything
    with progress(f"writing {COMPASS}.vec", unit="rows") as upd:
        save_slice(compass, out, COMPASS, precision=precision, progress=upd)
    return compass


def _compass_record(compass, out: Path, tokens: int) -> dict:
    from ..align.cade import output_norm
    from ..align.cade_io import COMPASS, vectors_path

    return {"vectors": str(vectors_path(out, COMPASS)), "vocab": len(compass.vocab), "tokens": tokens,
            "seconds": round(compass.seconds, 3), "output_norm": round(output_norm(compass), 4)}


def _train_slice(name: str, path: Path, text, n_tokens: int, compass, params, out: Path, *, min_count: int, init,
                 device: Device, replicates: int, precision: int) -> dict:
    """Train, save and describe one slice."""
    from ..align.cade import train_slice
    from ..align.cade_io import save_slice

    with _word_progress(f"slice {name}") as upd:
        sl = train_slice(text, compass, params, min_count=min_count, init=init, device=device,
                         replicates=replicates, progress=upd)
    with progress(f"writing {name}.vec", unit="rows") as upd:
        files = save_slice(sl, out, name, precision=precision, progress=upd)
    info(f"slice {escape(name)}: {len(sl.vocab):,} words, {sl.stats.words_per_sec:,.0f} words/s "
         f"→ {escape(shown_path(files.vectors))}")
    return {"name": name, "corpus": str(path), "vectors": shown_path(files.vectors),
            "counts": shown_path(files.counts),
            "sentences": len(text), "tokens": n_tokens, "vocab": len(sl.vocab),
            "seconds": round(sl.stats.seconds, 3), "words_per_sec": round(sl.stats.words_per_sec, 1)}


def _print_train(record: dict, out: Path) -> None:
    from rich.table import Table

    table = Table(title=f"CADE: {len(record['slices'])} slices in {escape(str(out))}")
    for col in ("slice", "tokens", "vocab", "words/s", "vectors"):
        table.add_column(col, justify="right" if col in ("tokens", "vocab", "words/s") else "left")
    c = record["compass"]
    table.add_row("compass", f"{c['tokens']:,}", f"{c['vocab']:,}", "(gensim)", escape(c["vectors"]))
    for s in record["slices"]:
        table.add_row(escape(s["name"]), f"{s['tokens']:,}", f"{s['vocab']:,}", f"{s['words_per_sec']:,.0f}",
                      escape(s["vectors"]))
    out_console.print(table)
    out_console.print(record["signature"])


@app.command("shift")
@handle_errors
def shift_cmd(
    a: str = typer.Argument(..., help="First slice vectors (e.g. out/old.vec)."),
    b: str = typer.Argument(..., help="Second slice vectors, in the same space (e.g. out/new.vec)."),
    top: int = typer.Option(50, "--top", "-n", min=1, help="How many words to show."),
    min_count: int | None = typer.Option(None, "--min-count", min=1,
                                         help="Only words seen at least N times in both slices (reads "
                                              "<slice>.counts.tsv next to each vectors file)."),
    k: int = typer.Option(10, "-k", "--neighbours", min=1, help="Neighbours of the overlap measure."),
    by: ShiftBy = typer.Option(ShiftBy.cosine, "--by", help="Rank by cosine distance or by neighbour "
                                                            "overlap (1 - Jaccard).", case_sensitive=False),
    output: str | None = typer.Option(None, "--output", "-o", help="Write the full ranking as TSV "
                                                                   "('-': stdout)."),
    max_vocab: int | None = opt.MaxVocab,
    backend: opt.Backend = opt.Backend_,
    knn_device: opt.Device = opt.Device_,
    json_out: bool = opt.Json,
):
    """Rank the words shared by two slices by how much their meaning moved."""
    from ..align.cade import shift_scores
    from ..align.cade_io import LoadedSlice, frequent_words, load_counts
    from ..data.atomic import atomic_open
    from ..lexicon.knn import resolve_engine

    if json_out and output == "-":
        raise XlingError("--json and -o - would both write to stdout: choose one")
    ea = load_vectors(a, max_vocab=max_vocab)
    eb = load_vectors(b, max_vocab=max_vocab)
    ca = load_counts(a, required=min_count is not None)
    cb = load_counts(b, required=min_count is not None)
    words = None if min_count is None else frequent_words(LoadedSlice(ea, ca), LoadedSlice(eb, cb), min_count)
    table = shift_scores(ea, eb, k=k, words=words, engine=resolve_engine(backend, knn_device))
    order = table.order(by)
    rows = []
    for rank, i in enumerate(order.tolist(), 1):
        w = table.words[i]
        rows.append({"rank": rank, "word": w, "cosine_distance": round(float(table.cosine[i]), 6),
                     "neighbour_distance": round(float(table.neighbours[i]), 6),
                     "count_a": None if ca is None else ca.get(w), "count_b": None if cb is None else cb.get(w)})
    sig = signature(by=by, k=table.k, min_count=min_count, shared=len(table.words))
    if output is not None:
        with atomic_open(output) as f:
            f.write("rank\tword\tcosine_distance\tneighbour_distance\tcount_a\tcount_b\n")
            for r in rows:
                f.write("\t".join("" if v is None else str(v) for v in r.values()) + "\n")
    if json_out:
        emit_json({"signature": sig, "a": a, "b": b, "shared": len(table.words), "top": rows[:top]}, RecordKind.cade_shift)
    elif output != "-":
        from rich.table import Table

        t = Table(title=f"most shifted words: {escape(a)} → {escape(b)}")
        for col in ("rank", "word", "cos dist", f"1-Jaccard@{table.k}", "count a", "count b"):
            t.add_column(col, justify="left" if col == "word" else "right")
        for r in rows[:top]:
            t.add_row(str(r["rank"]), escape(r["word"]), f"{r['cosine_distance']:.3f}",
                      f"{r['neighbour_distance']:.2f}", "" if r["count_a"] is None else f"{r['count_a']:,}",
                      "" if r["count_b"] is None else f"{r['count_b']:,}")
        out_console.print(t)
        out_console.print(sig)


@app.command("neighbours")
@handle_errors
def neighbours_cmd(
    vectors: list[str] = typer.Argument(..., help="Slice vectors files (e.g. out/*.vec)."),
    words: list[str] = typer.Option(..., "--word", "-w", help="The word to look up (repeatable: one table each)."),
    k: int = typer.Option(10, "-k", min=1, help="Neighbours per slice."),
    max_vocab: int | None = opt.MaxVocab,
    json_out: bool = opt.Json,
):
    """A word's nearest neighbours in every slice, side by side."""
    from ..align.cade import neighbours

    words = list(dict.fromkeys(words))
    labels = slice_labels(vectors)
    slices = {label: load_vectors(path, max_vocab=max_vocab) for label, path in zip(labels, vectors, strict=True)}
    missing = [w for w in words if not any(w in emb for emb in slices.values())]
    if missing:
        raise XlingError(f"{', '.join(map(repr, missing))} in none of the {len(vectors)} vectors files")
    results = {w: {label: neighbours(emb, w, k) if w in emb else None for label, emb in slices.items()}
               for w in words}
    if json_out:
        records = [{"word": w, "k": k, "slices": {n: None if v is None else [{"word": x, "cosine": round(s, 6)}
                                                                         for x, s in v]
                                                 for n, v in res.items()}}
                   for w, res in results.items()]
        emit_json(records[0] if len(records) == 1 else {"results": records})
        return
    from rich.table import Table

    for word, result in results.items():
        t = Table(title=f"neighbours of {escape(word)!r}")
        t.add_column("#", justify="right")
        for name in result:
            t.add_column(escape(name))
        for i in range(k):
            cells = []
            for v in result.values():
                if v is None:
                    cells.append("(absent)" if i == 0 else "")
                else:
                    cells.append(f"{escape(v[i][0])} {v[i][1]:.2f}" if i < len(v) else "")
            t.add_row(str(i + 1), *cells)
        out_console.print(t)
