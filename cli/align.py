"""`xling align`, `xling align-multi`, `xling apply`: top-level commands (registered on the main app)."""
from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from . import options as opt
from .common import emit_json, handle_errors, info, load_vectors, signature, warn, write_json, write_vectors

# the enums live in light modules (no torch/faiss at import time)
from ..align.pipeline import Recipe, SeedKind, Start
from ..align.procrustes import Dewhiten, MapSpace
from ..lexicon.retrieval import Direction
from ..align.multi import MultiMethod

_EXT = {"cache": ".npy", "auto": ".npy", "text": ".vec", "word2vec": ".bin", "gensim": ".kv"}


class Side(str, Enum):
    src = "src"
    tgt = "tgt"


def register(app: typer.Typer) -> None:
    """Add the alignment commands to the main app."""
    app.command("align")(align_cmd)
    app.command("align-multi")(align_multi_cmd)
    app.command("apply")(apply_cmd)


def _out_name(out: Path, stem: str, fmt: opt.VecFormat) -> str:
    if fmt is opt.VecFormat.fasttext:
        from ..data.errors import XlingError

        raise XlingError("--format fasttext cannot be written (a .bin model needs subword data): "
                         "use cache, text, word2vec or gensim")
    return str(out / (stem + _EXT[fmt.value]))


def _save_npy(path: Path, arr) -> None:
    import numpy as np

    from ..data.atomic import atomic_path

    with atomic_path(path, suffix=".npy") as tmp:
        with open(tmp, "wb") as f:
            np.lib.format.write_array(f, np.ascontiguousarray(arr, dtype=np.float32), allow_pickle=False)


def _read_pairs(path: str, src, tgt, what: str = "dictionary"):
    """Read a dictionary, keep the pairs in both vocabularies; returns (src rows, tgt rows, stats)."""
    from ..data.dictionary import read_dictionary, require_pairs

    d, rep = read_dictionary(path)
    if rep.multiword:
        warn(f"{path}: {rep.multiword} multi-word lines skipped")
    kept, cov = d.restrict(src.key_to_index, tgt.key_to_index)
    require_pairs(kept, cov, path)
    s, t = kept.index_pairs(src, tgt)
    return s, t, {"path": path, **rep.as_dict(), **{"vocab": cov.as_dict()}, "role": what}


