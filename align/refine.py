"""Refinement / self-learning: solve the map, re-induce the dictionary, repeat.

Each iteration (numbered from 0, the map learned from the seed dictionary):

1. solve the map from the current dictionary;
2. measure validation P@1 when a validation dictionary is given;
3. re-induce a dictionary among the ``cutoff`` most frequent words (mutual or union,
   optionally stochastic: every similarity kept with probability ``p``, ``p`` multiplied
   when the objective stops improving for ``interval`` iterations);
4. stop when the objective improves by less than ``threshold`` (with ``p = 1``) or after
   ``iterations`` re-inductions.

Validation and induction rank by ``RefineOptions.retrieval`` (CSLS, k=10 by default), through
:mod:`xling.lexicon.retrieval`.

The iteration that validates best is the one returned, so refinement never makes the map
worse than the seed Procrustes on held-out words (both peers' refinement does, on hard pairs).
"""
from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..lexicon.knn import Engine, resolve_engine
from ..lexicon.retrieval import (
    Direction,
    RetrievalParams,
    induce_pairs,
    precision_at_1,
    target_penalty,
)
from .procrustes import DEFAULT_MAP_OPTIONS, LinearMap, MapOptions, sim_spaces, solve_map

DEFAULT_RETRIEVAL = RetrievalParams()


@dataclass(frozen=True)
class RefineOptions:
    iterations: int = 0  # re-inductions after the seed map (0: plain Procrustes)
    cutoff: int = 20000
    retrieval: RetrievalParams = RetrievalParams()  # criterion of induction and validation (CSLS, k=10)
    direction: Direction = Direction.mutual
    threshold: float = 1e-6
    keep_seed: bool = True  # add the seed pairs to every induced dictionary
    stochastic_initial: float = 1.0
    stochastic_multiplier: float = 2.0
    stochastic_interval: int = 3


@dataclass
class Validation:
    """Held-out words: query rows of the source and the gold target rows of each."""

    queries: np.ndarray
    gold: list
    pool_size: int = 20000  # source words in the target-side CSLS penalty (speed)

    def __len__(self) -> int:
        return int(self.queries.size)


@dataclass
class IterationLog:
    iteration: int
    dict_size: int
    objective: float | None = None
    val_p1: float | None = None
    keep_prob: float = 1.0
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"iteration": self.iteration, "dict_size": self.dict_size,
                "objective": None if self.objective is None else round(self.objective, 6),
                "val_p1": None if self.val_p1 is None else round(self.val_p1, 6),
                "keep_prob": self.keep_prob, "seconds": round(self.seconds, 3)}


@dataclass
class FirstStep:
    """Iteration 0 (the map from the seed dictionary and its validation), computed once."""

    map: LinearMap
    val_p1: float | None
    pen: np.ndarray | None  # target penalty over the `pool` most frequent source words
    pool: int | None
    seconds: float


def first_step(x: np.ndarray, z: np.ndarray, src: np.ndarray, tgt: np.ndarray, *,
               map_opts: MapOptions = DEFAULT_MAP_OPTIONS, retrieval: RetrievalParams = DEFAULT_RETRIEVAL,
               val: Validation | None = None,
               engine: Engine | None = None, keep_pen: bool = True) -> FirstStep:
    """Solve the map from a dictionary and validate it (one step of :func:`refine`; its
    iteration 0 when given the seed dictionary).

    ``keep_pen``: compute the validation's target-side term for every target and keep it (the
    next dictionary induction reuses it); otherwise only where it decides a held-out word's
    best match (:func:`xling.lexicon.retrieval.best_targets`: the same P@1, a fraction of the
    cost), and ``pen`` is None."""
    eng = engine or resolve_engine()
    t0 = time.perf_counter()
    m = solve_map(x[np.asarray(src, np.int64)], z[np.asarray(tgt, np.int64)], map_opts)
    v, pen, pool = _validate(x, z, m, val, retrieval, eng, keep_pen) if val is not None and len(val) else (None,) * 3
    return FirstStep(m, v, pen, pool, time.perf_counter() - t0)


@dataclass
class RefineResult:
    map: LinearMap
    src: np.ndarray  # the dictionary the kept map was learned from
    tgt: np.ndarray
    best_iteration: int
    log: list = field(default_factory=list)


def validate(x: np.ndarray, z: np.ndarray, m: LinearMap, val: Validation, retrieval: RetrievalParams,
             engine: Engine) -> float:
    """P@1 of the held-out words under map ``m`` (the criterion of ``retrieval``)."""
    return _validate(x, z, m, val, retrieval, engine, keep_pen=False)[0]


def _validate(x, z, m, val, retrieval, engine, keep_pen=True):
    """(P@1, the target penalty over the ``pool`` most frequent source words or None, pool);
    without ``keep_pen`` the penalty is computed only where it decides a best match (None)."""
    pool = min(val.pool_size, x.shape[0]) if val.pool_size else x.shape[0]
    a_pool, b = sim_spaces(x[:pool], z, m)
    a_q, _ = sim_spaces(x[val.queries], z[:1], m)
    if not keep_pen:
        return precision_at_1(a_q, b, val.gold, retrieval, pool=a_pool, engine=engine), None, pool
    pen = target_penalty(b, a_pool, retrieval, engine=engine, metric="ip")
    return precision_at_1(a_q, b, val.gold, retrieval, tgt_penalty=pen, engine=engine), pen, pool


