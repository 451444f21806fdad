"""`xling lexicon induce` and `xling lexicon eval`: translate words, score translations."""
from __future__ import annotations

import time
from enum import Enum

import typer

from ..data.jsonfile import RecordKind
from ..lexicon.evaluate import OOVPolicy
from ..lexicon.retrieval import Retrieval
from . import options as opt
from .common import emit_json, escape, handle_errors, info, load_vectors, out_console, progress, signature, warn

app = typer.Typer(help="Bilingual lexicon induction: translate words through aligned spaces, evaluate.",
                  no_args_is_help=True)


class EvalRetrieval(str, Enum):
    """A criterion of :class:`Retrieval`, or all of them."""

    nn = "nn"
    csls = "csls"
    isf = "isf"
    all = "all"


CslsK = typer.Option(10, "--csls-k", min=1, help="Neighbours averaged in the CSLS penalty terms.")
IsfBeta = typer.Option(30.0, "--isf-beta", min=0.0,
                       help="Inverse temperature of the inverted softmax (default 30, as Smith et al. 2017).")


def _engine(backend, device, chunk_size):
    from ..lexicon.knn import resolve_engine

    return resolve_engine(backend, device, chunk_size)


def _params(retrieval: str, csls_k: int, isf_beta: float):
    from ..lexicon.retrieval import RetrievalParams

    return RetrievalParams(Retrieval(retrieval), csls_k=csls_k, isf_beta=isf_beta)


def _deprecated_alias(old: str, old_value, new: str, new_value):
    """The value of option ``new``, or of its deprecated spelling ``old`` (with a warning)."""
    from ..data.errors import XlingError

    if old_value is None:
        return new_value
    if new_value is not None:
        raise XlingError(f"give {new} only ({old} is its deprecated spelling)")
    warn(f"{old} is deprecated: use {new}")
    return old_value


def _read_words(path: str) -> list[str]:
    """One word a line (first tab/space-separated field); blank lines skipped."""
    import io
    import os
    import sys

    from ..data.errors import InputError

    if path == "-":
        f = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="surrogateescape")
    else:
        if not os.path.isfile(path):
            raise InputError("no such file" if not os.path.exists(path) else "is not a file", path)
        f = open(path, encoding="utf-8", errors="surrogateescape")
    with f:
        words = [line.rstrip("\r\n").split("\t")[0].strip(" ") for line in f]
    words = [w for w in words if w]
    if not words:
        raise InputError("no word to translate", path)
    return words


def _load_pair(src: str, tgt: str, max_vocab: int | None):
    s = load_vectors(src, max_vocab=max_vocab, label="source vectors")
    t = load_vectors(tgt, max_vocab=max_vocab, label="target vectors")
    if s.dim != t.dim:
        from ..data.errors import XlingError

        raise XlingError(f"{src} has {s.dim}-d vectors but {tgt} has {t.dim}-d: the spaces are not aligned "
                         "(map the source into the target space first, e.g. with xling align)")
    return s, t


