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

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum

import numpy as np

from ..data.errors import XlingError
from ..lexicon.knn import Engine, resolve_engine
from ..lexicon.retrieval import Direction, RetrievalParams, induce_pairs
from .contrastive import ContrastiveOptions, contrastive
from .normalize import NormRecord, normalize, parse_steps
from .procrustes import LinearMap, MapOptions, MapSpace, map_rows, sim_spaces, solve_map
from .rcsls import RcslsOptions, rcsls
from .refine import (
    FirstStep,
    IterationLog,
    RefineOptions,
    RefineResult,
    Validation,
    first_step,
    refine,
    validate,
)
from .seeds import holdout_split, identical_pairs, unsupervised_seed


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
class SelectOptions:
    """How a candidate is chosen on held-out seed words, and the map solved once chosen."""

    val_fraction: float = 0.1  # share of the seed's source words held out for validation
    val_vocab: int = 20000  # source words in the validation's target-side CSLS penalty (0: all)
    refit: bool = True  # re-solve with the held-out pairs added back once the choice is made
    identity: bool = True  # same dimensions: the spaces left as they are (per normalisation) are a candidate too


@dataclass(frozen=True)
class UnsupervisedOptions:
    """The dictionary-free seed (``SeedKind.unsupervised``)."""

    size: int = 4000  # frequent words in the similarity-distribution initialisation
    starts: tuple[Start, ...] = (Start.identical, Start.similarity, Start.identity)


@dataclass(frozen=True)
class AlignConfig:
    """Every knob of ``xling align``, composed from the option classes of each step.

    ``map`` holds the map's steps; its ``space`` stays ``target``: the spaces tried are
    ``spaces`` (and ``final_space``). ``rcsls=None`` skips the RCSLS step. :data:`RECIPES` fills
    these per recipe; :func:`make_config` and :meth:`with_overrides` take the flat names of
    :data:`FLAT` (those of the CLI flags and of the record's ``config``).
    """

    recipe: Recipe = Recipe.supervised
    seed_kind: SeedKind = SeedKind.dictionary
    normalize: tuple[str, ...] = ("unit,center,unit",)
    spaces: tuple[MapSpace, ...] = (MapSpace.target,)
    final_space: MapSpace | None = None  # re-solve the kept dictionary in this space at the end
    map: MapOptions = field(default_factory=MapOptions)
    refine: RefineOptions = field(default_factory=RefineOptions)
    select: SelectOptions = field(default_factory=SelectOptions)
    unsupervised: UnsupervisedOptions = field(default_factory=UnsupervisedOptions)
    rcsls: RcslsOptions | None = None
    contrastive: ContrastiveOptions | None = None
    seed: int = 0

    def __post_init__(self):
        if self.map.space is not MapSpace.target:
            raise ValueError("AlignConfig.map.space must stay target: give the spaces to try in spaces=")

    def map_options(self, space: MapSpace) -> MapOptions:
        """The map's steps in ``space`` (``whitened`` implies whitening and re-weighting)."""
        return replace(self.map, space=space)

    def with_overrides(self, **flat) -> AlignConfig:
        """A copy with settings given by their flat names (:data:`FLAT`); ``rcsls=True`` adds an RCSLS
        step whose ``k``/``n_neg`` follow ``csls_k``/``cutoff``, ``rcsls=False`` removes it."""
        cfg = self
        if "contrastive" in flat:
            on = flat.pop("contrastive")
            cfg = replace(cfg, contrastive=(cfg.contrastive or ContrastiveOptions()) if on else None)
        if "rcsls" in flat:  # first: the RCSLS settings below need the step
            on = flat.pop("rcsls")
            cfg = replace(cfg, rcsls=(cfg.rcsls or RcslsOptions(k=cfg.refine.retrieval.csls_k,
                                                                n_neg=cfg.refine.cutoff))
                          if on else None)
        if isinstance(flat.get("normalize"), str):
            flat["normalize"] = (flat["normalize"],)
        for spec in flat.get("normalize", ()):
            parse_steps(spec)  # fail early on a bad step name
        for name, value in flat.items():
            if name not in FLAT:
                raise TypeError(f"unknown alignment setting {name!r}")
            for path in FLAT[name]:
                cfg = _set_path(cfg, path, value)
        cfg.refine.retrieval.check()  # e.g. CSLS with k < 1: say so now, not after the seed
        return cfg

    def as_dict(self) -> dict:
        """The flat view (the record's ``config``): every name of :data:`FLAT`, enums as values."""
        out: dict = {"recipe": self.recipe.value}
        for name, paths in FLAT.items():
            v = getattr(self, name) is not None if name in ("rcsls", "contrastive") else _get_path(self, paths[0])
            out[name] = [e.value if isinstance(e, Enum) else e for e in v] if isinstance(v, tuple) else \
                (v.value if isinstance(v, Enum) else v)
        return out


