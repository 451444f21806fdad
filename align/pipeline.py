"""Recipes: named bundles of defaults over the alignment steps, and the driver that runs them.

Every field of :class:`AlignConfig` is reachable on its own (``xling align --flag``); a
:class:`Recipe` only changes the defaults, as VecMap's ``--supervised``/``--unsupervised``.

When several normalisations or map spaces are given, each is tried and the one whose map
validates best on held-out words is kept (never the test dictionary: the validation words
are part of the *seed* dictionary, split by source word with the run's seed, or a separate
``--val-dict``). With ``refit``, the kept configuration is solved once more with the
held-out pairs added back.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from typing import Callable

import numpy as np

from ..data.errors import XlingError
from ..lexicon.knn import Engine, resolve_engine
from .normalize import NormRecord, normalize, parse_steps
from .procrustes import Dewhiten, LinearMap, MapOptions, MapSpace, solve_map
from .rcsls import RcslsOptions, rcsls
from .refine import FirstStep, IterationLog, RefineOptions, Validation, first_step, refine, validate
from .seeds import holdout_split, identical_pairs, unsupervised_seed
from .similarity import Direction, induce, sim_spaces


class Recipe(str, Enum):
    procrustes = "procrustes"  # seed dictionary, unit-center-unit, one orthogonal solve
    supervised = "supervised"  # + normalisation/space chosen on validation, refinement kept when it helps
    semi = "semi"  # seed dictionary + self-learning (dictionary re-induced from scratch)
    identical = "identical"  # identical strings as the seed + self-learning
    unsupervised = "unsupervised"  # no dictionary: similarity-distribution seed + stochastic self-learning
    rcsls = "rcsls"  # supervised, then a map trained on the CSLS loss


class SeedKind(str, Enum):
    dictionary = "dictionary"
    identical = "identical"
    numerals = "numerals"
    unsupervised = "unsupervised"  # every start of ``AlignConfig.starts``, chosen without a dictionary


class Start(str, Enum):
    """Dictionary-free starts tried by the unsupervised seed (each is self-learned, then one is kept
    by the unsupervised criterion: the self-learning objective of the final map)."""

    identical = "identical"  # words spelled the same on both sides (names, numbers, punctuation, loans)
    numerals = "numerals"  # only the identical numerals
    similarity = "similarity"  # similarity-distribution initialisation (no anchor at all)
    identity = "identity"  # the spaces as they are (same dimension: e.g. one multilingual model's rows)


@dataclass(frozen=True)
class AlignConfig:
    """Every knob of ``xling align`` (see :data:`RECIPES` for the per-recipe defaults)."""

    recipe: Recipe = Recipe.supervised
    seed_kind: SeedKind = SeedKind.dictionary
    normalize: tuple[str, ...] = ("unit,center,unit",)
    spaces: tuple[MapSpace, ...] = (MapSpace.target,)
    final_space: MapSpace | None = None  # re-solve the kept dictionary in this space at the end
    whiten: bool = False
    src_reweight: float = 0.0
    trg_reweight: float = 0.0
    src_dewhiten: Dewhiten = Dewhiten.none
    trg_dewhiten: Dewhiten = Dewhiten.none
    dim_reduction: int = 0
    iterations: int = 0
    cutoff: int = 20000
    csls_k: int = 10
    direction: Direction = Direction.mutual
    threshold: float = 1e-6
    keep_seed: bool = True
    stochastic_initial: float = 1.0
    stochastic_multiplier: float = 2.0
    stochastic_interval: int = 3
    val_fraction: float = 0.1
    val_vocab: int = 20000
    refit: bool = True
    unsup_size: int = 4000
    starts: tuple[Start, ...] = (Start.identical, Start.similarity, Start.identity)
    rcsls: bool = False
    rcsls_epochs: int = 20
    rcsls_lr: float = 1.0
    seed: int = 0

    def map_options(self, space: MapSpace) -> MapOptions:
        return MapOptions(self.whiten, self.src_reweight, self.trg_reweight, self.src_dewhiten, self.trg_dewhiten,
                          self.dim_reduction, space)

    def refine_options(self) -> RefineOptions:
        return RefineOptions(self.iterations, self.cutoff, self.csls_k, self.direction, self.threshold,
                             self.keep_seed, self.stochastic_initial, self.stochastic_multiplier,
                             self.stochastic_interval)

    def as_dict(self) -> dict:
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = [e.value if isinstance(e, Enum) else e for e in v] if isinstance(v, tuple) else \
                (v.value if isinstance(v, Enum) else v)
        return out


_ALL = (MapSpace.target, MapSpace.shared, MapSpace.whitened)
RECIPES: dict[Recipe, dict] = {
    Recipe.procrustes: dict(val_fraction=0.0),
    Recipe.supervised: dict(normalize=("unit,center,unit", "unit"), spaces=_ALL, iterations=1),
    Recipe.semi: dict(normalize=("unit,center,unit", "unit"), spaces=_ALL, iterations=30, keep_seed=False,
                      direction=Direction.union),
    Recipe.identical: dict(seed_kind=SeedKind.identical, normalize=("unit,center,unit", "unit"), spaces=_ALL,
                           iterations=30, keep_seed=False, direction=Direction.union),
    Recipe.unsupervised: dict(seed_kind=SeedKind.unsupervised, normalize=("unit",), spaces=(MapSpace.whitened,),
                              iterations=10, keep_seed=False, direction=Direction.mutual, threshold=1e-3,
                              val_fraction=0.0),
    Recipe.rcsls: dict(normalize=("unit",), spaces=(MapSpace.target,), rcsls=True),
}


def make_config(recipe: Recipe | str = Recipe.supervised, **overrides) -> AlignConfig:
    """The recipe's defaults, then every override that is not ``None``."""
    recipe = Recipe(recipe)
    cfg = replace(AlignConfig(recipe=recipe), **RECIPES[recipe])
    over = {k: v for k, v in overrides.items() if v is not None}
    if "normalize" in over and isinstance(over["normalize"], str):
        over["normalize"] = (over["normalize"],)
    for spec in over.get("normalize", ()):
        parse_steps(spec)  # fail early on a bad step name
    return replace(cfg, **over)


