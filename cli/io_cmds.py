"""`xling convert` and `xling info`: vectors files in and out."""
from __future__ import annotations

from pathlib import Path

import typer

from . import options as opt
from .common import emit_json, handle_errors, info, load_vectors, out_console, write_vectors


def register(app: typer.Typer) -> None:
    app.command("convert")(convert)
    app.command("info")(info_cmd)


@handle_errors
def convert(
    src: str = typer.Argument(..., help="Input vectors ('-' for text on stdin)."),
    dst: str = typer.Argument(..., help="Output vectors ('-' for text on stdout); format from the name: "
                                        ".vec/.txt text, .bin word2vec binary, .npy cache (+ .words), .kv gensim."),
    from_format: opt.VecFormat = typer.Option(opt.VecFormat.auto, "--from", help="Input format.",
                                              case_sensitive=False),
    to_format: opt.VecFormat = typer.Option(opt.VecFormat.auto, "--to", help="Output format.", case_sensitive=False),
    max_vocab: int | None = opt.MaxVocab,
    precision: int = typer.Option(6, "--precision", min=1, max=9,
                                  help="Significant digits in text output (9 is exact for float32)."),
    oov_words: Path | None = typer.Option(None, "--oov-words",
                                          help="fastText .bin input: also write subword vectors for these "
                                               "words (one a line)."),
    on_duplicate: opt.OnDuplicate = opt.OnDup,
    drop_nonfinite: bool = opt.DropNonFinite,
    allow_pickle: bool = opt.AllowPickle,
    normalize: bool = typer.Option(False, "--normalize", help="Write unit-length vectors."),
    json_out: bool = opt.Json,
):
    """Convert word vectors between formats (text, word2vec binary, fastText .bin, gensim, cache)."""
    extra = None
    if oov_words is not None:
        from ..data.errors import InputError

        if not oov_words.exists():
            raise InputError("no such file", oov_words)
        extra = [w.strip("\r") for w in oov_words.read_text(encoding="utf-8", errors="surrogateescape").split("\n")
                 if w.strip()]
    emb = load_vectors(src, max_vocab=max_vocab, format=from_format, on_duplicate=on_duplicate,
                       on_nonfinite="drop" if drop_nonfinite else "error", allow_pickle=allow_pickle,
                       extra_words=extra)
    if normalize:
        emb = emb.normalize()
    write_vectors(emb, dst, format=to_format, precision=precision)
    record = {"input": emb.report.as_dict() if emb.report else None, "output": dst, "rows": len(emb),
              "dim": emb.dim}
    if json_out:
        emit_json(record)
    elif dst != "-":
        info(f"wrote {len(emb):,} × {emb.dim} vectors to {dst}")


@handle_errors
def info_cmd(
    path: str = typer.Argument(..., help="Vectors file ('-' for text on stdin)."),
    fmt: opt.VecFormat = opt.Format,
    max_vocab: int | None = opt.MaxVocab,
    allow_pickle: bool = opt.AllowPickle,
    json_out: bool = opt.Json,
):
    """Vocabulary size, dimension, duplicates, norms, and NaN/inf rows of a vectors file."""
    import numpy as np

    from ..data.vectors import nonfinite_rows

    emb = load_vectors(path, max_vocab=max_vocab, format=fmt, on_nonfinite="keep", allow_pickle=allow_pickle)
    rep = emb.report
    bad = nonfinite_rows(emb.vectors)
    norms = emb.norms
    finite = np.isfinite(norms)
    fn = norms[finite]
    record = {
        "path": path,
        "format": rep.format if rep else None,
        "header": list(rep.header) if rep and rep.header else None,
        "words": len(emb),
        "dim": emb.dim,
        "duplicates_dropped": rep.duplicates_dropped if rep else 0,
        "duplicate_examples": list(rep.duplicate_examples) if rep else [],
        "nonfinite_rows": int(bad.size),
        "nonfinite_examples": [emb.words[i] for i in bad[:5].tolist()],
        "zero_rows": int((fn == 0).sum()),
        "norm_min": float(fn.min()) if fn.size else None,
        "norm_mean": float(fn.mean()) if fn.size else None,
        "norm_max": float(fn.max()) if fn.size else None,
        "truncated_at_max_vocab": bool(rep.truncated) if rep else False,
        "first_words": list(emb.words[:5]),
    }
    if json_out:
        emit_json(record)
        return
    from rich.table import Table

    t = Table(title=path, show_header=False)
    for k, v in record.items():
        if isinstance(v, float):
            v = f"{v:.4f}"
        t.add_row(k.replace("_", " "), str(v))
    out_console.print(t)