@handle_errors
def align_cmd(
    src_path: str = typer.Argument(..., metavar="SRC", help="Source vectors (any supported format)."),
    tgt_path: str = typer.Argument(..., metavar="TGT", help="Target vectors (the dimension may differ)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (src.*, tgt.*, map.npy, record.json)."),
    dict_path: Optional[str] = typer.Option(None, "--dict", "-d",
                                            help="Seed dictionary (TSV or space separated, '-' stdin)."),
    val_dict: Optional[str] = typer.Option(None, "--val-dict",
                                           help="Validation dictionary (instead of holding out seed words)."),
    recipe: Recipe = typer.Option(Recipe.supervised, "--recipe", case_sensitive=False,
                                  help="Bundle of defaults; every flag below overrides it."),
    seed_kind: Optional[SeedKind] = typer.Option(None, "--seed-dict", case_sensitive=False,
                                                 help="Where the first dictionary comes from."),
    normalize: Optional[List[str]] = typer.Option(None, "--normalize",
                                                  help="Steps in order, e.g. unit,center,unit ('none'); "
                                                       "repeat to let validation choose."),
    space: Optional[List[MapSpace]] = typer.Option(None, "--space", case_sensitive=False,
                                                   help="target: X W ≈ Z; shared: both projected; whitened: "
                                                        "both whitened and re-weighted. Repeat to let "
                                                        "validation choose."),
    final_space: Optional[MapSpace] = typer.Option(None, "--final-space", case_sensitive=False,
                                                   help="Re-solve the kept dictionary in this space at the end "
                                                        "(after self-learning in another space)."),
    whiten: Optional[bool] = typer.Option(None, "--whiten/--no-whiten", help="Whiten both sides."),
    src_reweight: Optional[float] = typer.Option(None, "--src-reweight", help="Re-weight source by S^a."),
    trg_reweight: Optional[float] = typer.Option(None, "--trg-reweight", help="Re-weight target by S^a."),
    src_dewhiten: Optional[Dewhiten] = typer.Option(None, "--src-dewhiten", case_sensitive=False),
    trg_dewhiten: Optional[Dewhiten] = typer.Option(None, "--trg-dewhiten", case_sensitive=False),
    dim_reduction: Optional[int] = typer.Option(None, "--dim-reduction", min=0, help="Keep N dimensions (0: all)."),
    iterations: Optional[int] = typer.Option(None, "--iterations", min=0,
                                             help="Refinement / self-learning iterations (0: none)."),
    cutoff: Optional[int] = typer.Option(None, "--cutoff", min=1, help="Induce dictionaries among the N most "
                                                                        "frequent words."),
    csls_k: Optional[int] = typer.Option(None, "--csls", min=0, help="CSLS neighbourhood (0: nearest neighbour)."),
    direction: Optional[Direction] = typer.Option(None, "--direction", case_sensitive=False,
                                                  help="Dictionary induction: mutual, union, forward, backward."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="Stop when the objective improves less."),
    keep_seed: Optional[bool] = typer.Option(None, "--keep-seed/--no-keep-seed",
                                             help="Add the seed pairs to every induced dictionary."),
    stochastic_initial: Optional[float] = typer.Option(None, "--stochastic-initial", min=0.0, max=1.0,
                                                       help="Stochastic induction: initial keep probability."),
    stochastic_multiplier: Optional[float] = typer.Option(None, "--stochastic-multiplier", min=1.0),
    stochastic_interval: Optional[int] = typer.Option(None, "--stochastic-interval", min=1),
    val_fraction: Optional[float] = typer.Option(None, "--val-fraction", min=0.0, max=0.9,
                                                 help="Share of seed source words held out for validation."),
    val_vocab: Optional[int] = typer.Option(None, "--val-vocab", min=0,
                                            help="Source words in the validation CSLS penalty (0: all)."),
    refit: Optional[bool] = typer.Option(None, "--refit/--no-refit",
                                         help="Re-solve with the held-out pairs once the choice is made."),
    unsup_size: Optional[int] = typer.Option(None, "--unsup-size", min=2,
                                             help="Frequent words in the unsupervised initialisation."),
    start: Optional[list[Start]] = typer.Option(None, "--start", case_sensitive=False,
                                                help="Dictionary-free starts of the unsupervised seed (repeat: "
                                                     "each is self-learned, the best by the unsupervised "
                                                     "criterion is kept). Default: identical, similarity, identity."),
    rcsls: Optional[bool] = typer.Option(None, "--rcsls/--no-rcsls", help="Train the map on the CSLS loss."),
    rcsls_epochs: Optional[int] = typer.Option(None, "--rcsls-epochs", min=1),
    rcsls_lr: Optional[float] = typer.Option(None, "--rcsls-lr", min=0.0),
    max_vocab: Optional[int] = opt.MaxVocab,
    backend: opt.Backend = opt.Backend_,
    device: opt.Device = opt.Device_,
    chunk_size: Optional[int] = opt.ChunkSize,
    fmt: opt.VecFormat = opt.Format,
    seed: int = opt.Seed,
    json_out: bool = opt.Json,
):
    """Map SRC onto TGT (X W ≈ Y): supervised, semi-supervised, identical-strings or unsupervised."""
    from ..align.pipeline import align, make_config
    from ..lexicon.knn import resolve_engine

    cfg = make_config(recipe, seed_kind=seed_kind, normalize=tuple(normalize) if normalize else None,
                      spaces=tuple(space) if space else None, final_space=final_space, whiten=whiten,
                      src_reweight=src_reweight, trg_reweight=trg_reweight, src_dewhiten=src_dewhiten, trg_dewhiten=trg_dewhiten,
                      dim_reduction=dim_reduction, iterations=iterations, cutoff=cutoff, csls_k=csls_k,
                      direction=direction, threshold=threshold, keep_seed=keep_seed,
                      stochastic_initial=stochastic_initial, stochastic_multiplier=stochastic_multiplier,
                      stochastic_interval=stochastic_interval, val_fraction=val_fraction, val_vocab=val_vocab,
                      refit=refit, unsup_size=unsup_size, starts=tuple(start) if start else None, rcsls=rcsls, rcsls_epochs=rcsls_epochs,
                      rcsls_lr=rcsls_lr, seed=seed)
    engine = resolve_engine(backend, device, chunk_size)
    src_name, tgt_name = _out_name(out, "src", fmt), _out_name(out, "tgt", fmt)
    src = load_vectors(src_path, max_vocab=max_vocab, label="source")
    tgt = load_vectors(tgt_path, max_vocab=max_vocab, label="target")
    pairs = val = None
    dicts = []
    if dict_path is not None:
        s, t, st = _read_pairs(dict_path, src, tgt)
        pairs = (s, t)
        dicts.append(st)
    elif cfg.seed_kind is SeedKind.dictionary:
        from ..data.errors import XlingError

        raise XlingError(f"--recipe {recipe.value} needs --dict (or use --recipe identical / unsupervised)")
    if val_dict is not None:
        s, t, st = _read_pairs(val_dict, src, tgt, "validation")
        val = (s, t)
        dicts.append(st)

    def log(name, e):
        v = "" if e.val_p1 is None else f"  val P@1 {100 * e.val_p1:5.2f}"
        o = "" if e.objective is None else f"  objective {e.objective:.4f}"
        info(f"[{name}] iteration {e.iteration}: dictionary {e.dict_size:,}{o}{v}  ({e.seconds:.1f} s)")

    res = align(src.vectors, tgt.vectors, pairs=pairs, val_pairs=val, src_words=src.words, tgt_words=tgt.words,
                config=cfg, engine=engine, log=log)
    rec = res.record
    rec.update(inputs={"src": src.report.as_dict() if src.report else src_path,
                       "tgt": tgt.report.as_dict() if tgt.report else tgt_path},
               dictionaries=dicts, engine=str(engine),
               src_normalization=res.src_norm.as_dict(), tgt_normalization=res.tgt_norm.as_dict(),
               outputs={"src": src_name, "tgt": tgt_name, "map": str(out / "map.npy")},
               signature=signature(recipe=recipe, seed=seed, norm=res.src_norm.signature(), space=rec["chosen"]))
    # write: vectors first, then the map and the record (each file atomic)
    from ..data.embeddings import Embeddings

    out.mkdir(parents=True, exist_ok=True)
    write_vectors(Embeddings(src.words, res.src_vectors, check_unique=False), src_name, format=fmt, label="src")
    write_vectors(Embeddings(tgt.words, res.tgt_vectors, check_unique=False), tgt_name, format=fmt, label="tgt")
    _save_npy(out / "map.npy", res.map.wx)
    if res.map.wz is not None:
        _save_npy(out / "tgt_map.npy", res.map.wz)
        rec["outputs"]["tgt_map"] = str(out / "tgt_map.npy")
    write_json(out / "record.json", rec)
    if json_out:
        emit_json(rec)
    else:
        info(f"chose {rec['chosen']}, iteration {rec['best_iteration']}; map {rec['map']['src_dim']}→"
             f"{rec['map']['out_dim']}-d from {rec['final_dictionary_pairs']:,} pairs "
             f"in {rec['timings']['total']:.1f} s; wrote {out}/  ({rec['signature']})")