@dataclass
class AlignResult:
    """The learned map and everything needed to repeat it on new vectors.

    ``src_vectors``/``tgt_vectors`` are the mapped spaces (``normalize`` then ``map``).
    """

    map: LinearMap
    src_norm: NormRecord
    tgt_norm: NormRecord
    src_vectors: np.ndarray
    tgt_vectors: np.ndarray
    record: dict = field(default_factory=dict)


def _seed_pairs(cfg: AlignConfig, src_words, tgt_words, pairs, x, z, engine) -> dict:
    """The seed dictionaries to start from, by name (one, except for the unsupervised seed)."""
    if cfg.seed_kind is SeedKind.unsupervised:
        seeds = {}
        for start in dict.fromkeys(cfg.starts):
            if start is Start.similarity:
                seeds[start.value] = unsupervised_seed(x, z, size=cfg.unsup_size, csls_k=cfg.csls_k, engine=engine)
            elif start is Start.identity:
                if x.shape[1] == z.shape[1]:  # mutual CSLS neighbours under the identity map
                    s, t, _ = frequent_mutual(x, z, None, cfg.cutoff, cfg.csls_k, engine)
                    if s.size:
                        seeds[start.value] = (s, t)
            elif src_words is not None and tgt_words is not None:
                s, t = identical_pairs(src_words, tgt_words, numerals_only=start is Start.numerals)
                if s.size:
                    seeds[start.value] = (s, t)
        if not seeds:
            raise XlingError("no dictionary-free start applies (no identical word in both vocabularies): "
                             "add the similarity start (--start similarity) or give a dictionary")
        return seeds
    return {"": _one_seed(cfg, src_words, tgt_words, pairs)}


def _one_seed(cfg: AlignConfig, src_words, tgt_words, pairs):
    if cfg.seed_kind is SeedKind.dictionary:
        if pairs is None:
            raise XlingError(f"the {cfg.recipe.value} recipe needs a seed dictionary (--dict), "
                             "or use --recipe identical / unsupervised")
        return pairs
    s, t = identical_pairs(src_words, tgt_words, numerals_only=cfg.seed_kind is SeedKind.numerals)
    if s.size == 0:
        raise XlingError(f"no {cfg.seed_kind.value} word is in both vocabularies: "
                         "use a dictionary or --recipe unsupervised")
    if pairs is not None:  # a dictionary given as well: use both
        s, t = np.concatenate([pairs[0], s]), np.concatenate([pairs[1], t])
    return s, t


def frequent_mutual(x: np.ndarray, z: np.ndarray, m, cutoff: int, csls_k: int, engine: Engine):
    """Mutual CSLS nearest neighbours among the ``cutoff`` most frequent words of each side under
    map ``m`` (None: the spaces as they are): (src rows, tgt rows, mean best score)."""
    a, b = sim_spaces(x[:min(cutoff, x.shape[0])], z[:min(cutoff, z.shape[0])], m)
    return induce(a, b, direction=Direction.mutual, csls_k=csls_k, engine=engine)


def criterion(x: np.ndarray, z: np.ndarray, m, cutoff: int, csls_k: int, engine: Engine) -> float:
    """Unsupervised model-selection criterion: the mean best CSLS score, both directions, among
    the ``cutoff`` most frequent words of each side under map ``m`` (higher: a better fit).

    Needs no dictionary (MUSE's and VecMap's criteria are of this kind)."""
    return frequent_mutual(x, z, m, cutoff, csls_k, engine)[2]


