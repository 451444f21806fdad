"""`xling align`, `xling align-multi`, `xling apply`: top-level commands (registered on the main app)."""
from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

# the enums live in light modules (no torch/faiss at import time)
from ..align.artefact import Side
from ..align.multi import MultiMethod
from ..align.pipeline import Recipe, SeedKind, Start
from ..align.procrustes import Dewhiten, MapSpace
from ..data.atomic import check_output_folder, output_folder
from ..lexicon.retrieval import Direction, Retrieval
from . import options as opt
from .common import emit_json, escape, handle_errors, info, load_vectors, signature, warn, write_vectors

_EXT = {"cache": ".npy", "auto": ".npy", "text": ".vec", "word2vec": ".bin", "gensim": ".kv"}



def register(app: typer.Typer) -> None:
    """Add the alignment commands to the main app."""
    app.command("align")(align_cmd)
    app.command("align-multi")(align_multi_cmd)
    app.command("apply")(apply_cmd)


# help panels of `xling align --help`
INPUT, RECIPE, MAP, REFINE, VALID, UNSUP, RCSLS, OUTPUT, COMPUTE = (
    "Input", "Recipe", "Map", "Refinement / self-learning", "Validation and choice", "Unsupervised seed", "RCSLS",
    "Output", "Compute")


def _in(panel: str, option):
    """A shared option (cli/options.py) shown in one of this command's help panels."""
    option = copy.copy(option)
    option.rich_help_panel = panel
    return option