@handle_errors
def apply_cmd(
    map_path: Path = typer.Argument(..., metavar="MAP", help="A map.npy (or tgt_map.npy) written by xling align."),
    in_path: str = typer.Argument(..., metavar="IN", help="Vectors to map ('-' for text on stdin)."),
    out_path: str = typer.Argument(..., metavar="OUT", help="Mapped vectors ('-' for text on stdout)."),
    record: Optional[Path] = typer.Option(None, "--record",
                                          help="record.json with the normalisation to repeat "
                                               "(default: the one beside MAP, if any)."),
    side: Optional[Side] = typer.Option(None, "--side", case_sensitive=False,
                                        help="Which normalisation of the record: src or tgt "
                                             "(default: tgt for tgt_map.npy, else src)."),
    no_normalize: bool = typer.Option(False, "--no-normalize", help="Apply the matrix to the vectors as they are."),
    max_vocab: Optional[int] = opt.MaxVocab,
    fmt: opt.VecFormat = opt.Format,
    json_out: bool = opt.Json,
):
    """Map further vectors with a saved map: normalise as in training, then X @ W."""
    import numpy as np

    from ..align.normalize import NormRecord, apply_record
    from ..data.embeddings import Embeddings
    from ..data.errors import InputError

    if not map_path.exists():
        raise InputError("no such file", map_path)
    try:
        w = np.load(map_path, allow_pickle=False)
    except (ValueError, OSError) as e:
        raise InputError(f"not a map in .npy format: {e}", map_path) from None
    if w.ndim != 2 or w.dtype.kind != "f":
        raise InputError(f"expected a 2-d float matrix, found shape {w.shape}", map_path)
    side = side or (Side.tgt if map_path.name.startswith("tgt") else Side.src)
    rec_path = record if record is not None else map_path.parent / "record.json"
    norm = None
    if not no_normalize and (record is not None or rec_path.exists()):
        if not rec_path.exists():
            raise InputError("no such file", rec_path)
        try:
            data = json.loads(rec_path.read_text(encoding="utf-8"))
            if "spaces" in data:  # an align-multi record: the entry of this map
                entry = next(e for e in data["spaces"] if Path(e["map"]).name == map_path.name)
                norm = NormRecord.from_dict(entry["normalization"])
            else:
                norm = NormRecord.from_dict(data[f"{side.value}_normalization"])
        except (ValueError, KeyError, TypeError, StopIteration) as e:
            raise InputError(f"not an xling align record ({e})", rec_path) from None
    emb = load_vectors(in_path, max_vocab=max_vocab)
    if emb.dim != w.shape[0]:
        raise InputError(f"the map takes {w.shape[0]}-d vectors but {in_path} has {emb.dim}-d vectors", map_path)
    x = apply_record(emb.vectors, norm) if norm is not None else emb.vectors
    mapped = emb.with_vectors(Embeddings(emb.words, x, check_unique=False).map(w).vectors)
    write_vectors(mapped, out_path, format=fmt)
    result = {"map": str(map_path), "input": in_path, "output": out_path, "rows": len(mapped),
              "in_dim": emb.dim, "out_dim": mapped.dim,
              "normalization": norm.signature() if norm is not None else "none"}
    if json_out:
        emit_json(result)
    elif out_path != "-":
        info(f"mapped {len(mapped):,} vectors {emb.dim}→{mapped.dim}-d (normalisation: "
             f"{result['normalization']}) into {out_path}")