#: flat setting name -> where it lives in :class:`AlignConfig` (a value given by name sets every path);
#: the names are those of the CLI flags (cli/align.py) and of the record's ``config``, in this order
FLAT: dict[str, tuple[str, ...]] = {
    "seed_kind": ("seed_kind",),
    "normalize": ("normalize",),
    "spaces": ("spaces",),
    "final_space": ("final_space",),
    "whiten": ("map.whiten",),
    "src_reweight": ("map.src_reweight",),
    "trg_reweight": ("map.trg_reweight",),
    "src_dewhiten": ("map.src_dewhiten",),
    "trg_dewhiten": ("map.trg_dewhiten",),
    "dim_reduction": ("map.dim_reduction",),
    "iterations": ("refine.iterations",),
    "cutoff": ("refine.cutoff", "rcsls.n_neg"),
    "retrieval": ("refine.retrieval.retrieval",),
    "csls_k": ("refine.retrieval.csls_k", "rcsls.k"),
    "isf_beta": ("refine.retrieval.isf_beta",),
    "direction": ("refine.direction",),
    "threshold": ("refine.threshold",),
    "keep_seed": ("refine.keep_seed",),
    "stochastic_initial": ("refine.stochastic_initial",),
    "stochastic_multiplier": ("refine.stochastic_multiplier",),
    "stochastic_interval": ("refine.stochastic_interval",),
    "val_fraction": ("select.val_fraction",),
    "val_vocab": ("select.val_vocab",),
    "refit": ("select.refit",),
    "identity": ("select.identity",),
    "unsup_size": ("unsupervised.size",),
    "starts": ("unsupervised.starts",),
    "rcsls": ("rcsls",),
    "rcsls_epochs": ("rcsls.epochs",),
    "rcsls_lr": ("rcsls.lr",),
    "contrastive": ("contrastive",),
    "contrastive_steps": ("contrastive.steps",),
    "seed": ("seed",),
}


def _get_path(cfg, path: str):
    head, _, rest = path.partition(".")
    sub = getattr(cfg, head)
    if not rest:
        return sub
    return _get_path(sub if sub is not None else _OFF[head](), rest)  # a step that is off: its defaults


def _set_path(cfg, path: str, value):
    head, _, rest = path.partition(".")
    if not rest:
        return replace(cfg, **{head: _as_enum(getattr(cfg, head), value)})
    sub = getattr(cfg, head)
    if sub is None:  # a setting of a step that is off (e.g. rcsls_epochs without RCSLS)
        return cfg
    return replace(cfg, **{head: _set_path(sub, rest, value)})


def _as_enum(old, value):
    """A choice given by its value (``direction="union"``) as the enum of the setting it replaces
    (the steps compare choices by identity: a plain string would silently mean another choice)."""
    if isinstance(old, Enum) and isinstance(value, str) and not isinstance(value, Enum):
        return type(old)(value)
    if isinstance(old, tuple) and old and isinstance(old[0], Enum) and isinstance(value, (tuple, list)):
        return tuple(type(old[0])(v) for v in value)
    return value