@app.command("induce")
@handle_errors
def induce_cmd(
    src: str = typer.Argument(..., help="Mapped source vectors (frequency order)."),
    tgt: str = typer.Argument(..., help="Target vectors."),
    words: str | None = typer.Option(None, "--words", help="Words to translate, one a line ('-': stdin)."),
    top: int | None = typer.Option(None, "--top", min=1,
                                   help="Translate the N most frequent source words (default: all)."),
    retrieval: Retrieval = typer.Option(Retrieval.csls, "--retrieval", case_sensitive=False,
                                        help="Criterion: nn (cosine), csls, isf (inverted softmax)."),
    k: int = typer.Option(1, "-k", "--k", min=1, help="Candidates written per word."),
    csls_k: int = CslsK,
    isf_beta: float = IsfBeta,
    mutual: bool = typer.Option(False, "--mutual", help="Keep only mutual nearest neighbours: the target's best "
                                                        "source (among the --top N words with --top, else all "
                                                        "source words) is the word itself."),
    min_score: float | None = typer.Option(None, "--min-score",
                                           help="Keep pairs scoring at least this (in the criterion's units)."),
    threshold: float | None = typer.Option(None, "--threshold", hidden=True,
                                           help="Deprecated spelling of --min-score."),
    output: str = typer.Option("-", "--output", "-o", help="Dictionary to write ('-': stdout)."),
    dict_format: opt.DictFormat = opt.DictFormat_,
    max_vocab: int | None = opt.MaxVocab,
    backend: opt.Backend = opt.Backend_,
    device: opt.Device = opt.Device_,
    chunk_size: int | None = opt.ChunkSize,
):
    """Translate source words into target words: writes src<TAB>tgt<TAB>score<TAB>rank lines,
    readable as a dictionary by `xling align --dict` and `xling lexicon eval --dict`."""
    from ..data.dictionary import write_dictionary
    from ..data.errors import XlingError
    from ..lexicon.induce import induce

    if words is not None and top is not None:
        raise XlingError("give --words or --top, not both")
    min_score = _deprecated_alias("--threshold", threshold, "--min-score", min_score)
    if words == "-" and "-" in (src, tgt):
        raise XlingError("stdin cannot carry both the vectors and the word list")
    eng = _engine(backend, device, chunk_size)
    word_list = _read_words(words) if words is not None else None
    s, t = _load_pair(src, tgt, max_vocab)
    if top is not None:
        word_list = list(s.words[:top])
    params = _params(retrieval.value, csls_k, isf_beta)
    t0 = time.perf_counter()
    with progress("target penalty", unit="rows") as upd:
        res = induce(s, t, word_list, k=k, params=params, mutual=mutual, min_score=min_score, mutual_pool=top,
                     engine=eng, progress=upd)
    if res.oov_words:
        warn(f"{len(res.oov_words)} of the words to translate are not in {src} (skipped), e.g. "
             f"{', '.join(map(repr, res.oov_words[:3]))}")
    write_dictionary(res.dictionary, output, extra_columns=[res.ranks], format=dict_format)
    info(f"{len(res.dictionary):,} pairs for {res.queries:,} words ({params.signature()}, {k} candidate{'s' if k > 1 else ''} a word"
         f"{', mutual' if mutual else ''}{f', min score {min_score:g}' if min_score is not None else ''}; "
         f"{res.dropped_min_score:,} below the min score, {res.dropped_mutual:,} not mutual) "
         f"in {time.perf_counter() - t0:.1f} s [{eng}]" + (f" → {output}" if output != "-" else ""))


