"""`xling cade ...` commands: train compass-aligned slices, rank semantic shift, compare neighbours."""
from __future__ import annotations

import contextlib
import time
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import Callable, Iterator, List, Optional

import typer

from . import options as opt
from .common import (emit_json, err_console, escape, handle_errors, info, load_vectors, out_console, signature,
                     state, write_json, write_vectors)
from ..align.cade import SLICE_ALPHA, ShiftMeasure as ShiftBy, SliceInit as InitChoice
from ..align.w2v import Arch as ArchChoice
from ..data.errors import InputError, XlingError
from ..data.jsonfile import RecordKind

app = typer.Typer(help="CADE: train corpora in one shared space (compass), rank words by semantic shift.",
                  no_args_is_help=True)


REPLICATES = 3  # default of `cade train --replicates` (BENCHMARKS.md, CADE: steadier, better rankings)


class TrainDevice(str, Enum):
    cpu = "cpu"
    cuda = "cuda"


# ---------------------------------------------------------------------------- files
_VEC_SUFFIXES = (".vec.gz", ".txt.gz", ".vec", ".txt", ".bin", ".npy", ".kv")


def slice_name(path: Path) -> str:
    """``corpora/kjv.txt`` -> ``kjv``; ``out/kjv.vec`` -> ``kjv``."""
    name = Path(path).name
    for suf in _VEC_SUFFIXES:
        if name.endswith(suf) and len(name) > len(suf):
            return name[: -len(suf)]
    return Path(name).stem or name


def slice_labels(paths) -> list[str]:
    """A distinct label per vectors file: its slice name, or its path where two names collide
    (``run1/kjv.vec run2/kjv.vec``)."""
    names = [slice_name(Path(p)) for p in paths]
    labels = [n if names.count(n) == 1 else str(p) for n, p in zip(names, paths)]
    return [lab if labels.count(lab) == 1 else f"{lab} ({i + 1})" for i, lab in enumerate(labels)]


def counts_path(vec_path: Path) -> Path:
    """Where ``xling cade train`` writes a slice's word counts: ``out/<slice>.counts.tsv``."""
    return Path(vec_path).with_name(slice_name(vec_path) + ".counts.tsv")


def read_corpus(path: Path, *, lowercase: bool = False) -> list[list[str]]:
    """Sentences of a corpus: one a line, whitespace-separated tokens, UTF-8 (errors name the line)."""
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", path)
    if path.is_dir():
        raise InputError("is a directory, not a corpus", path)
    sentences = []
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise InputError("not UTF-8 text (a corpus is UTF-8, one sentence a line)", path, lineno) from None
            toks = (line.lower() if lowercase else line).split()
            if toks:
                sentences.append(toks)
    if not sentences:
        raise InputError("empty corpus: no tokens", path)
    return sentences


def write_counts(vocab, path: Path) -> None:
    """``word<TAB>count`` lines, most frequent first, written atomically."""
    from ..data.atomic import atomic_open

    with atomic_open(path) as f:
        for w, c in zip(vocab.words, vocab.counts.tolist()):
            f.write(f"{w}\t{c}\n")


def read_counts(path: Path) -> dict[str, int]:
    counts = {}
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            word, _, count = line.rpartition("\t")
            if not word or not count.isdigit():
                raise InputError("expected 'word<TAB>count'", path, lineno)
            counts[word] = int(count)
    return counts