def refine(x: np.ndarray, z: np.ndarray, src: np.ndarray, tgt: np.ndarray, *,
           map_opts: MapOptions = DEFAULT_MAP_OPTIONS, opts: RefineOptions = RefineOptions(),
           val: Validation | None = None, seed: int = 0, engine: Engine | None = None,
           log: Callable[[IterationLog], None] | None = None, first: FirstStep | None = None) -> RefineResult:
    """Learn a map from the seed pairs and refine it by self-learning.

    Parameters
    ----------
    x : ndarray, shape (nx, dx)
        Normalised source vectors, most frequent first.
    z : ndarray, shape (nz, dz)
        Normalised target vectors.
    src, tgt : ndarray, shape (m,)
        Seed dictionary as row indices.
    val : Validation, optional
        Held-out words; without it the last iteration (best objective) is kept.
    seed : int
        Seeds the stochastic dictionary induction.
    log : callable(IterationLog), optional
        Called after every iteration.
    first : FirstStep, optional
        Iteration 0, already computed by :func:`first_step` with the same arguments.

    Returns
    -------
    RefineResult
    """
    eng = engine or resolve_engine()
    rng = np.random.default_rng(seed)
    seed_s, seed_t = np.asarray(src, np.int64), np.asarray(tgt, np.int64)
    st = _State(seed_s, seed_t, opts.stochastic_initial, log=log)
    solve = functools.partial(first_step, x, z, map_opts=map_opts, retrieval=opts.retrieval, val=val, engine=eng)
    it = 0
    while True:
        t0 = time.perf_counter()
        # 1. the map from the current dictionary, 2. its validation
        if it == 0 and first is not None:
            step = first
            t0 -= first.seconds
        else:
            step = solve(st.cur_s, st.cur_t, keep_pen=it < opts.iterations)  # a re-induction follows
        entry = IterationLog(it, int(st.cur_s.size), st.objective, step.val_p1, st.keep_prob)
        st.consider(step, it)
        if it >= opts.iterations:
            st.add(entry, t0)
            break
        # 3. re-induce the dictionary among the frequent words
        st.cur_s, st.cur_t, st.objective = _reinduce(x, z, step, opts, st.keep_prob, rng, eng, (seed_s, seed_t))
        st.add(entry, t0)
        # 4. convergence: the objective must keep improving (with the full similarity matrix)
        if not st.improved(opts.threshold) and st.keep_prob >= 1.0:
            it += 1  # one last solve with the final dictionary, then stop
            st.last(solve(st.cur_s, st.cur_t, keep_pen=False), it)
            break
        if st.keep_prob < 1.0 and st.since_best >= opts.stochastic_interval:
            st.keep_prob = min(1.0, st.keep_prob * opts.stochastic_multiplier)
            st.since_best = 0
        it += 1
    if st.best is None:  # iteration 0 always sets it
        raise RuntimeError("refine kept no iteration")
    m, bs, bt, bi = st.best
    return RefineResult(m, bs, bt, bi, st.history)


@dataclass
class _State:
    """The running state of :func:`refine`: the current dictionary, the stochastic keep probability,
    the convergence counters, the best iteration so far and the log."""

    cur_s: np.ndarray
    cur_t: np.ndarray
    keep_prob: float
    log: Callable[[IterationLog], None] | None = None
    objective: float | None = None
    best_obj: float = -np.inf
    since_best: int = 0
    best_val: float = -1.0
    best: tuple | None = None  # (map, src, tgt, iteration)
    history: list = field(default_factory=list)

    def consider(self, step: FirstStep, it: int) -> None:
        """Keep this iteration's map when it validates best so far (always, without validation)."""
        v = step.val_p1
        if self.best is None or v is None or v > self.best_val:
            self.best_val = v if v is not None else self.best_val
            self.best = (step.map, self.cur_s, self.cur_t, it)

    def add(self, entry: IterationLog, t0: float) -> None:
        entry.seconds = time.perf_counter() - t0
        self.history.append(entry)
        if self.log:
            self.log(entry)

    def improved(self, threshold: float) -> bool:
        """Did the objective improve by at least ``threshold`` (counts the iterations since it did)?"""
        objective = -np.inf if self.objective is None else self.objective
        if objective - self.best_obj >= threshold:
            self.best_obj, self.since_best = objective, 0
            return True
        self.since_best += 1
        return False

    def last(self, step: FirstStep, it: int) -> None:
        """The final solve on the converged dictionary: logged, and kept unless it validates worse."""
        entry = IterationLog(it, int(self.cur_s.size), self.objective, step.val_p1, self.keep_prob)
        self.history.append(entry)
        if self.log:
            self.log(entry)
        if step.val_p1 is None or step.val_p1 > self.best_val:
            self.best = (step.map, self.cur_s, self.cur_t, it)


def _reinduce(x, z, step: FirstStep, opts: RefineOptions, keep_prob: float, rng, engine: Engine,
              seed_pairs: tuple[np.ndarray, np.ndarray]):
    """A new dictionary among the ``cutoff`` most frequent words under the step's map (with the seed
    pairs when ``keep_seed``): (src rows, tgt rows, objective)."""
    cutoff_x, cutoff_z = min(opts.cutoff, x.shape[0]), min(opts.cutoff, z.shape[0])
    a, b = sim_spaces(x[:cutoff_x], z[:cutoff_z], step.map)
    # the validation's target penalty is the induction's when both use the same sources
    pen_b = step.pen[:cutoff_z] if step.pen is not None and step.pool == cutoff_x else None
    s, t, objective = induce_pairs(a, b, opts.retrieval, direction=opts.direction,
                                   keep_prob=keep_prob, rng=rng, engine=engine, pen_b=pen_b)
    if opts.keep_seed:
        seed_s, seed_t = seed_pairs
        pairs = np.unique(np.stack([np.concatenate([seed_s, s]), np.concatenate([seed_t, t])]), axis=1)
        s, t = pairs[0], pairs[1]
    return s, t, objective