#: every alignment setting on the command line, by its flat name in AlignConfig (align/pipeline.py FLAT):
#: (type, option). ``None`` (not given) keeps the recipe's default. A new setting: one entry here, one in FLAT.
CONFIG_OPTIONS: dict[str, tuple[Any, Any]] = {
    "seed_kind": (SeedKind | None, typer.Option(
        None, "--seed-dict", case_sensitive=False, rich_help_panel=RECIPE,
        help="Where the first dictionary comes from (default: the recipe's).")),
    "normalize": (list[str] | None, typer.Option(
        None, "--normalize", rich_help_panel=MAP,
        help="Steps in order, e.g. unit,center,unit ('none'); repeat to let validation choose.")),
    "spaces": (list[MapSpace] | None, typer.Option(
        None, "--space", case_sensitive=False, rich_help_panel=MAP,
        help="target: X W ≈ Z; shared: both projected; whitened: both whitened and re-weighted. "
             "Repeat to let validation choose.")),
    "final_space": (MapSpace | None, typer.Option(
        None, "--final-space", case_sensitive=False, rich_help_panel=MAP,
        help="Re-solve the kept dictionary in this space at the end (after self-learning in another space).")),
    "whiten": (bool | None, typer.Option(None, "--whiten/--no-whiten", rich_help_panel=MAP,
                                         help="Whiten both sides.")),
    "src_reweight": (float | None, typer.Option(None, "--src-reweight", rich_help_panel=MAP,
                                                help="Re-weight the source by S^a.")),
    "trg_reweight": (float | None, typer.Option(None, "--trg-reweight", rich_help_panel=MAP,
                                                help="Re-weight the target by S^a.")),
    "src_dewhiten": (Dewhiten | None, typer.Option(
        None, "--src-dewhiten", case_sensitive=False, rich_help_panel=MAP,
        help="De-whiten the source by the source's or the target's whitening (after whitening).")),
    "trg_dewhiten": (Dewhiten | None, typer.Option(
        None, "--trg-dewhiten", case_sensitive=False, rich_help_panel=MAP,
        help="De-whiten the target by the source's or the target's whitening (after whitening).")),
    "dim_reduction": (int | None, typer.Option(None, "--dim-reduction", min=0, rich_help_panel=MAP,
                                               help="Keep N dimensions (0: all).")),
    "iterations": (int | None, typer.Option(None, "--iterations", min=0, rich_help_panel=REFINE,
                                            help="Refinement / self-learning iterations (0: none).")),
    "cutoff": (int | None, typer.Option(None, "--cutoff", min=1, rich_help_panel=REFINE,
                                        help="Induce dictionaries among the N most frequent words.")),
    "retrieval": (Retrieval | None, typer.Option(
        None, "--retrieval", case_sensitive=False, rich_help_panel=REFINE,
        help="Criterion of dictionary induction and validation: nn, csls or isf.")),
    "csls_k": (int | None, typer.Option(None, "--csls-k", min=1, rich_help_panel=REFINE,
                                        help="CSLS: neighbours averaged in the hubness penalty.")),
    "isf_beta": (float | None, typer.Option(None, "--isf-beta", min=0.0, rich_help_panel=REFINE,
                                            help="Inverted softmax: inverse temperature.")),
    "direction": (Direction | None, typer.Option(
        None, "--direction", case_sensitive=False, rich_help_panel=REFINE,
        help="Dictionary induction: mutual, union, forward, backward.")),
    "threshold": (float | None, typer.Option(None, "--threshold", rich_help_panel=REFINE,
                                             help="Stop when the objective improves less.")),
    "keep_seed": (bool | None, typer.Option(None, "--keep-seed/--no-keep-seed", rich_help_panel=REFINE,
                                            help="Add the seed pairs to every induced dictionary.")),
    "stochastic_initial": (float | None, typer.Option(
        None, "--stochastic-initial", min=0.0, max=1.0, rich_help_panel=REFINE,
        help="Stochastic induction: initial keep probability.")),
    "stochastic_multiplier": (float | None, typer.Option(
        None, "--stochastic-multiplier", min=1.0, rich_help_panel=REFINE,
        help="Stochastic induction: factor of the keep probability when the objective stalls.")),
    "stochastic_interval": (int | None, typer.Option(
        None, "--stochastic-interval", min=1, rich_help_panel=REFINE,
        help="Stochastic induction: iterations without improvement before the keep probability grows.")),
    "val_fraction": (float | None, typer.Option(
        None, "--val-fraction", min=0.0, max=0.9, rich_help_panel=VALID,
        help="Share of seed source words held out for validation.")),
    "val_vocab": (int | None, typer.Option(None, "--val-vocab", min=0, rich_help_panel=VALID,
                                           help="Source words in the validation CSLS penalty (0: all).")),
    "refit": (bool | None, typer.Option(None, "--refit/--no-refit", rich_help_panel=VALID,
                                        help="Re-solve with the held-out pairs once the choice is made.")),
    "identity": (bool | None, typer.Option(
        None, "--identity-candidate/--no-identity-candidate", rich_help_panel=VALID,
        help="Same dimensions: validate the spaces left as they are (each normalisation, no map) as a "
             "candidate too; the record's `identity` says when it won. Default: on.")),
    "unsup_size": (int | None, typer.Option(None, "--unsup-size", min=2, rich_help_panel=UNSUP,
                                            help="Frequent words in the unsupervised initialisation.")),
    "starts": (list[Start] | None, typer.Option(
        None, "--start", case_sensitive=False, rich_help_panel=UNSUP,
        help="Dictionary-free starts of the unsupervised seed (repeat: each is self-learned, the best by the "
             "unsupervised criterion is kept). Default: identical, similarity, identity.")),
    "rcsls": (bool | None, typer.Option(None, "--rcsls/--no-rcsls", rich_help_panel=RCSLS,
                                        help="Train the map on the CSLS loss.")),
    "rcsls_epochs": (int | None, typer.Option(None, "--rcsls-epochs", min=1, rich_help_panel=RCSLS,
                                              help="RCSLS: full-batch gradient steps.")),
    "rcsls_lr": (float | None, typer.Option(None, "--rcsls-lr", min=0.0, rich_help_panel=RCSLS,
                                            help="RCSLS: initial learning rate (halved when the loss rises).")),
    "contrastive": (bool | None, typer.Option(
        None, "--contrastive/--no-contrastive", rich_help_panel=REFINE,
        help="Contrastive refinement of the chosen map (InfoNCE over hard negatives with self-learning, as "
             "ContrastiveBLI's C1), kept only when it validates better. Default: off.")),
    "contrastive_steps": (int | None, typer.Option(
        None, "--contrastive-steps", min=1, rich_help_panel=REFINE,
        help="Contrastive refinement: full-batch gradient steps per self-learning round.")),
}


def config_options(fn: Callable) -> Callable:
    """Give ``fn`` one option per :data:`CONFIG_OPTIONS` entry, in place of its ``settings`` parameter
    (so the help panels follow that order); ``fn`` receives them as one dict ``settings`` (flat name ->
    value, lists as tuples, options not given ``None``)."""
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    at = [p.name for p in params].index("settings")
    extra = [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=option, annotation=tp)
             for name, (tp, option) in CONFIG_OPTIONS.items()]

    @functools.wraps(fn)
    def wrapper(**kwargs):
        settings = {}
        for name in CONFIG_OPTIONS:
            v = kwargs.pop(name, None)
            settings[name] = (tuple(v) or None) if isinstance(v, list) else v
        return fn(settings=settings, **kwargs)

    wrapper.__signature__ = sig.replace(parameters=params[:at] + extra + params[at + 1:])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {**fn.__annotations__, **{n: tp for n, (tp, _) in CONFIG_OPTIONS.items()}}
    return wrapper