_OFF = {"rcsls": RcslsOptions, "contrastive": ContrastiveOptions}  # the optional steps (None: off)
_ALL = (MapSpace.target, MapSpace.shared, MapSpace.whitened)
#: per-recipe presets, in flat names (applied over :class:`AlignConfig`'s defaults)
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
    """The recipe's defaults, then every override that is not ``None`` (flat names, see :data:`FLAT`).

    Examples
    --------
    >>> make_config("semi", cutoff=5000).refine.cutoff
    5000
    """
    recipe = Recipe(recipe)
    cfg = AlignConfig(recipe=recipe).with_overrides(**RECIPES[recipe])
    return cfg.with_overrides(**{k: v for k, v in overrides.items() if v is not None})


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
        for start in dict.fromkeys(cfg.unsupervised.starts):
            if start is Start.similarity:
                seeds[start.value] = unsupervised_seed(x, z, size=cfg.unsupervised.size,
                                                       retrieval=cfg.refine.retrieval, engine=engine)
            elif start is Start.identity:
                if x.shape[1] == z.shape[1]:  # mutual CSLS neighbours under the identity map
                    s, t, _ = frequent_mutual(x, z, None, cfg.refine.cutoff, cfg.refine.retrieval, engine)
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


def frequent_mutual(x: np.ndarray, z: np.ndarray, m, cutoff: int, retrieval: RetrievalParams, engine: Engine):
    """Mutual best matches (under ``retrieval``) among the ``cutoff`` most frequent words of each side
    under map ``m`` (None: the spaces as they are): (src rows, tgt rows, mean best score)."""
    a, b = sim_spaces(x[:min(cutoff, x.shape[0])], z[:min(cutoff, z.shape[0])], m)
    return induce_pairs(a, b, retrieval, direction=Direction.mutual, engine=engine)


def criterion(x: np.ndarray, z: np.ndarray, m, cutoff: int, retrieval: RetrievalParams, engine: Engine) -> float:
    """Unsupervised model-selection criterion: the mean best score under ``retrieval``, both
    directions, among the ``cutoff`` most frequent words of each side under map ``m`` (higher: a
    better fit).

    Needs no dictionary (MUSE's and VecMap's criteria are of this kind)."""
    return frequent_mutual(x, z, m, cutoff, retrieval, engine)[2]


#: the dictionary-free result most likely failed when its criterion is less than this much above the
#: criterion of the same self-learning started from random pairs (its null). Measured on the public
#: benchmarks (CSLS P@1 on the test dictionary): en→fr 0.131 (P@1 35.7) and en→fr50 0.104 (26.7) above
#: their nulls, en→fi 0.051 (P@1 2.9) and en→fi50 0.037 (2.8); unrelated synthetic pairs within 0.02
MIN_CRITERION_MARGIN = 0.075


def null_criterion(x: np.ndarray, z: np.ndarray, n_pairs: int, map_opts: MapOptions, opts: RefineOptions,
                   engine: Engine, seed: int = 0) -> float:
    """:func:`criterion` of a result that aligns nothing: the same self-learning (``map_opts``,
    ``opts``) started from ``n_pairs`` random pairs among the ``opts.cutoff`` most frequent words
    of each side (seeded).

    Whitening, re-weighting and self-learning raise the criterion of any map (en→fr50: 0.48 for a
    random rotation, 0.59 self-learned from random pairs; on a few hundred words in 50-d, more),
    so a dictionary-free result is judged against the same steps fed with nothing."""
    nx, nz = min(opts.cutoff, x.shape[0]), min(opts.cutoff, z.shape[0])
    n = max(1, min(n_pairs, nx, nz))
    rng = np.random.default_rng(seed)
    s = np.sort(rng.choice(nx, n, replace=False))
    t = rng.choice(nz, n, replace=False)
    res = refine(x, z, s, t, map_opts=map_opts, opts=opts, seed=seed, engine=engine)
    return criterion(x, z, res.map, opts.cutoff, opts.retrieval, engine)