@contextlib.contextmanager
def _word_progress(description: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar with a words/s column (stderr; silent with --quiet or off a terminal)."""
    if state.quiet or not err_console.is_terminal:
        yield lambda done, total=0: None
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
    corpora: List[Path] = typer.Argument(..., help="Corpora, one per slice: UTF-8 text, one sentence a line, "
                                                   "tokens separated by whitespace."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (created): one vectors file per slice, "
                                                      "compass.vec, <slice>.counts.tsv, cade.json."),
    arch: ArchChoice = typer.Option(ArchChoice.sg, "--arch", help="word2vec architecture: sg (skip-gram, the "
                                                                   "default: clearer shifts, BENCHMARKS CADE) or cbow "
                                                                   "(faster).", case_sensitive=False),
    dim: int = typer.Option(100, "--dim", min=1, help="Vector dimension."),
    window: int = typer.Option(5, "--window", min=1, help="Maximum context window (each side)."),
    negative: int = typer.Option(5, "--negative", min=1, help="Negative samples per positive."),
    epochs: int = typer.Option(5, "--epochs", min=1, help="Epochs of every slice."),
    compass_epochs: Optional[int] = typer.Option(None, "--compass-epochs", min=1,
                                                 help="Epochs of the compass (default: --epochs)."),
    min_count: int = typer.Option(5, "--min-count", min=1, help="Minimum count of a word in a slice."),
    compass_min_count: Optional[int] = typer.Option(None, "--compass-min-count", min=1,
                                                    help="Minimum count in all corpora together "
                                                         "(default: --min-count)."),
    alpha: float = typer.Option(0.025, "--alpha", min=1e-6, help="Start learning rate of the compass "
                                                                  "(gensim's default)."),
    slice_alpha: Optional[float] = typer.Option(None, "--slice-alpha", min=1e-6,
                                                help="Start learning rate of the slices (default: "
                                                     f"{SLICE_ALPHA} x 2M / (tokens a slice x epochs), within "
                                                     "0.001-0.025: more updates afford smaller, less noisy steps; "
                                                     "BENCHMARKS, CADE)."),
    sample: float = typer.Option(1e-3, "--sample", min=0.0, help="Subsampling threshold of frequent words "
                                                                  "(0: off)."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1,
                                          help="Training threads (default: all cores). More than 1 is not "
                                               "bit-reproducible (hogwild updates)."),
    seed: int = opt.Seed,
    device: TrainDevice = typer.Option(TrainDevice.cpu, "--device", help="Slice trainer: cpu (numba) or cuda "
                                                                          "(torch).", case_sensitive=False),
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
):
    """Train a compass on all corpora, then one slice per corpus with the compass's output matrix frozen.

    All slices land in one space: compare them directly with `xling cade shift` / `neighbours`.
    """
    from ..align.cade import output_norm, slice_alpha_for, train_compass, train_slice
    from ..align.w2v import W2VParams
    from ..lexicon.knn import default_threads

    # 1. read everything first, so a bad corpus fails before any training
    names = [slice_name(p) for p in corpora]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise XlingError(f"two corpora would write the same slice name {dupes[0]!r}: rename one file")
    if "compass" in names:
        raise XlingError("a corpus named 'compass' would clash with the compass output: rename it")
    texts = [read_corpus(p, lowercase=lowercase) for p in corpora]
    tokens = [sum(map(len, t)) for t in texts]
    threads = threads or default_threads()
    params = W2VParams(arch=arch.value, dim=dim, window=window, negative=negative, epochs=epochs, alpha=alpha,
                       sample=sample, threads=threads, seed=seed)
    cparams = replace(params, epochs=compass_epochs or epochs)
    if slice_alpha is not None and slice_alpha < params.min_alpha:
        raise XlingError(f"--slice-alpha must be at least {params.min_alpha} (the final learning rate), "
                         f"got {slice_alpha}")
    # the slices' rate: given, or inversely proportional to their tokens x epochs
    auto = slice_alpha is None
    mean_tokens = sum(tokens) / len(tokens)
    params = replace(params, alpha=slice_alpha_for(mean_tokens, params.epochs) if auto else slice_alpha)
    if auto:
        info(f"slice learning rate {params.alpha:.4g} ({mean_tokens:,.0f} tokens a slice x {params.epochs} epochs)")
    cmin = compass_min_count or min_count
    if device is TrainDevice.cuda:
        from ..lexicon.knn import cuda_available
        from ..data.errors import DeviceError

        if not cuda_available():
            raise DeviceError("--device cuda asked for, but PyTorch sees no CUDA device")

    # 2. compass on the concatenation
    everything = [s for t in texts for s in t]
    with _word_progress("compass (gensim)") as upd:
        compass = train_compass(everything, cparams, min_count=cmin, progress=upd)
    del everything
    out.mkdir(parents=True, exist_ok=True)
    write_vectors(compass.embeddings(), str(out / "compass.vec"), precision=precision, label="compass.vec")
    write_counts(compass.vocab, out / "compass.counts.tsv")
    record = {"signature": signature(arch=arch, dim=dim, window=window, negative=negative, epochs=epochs,
                                     compass_epochs=cparams.epochs, alpha=alpha,
                                     slice_alpha=f"auto:{params.alpha:.4g}" if auto else slice_alpha,
                                     min_count=min_count, compass_min_count=cmin, sample=sample, seed=seed,
                                     init=init, replicates=replicates, lowercase=lowercase, threads=threads),
              "params": {**params.__dict__, "arch": arch.value, "compass_epochs": cparams.epochs,
                         "compass_alpha": cparams.alpha, "slice_alpha_auto": auto,
                         "min_count": min_count, "compass_min_count": cmin, "lowercase": lowercase,
                         "init": init.value, "replicates": replicates, "device": device.value},
              "compass": {"vectors": str(out / "compass.vec"), "vocab": len(compass.vocab),
                          "tokens": sum(tokens), "seconds": round(compass.seconds, 3),
                          "output_norm": round(output_norm(compass), 4)},
              "slices": []}
    # 3. one slice per corpus, output matrix frozen
    for name, path, text, n_tokens in zip(names, corpora, texts, tokens):
        with _word_progress(f"slice {name}") as upd:
            sl = train_slice(text, compass, params, min_count=min_count, init=init, device=device.value,
                             replicates=replicates, progress=upd)
        vec_path = out / f"{name}.vec"
        write_vectors(sl.embeddings(), str(vec_path), precision=precision, label=vec_path.name)
        write_counts(sl.vocab, counts_path(vec_path))
        record["slices"].append({"name": name, "corpus": str(path), "vectors": str(vec_path),
                                 "counts": str(counts_path(vec_path)), "sentences": len(text),
                                 "tokens": n_tokens, "vocab": len(sl.vocab),
                                 "seconds": round(sl.stats.seconds, 3),
                                 "words_per_sec": round(sl.stats.words_per_sec, 1)})
        info(f"slice {escape(name)}: {len(sl.vocab):,} words, {sl.stats.words_per_sec:,.0f} words/s "
             f"→ {escape(str(vec_path))}")
    write_json(out / "cade.json", record, RecordKind.cade_train)
    if json_out:
        emit_json(record, RecordKind.cade_train)
    else:
        from rich.table import Table

        table = Table(title=f"CADE: {len(names)} slices in {escape(str(out))}")
        for col in ("slice", "tokens", "vocab", "words/s", "vectors"):
            table.add_column(col, justify="right" if col in ("tokens", "vocab", "words/s") else "left")
        table.add_row("compass", f"{record['compass']['tokens']:,}", f"{len(compass.vocab):,}", "(gensim)",
                      escape(record["compass"]["vectors"]))
        for s in record["slices"]:
            table.add_row(escape(s["name"]), f"{s['tokens']:,}", f"{s['vocab']:,}", f"{s['words_per_sec']:,.0f}",
                          escape(s["vectors"]))
        out_console.print(table)
        out_console.print(record["signature"])


def _load_counts(vec_path: str, required: bool) -> Optional[dict]:
    p = counts_path(Path(vec_path))
    if p.exists():
        return read_counts(p)
    if required:
        raise InputError(f"--min-count needs word counts, but {p} is missing (written by `xling cade train`)",
                         vec_path)
    return None


@app.command("shift")
@handle_errors
def shift_cmd(
    a: str = typer.Argument(..., help="First slice vectors (e.g. out/old.vec)."),
    b: str = typer.Argument(..., help="Second slice vectors, in the same space (e.g. out/new.vec)."),
    top: int = typer.Option(50, "--top", "-n", min=1, help="How many words to show."),
    min_count: Optional[int] = typer.Option(None, "--min-count", min=1,
                                            help="Only words seen at least N times in both slices (reads "
                                                 "<slice>.counts.tsv next to each vectors file)."),
    k: int = typer.Option(10, "-k", "--neighbours", min=1, help="Neighbours of the overlap measure."),
    by: ShiftBy = typer.Option(ShiftBy.cosine, "--by", help="Rank by cosine distance or by neighbour "
                                                            "overlap (1 - Jaccard).", case_sensitive=False),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write the full ranking as TSV "
                                                                      "('-': stdout)."),
    max_vocab: Optional[int] = opt.MaxVocab,
    backend: opt.Backend = opt.Backend_,
    knn_device: opt.Device = opt.Device_,
    json_out: bool = opt.Json,
):
    """Rank the words shared by two slices by how much their meaning moved."""
    from ..align.cade import shift_scores
    from ..data.atomic import atomic_open
    from ..lexicon.knn import resolve_engine

    if json_out and output == "-":
        raise XlingError("--json and -o - would both write to stdout: choose one")
    ea = load_vectors(a, max_vocab=max_vocab)
    eb = load_vectors(b, max_vocab=max_vocab)
    ca = _load_counts(a, min_count is not None)
    cb = _load_counts(b, min_count is not None)
    words = None
    if min_count is not None:
        words = [w for w in ea.index_to_key if ca.get(w, 0) >= min_count and cb.get(w, 0) >= min_count]
        if len(words) < 2:
            raise XlingError(f"fewer than 2 words occur at least {min_count} times in both slices: "
                             "lower --min-count")
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
    vectors: List[str] = typer.Argument(..., help="Slice vectors files (e.g. out/*.vec)."),
    words: List[str] = typer.Option(..., "--word", "-w", help="The word to look up (repeatable: one table each)."),
    k: int = typer.Option(10, "-k", min=1, help="Neighbours per slice."),
    max_vocab: Optional[int] = opt.MaxVocab,
    json_out: bool = opt.Json,
):
    """A word's nearest neighbours in every slice, side by side."""
    from ..align.cade import neighbours

    words = list(dict.fromkeys(words))
    labels = slice_labels(vectors)
    slices = {label: load_vectors(path, max_vocab=max_vocab) for label, path in zip(labels, vectors)}
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