def _out_name(out: Path, stem: str, fmt: opt.VecFormat) -> str:
    if fmt is opt.VecFormat.fasttext:
        from ..data.errors import XlingError

        raise XlingError("--format fasttext cannot be written (a .bin model needs subword data): "
                         "use cache, text, word2vec or gensim")
    return str(out / (stem + _EXT[fmt.value]))


def _read_pairs(path: str, src, tgt, what: str = "dictionary"):
    """Read a dictionary, keep the pairs in both vocabularies; returns (src rows, tgt rows, stats)."""
    from ..data.dictionary import read_dictionary, require_pairs
    from ..lexicon.diagnose import check_pairs

    d, rep = read_dictionary(path)
    if rep.multiword:
        warn(f"{path}: {rep.multiword} multi-word lines skipped")
    warnings = check_pairs(src, tgt, d, what=f"{what} dictionary" if what != "dictionary" else "seed dictionary",
                           aligned=False)
    if warnings:
        warn(f"{path}: " + "; ".join(warnings))
    kept, cov = d.restrict(src.key_to_index, tgt.key_to_index)
    require_pairs(kept, cov, path)
    s, t = kept.index_pairs(src, tgt)
    return s, t, {"path": path, **rep.as_dict(), **{"vocab": cov.as_dict()}, "role": what, "warnings": warnings}


def _dictionaries(dict_path, val_dict, src, tgt, cfg, recipe):
    """(seed pairs or None, validation pairs or None, the dictionaries' stats)."""
    from ..data.errors import XlingError

    pairs = val = None
    dicts = []
    if dict_path is not None:
        s, t, st = _read_pairs(dict_path, src, tgt)
        pairs = (s, t)
        dicts.append(st)
    elif cfg.seed_kind is SeedKind.dictionary:
        raise XlingError(f"--recipe {recipe.value} needs --dict (or use --recipe identical / unsupervised)")
    if val_dict is not None:
        s, t, st = _read_pairs(val_dict, src, tgt, "validation")
        val = (s, t)
        dicts.append(st)
    return pairs, val, dicts


def _log_iteration(name, phase, e) -> None:
    """One progress line of the candidate search: which candidate, which phase, which iteration."""
    v = "" if e.val_p1 is None else f"  val P@1 {100 * e.val_p1:5.2f}"
    o = "" if e.objective is None else f"  objective {e.objective:.4f}"
    info(escape(f"candidate {name} · {phase.value} · iteration {e.iteration}: dictionary {e.dict_size:,}{o}{v}  "
                f"({e.seconds:.1f} s)"))