def failure_check(crit: float, null: float, min_margin: float = MIN_CRITERION_MARGIN) -> dict:
    """The dictionary-free result against its null (:func:`null_criterion`): the record's
    ``unsupervised_check`` (``failed`` when the margin is below ``min_margin``)."""
    margin = crit - null
    return {"criterion": round(crit, 6), "null_criterion": round(null, 6), "margin": round(margin, 6),
            "min_margin": min_margin, "failed": bool(margin < min_margin)}


def failure_warning(check: dict) -> str:
    """The one-line warning of a failed dictionary-free alignment (what it means, what to do)."""
    return (f"the dictionary-free alignment most likely failed: its criterion {check['criterion']:.3f} is only "
            f"{check['margin']:.3f} above that of the same self-learning from random pairs "
            f"({check['null_criterion']:.3f}; a successful alignment clears {check['min_margin']:.3f}), so the "
            f"mapped vectors are likely not aligned: give a seed dictionary (--dict; e.g. built by xling data "
            f"dictd or xling data build)")


def _gold(src, tgt):
    by_src: dict[int, set[int]] = {}
    for s, t in zip(src.tolist(), tgt.tolist(), strict=True):
        by_src.setdefault(s, set()).add(t)
    q = np.fromiter(by_src.keys(), dtype=np.int64, count=len(by_src))
    return q, list(by_src.values())


Pairs = tuple[np.ndarray, np.ndarray]
Normed = dict[str, tuple[tuple[np.ndarray, NormRecord], tuple[np.ndarray, NormRecord]]]


class Phase(str, Enum):
    """The step of the candidate search a progress line is about (see :func:`align`'s ``log``)."""

    halving = "halving"  # every candidate's map from the seed dictionary, validated to keep the better half
    refine = "refine"  # the self-learning iterations of a candidate (every one when there is no halving)


#: the progress callback of :func:`align`: (candidate name, phase, iteration)
ProgressLog = Callable[[str, Phase, IterationLog], None]


@dataclass
class Candidate:
    """One configuration tried: a normalisation × a map space × a seed dictionary (start)."""

    name: str
    spec: str  # normalisation steps
    space: MapSpace
    seed: Pairs  # the seed dictionary it starts from (without the held-out pairs)
    refined: bool = True  # False: dropped by successive halving (only its seed map is kept)
    first: FirstStep | None = None  # its seed map, when successive halving computed it
    result: RefineResult | None = None
    val_p1: float | None = None  # validation P@1 of the kept iteration
    criterion: float | None = None  # dictionary-free criterion (when starts are compared without validation)
    identity: bool = False  # the spaces left as they are (normalised only): no map learned

    @property
    def seed_pairs(self) -> int:
        return int(self.seed[0].size)

    @property
    def res(self) -> RefineResult:
        """The refinement's result (set by the refinement step)."""
        if self.result is None:
            raise RuntimeError(f"candidate {self.name} is not refined yet")
        return self.result

    def as_dict(self) -> dict:
        res = self.result
        return {"name": self.name, "best_iteration": res.best_iteration if res else None, "val_p1": self.val_p1,
                "seed_pairs": self.seed_pairs, "refined": self.refined,
                "criterion": None if self.criterion is None else round(self.criterion, 6),
                "iterations": [e.as_dict() for e in res.log] if res else []}


@dataclass
class _Run:
    """What every step of one :func:`align` call shares."""

    cfg: AlignConfig
    engine: Engine
    normed: Normed
    log: ProgressLog | None
    timings: dict[str, float] = field(default_factory=dict)
    val: Validation | None = None
    held: Pairs = (np.empty(0, np.int64), np.empty(0, np.int64))
    skipped: list[str] = field(default_factory=list)  # candidates not tried: duplicates of another one

    def spaces(self, spec: str) -> tuple[np.ndarray, np.ndarray]:
        (x, _), (z, _) = self.normed[spec]
        return x, z