def _gold(src, tgt):
    by_src: dict[int, set[int]] = {}
    for s, t in zip(src.tolist(), tgt.tolist()):
        by_src.setdefault(s, set()).add(t)
    q = np.fromiter(by_src.keys(), dtype=np.int64, count=len(by_src))
    return q, list(by_src.values())


def align(x_raw: np.ndarray, z_raw: np.ndarray, *, pairs: tuple[np.ndarray, np.ndarray] | None = None,
          val_pairs: tuple[np.ndarray, np.ndarray] | None = None, src_words=None, tgt_words=None,
          config: AlignConfig = AlignConfig(), engine: Engine | None = None,
          log: Callable[[str, IterationLog], None] | None = None) -> AlignResult:
    """Align two spaces.

    Parameters
    ----------
    x_raw : ndarray, shape (nx, dx)
        Source vectors, most frequent first.
    z_raw : ndarray, shape (nz, dz)
        Target vectors, most frequent first (dz may differ from dx).
    pairs : (src, tgt) int arrays, optional
        Seed dictionary as row indices (needed by the dictionary-based recipes).
    val_pairs : (src, tgt) int arrays, optional
        Validation dictionary; without it ``config.val_fraction`` of the seed's source words
        are held out (when there is a seed dictionary).
    src_words, tgt_words : sequences of str
        Vocabularies (for the identical-strings and numerals seeds).
    log : callable(candidate name, IterationLog), optional

    Returns
    -------
    AlignResult
    """
    cfg = config
    eng = engine or resolve_engine()
    t_start = time.perf_counter()
    timings: dict[str, float] = {}

    # 1. normalise every candidate space (the record repeats it in `xling apply`)
    t0 = time.perf_counter()
    normed = {}
    for spec in dict.fromkeys(cfg.normalize):
        normed[spec] = (normalize(x_raw, spec), normalize(z_raw, spec))
    timings["normalize"] = time.perf_counter() - t0

    # 2. seed dictionary and validation split
    first = next(iter(normed.values()))
    t0 = time.perf_counter()
    seeds = _seed_pairs(cfg, src_words, tgt_words, pairs, first[0][0], first[1][0], eng)
    timings["seed"] = time.perf_counter() - t0
    held_s = held_t = np.empty(0, np.int64)
    val = None
    if val_pairs is not None and len(val_pairs[0]):
        q, gold = _gold(*val_pairs)
        val = Validation(q, gold, cfg.val_vocab)
    elif cfg.val_fraction > 0 and cfg.seed_kind is not SeedKind.unsupervised:
        (key, (seed_s, seed_t)), = seeds.items()  # one seed dictionary: hold some of its pairs out
        tr, va = holdout_split(seed_s, cfg.val_fraction, cfg.seed)
        if va.any():
            held_s, held_t = seed_s[va], seed_t[va]
            seeds[key] = (seed_s[tr], seed_t[tr])
            q, gold = _gold(held_s, held_t)
            val = Validation(q, gold, cfg.val_vocab)

    # 3. every candidate (normalisation × space × start): refine, keep the iteration that validates
    #    best; without validation words only the first normalisation and space are tried, and the
    #    starts are compared by the dictionary-free criterion. With validation words and more than
    #    two candidates, the search is a successive halving: every candidate's seed map is
    #    validated, and only the better half (by validation P@1) is refined.
    t0 = time.perf_counter()
    trials = []
    for spec, ((x, xrec), (z, zrec)) in normed.items():
        for space in dict.fromkeys(cfg.spaces):
            for start, (s0, t0_) in seeds.items():
                name = f"{spec or 'none'}/{space.value}" + (f"/{start}" if start else "")
                trials.append((name, spec, space, s0, t0_))
            if val is None:
                break
        if val is None:
            break
    # without validation words there is one candidate per start: several are compared by the criterion
    by_criterion = val is None and len(seeds) > 1
    firsts: dict[str, FirstStep] = {}
    refined = {t[0] for t in trials}
    if val is not None and len(trials) > 2 and cfg.iterations > 0:
        for name, spec, space, s0, t0_ in trials:
            x, z = normed[spec][0][0], normed[spec][1][0]
            firsts[name] = first_step(x, z, s0, t0_, map_opts=cfg.map_options(space), csls_k=cfg.csls_k,
                                      val=val, engine=eng)
        ranked = sorted(trials, key=lambda t: -firsts[t[0]].val_p1)  # stable: ties keep the order
        refined = {t[0] for t in ranked[:(len(trials) + 1) // 2]}
    candidates = []
    for name, spec, space, s0, t0_ in trials:
        (x, xrec), (z, zrec) = normed[spec]
        opts = cfg.refine_options() if name in refined else replace(cfg.refine_options(), iterations=0)
        res = refine(x, z, s0, t0_, map_opts=cfg.map_options(space), opts=opts, val=val, seed=cfg.seed,
                     engine=eng, log=(lambda e, name=name: log(name, e)) if log else None, first=firsts.get(name))
        best_val = next((e.val_p1 for e in res.log if e.iteration == res.best_iteration), None)
        crit = criterion(x, z, res.map, cfg.cutoff, cfg.csls_k, eng) if by_criterion else None
        candidates.append(dict(name=name, spec=spec, space=space, res=res, val_p1=best_val, criterion=crit,
                               seed_pairs=int(s0.size), refined=name in refined))
    if by_criterion:
        chosen = max(candidates, key=lambda c: c["criterion"])
    else:
        chosen = max(candidates, key=lambda c: -1 if c["val_p1"] is None else c["val_p1"])
    timings["refine"] = time.perf_counter() - t0
    (x, xrec), (z, zrec) = normed[chosen["spec"]]
    res = chosen["res"]
    m = res.map
    dict_s, dict_t = res.src, res.tgt

    # 4. RCSLS from the Procrustes map, judged on the validation words before any refit
    rcsls_info = None
    use_rcsls = False
    opts_r = RcslsOptions(cfg.rcsls_epochs, cfg.rcsls_lr, cfg.csls_k, cfg.cutoff)
    dev = "cuda" if eng.device.value == "cuda" else "cpu"
    if cfg.rcsls:
        t0 = time.perf_counter()
        if m.wz is not None:
            raise XlingError("RCSLS starts from a target-space map: use --space target without whitening")
        trial, losses = rcsls(x, z, dict_s, dict_t, m.wx, opts_r, device=dev)
        rcsls_info = {"losses": [round(v, 6) for v in losses]}
        use_rcsls = True
        if val is not None:
            v_new = validate(x, z, trial, val, cfg.csls_k, eng)
            use_rcsls = v_new >= (chosen["val_p1"] or 0)
            rcsls_info.update(val_p1_before=chosen["val_p1"], val_p1_after=v_new)
        rcsls_info["kept"] = use_rcsls
        if use_rcsls:
            m = trial
        timings["rcsls"] = time.perf_counter() - t0

    # 5. refit with the held-out pairs added back (they only served to choose), in the final space:
    #    the chosen one, or --final-space (VecMap's last step after self-learning: whitening and
    #    re-weighting only once the dictionary is settled; not after RCSLS)
    final_space = chosen["space"] if cfg.final_space is None or use_rcsls else cfg.final_space
    refit = bool(cfg.refit and held_s.size)
    if refit:
        dict_s = np.concatenate([dict_s, held_s])
        dict_t = np.concatenate([dict_t, held_t])
    if refit or final_space is not chosen["space"]:
        m = solve_map(x[dict_s], z[dict_t], cfg.map_options(final_space))
        if refit and use_rcsls:
            m, _ = rcsls(x, z, dict_s, dict_t, m.wx, opts_r, device=dev)

    # 6. the mapped spaces
    t0 = time.perf_counter()
    xs = np.asarray(x @ m.wx, dtype=np.float32)
    zs = z if m.wz is None else np.asarray(z @ m.wz, dtype=np.float32)
    timings["map"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - t_start
    record = {
        "recipe": cfg.recipe.value,
        "seed": cfg.seed,
        "config": cfg.as_dict(),
        "seed_dictionary": {"kind": cfg.seed_kind.value, "pairs": chosen["seed_pairs"] + int(held_s.size),
                            "train_pairs": chosen["seed_pairs"], "held_out_pairs": int(held_s.size),
                            "validation_words": len(val) if val is not None else 0},
        "candidates": [{"name": c["name"], "best_iteration": c["res"].best_iteration, "val_p1": c["val_p1"],
                        "seed_pairs": c["seed_pairs"], "refined": c["refined"],
                        "criterion": None if c["criterion"] is None else round(c["criterion"], 6),
                        "iterations": [e.as_dict() for e in c["res"].log]} for c in candidates],
        "chosen": chosen["name"],
        "best_iteration": res.best_iteration,
        "final_dictionary_pairs": int(dict_s.size),
        "refit": refit,
        "final_space": final_space.value,
        "rcsls": rcsls_info,
        "map": {"src_dim": int(x.shape[1]), "tgt_dim": int(z.shape[1]), "out_dim": int(xs.shape[1]),
                "isometric": m.isometric, "target_transformed": m.wz is not None},
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }
    return AlignResult(m, xrec, zrec, xs, zs, record)