@handle_errors
def align_multi_cmd(
    paths: List[str] = typer.Argument(..., metavar="VECTORS...", help="Two or more spaces; the first is the pivot."),
    dicts: List[str] = typer.Option(..., "--dict", "-d",
                                    help="Dictionary pivot→language i, once per non-pivot space, in order."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder."),
    method: MultiMethod = typer.Option(MultiMethod.gpa, "--method", case_sensitive=False,
                                       help="pivot: map each onto the first; gpa: generalised Procrustes."),
    normalize: str = typer.Option("unit,center,unit", "--normalize", help="Steps applied to every space."),
    iterations: int = typer.Option(100, "--iterations", min=1, help="GPA iterations at most."),
    max_vocab: Optional[int] = opt.MaxVocab,
    fmt: opt.VecFormat = opt.Format,
    json_out: bool = opt.Json,
):
    """Bring several languages into one space (pivot or generalised Procrustes)."""
    from ..align.multi import align_multi
    from ..align.normalize import normalize as norm_fn
    from ..data.embeddings import Embeddings
    from ..data.errors import XlingError

    if len(paths) < 2:
        raise XlingError("align-multi needs at least two vectors files")
    if len(dicts) != len(paths) - 1:
        raise XlingError(f"{len(paths)} spaces need {len(paths) - 1} dictionaries (pivot→each other space), "
                         f"got {len(dicts)}")
    stems = [Path(p).name.split(".")[0] or f"space{i}" for i, p in enumerate(paths)]
    if len(set(stems)) != len(stems):
        stems = [f"{i}-{s}" for i, s in enumerate(stems)]
    names = [_out_name(out, s, fmt) for s in stems]
    embs = [load_vectors(p, max_vocab=max_vocab) for p in paths]
    pairs, dstats = [], []
    for e, d in zip(embs[1:], dicts):
        s, t, st = _read_pairs(d, embs[0], e)
        pairs.append((s, t))
        dstats.append(st)
    normed = [norm_fn(e.vectors, normalize) for e in embs]
    maps, minfo = align_multi([n[0] for n in normed], pairs, method=method, iterations=iterations)
    out.mkdir(parents=True, exist_ok=True)
    for e, (x, _), w, name, stem in zip(embs, normed, maps, names, stems):
        write_vectors(Embeddings(e.words, x @ w, check_unique=False), name, format=fmt, label=stem)
        _save_npy(out / f"map-{stem}.npy", w)
    rec = {"method": method.value, **minfo, "spaces": [{"input": p, "output": n, "map": str(out / f"map-{s}.npy"),
                                                         "normalization": r.as_dict()}
                                                        for p, n, s, (_, r) in zip(paths, names, stems, normed)],
           "dictionaries": dstats, "dim": int(maps[0].shape[1]),
           "signature": signature(method=method, norm=normalize)}
    write_json(out / "record.json", rec)
    if json_out:
        emit_json(rec)
    else:
        info(f"{len(paths)} spaces in one {rec['dim']}-d space ({method.value}); wrote {out}/")