def align(x_raw: np.ndarray, z_raw: np.ndarray, *, pairs: Pairs | None = None, val_pairs: Pairs | None = None,
          src_words=None, tgt_words=None, config: AlignConfig = AlignConfig(), engine: Engine | None = None,
          log: ProgressLog | None = None) -> AlignResult:
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
        Validation dictionary; without it ``config.select.val_fraction`` of the seed's source
        words are held out (when there is a seed dictionary).
    src_words, tgt_words : sequences of str
        Vocabularies (for the identical-strings and numerals seeds).
    log : callable(candidate name, Phase, IterationLog), optional
        Called after every validated map of the candidate search: each candidate's seed map while
        successive halving compares them (phase ``halving``), then each refinement iteration of the
        candidates it keeps (phase ``refine``).

    Returns
    -------
    AlignResult
    """
    t_start = time.perf_counter()
    # 1. normalise every candidate space (the record repeats it in `xling apply`)
    t0 = time.perf_counter()
    normed = {spec: (normalize(x_raw, spec), normalize(z_raw, spec)) for spec in dict.fromkeys(config.normalize)}
    run = _Run(config, engine or resolve_engine(), normed, log, {"normalize": time.perf_counter() - t0})
    # 2. seed dictionaries and validation words
    t0 = time.perf_counter()
    x0, z0 = run.spaces(next(iter(normed)))
    seeds = _seed_pairs(config, src_words, tgt_words, pairs, x0, z0, run.engine)
    run.timings["seed"] = time.perf_counter() - t0
    seeds = _hold_out(run, seeds, val_pairs)
    # 3. every candidate refined (the better half only, by successive halving), one chosen
    t0 = time.perf_counter()
    cands = _candidates(run, seeds)
    by_criterion = run.val is None and len(seeds) > 1
    _halve(run, cands)
    for c in cands:
        _refine(run, c, by_criterion)
    run.timings["refine"] = time.perf_counter() - t0
    if not by_criterion:
        cands += _identity_candidates(run, next(iter(seeds.values())))
    chosen = _choose(cands, by_criterion)
    check = _unsupervised_check(run, chosen)
    # 4. RCSLS, contrastive refinement, 5. the final map (refit, final space)
    m, rcsls_info = _rcsls_step(run, chosen)
    m, con_info = _contrastive_step(run, chosen, m, rcsls_info)
    m, final_space, final_pairs, refit = _final_map(run, chosen, m, rcsls_info, con_info)
    # 6. the mapped spaces
    t0 = time.perf_counter()
    x, z = run.spaces(chosen.spec)
    xs = map_rows(x, m.wx)  # the same bytes whatever the BLAS thread count
    zs = z if m.wz is None else map_rows(z, m.wz)
    run.timings["map"] = time.perf_counter() - t0
    run.timings["total"] = time.perf_counter() - t_start
    record = _record(run, cands, chosen, m, xs, final_space, final_pairs, refit, rcsls_info)
    record["identity"] = chosen.identity
    record["contrastive"] = con_info
    if check is not None:
        record["unsupervised_check"] = check
        if check["failed"]:
            record["warnings"] = [failure_warning(check)]
    (_, xrec), (_, zrec) = normed[chosen.spec]
    return AlignResult(m, xrec, zrec, xs, zs, record)


def _hold_out(run: _Run, seeds: dict[str, Pairs], val_pairs: Pairs | None) -> dict[str, Pairs]:
    """Set the run's validation words: the validation dictionary, or a share of the one seed
    dictionary's source words (split with the run's seed; returns the seeds without them)."""
    cfg = run.cfg
    if val_pairs is not None and len(val_pairs[0]):
        q, gold = _gold(*val_pairs)
        run.val = Validation(q, gold, cfg.select.val_vocab)
    elif cfg.select.val_fraction > 0 and cfg.seed_kind is not SeedKind.unsupervised:
        (key, (seed_s, seed_t)), = seeds.items()  # one seed dictionary: hold some of its pairs out
        tr, va = holdout_split(seed_s, cfg.select.val_fraction, cfg.seed)
        if va.any():
            run.held = (seed_s[va], seed_t[va])
            seeds = {key: (seed_s[tr], seed_t[tr])}
            q, gold = _gold(*run.held)
            run.val = Validation(q, gold, cfg.select.val_vocab)
    return seeds


def _candidates(run: _Run, seeds: dict[str, Pairs]) -> list[Candidate]:
    """Normalisation × space × start; without validation words only the first normalisation and
    space (the starts are then compared by the dictionary-free criterion)."""
    specs = list(run.normed) if run.val is not None else list(run.normed)[:1]
    spaces = list(dict.fromkeys(run.cfg.spaces))
    spaces = spaces if run.val is not None else spaces[:1]
    if _shared_is_target(run, spaces):
        spaces.remove(MapSpace.shared)
        run.skipped = [f"{spec or 'none'}/{MapSpace.shared.value}" for spec in specs]
    return [Candidate(f"{spec or 'none'}/{space.value}" + (f"/{start}" if start else ""), spec, space, seed)
            for spec in specs for space in spaces for start, seed in seeds.items()]


def _shared_is_target(run: _Run, spaces: list[MapSpace]) -> bool:
    """With equal dimensions and a plain map (no whitening, re-weighting or reduction), the ``shared``
    space is the ``target`` one: ``X U`` and ``Z V`` with square orthogonal ``U, V`` have the cosines
    of ``X U Vᵀ`` and ``Z``, and ``U Vᵀ`` is the target-space Procrustes solution, so the same
    validation, refinement and retrieval; the duplicate is not tried (nor counted by the halving)."""
    if MapSpace.shared not in spaces or MapSpace.target not in spaces or not run.cfg.map.plain:
        return False
    x, z = run.spaces(next(iter(run.normed)))
    return x.shape[1] == z.shape[1]


def _halve(run: _Run, cands: list[Candidate]) -> None:
    """Successive halving: with validation words, more than two candidates and refinement to do,
    validate every candidate's seed map and refine only the better half (by validation P@1)."""
    cfg = run.cfg
    if run.val is None or len(cands) <= 2 or cfg.refine.iterations <= 0:
        return
    for c in cands:
        x, z = run.spaces(c.spec)
        # the better half computes its full target penalty again when it re-induces: the others never need it
        c.first = first_step(x, z, *c.seed, map_opts=cfg.map_options(c.space), retrieval=cfg.refine.retrieval,
                             val=run.val, engine=run.engine, keep_pen=False)
        if run.log:
            run.log(c.name, Phase.halving, IterationLog(0, int(c.seed[0].size), None, c.first.val_p1,
                                                        seconds=c.first.seconds))
    ranked = sorted(cands, key=lambda c: -_first_p1(c))  # stable: ties keep the order
    kept = {id(c) for c in ranked[:(len(cands) + 1) // 2]}
    for c in cands:
        c.refined = id(c) in kept


def _first_p1(c: Candidate) -> float:
    if c.first is None or c.first.val_p1 is None:
        raise RuntimeError(f"candidate {c.name} has no validated seed map")
    return c.first.val_p1


def _refine(run: _Run, c: Candidate, by_criterion: bool) -> None:
    """Refine one candidate (only its seed map when halving dropped it); keep the iteration that
    validates best, and score it by the criterion when the starts are compared without validation."""
    cfg = run.cfg
    x, z = run.spaces(c.spec)
    opts = cfg.refine if c.refined else replace(cfg.refine, iterations=0)
    # a candidate dropped by halving keeps its seed map, already logged in phase halving
    log = functools.partial(run.log, c.name, Phase.refine) if run.log and c.refined else None
    c.result = refine(x, z, *c.seed, map_opts=cfg.map_options(c.space), opts=opts, val=run.val, seed=cfg.seed,
                      engine=run.engine, log=log, first=c.first)
    c.val_p1 = next((e.val_p1 for e in c.res.log if e.iteration == c.res.best_iteration), None)
    if by_criterion:
        c.criterion = criterion(x, z, c.res.map, cfg.refine.cutoff, cfg.refine.retrieval, run.engine)


def _identity_candidates(run: _Run, seed: Pairs) -> list[Candidate]:
    """With validation words and equal dimensions, the spaces as they are (under each normalisation
    tried, the one thing the aligned candidates share: ``unit`` alone keeps every cosine, so it is
    *not aligning at all* for cosine/CSLS retrieval) validated as candidates named ``<norm>/identity``.
    They come after the aligned ones, so a tie keeps the aligned map."""
    cfg = run.cfg
    if run.val is None or not cfg.select.identity:
        return []
    t0, out = time.perf_counter(), []
    for spec in run.normed:
        x, z = run.spaces(spec)
        if x.shape[1] != z.shape[1]:
            return []
        m = LinearMap(np.eye(x.shape[1], dtype=np.float32), None, isometric=True)
        v = validate(x, z, m, run.val, cfg.refine.retrieval, run.engine)
        res = RefineResult(m, seed[0], seed[1], 0, [IterationLog(0, 0, None, v)])
        out.append(Candidate(f"{spec or 'none'}/identity", spec, MapSpace.target, seed, refined=False, result=res,
                             val_p1=v, identity=True))
    run.timings["identity"] = time.perf_counter() - t0
    return out


def _choose(cands: list[Candidate], by_criterion: bool) -> Candidate:
    if by_criterion:
        return max(cands, key=lambda c: -np.inf if c.criterion is None else c.criterion)
    return max(cands, key=lambda c: -1.0 if c.val_p1 is None else c.val_p1)


def _unsupervised_check(run: _Run, chosen: Candidate) -> dict | None:
    """Without any dictionary (no validation words), the chosen map's criterion against its null
    (:func:`failure_check`); None when there was a dictionary to validate on."""
    cfg = run.cfg
    if cfg.seed_kind is not SeedKind.unsupervised or run.val is not None:
        return None
    t0 = time.perf_counter()
    x, z = run.spaces(chosen.spec)
    if chosen.criterion is None:  # one start: not compared, so not scored yet
        chosen.criterion = criterion(x, z, chosen.res.map, cfg.refine.cutoff, cfg.refine.retrieval, run.engine)
    null = null_criterion(x, z, int(chosen.res.src.size), cfg.map_options(chosen.space), cfg.refine, run.engine,
                          seed=cfg.seed)
    run.timings["check"] = time.perf_counter() - t0
    return failure_check(chosen.criterion, null)


def _rcsls_device(run: _Run) -> str:
    return "cuda" if run.engine.device.value == "cuda" else "cpu"


def _rcsls_step(run: _Run, chosen: Candidate) -> tuple[LinearMap, dict | None]:
    """RCSLS from the chosen Procrustes map, kept when it validates at least as well (before any refit)."""
    cfg, res = run.cfg, chosen.res
    if cfg.rcsls is None:
        return res.map, None
    t0 = time.perf_counter()
    if res.map.wz is not None:
        raise XlingError("RCSLS starts from a target-space map: use --space target without whitening")
    x, z = run.spaces(chosen.spec)
    trial, losses = rcsls(x, z, res.src, res.tgt, res.map.wx, cfg.rcsls, device=_rcsls_device(run))
    info: dict = {"losses": [round(v, 6) for v in losses]}
    kept = True
    if run.val is not None:
        v_new = validate(x, z, trial, run.val, cfg.refine.retrieval, run.engine)
        kept = v_new >= (chosen.val_p1 or 0)
        info.update(val_p1_before=chosen.val_p1, val_p1_after=v_new)
    info["kept"] = kept
    run.timings["rcsls"] = time.perf_counter() - t0
    return (trial if kept else res.map), info


def _contrastive_step(run: _Run, chosen: Candidate, m: LinearMap, rcsls_info: dict | None
                      ) -> tuple[LinearMap, dict | None]:
    """Contrastive refinement of the map so far (:mod:`xling.align.contrastive`), trained on the
    chosen candidate's seed dictionary; kept only when it validates better than that map (without
    validation words it is not run: nothing could tell whether it helps)."""
    cfg = run.cfg
    if cfg.contrastive is None:
        return m, None
    if run.val is None:
        return m, {"kept": False, "skipped": "no validation words"}
    t0 = time.perf_counter()
    x, z = run.spaces(chosen.spec)
    before = rcsls_info["val_p1_after"] if rcsls_info and rcsls_info["kept"] else chosen.val_p1
    trial, info = contrastive(x, z, *chosen.seed, m, map_opts=cfg.map_options(chosen.space), opts=cfg.contrastive,
                              retrieval=cfg.refine.retrieval, engine=run.engine)
    after = validate(x, z, trial, run.val, cfg.refine.retrieval, run.engine)
    kept = after > (before if before is not None else -1.0)
    info.update(val_p1_before=before, val_p1_after=after, kept=kept)
    run.timings["contrastive"] = time.perf_counter() - t0
    return (trial if kept else m), info


def _final_map(run: _Run, chosen: Candidate, m: LinearMap, rcsls_info: dict | None, con_info: dict | None = None):
    """Refit with the held-out pairs added back (they only served to choose), in the final space:
    the chosen one, or ``final_space`` (VecMap's last step after self-learning: whitening and
    re-weighting only once the dictionary is settled; not after RCSLS).

    The identity candidate stays the identity unless a later step was kept; a kept contrastive step
    is trained again from the refit map on the dictionary with the held-out pairs.

    Returns (map, final space, final dictionary size, refit done)."""
    cfg, res = run.cfg, chosen.res
    use_rcsls = bool(rcsls_info and rcsls_info["kept"])
    use_con = bool(con_info and con_info["kept"])
    if chosen.identity and not (use_rcsls or use_con):
        return m, chosen.space, 0, False
    final_space = chosen.space if cfg.final_space is None or use_rcsls or use_con else cfg.final_space
    dict_s, dict_t = res.src, res.tgt
    refit = bool(cfg.select.refit and run.held[0].size)
    if refit:
        dict_s = np.concatenate([dict_s, run.held[0]])
        dict_t = np.concatenate([dict_t, run.held[1]])
    if refit or final_space is not chosen.space:
        x, z = run.spaces(chosen.spec)
        m = solve_map(x[dict_s], z[dict_t], cfg.map_options(final_space))
        if refit and use_rcsls and cfg.rcsls is not None:
            m, _ = rcsls(x, z, dict_s, dict_t, m.wx, cfg.rcsls, device=_rcsls_device(run))
        if refit and use_con and cfg.contrastive is not None:
            m, _ = contrastive(x, z, np.concatenate([chosen.seed[0], run.held[0]]),
                               np.concatenate([chosen.seed[1], run.held[1]]), m,
                               map_opts=cfg.map_options(final_space), opts=cfg.contrastive,
                               retrieval=cfg.refine.retrieval, engine=run.engine)
    return m, final_space, int(dict_s.size), refit


def _record(run: _Run, cands: list[Candidate], chosen: Candidate, m: LinearMap, xs: np.ndarray,
            final_space: MapSpace, final_pairs: int, refit: bool, rcsls_info: dict | None) -> dict:
    cfg, held = run.cfg, int(run.held[0].size)
    x, z = run.spaces(chosen.spec)
    return {
        "recipe": cfg.recipe.value,
        "seed": cfg.seed,
        "config": cfg.as_dict(),
        "seed_dictionary": {"kind": cfg.seed_kind.value, "pairs": chosen.seed_pairs + held,
                            "train_pairs": chosen.seed_pairs, "held_out_pairs": held,
                            "validation_words": len(run.val) if run.val is not None else 0},
        "candidates": [c.as_dict() for c in cands],
        "skipped_candidates": run.skipped,
        "chosen": chosen.name,
        "best_iteration": chosen.res.best_iteration,
        "final_dictionary_pairs": final_pairs,
        "refit": refit,
        "final_space": final_space.value,
        "rcsls": rcsls_info,
        "map": {"src_dim": int(x.shape[1]), "tgt_dim": int(z.shape[1]), "out_dim": int(xs.shape[1]),
                "isometric": m.isometric, "target_transformed": m.wz is not None},
        "timings": {k: round(v, 3) for k, v in run.timings.items()},
    }