@app.command("eval")
@handle_errors
def eval_cmd(
    src: str = typer.Argument(..., help="Mapped source vectors (frequency order: bands use the row rank)."),
    tgt: str = typer.Argument(..., help="Target vectors."),
    dict_path: str = typer.Option(..., "--dict", help="Gold dictionary (src<TAB>tgt or 'src tgt'; '-': stdin)."),
    retrieval: EvalRetrieval = typer.Option(EvalRetrieval.csls, "--retrieval", case_sensitive=False,
                                            help="Criterion, or all three."),
    csls_k: int = CslsK,
    isf_beta: float = IsfBeta,
    oov: OOVPolicy = typer.Option(OOVPolicy.wrong, "--oov", case_sensitive=False,
                                  help="Source words with no pair in both vocabularies: 'wrong' (count as "
                                       "misses) or 'skip' (leave out of the denominator)."),
    bands: str = typer.Option("1000,5000,20000", "--bands",
                              help="Upper edges of the source-frequency bands (ranks), comma-separated."),
    hub_k: int = typer.Option(10, "--hub-k", min=1, help="k of the k-occurrence (hubness)."),
    max_vocab: int | None = opt.MaxVocab,
    backend: opt.Backend = opt.Backend_,
    device: opt.Device = opt.Device_,
    chunk_size: int | None = opt.ChunkSize,
    json_out: bool = opt.Json,
):
    """P@1/5/10 and MRR of translating a dictionary's source words, with coverage, frequency bands
    and hubness. --max-vocab caps both the targets searched and the source pool of CSLS / ISF
    (200000 is the field's custom)."""
    from ..data.dictionary import read_dictionary, require_pairs
    from ..data.errors import XlingError
    from ..lexicon.diagnose import check_pairs
    from ..lexicon.evaluate import evaluate
    from ..lexicon.retrieval import shared_subspace

    try:
        edges = [int(x) for x in bands.split(",") if x.strip()]
    except ValueError:
        raise XlingError(f"--bands must be comma-separated integers, got {bands!r}") from None
    if "-" == dict_path and "-" in (src, tgt):
        raise XlingError("stdin cannot carry both the vectors and the dictionary")
    eng = _engine(backend, device, chunk_size)
    d, rep = read_dictionary(dict_path)
    if rep.multiword:
        warn(f"{dict_path}: {rep.multiword} multi-word lines skipped")
    s, t = _load_pair(src, tgt, max_vocab)
    warnings = check_pairs(s, t, d, what="gold dictionary")
    if warnings:
        warn(f"{dict_path}: " + "; ".join(warnings))
    _, cov = d.restrict(s, t)
    require_pairs(d, cov, dict_path)
    kinds = [r.value for r in Retrieval] if retrieval is EvalRetrieval.all else [retrieval.value]
    # a low-rank source (or target) is evaluated in its subspace: found and projected once for all criteria
    sub = shared_subspace(s.vectors, t.vectors)
    results, times = [], []
    for kind in kinds:
        t0 = time.perf_counter()
        with progress(f"{kind}: target penalty", unit="rows") as upd:
            r = evaluate(s, t, d, params=_params(kind, csls_k, isf_beta), oov=oov, bands=edges, hub_k=hub_k,
                         engine=eng, progress=upd, subspace=sub)
        times.append(time.perf_counter() - t0)
        results.append(r)
    records = []
    for r, sec in zip(results, times, strict=True):
        rec = {"signature": signature(**r.signature_parts()), "src": src, "tgt": tgt, "dict": dict_path,
               "src_vocab": len(s), "tgt_vocab": len(t), **r.as_dict(), "engine": str(eng),
               "seconds": round(sec, 3), "warnings": warnings}
        records.append(rec)
    if json_out:
        emit_json(records[0] if len(records) == 1 else {"results": records}, RecordKind.lexicon_eval)
        return
    _print_tables(results, records, dict_path)


def _fmt(v) -> str:
    return "—" if v is None else f"{100 * v:.2f}"


def _print_tables(results, records, dict_path: str) -> None:
    from rich.table import Table

    r0 = results[0]
    cov = (f"coverage {r0.covered:,}/{r0.src_words:,} source words = {100 * r0.coverage:.1f}% "
           f"(oov={r0.oov.value}: {r0.src_words - r0.covered:,} "
           f"{'counted wrong' if r0.oov.value == 'wrong' else 'skipped'})")
    t = Table(title=f"lexicon eval: {escape(dict_path)}")
    for col in ["retrieval", *[f"P@{k}" for k in r0.ks], "MRR", "queries", "N_k skew", "seconds"]:
        t.add_column(col, justify="left" if col == "retrieval" else "right")
    for r, rec in zip(results, records, strict=True):
        t.add_row(r.params.signature().split("=", 1)[1], *[_fmt(r.precision(k)) for k in r.ks], _fmt(r.mrr),
                  f"{r.overall.queries:,}", f"{r.hubness.skewness:.2f}", f"{rec['seconds']:.1f}")
    out_console.print(t)
    out_console.print(cov)
    for r in results:
        b = Table(title=f"by source frequency rank ({escape(r.params.signature())})")
        for col in ["band", "queries", *[f"P@{k}" for k in r.ks], "MRR"]:
            b.add_column(col, justify="left" if col == "band" else "right")
        for band in r.bands:
            b.add_row(band.label, f"{band.queries:,}", *[_fmt(band.precision[k]) for k in r.ks], _fmt(band.mrr))
        out_console.print(b)
        h = r.hubness
        hubs = ", ".join(f"{escape(w)} ({n})" for w, n in h.hubs[:5])
        out_console.print(f"hubness (k={h.k}): skewness {h.skewness:.2f}, top hub retrieved by "
                          f"{h.max_occurrence:,} of {h.queries:,} queries; the {len(h.hubs)} top hubs are in "
                          f"{100 * h.hub_query_share:.1f}% of the queries' top {h.k} "
                          f"({100 * h.hub_slot_share:.1f}% of the slots): {hubs}")
    for rec in records:
        out_console.print(f"signature: {escape(rec['signature'])}")
