"""`xling vocab ...` commands: candidates, train-tokenizer, expand, eval."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from ..data.jsonfile import RecordKind
from . import options as opt
from .common import emit_json, escape, handle_errors, info, out_console, progress, signature, write_json

app = typer.Typer(help="Add tokens to a model's vocabulary and initialise their embeddings.",
                  no_args_is_help=True)

ModelDir = typer.Argument(..., help="Hugging Face model folder (config.json, tokenizer.json, model.safetensors).")


@app.command("candidates")
@handle_errors
def candidates(
    model_dir: Path = ModelDir,
    corpus: str = typer.Argument(..., help="UTF-8 text in the new language or domain ('-' for stdin)."),
    top: int = typer.Option(2000, "--top", min=1, help="Number of candidates."),
    min_count: int = typer.Option(2, "--min-count", min=1, help="Ignore rarer words."),
    min_pieces: int = typer.Option(2, "--min-pieces", min=2,
                                   help="Only words that take at least this many tokens in running text."),
    min_length: int = typer.Option(2, "--min-length", min=1, help="Only words at least this long."),
    output: str = typer.Option("-", "--output", "-o", help="Output TSV (word, count, pieces); '-' = stdout."),
    json_out: bool = opt.Json,
):
    """Corpus words that would save the most tokens as single tokens.

    Words are taken as the model's own normaliser and pre-tokeniser see them in running text
    (SentencePiece layouts split on the ▁ marker), decoded to Unicode, and ranked by tokens saved
    = count × (pieces − 1), pieces counted in context (after a space, with the word-start marker).
    Words already one token in context are never listed. The TSV feeds `xling vocab expand --tokens`.
    """
    from ..data.atomic import atomic_open
    from ..vocab.candidates import count_words, read_lines, select_candidates
    from ..vocab.checkpoint import load_tokenizer_only
    from ..vocab.segment import HFSegmenter

    seg = HFSegmenter(load_tokenizer_only(model_dir))
    counts = count_words(read_lines(corpus), seg)
    cands = select_candidates(counts, seg, top=top, min_count=min_count, min_pieces=min_pieces,
                              min_length=min_length)
    if output != "-" or not json_out:
        with atomic_open(output) as f:
            for c in cands:
                f.write(f"{c.word}\t{c.count}\t{c.pieces}\n")
    record = {"corpus": corpus, "distinct_words": len(counts), "tokens": int(sum(counts.values())),
              "candidates": len(cands),
              "mean_pieces": (sum(c.pieces for c in cands) / len(cands)) if cands else None,
              "tokens_saved": sum(c.saved for c in cands), "output": output}
    if json_out:
        record["top"] = [{"word": c.word, "count": c.count, "pieces": c.pieces, "saved": c.saved}
                         for c in cands[:20]]
        emit_json(record)
    else:
        info(f"{len(cands):,} candidates from {record['tokens']:,} words ({len(counts):,} distinct)"
             + (f", {record['mean_pieces']:.2f} tokens each now, {record['tokens_saved']:,} tokens saved "
                f"on the corpus as single tokens" if cands else ""))


@app.command("train-tokenizer")
@handle_errors
def train_tokenizer(
    model_dir: Path = ModelDir,
    corpus: str = typer.Argument(..., help="UTF-8 text in the new language or domain ('-' for stdin)."),
    new_tokens: int = typer.Option(..., "--new-tokens", "-n", min=1, help="Number of new tokens to learn."),
    output: Path = typer.Option(..., "--output", "-o", help="Output folder (tokenizer files + xling-tokens.json)."),
    train_vocab_size: int | None = typer.Option(None, "--train-vocab-size", min=2,
                                                help="Size of the tokenizer trained on the corpus "
                                                     "(default: 4 × N + 500, plus the byte alphabet)."),
    force: bool = opt.Force,
    json_out: bool = opt.Json,
):
    """Learn N new subword tokens with the model's own algorithm and merge them into its tokenizer.

    A tokenizer of the same family (BPE with the same pre-tokeniser and byte-level alphabet,
    Unigram, WordPiece) is trained on the corpus; its N first entries the model lacks (merge order,
    or score for Unigram) are merged into the model's tokenizer: each BPE token gets a merge chain
    appended after the existing merges (so text where none of them applies is segmented as
    before). OUT/ holds the merged tokenizer files and xling-tokens.json; give OUT/ to
    `xling vocab expand MODEL --tokens OUT/` to add the matching embedding rows.

    Not bit-reproducible for Unigram and WordPiece models: the `tokenizers` library's trainers for
    those families can learn a different list from the same corpus from one run to the next
    (xling-tokens.json records it as "reproducible": false). BPE training is.
    """
    from ..data.atomic import check_output_folder, output_folder
    from ..vocab.candidates import read_lines
    from ..vocab.checkpoint import load_tokenizer_only
    from ..vocab.tokenizer_edit import TRAINED_FILE, in_context_use, save_trained, train_new_tokens

    tok = load_tokenizer_only(model_dir)
    ins: list[str | Path] = [model_dir, corpus]
    marker = (TRAINED_FILE,)
    check_output_folder(output, force=force, inputs=ins, legacy_markers=marker)  # refused before the training
    reproducible = type(tok.model).__name__ not in ("Unigram", "WordPiece")
    if not reproducible:
        info(f"note: {type(tok.model).__name__} training is not bit-reproducible (the tokenizers library's trainer)")
    lines = [ln for ln in read_lines(corpus) if ln.strip()]
    t0 = time.perf_counter()
    new_tok, entries, skips = train_new_tokens(tok, lines, new_tokens, train_vocab_size=train_vocab_size)
    use = in_context_use(tok, new_tok, entries, lines)
    ids = {e.token_id for e in entries}
    used = set()
    for enc in new_tok.encode_batch(lines, add_special_tokens=False):
        used.update(ids.intersection(enc.ids))
    n_int = sum(e.intermediate for e in entries)
    report = {"model": str(model_dir), "corpus": corpus, "output": str(output),
              "new_tokens": len(entries) - n_int, "intermediate_tokens": n_int,
              "new_tokens_used_on_corpus": len(used),
              "tokens_per_word_before": use["tokens_per_word_before"],
              "tokens_per_word_after": use["tokens_per_word_after"],
              "lines_changed_without_new_ids": use["lines_changed_without_new_ids"],
              "reproducible": reproducible,
              "seconds": round(time.perf_counter() - t0, 3)}
    with output_folder(output, force=force, inputs=ins, legacy_markers=marker) as tmp:
        warnings = save_trained(tmp, model_dir, new_tok, entries, skips, report)
    report["tokenizer_warnings"] = warnings
    if json_out:
        report["examples"] = [e.word for e in entries[:20]]
        emit_json(report)
        return
    info(f"learned {len(entries) - n_int:,} new tokens (+{n_int:,} intermediate BPE entries; {len(used):,} "
         f"of all used on the corpus): "
         f"{use['tokens_per_word_before']:.3f} → {use['tokens_per_word_after']:.3f} tokens per word; wrote {output}")
    for w in warnings:
        info(escape(w))


# options of `expand` (one declaration each; the names and help texts of the command reference)
ModelOrBare = Annotated[Path | None, typer.Argument(help="Hugging Face model folder (or use --embeddings/--vocab).")]
Tokens = Annotated[str, typer.Option("--tokens", "-t", help="Tokens to add, one a line (first TSV column).")]
Init = Annotated[str, typer.Option("--init", help="random | mean | mvn | subword-mean | aligned | cw2v.")]
Forms_ = Annotated[str, typer.Option(
    "--forms", help="start: each word in the form running text gives it after a space ('Ġword', '▁word'); all: "
                    "also its unmarked form (line start and after punctuation on byte-level BPE, inside a "
                    "pre-token such as '▁l'homme' on SentencePiece-style tokenizers), each its own entry.")]
OutDir = Annotated[Path, typer.Option("--output", "-o", help="Output folder.")]
Embeddings = Annotated[Path | None, typer.Option("--embeddings", help="Bare matrix (.npy, n × d) instead of a model.")]
VocabFile = Annotated[Path | None, typer.Option("--vocab", help="Bare matrix: its vocabulary, one token a line.")]
SrcVectors = Annotated[str | None, typer.Option("--src-vectors",
                                                help="aligned: static vectors for old tokens (source language).")]
TgtVectors = Annotated[str | None, typer.Option("--tgt-vectors",
                                                help="aligned: static vectors for new tokens, in the same space.")]
K = Annotated[int, typer.Option("--k", min=1, help="aligned: old neighbours mixed per new token.")]
Temperature = Annotated[float, typer.Option("--temperature", min=1e-6, help="aligned: softmax temperature.")]
PieceWeight = Annotated[float, typer.Option("--piece-weight", min=0.0, max=1.0,
                                            help="aligned: share of the token's own old pieces in its row "
                                                 "(0 = neighbours only, as WECHSEL).")]
Corpus = Annotated[str | None, typer.Option("--corpus", help="cw2v: target-language text.")]
Text = Annotated[str | None, typer.Option(
    "--text", help="Running text for the report's in-context use of the new tokens (tokens per word before/after; "
                   "default: --corpus when given).")]
Epochs = Annotated[int, typer.Option("--epochs", min=1, help="cw2v --cw2v-candidates: passes over the pairs.")]
Steps = Annotated[int, typer.Option("--steps", min=1, help="cw2v (whole vocabulary): optimiser steps.")]
Rank = Annotated[int, typer.Option("--rank", min=1, help="cw2v (whole vocabulary): rank of the learned scores.")]
Window = Annotated[int, typer.Option("--window", min=1, help="cw2v: context window.")]
MaxPairs = Annotated[int, typer.Option("--max-pairs", min=1, help="cw2v: skip-gram pairs used.")]
Cands = Annotated[int | None, typer.Option("--cw2v-candidates", "--candidates", min=1,
                                           help="cw2v: mix only this many old rows per new token (the faster "
                                                "shortcut, e.g. 64); default: the whole old vocabulary.")]
Alpha = Annotated[float, typer.Option("--alpha", min=1e-6, help="cw2v: learning rate of the mixing scores.")]
OldLr = Annotated[float | None, typer.Option("--lr", min=1e-6, hidden=True, help="Old spelling of --alpha.")]
Threads = Annotated[int, typer.Option("--threads", min=1, help="CPU threads.")]
Cw2vThreads = Annotated[int, typer.Option("--threads", min=1, help="cw2v: CPU threads.")]
MvnScale = Annotated[float, typer.Option("--mvn-scale", min=0.0,
                                         help="mvn: covariance scale (1e-9 = transformers' resize default).")]
PadTo = Annotated[int | None, typer.Option("--pad-to-multiple-of", min=1,
                                           help="Grow the vocabulary to a multiple of N rows (config vocab_size too).")]
PadRows_ = Annotated[str, typer.Option("--pad-rows",
                                       help="Padding rows: mean (of the old rows of each tensor) or zeros.")]
ForceExpand = Annotated[bool, typer.Option("--force",
                                           help="Replace an output folder that xling vocab expand wrote.")]


@app.command("expand")
@handle_errors
def expand(
    model_dir: ModelOrBare = None, tokens: Tokens = ...,  # type: ignore[assignment]  # "...": required
    init: Init = "subword-mean", output: OutDir = ...,  # type: ignore[assignment]
    forms: Forms_ = "start", embeddings: Embeddings = None, vocab_file: VocabFile = None,
    src_vectors: SrcVectors = None, tgt_vectors: TgtVectors = None, k: K = 10, temperature: Temperature = 0.1,
    piece_weight: PieceWeight = 0.5, corpus: Corpus = None, text: Text = None, epochs: Epochs = 1,
    steps: Steps = 200, rank: Rank = 64, window: Window = 5, max_pairs: MaxPairs = 300_000, cands: Cands = None,
    alpha: Alpha = 0.05, lr: OldLr = None, threads: Cw2vThreads = 2,
    device: opt.Device = opt.device_option(opt.Device.cpu, "cw2v: cpu, cuda, or auto (cuda when available)."),
    mvn_scale: MvnScale = 1e-9, pad_to: PadTo = None, pad_rows: PadRows_ = "mean", seed: int = opt.Seed,
    force: ForceExpand = False, json_out: bool = opt.Json,
):
    """Add tokens and initialise their embedding rows; write a checkpoint transformers loads offline.

    With a model folder the words become real entries of its tokenizer (in the form running
    text produces them), initialised from the pieces running text produced before; sharded
    checkpoints are streamed shard by shard and untouched shards hard-linked. With --text (or
    --corpus) the BPE merge chains avoid changing how the text's other words are segmented, and
    the report counts those that change all the same (in_context.resegmented_words).
    """
    from ..data.errors import XlingError
    from ..vocab.candidates import read_lines, read_tokens
    from ..vocab.cw2v import CW2VParams
    from ..vocab.expand import InitOptions
    from ..vocab.init import InitMethod, PadRows
    from ..vocab.tokenizer_edit import Forms

    method, pad_mode, form_set = (_choice(InitMethod, init, "--init"), _choice(PadRows, pad_rows, "--pad-rows"),
                                  _choice(Forms, forms, "--forms"))
    if (model_dir is None) == (embeddings is None):
        raise XlingError("give a MODEL_DIR or --embeddings with --vocab (one of the two)")
    # a train-tokenizer result folder, or a word list
    toks = Path(tokens) if (model_dir is not None and Path(tokens).is_dir()) else read_tokens(tokens)
    opts = InitOptions(method=method, seed=seed, mvn_scale=mvn_scale, k=k, temperature=temperature,
                       piece_weight=piece_weight, device=device.value,
                       cw2v=CW2VParams(window=window, epochs=epochs, max_pairs=max_pairs, candidates=cands,
                                       alpha=lr if lr is not None else alpha, threads=threads, steps=steps,
                                       rank=rank))
    _init_inputs(opts, method, src_vectors, tgt_vectors, corpus)
    inputs = [tokens, corpus or "", text or "", src_vectors or "", tgt_vectors or ""]
    t0 = time.perf_counter()
    with progress(f"init {method.value}", unit="steps") as upd:
        if embeddings is not None:
            if pad_to:
                raise XlingError("--pad-to-multiple-of applies to model folders, not to --embeddings")
            report = _expand_bare(embeddings, vocab_file, toks, opts, output, force, upd, inputs=inputs)
        else:
            from ..vocab.expand import expand_model

            extra = {"model": str(model_dir), "output": str(output), "forms": form_set.value,
                     "signature": signature(init=method, seed=seed)}
            lines = [ln for ln in read_lines(text) if ln.strip()] if text else opts.corpus
            report = expand_model(model_dir, output, toks, opts, pad_to_multiple_of=pad_to, pad_rows=pad_mode,
                                  force=force, extra_report=extra, text=lines, progress=upd, inputs=inputs,
                                  forms=form_set.value)
            report["seconds"] = round(time.perf_counter() - t0, 3)
    if json_out:
        emit_json(report, RecordKind.vocab_expand)
    else:
        _say_expanded(report, method.value, output)


def _choice(enum, value: str, option: str):
    """``value`` as a member of ``enum``, or a one-line error naming ``option`` and the choices."""
    from ..data.errors import XlingError

    try:
        return enum(value)
    except ValueError:
        raise XlingError(f"{option} {value!r}: choose one of {', '.join(m.value for m in enum)}") from None


def _init_inputs(opts, method, src_vectors: str | None, tgt_vectors: str | None, corpus: str | None) -> None:
    """Read the vectors (aligned) or the corpus (cw2v) the initialiser needs into ``opts``."""
    from ..data.errors import XlingError
    from ..vocab.candidates import read_lines
    from ..vocab.init import InitMethod

    if method is InitMethod.aligned:
        from .common import load_vectors

        if not (src_vectors and tgt_vectors):
            raise XlingError("--init aligned needs --src-vectors and --tgt-vectors")
        opts.src_vectors = load_vectors(src_vectors, label="source vectors")
        opts.tgt_vectors = load_vectors(tgt_vectors, label="target vectors")
    if method is InitMethod.cw2v:
        if not corpus:
            raise XlingError("--init cw2v needs --corpus")
        opts.corpus = [line for line in read_lines(corpus) if line.strip()]


def _say_expanded(report: dict, method: str, output: Path) -> None:
    """The human-readable summary of an expansion (stderr)."""
    tk = report["tokens"]
    added = tk["added"] if isinstance(tk["added"], int) else len(tk["added"])
    info(f"added {added:,} tokens with {method}: {report['old_rows']:,} → {report['new_rows']:,} rows, wrote {output}")
    use = report.get("in_context")
    if use and use.get("single_token_share") is not None:
        info(f"on the text: {use['tokens_per_word_before']:.3f} → {use['tokens_per_word_after']:.3f} tokens "
             f"per word; {use['single_token_share']:.1%} of {use['new_word_occurrences']:,} occurrences of "
             "the new words after a space are their single new token")
        if use.get("all_occurrences"):
            forms = ", ".join(f"{k} {v['share']:.0%} of {v['occurrences']:,}"
                              for k, v in use["by_form"].items() if v["occurrences"])
            info(f"over all {use['all_occurrences']:,} occurrences: {use['single_token_share_all']:.1%} ({forms})")
        info(f"{use['resegmented_words']:,} occurrences of {use['resegmented_distinct']:,} other words of the text "
             "are segmented differently")
    for w in report.get("tokenizer_warnings") or []:
        info(f"warning: {w}")
    info(report["signature"])


def _expand_bare(embeddings: Path, vocab_file: Path | None, toks, opts, output: Path, force: bool, upd,
                 inputs: list) -> dict:
    import numpy as np

    from ..data.atomic import atomic_open, check_output_folder, output_folder
    from ..data.errors import InputError, XlingError
    from ..vocab.candidates import read_lines
    from ..vocab.checkpoint import MARKER
    from ..vocab.expand import expand_matrix

    if vocab_file is None:
        raise XlingError("--embeddings needs --vocab (one token a line, row order)")
    try:
        matrix = np.load(embeddings, allow_pickle=False, mmap_mode="r")
    except ValueError as e:
        raise InputError(f"not a plain .npy array: {e}", embeddings) from None
    vocab = list(read_lines(vocab_file))
    if vocab and vocab[-1] == "":
        vocab.pop()
    if matrix.ndim != 2 or matrix.shape[0] != len(vocab):
        raise InputError(f"matrix {embeddings} has shape {tuple(matrix.shape)} but the vocabulary has "
                         f"{len(vocab)} lines (need one row per token)", vocab_file)
    if len(set(vocab)) != len(vocab):
        raise InputError("the vocabulary repeats a token", vocab_file)
    # the one output layer: --force replaces only a folder xling wrote (xling-vocab.json: an earlier xling)
    ins = [embeddings, vocab_file, *inputs]
    check_output_folder(output, force=force, inputs=ins, legacy_markers=(MARKER,))  # a refused folder fails before the work
    t0 = time.perf_counter()
    new, new_vocab, report = expand_matrix(np.asarray(matrix), vocab, toks, opts, progress=upd)
    from ..vocab.init import InitMethod

    report.update(embeddings=str(embeddings), output=str(output), seconds=round(time.perf_counter() - t0, 3),
                  signature=signature(init=InitMethod(opts.method), seed=opts.seed))
    with output_folder(output, force=force, inputs=ins, legacy_markers=(MARKER,)) as tmp:
        with atomic_open(tmp / "embeddings.npy", "wb") as f:
            np.save(f, new, allow_pickle=False)
        with atomic_open(tmp / "vocab.txt") as f:
            f.write("".join(t + "\n" for t in new_vocab))
        write_json(tmp / MARKER, report, RecordKind.vocab_expand)
    return report


# options of `eval`
Original = Annotated[Path, typer.Argument(help="Original model folder.")]
Expanded = Annotated[Path, typer.Argument(help="Expanded model folder (from xling vocab expand).")]
HeldOut = Annotated[str, typer.Argument(help="Held-out UTF-8 text, one sentence or paragraph a line.")]
MaxLines = Annotated[int | None, typer.Option("--max-lines", min=1, help="Use only the first N non-empty lines.")]
Batch = Annotated[int, typer.Option("--batch", min=1, help="Sentences per forward pass.")]
MaxLen = Annotated[int, typer.Option("--max-len", min=8,
                                     help="Tokens per forward pass (sentence embeddings: truncated; LM loss: longer "
                                          "lines are scored in consecutive windows).")]
ProbeSteps = Annotated[int, typer.Option("--probe-steps", min=0,
                                         help="Causal LMs: then train only the embeddings (+ untied head) of the "
                                              "expanded model for N steps on --probe-text and report the loss curve.")]
ProbeText = Annotated[str | None, typer.Option("--probe-text", help="Training text of the probe.")]
ProbeLr = Annotated[float, typer.Option("--probe-lr", min=1e-8, help="Probe: Adam learning rate.")]
ProbeBatch = Annotated[int, typer.Option("--probe-batch", min=1, help="Probe: lines per step.")]
ProbeRowsOpt = Annotated[str, typer.Option("--probe-rows",
                                           help="Probe: new | all. new: train only the new tokens' rows (old rows "
                                                "kept exactly; the folder's xling-vocab.json lists them); all: every "
                                                "row.")]


@app.command("eval")
@handle_errors
def evaluate(
    original: Original, expanded: Expanded, text: HeldOut, max_lines: MaxLines = None, batch: Batch = 32,
    max_len: MaxLen = 128, probe_steps: ProbeSteps = 0, probe_text: ProbeText = None, probe_lr: ProbeLr = 1e-3,
    probe_batch: ProbeBatch = 8, probe_rows: ProbeRowsOpt = "new", seed: int = opt.Seed,
    device: opt.Device = opt.device_option(opt.Device.cpu), threads: Threads = 2, json_out: bool = opt.Json,
):
    """Pieces per word before/after, use of the new tokens, fidelity of sentence embeddings, and for
    causal LMs the NLL per word and per character of the text (comparable across tokenizations)."""
    import numpy as np
    import torch

    from ..data.errors import InputError, XlingError
    from ..lexicon.device import resolve_device
    from ..vocab.candidates import read_lines
    from ..vocab.checkpoint import is_lm, read_model_dir
    from ..vocab.evaluate import (
        ProbeRows,
        fidelity,
        lm_nll,
        load_model,
        pieces_per_word,
        probe,
        sentence_embeddings,
        start_id,
    )
    from ..vocab.segment import HFSegmenter

    dev = resolve_device(device).value
    if probe_steps and not probe_text:
        raise XlingError("--probe-steps needs --probe-text (training text)")
    torch.set_num_threads(threads)
    lines = [ln for ln in read_lines(text) if ln.strip()][:max_lines]
    if not lines:
        raise InputError("no text to evaluate on (the file has no non-empty line)", text)
    train_lines = [ln for ln in read_lines(probe_text) if ln.strip()] if probe_steps and probe_text else []
    (cfg_o, tok_o), (cfg_e, tok_e) = read_model_dir(original), read_model_dir(expanded)
    lm = is_lm(cfg_o)
    if probe_steps and not lm:
        raise XlingError("--probe-steps applies to causal language models only")
    try:
        rows_mode = ProbeRows(probe_rows)
    except ValueError:
        raise XlingError(f"--probe-rows {probe_rows!r}: choose one of {', '.join(m.value for m in ProbeRows)}") \
            from None
    seg_o, seg_e = HFSegmenter(tok_o), HFSegmenter(tok_e)
    (ppw_o, n_words), (ppw_e, _) = pieces_per_word(seg_o, lines), pieces_per_word(seg_e, lines)
    record: dict[str, Any] = {"original": str(original), "expanded": str(expanded), "text": text, "lines": len(lines),
                              "words": n_words, "pieces_per_word_before": ppw_o, "pieces_per_word_after": ppw_e}
    use, new_ids = _new_token_use(expanded, tok_o, tok_e, lines)
    record.update(use)
    if probe_steps and rows_mode is ProbeRows.new and not new_ids:
        raise InputError("--probe-rows new needs the new tokens listed in xling-vocab.json "
                         "(a folder written by xling vocab expand); use --probe-rows all", expanded)
    with progress("evaluating", total=2 * len(lines)) as upd:
        runs = []
        for k, (folder, tok, seg, cfg) in enumerate(((original, tok_o, seg_o, cfg_o), (expanded, tok_e, seg_e, cfg_e))):
            model = load_model(folder, dev, lm=lm)
            emb = sentence_embeddings(model.base_model if lm else model, seg, lines, batch=batch, max_len=max_len,
                                      device=dev, progress=_shifted(upd, k * len(lines)))
            start = start_id(tok, cfg)
            nll = lm_nll(model, tok, lines, start=start, batch=batch, max_len=max_len, device=dev) if lm else None
            runs.append((emb, nll))
            if k == 0:
                del model  # one model in memory at a time
        m_e, start_e = model, start  # the expanded model
    fid = fidelity(runs[0][0], runs[1][0])
    record.update(fidelity_mean=float(np.mean(fid)), fidelity_median=float(np.median(fid)),
                  fidelity_min=float(np.min(fid)))
    (_, nll_o), (_, nll_e) = runs
    if nll_o is not None and nll_e is not None:  # causal LMs
        record.update(nll_per_word_before=nll_o["nll_per_word"], nll_per_word_after=nll_e["nll_per_word"],
                      nll_per_char_before=nll_o["nll_per_char"], nll_per_char_after=nll_e["nll_per_char"],
                      tokens_scored_before=nll_o["tokens"], tokens_scored_after=nll_e["tokens"],
                      chars=nll_o["chars"])
    if probe_steps:
        with progress("probe", total=probe_steps, unit="steps") as upd:
            curve = probe(m_e, tok_e, train_lines, start=start_e, steps=probe_steps, lr=probe_lr,
                          batch=probe_batch, max_len=max_len, seed=seed, device=dev, progress=upd,
                          rows=new_ids if rows_mode is ProbeRows.new else None)
        after = lm_nll(m_e, tok_e, lines, start=start_e, batch=batch, max_len=max_len, device=dev)
        record["probe"] = {"steps": probe_steps, "lr": probe_lr, "batch": probe_batch, "rows": rows_mode.value,
                           "text": probe_text,
                           "train_lines": len(train_lines), "loss_curve": [round(x, 5) for x in curve],
                           "nll_per_word_after": after["nll_per_word"], "nll_per_char_after": after["nll_per_char"]}
    record["signature"] = signature(pool="mean", max_len=max_len, lines=len(lines),
                                    **({"probe_steps": probe_steps, "seed": seed} if probe_steps else {}))
    if json_out:
        emit_json(record, RecordKind.vocab_eval)
    else:
        _print_eval(record, expanded, original)


def _shifted(upd, offset: int):
    """A progress callback for the second half of a two-part count."""
    def call(done: int, total: int) -> None:
        upd(offset + done, 2 * total)
    return call


def _new_token_use(expanded: Path, tok_o, tok_e, lines: list[str]) -> tuple[dict, list[int]]:
    """In-context use of the entries an expansion recorded (xling-vocab.json), and their token ids
    (nothing and no ids for a folder xling did not expand)."""
    import json

    from ..vocab.checkpoint import MARKER
    from ..vocab.tokenizer_edit import NewEntry, in_context_use

    marker = expanded / MARKER
    entries = (json.loads(marker.read_text(encoding="utf-8")).get("entries") or []) if marker.is_file() else []
    if not entries:
        return {}, []
    use = in_context_use(tok_o, tok_e, [NewEntry(**e) for e in entries], lines)
    keys = ("new_word_occurrences", "single_token_share", "tokens_per_new_word_before", "tokens_per_new_word_after",
            "all_occurrences", "single_token_share_all", "resegmented_words")
    return {k: use[k] for k in keys}, [int(e["token_id"]) for e in entries]


def _print_eval(record: dict, expanded: Path, original: Path) -> None:
    from rich.table import Table

    t = Table(title=f"{expanded} vs {original}", show_header=False)
    for key, v in record.items():
        if key in ("original", "expanded", "signature"):
            continue
        if key == "probe":
            c = v["loss_curve"]
            t.add_row("probe loss (first → last)", f"{c[0]:.4f} → {c[-1]:.4f} in {v['steps']} steps")
            t.add_row("probe nll per char after", f"{v['nll_per_char_after']:.4f}")
            continue
        t.add_row(key.replace("_", " "), f"{v:.4f}" if isinstance(v, float) else str(v))
    out_console.print(t)
    out_console.print(record["signature"])