@handle_errors
@config_options
def align_cmd(
    src_path: str = typer.Argument(..., metavar="SRC", help="Source vectors (any supported format).",
                                   rich_help_panel=INPUT),
    tgt_path: str = typer.Argument(..., metavar="TGT", help="Target vectors (the dimension may differ).",
                                   rich_help_panel=INPUT),
    dict_path: str | None = typer.Option(None, "--dict", "-d", rich_help_panel=INPUT,
                                         help="Seed dictionary (TSV or space separated, '-' stdin)."),
    val_dict: str | None = typer.Option(None, "--val-dict", rich_help_panel=INPUT,
                                        help="Validation dictionary (instead of holding out seed words)."),
    max_vocab: int | None = _in(INPUT, opt.MaxVocab),
    recipe: Recipe = typer.Option(Recipe.supervised, "--recipe", case_sensitive=False, rich_help_panel=RECIPE,
                                  help="Bundle of defaults; every other setting overrides it."),
    seed: int = _in(RECIPE, opt.Seed),
    settings: dict | None = None,  # replaced by the CONFIG_OPTIONS (Map ... RCSLS panels)
    csls_alias: int | None = typer.Option(None, "--csls", min=0, hidden=True, rich_help_panel=REFINE,
                                          help="Deprecated: --csls-k K, or --retrieval nn for 0."),
    out: Path = typer.Option(..., "--output", "--out", "-o", help="Output folder (src.*, tgt.*, map.npy, record.json).",
                             rich_help_panel=OUTPUT),
    fmt: opt.VecFormat = _in(OUTPUT, opt.Format),
    json_out: bool = _in(OUTPUT, opt.Json),
    force: bool = _in(OUTPUT, opt.Force),
    backend: opt.Backend = _in(COMPUTE, opt.Backend_),
    device: opt.Device = _in(COMPUTE, opt.Device_),
    chunk_size: int | None = _in(COMPUTE, opt.ChunkSize),
):
    """Map SRC onto TGT (X W ≈ Y): supervised, semi-supervised, identical-strings or unsupervised."""
    from ..align.artefact import AlignedMap
    from ..align.pipeline import align, make_config
    from ..data.embeddings import Embeddings
    from ..lexicon.knn import resolve_engine

    settings = dict(settings or {})
    if csls_alias is not None:  # the old flag: 0 meant nearest neighbour
        from ..data.errors import XlingError

        if settings.get("csls_k") is not None or settings.get("retrieval") is not None:
            raise XlingError("give --csls-k / --retrieval only (--csls is their deprecated spelling)")
        warn("--csls is deprecated: use --csls-k K (or --retrieval nn for --csls 0)")
        if csls_alias == 0:
            settings["retrieval"] = Retrieval.nn
        else:
            settings["csls_k"] = csls_alias
    cfg = make_config(recipe, **settings, seed=seed)
    engine = resolve_engine(backend, device, chunk_size)
    src_name, tgt_name = _out_name(out, "src", fmt), _out_name(out, "tgt", fmt)
    inputs = [src_path, tgt_path, dict_path or "", val_dict or ""]
    check_output_folder(out, force=force, inputs=inputs)  # a refused folder fails before the work
    src = load_vectors(src_path, max_vocab=max_vocab, label="source")
    tgt = load_vectors(tgt_path, max_vocab=max_vocab, label="target")
    pairs, val, dicts = _dictionaries(dict_path, val_dict, src, tgt, cfg, recipe)
    res = align(src.vectors, tgt.vectors, pairs=pairs, val_pairs=val, src_words=src.words, tgt_words=tgt.words,
                config=cfg, engine=engine, log=_log_iteration)
    rec = res.record
    for w in rec.get("warnings", []):  # the alignment's own (a dictionary-free result that most likely failed)
        warn(w)
    rec.update(inputs={"src": src.report.as_dict() if src.report else src_path,
                       "tgt": tgt.report.as_dict() if tgt.report else tgt_path},
               dictionaries=dicts, engine=str(engine), outputs={"src": src_name, "tgt": tgt_name},
               warnings=[f"{d['path']}: {w}" for d in dicts for w in d["warnings"]] + rec.get("warnings", []))
    rec["signature"] = signature(recipe=recipe, seed=seed, norm=res.src_norm.signature(), space=rec["chosen"])
    # write: the whole folder built aside and swapped in (vectors, then the map and the record)
    with output_folder(out, force=force, inputs=inputs) as tmp:
        for name, words, vectors in ((src_name, src.words, res.src_vectors), (tgt_name, tgt.words, res.tgt_vectors)):
            write_vectors(Embeddings(words, vectors, check_unique=False), str(tmp / Path(name).name), format=fmt,
                          label=Path(name).stem)
        rec = AlignedMap.from_result(res).save(tmp)
    if json_out:
        emit_json(rec)
    else:
        info(f"chose {rec['chosen']}, iteration {rec['best_iteration']}; map {rec['map']['src_dim']}→"
             f"{rec['map']['out_dim']}-d from {rec['final_dictionary_pairs']:,} pairs "
             f"in {rec['timings']['total']:.1f} s; wrote {out}/  ({rec['signature']})")


@handle_errors
def apply_cmd(
    map_path: Path = typer.Argument(..., metavar="MAP",
                                    help="A map.npy (or tgt_map.npy, map-<name>.npy) written by xling align "
                                         "or align-multi, or an xling align output folder."),
    in_path: str = typer.Argument(..., metavar="IN", help="Vectors to map ('-' for text on stdin)."),
    out_path: str = typer.Argument(..., metavar="OUT", help="Mapped vectors ('-' for text on stdout)."),
    record: Path | None = typer.Option(None, "--record",
                                       help="record.json with the normalisation to repeat "
                                            "(default: the one beside MAP, if any)."),
    side: Side | None = typer.Option(None, "--side", case_sensitive=False,
                                     help="Which normalisation of the record: src or tgt "
                                          "(default: tgt for tgt_map.npy, else src)."),
    no_normalize: bool = typer.Option(False, "--no-normalize", help="Apply the matrix to the vectors as they are."),
    max_vocab: int | None = opt.MaxVocab,
    fmt: opt.VecFormat = opt.Format,
    json_out: bool = opt.Json,
):
    """Map further vectors with a saved map: normalise as in training, then X @ W."""
    from ..align.artefact import AlignedMap, SideMap
    from ..data.errors import InputError, XlingError

    if map_path.is_dir():  # an xling align folder: the side asked for (its map, or only its normalisation)
        if record is not None:
            raise XlingError("--record goes with a map file: an align folder has its own record.json")
        sm = AlignedMap.load(map_path).side(side or Side.src)
        sm = SideMap(sm.w, None) if no_normalize else sm
    else:
        sm = SideMap.load(map_path, record=record, side=side, normalize=not no_normalize)
    emb = load_vectors(in_path, max_vocab=max_vocab)
    if sm.in_dim is not None and emb.dim != sm.in_dim:
        raise InputError(f"the map takes {sm.in_dim}-d vectors but {in_path} has {emb.dim}-d vectors", map_path)
    mapped = emb.with_vectors(sm.apply(emb.vectors))
    write_vectors(mapped, out_path, format=fmt)
    norm = sm.norm.signature() if sm.norm is not None else "none"
    result = {"map": str(map_path), "input": in_path, "output": out_path, "rows": len(mapped),
              "in_dim": emb.dim, "out_dim": mapped.dim, "normalization": norm}
    if json_out:
        emit_json(result)
    elif out_path != "-":
        info(f"mapped {len(mapped):,} vectors {emb.dim}→{mapped.dim}-d (normalisation: {norm}) into {out_path}")


@handle_errors
def align_multi_cmd(
    paths: list[str] = typer.Argument(..., metavar="VECTORS...", help="Two or more spaces; the first is the pivot."),
    dicts: list[str] = typer.Option(..., "--dict", "-d",
                                    help="Dictionary pivot→language i, once per non-pivot space, in order."),
    out: Path = typer.Option(..., "--output", "--out", "-o", help="Output folder."),
    method: MultiMethod = typer.Option(MultiMethod.gpa, "--method", case_sensitive=False,
                                       help="pivot: map each onto the first; gpa: generalised Procrustes."),
    normalize: str = typer.Option("unit,center,unit", "--normalize", help="Steps applied to every space."),
    iterations: int = typer.Option(100, "--iterations", min=1, help="GPA iterations at most."),
    max_vocab: int | None = opt.MaxVocab,
    fmt: opt.VecFormat = opt.Format,
    json_out: bool = opt.Json,
    force: bool = opt.Force,
):
    """Bring several languages into one space (pivot or generalised Procrustes)."""
    from ..align.artefact import MultiAlignment
    from ..align.multi import align_multi
    from ..align.normalize import normalize as norm_fn
    from ..align.procrustes import map_rows
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
    check_output_folder(out, force=force, inputs=[*paths, *dicts])  # a refused folder fails before the work
    embs = [load_vectors(p, max_vocab=max_vocab) for p in paths]
    pairs, dstats = [], []
    for e, d in zip(embs[1:], dicts, strict=True):
        s, t, st = _read_pairs(d, embs[0], e)
        pairs.append((s, t))
        dstats.append(st)
    normed = [norm_fn(e.vectors, normalize) for e in embs]
    maps, minfo = align_multi([n[0] for n in normed], pairs, method=method, iterations=iterations)
    result = MultiAlignment(stems, maps, [r for _, r in normed],
                            {"method": method.value, **minfo, "dictionaries": dstats, "dim": int(maps[0].shape[1]),
                             "signature": signature(method=method, norm=normalize)})
    with output_folder(out, force=force, inputs=[*paths, *dicts]) as tmp:
        for e, (x, _), w, name, stem in zip(embs, normed, maps, names, stems, strict=True):
            write_vectors(Embeddings(e.words, map_rows(x, w), check_unique=False), str(tmp / Path(name).name),
                          format=fmt, label=stem)
        rec = result.save(tmp, spaces=[{"input": p, "output": n} for p, n in zip(paths, names, strict=True)])
    if json_out:
        emit_json(rec)
    else:
        info(f"{len(paths)} spaces in one {rec['dim']}-d space ({method.value}); wrote {out}/")
