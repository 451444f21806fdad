"""CADE: compass-aligned distributional embeddings, and semantic-shift ranking.

Di Carlo, Bianchi & Palmonari (2019), "Training Temporal Word Embeddings with a Compass"
(TWEC / CADE). Written from the paper's description:

1. train a *compass* word2vec model on the concatenation of all corpora (here: gensim);
2. for every corpus (slice), train a word2vec model whose input vectors start from the
   compass's and whose *output* (context) matrix is the compass's, frozen. Every slice then
   learns its word vectors against the same fixed context space, so the slices are aligned
   by construction, with no post-hoc rotation;
3. compare a word across slices directly: cosine distance in the shared space, and the
   overlap of its nearest neighbours in each slice.

Core functions take tokenised sentences and arrays and return arrays; the files (corpora,
slices saved and reloaded) are :mod:`xling.align.cade_io`'s.
"""
from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import Enum

import numpy as np

from ..data.embeddings import Embeddings, unit_rows
from ..data.errors import XlingError
from ..lexicon.device import Device
from .w2v import (
    Arch,
    Progress,
    TrainStats,
    Vocab,
    W2VParams,
    build_vocab,
    count_words,
    encode,
    init_input_vectors,
    train,
)

Sentences = Sequence[Sequence[str]]

# Start learning rate of the slices (`cade train --slice-alpha`), below the compass's 0.025.
# A slice learns its input vectors against the compass's trained, frozen output matrix; each
# word's objective is then convex, and what a slice run adds to its corpus's own sampling noise
# is SGD noise, which grows with the step size. The more updates a slice gets (tokens x epochs),
# the smaller the step it can afford while still converging, as in Robbins-Monro step sizes
# ~ 1/t: the default rate is SLICE_ALPHA at REFERENCE_PASSES slice tokens x epochs, inversely
# proportional beyond (slice_alpha_for). 0.01 was the best rate measured for 0.3-0.4M-token
# slices at 5 epochs, 0.0025 beat 0.005 and 0.01 on 1.07M-token slices, 0.0044 beat 0.01 at
# 15 epochs (BENCHMARKS.md, CADE). TWEC used the compass's rate.
SLICE_ALPHA = 0.01
REFERENCE_PASSES = 2_000_000
SLICE_ALPHA_RANGE = (0.001, 0.025)


class SliceInit(str, Enum):
    """Start of a slice's input vectors (its output matrix is always the compass's, frozen)."""

    compass = "compass"  # copy the compass's input vectors
    random = "random"  # word2vec's usual small random vectors (TWEC's default "hidden" mode)


@dataclass(frozen=True)
class Compass:
    """The compass model: vocabulary, input vectors and the (to be frozen) output matrix."""

    vocab: Vocab
    vectors: np.ndarray  # shape (n, d), input vectors (syn0)
    output: np.ndarray  # shape (n, d), output vectors (syn1neg); never modified after training
    seconds: float

    def embeddings(self) -> Embeddings:
        return Embeddings(self.vocab.words, self.vectors)


@dataclass(frozen=True)
class Slice:
    """One slice model in the compass space."""

    vocab: Vocab  # slice words (count >= slice min_count, and in the compass) with slice counts
    vectors: np.ndarray  # shape (n, d)
    stats: TrainStats

    def embeddings(self) -> Embeddings:
        return Embeddings(self.vocab.words, self.vectors)


def _stable_hash(text: str) -> int:
    # gensim seeds each start vector with hash(word + seed); Python's str hash changes per
    # process, so pass a stable one to make the compass reproducible.
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


def train_compass(sentences: Sentences, params: W2VParams, *, min_count: int = 5,
                  progress: Progress | None = None) -> Compass:
    """Train the compass with gensim's Word2Vec on all sentences.

    Parameters
    ----------
    sentences : sequence of list of str
        Every slice's sentences, concatenated.
    params : W2VParams
    min_count : int
        Words rarer than this in the concatenation are not in the compass (nor in any slice).
    progress : callable(words_done, words_total), optional
        Called after every epoch.

    Returns
    -------
    Compass
    """
    import time

    from gensim.models import Word2Vec
    from gensim.models.callbacks import CallbackAny2Vec

    class _Epochs(CallbackAny2Vec):
        def __init__(self):
            self.done = 0

        def on_epoch_end(self, model):
            self.done += 1
            if progress is not None:  # in words, at epoch granularity (gensim reports no finer)
                progress(self.done * model.corpus_total_words, params.epochs * model.corpus_total_words)

    model = Word2Vec(vector_size=params.dim, window=params.window, negative=params.negative, hs=0,
                     sg=int(params.arch is Arch.sg), min_count=min_count, sample=params.sample,
                     alpha=params.alpha, min_alpha=params.min_alpha, ns_exponent=params.ns_exponent,
                     workers=params.threads, seed=params.seed, epochs=params.epochs, hashfxn=_stable_hash,
                     cbow_mean=1)
    model.build_vocab(sentences)
    if len(model.wv) == 0:
        raise XlingError(f"no word occurs at least {min_count} times in the corpora (lower --compass-min-count)")
    t0 = time.perf_counter()
    model.train(sentences, total_examples=model.corpus_count, epochs=params.epochs, callbacks=[_Epochs()])
    seconds = time.perf_counter() - t0
    words = tuple(model.wv.index_to_key)
    counts = np.array([model.wv.get_vecattr(w, "count") for w in words], dtype=np.int64)
    output = np.array(model.syn1neg, dtype=np.float32)
    output.flags.writeable = False
    return Compass(Vocab(words, counts), np.array(model.wv.vectors, dtype=np.float32), output, seconds)


def output_norm(compass: Compass) -> float:
    """Median length of the compass's output vectors (grows with how much the compass trained)."""
    return float(np.median(np.linalg.norm(compass.output.astype(np.float64), axis=1)))


def slice_alpha_for(tokens_per_slice: float, epochs: int) -> float:
    """The default slice learning rate: ``SLICE_ALPHA * REFERENCE_PASSES / (tokens x epochs)``.

    0.01 for slices of 0.4M tokens trained 5 epochs; half of it for slices twice as long or
    trained twice as many epochs; clipped to ``SLICE_ALPHA_RANGE`` (small corpora get at most
    the compass's 0.025, huge ones at least 0.001).
    """
    passes = float(tokens_per_slice) * int(epochs)
    lo, hi = SLICE_ALPHA_RANGE
    if not np.isfinite(passes) or passes <= 0:
        return hi
    return float(np.clip(SLICE_ALPHA * REFERENCE_PASSES / passes, lo, hi))


def default_slice_alpha(slices: Sequence[Sentences], epochs: int) -> float:
    """``xling cade train``'s slice rate for these slice corpora: :func:`slice_alpha_for` of
    their mean token count."""
    tokens = [sum(map(len, sl)) for sl in slices]
    return slice_alpha_for(sum(tokens) / max(1, len(tokens)), epochs)


def slice_params(params: W2VParams, tokens: Sequence[int], slice_alpha: float | None = None
                 ) -> tuple[W2VParams, bool]:
    """The slices' settings: ``params`` with the slice learning rate.

    Parameters
    ----------
    params : W2VParams
        The compass's settings (slices share every one but the rate).
    tokens : sequence of int
        Tokens of every slice corpus.
    slice_alpha : float, optional
        The rate; default :func:`slice_alpha_for` of the mean tokens a slice.

    Returns
    -------
    (W2VParams, bool)
        The slice settings, and whether the rate was the default one.
    """
    if slice_alpha is not None and slice_alpha < params.min_alpha:
        raise XlingError(f"--slice-alpha must be at least {params.min_alpha} (the final learning rate), "
                         f"got {slice_alpha}")
    if slice_alpha is not None:
        return replace(params, alpha=slice_alpha), False
    mean_tokens = sum(tokens) / max(1, len(tokens))
    return replace(params, alpha=slice_alpha_for(mean_tokens, params.epochs)), True


def replicate_seed(seed: int, r: int) -> int:
    """Seed of replicate ``r`` of a slice: ``seed`` itself for r = 0, a derived one after."""
    if r == 0:
        return seed
    return int(np.random.SeedSequence([seed, r]).generate_state(1)[0] & 0x7FFFFFFF)


def train_slice(sentences: Sentences, compass: Compass, params: W2VParams, *, min_count: int = 5,
                init: SliceInit | str = SliceInit.compass, device: Device | str = Device.cpu, replicates: int = 1,
                progress: Progress | None = None) -> Slice:
    """Train one slice against the compass's frozen output matrix.

    Parameters
    ----------
    sentences : sequence of list of str
        This slice's sentences.
    compass : Compass
        ``compass.output`` is read, never written.
    params : W2VParams
        Usually the compass's settings (dim must match) with ``alpha=slice_alpha_for(tokens,
        epochs)``, as ``xling cade train`` does by default.
    min_count : int
        Slice words rarer than this are left out of the slice (and of its output file).
    init : SliceInit
        Input vectors start as the compass's (``compass``) or random (``random``); either
        way the frozen output matrix puts every slice in the compass space.
    device : Device or {"cpu", "cuda", "auto"}
        The slice trainer's device (:func:`xling.lexicon.device.resolve_device`).
    replicates : int
        Train the slice this many times with different seeds (replicate 0 uses
        ``params.seed``) and keep the mean of the replicates' unit-length vectors. All
        replicates share the frozen compass output matrix, so they live in one space and their
        mean is a lower-noise estimate of each word's position (costs ``replicates`` x the
        training time). With 1 the vectors are the single run's, unnormalised.

    Returns
    -------
    Slice
        ``stats`` sums words and seconds over the replicates.
    """
    if replicates < 1:
        raise XlingError(f"replicates must be at least 1, got {replicates}")
    if params.dim != compass.vectors.shape[1]:
        raise XlingError(f"slice dim {params.dim} differs from the compass dim {compass.vectors.shape[1]}")
    # 1. slice vocabulary: frequent enough here, and known to the compass (the output matrix is its)
    vocab = build_vocab(count_words(sentences), min_count, restrict_to=compass.vocab.key_to_index)
    if len(vocab) == 0:
        raise XlingError(f"no word of this slice occurs at least {min_count} times and is in the compass")
    rows = np.array([compass.vocab.key_to_index[w] for w in vocab.words], dtype=np.int64)
    from_compass = SliceInit(init) is SliceInit.compass
    corpus = encode(sentences, vocab)
    syn1 = compass.output[rows]
    total = None if replicates == 1 else np.zeros((len(vocab), params.dim), dtype=np.float64)
    words, seconds = 0, 0.0
    for r in range(replicates):
        p = params if r == 0 else replace(params, seed=replicate_seed(params.seed, r))
        # 2. output vectors: the compass's; input vectors: the compass's or random
        if from_compass:
            syn0 = np.ascontiguousarray(compass.vectors[rows], dtype=np.float32)
        else:
            syn0 = init_input_vectors(len(vocab), p.dim, p.seed)
        # 3. train with the output frozen; negatives follow this slice's own counts
        step = None
        if progress is not None:
            def step(done: int, tot: int, _r: int = r) -> None:
                progress(_r * tot + done, replicates * tot)
        stats = train(corpus, syn0, syn1, vocab.counts, p, train_output=False, device=device, progress=step)
        words, seconds = words + stats.words, seconds + stats.seconds
        if total is None:
            return Slice(vocab, syn0, stats)
        # 4. replicates: accumulate unit vectors (lengths mostly track frequency, not position)
        total += unit_rows(syn0)
    assert total is not None  # replicates > 1: with one the loop returned
    mean = np.asarray(total / replicates, dtype=np.float32)
    return Slice(vocab, mean, TrainStats(words, seconds, stats.threads, stats.device))


# ---------------------------------------------------------------------------- shift ranking
class ShiftMeasure(str, Enum):
    """How to rank words by change between two slices."""

    cosine = "cosine"  # 1 - cos(v_a, v_b) in the shared space
    neighbours = "neighbours"  # 1 - Jaccard(top-k neighbours in a, top-k neighbours in b)


@dataclass(frozen=True)
class ShiftTable:
    """Per-word change scores between two slices, over their shared vocabulary (order of ``a``)."""

    words: tuple[str, ...]
    cosine: np.ndarray  # shape (n,), cosine distance in [0, 2]
    neighbours: np.ndarray  # shape (n,), 1 - Jaccard of the k-NN sets, in [0, 1]
    k: int

    def order(self, by: ShiftMeasure = ShiftMeasure.cosine) -> np.ndarray:
        """Indices of the words, most changed first (ties: the other measure, then word order)."""
        by = ShiftMeasure(by)
        main, other = (self.cosine, self.neighbours) if by is ShiftMeasure.cosine else (self.neighbours, self.cosine)
        return np.lexsort((np.arange(len(self.words)), -other, -main))

    def ranking(self, by: ShiftMeasure = ShiftMeasure.cosine) -> list[str]:
        return [self.words[i] for i in self.order(by)]


def shift_scores(a: Embeddings, b: Embeddings, *, k: int = 10, words: Sequence[str] | None = None,
                 engine=None, progress: Callable | None = None) -> ShiftTable:
    """Score how much each word shared by two aligned slices changed.

    Parameters
    ----------
    a, b : Embeddings
        Two slices in one space (CADE output, or spaces aligned beforehand).
    k : int
        Neighbourhood size of the overlap measure; neighbours are searched among the
        candidate words, so indices are comparable across slices.
    words : sequence of str, optional
        Candidate words (e.g. frequent enough in both slices); default: all shared words.
    engine : xling.lexicon.knn.Engine, optional
        Nearest-neighbour backend/device.

    Returns
    -------
    ShiftTable
    """
    from ..lexicon.knn import knn

    if a.dim != b.dim:
        raise XlingError(f"the slices have different dimensions ({a.dim} and {b.dim}): not one shared space")
    in_b = b.key_to_index
    cand = a.index_to_key if words is None else words
    shared = [w for w in cand if w in in_b and w in a.key_to_index]
    if len(shared) < 2:
        raise XlingError(f"the slices share {len(shared)} word(s): nothing to rank")
    # 1. cosine distance of each word's two vectors
    va = unit_rows(np.asarray(a.vectors[a.indices(shared)], dtype=np.float32))
    vb = unit_rows(np.asarray(b.vectors[b.indices(shared)], dtype=np.float32))
    cos = 1.0 - np.einsum("ij,ij->i", va, vb, dtype=np.float64)
    # 2. neighbourhood overlap among the shared words
    k = max(1, min(k, len(shared) - 1))
    _, na = knn(va, va, k, exclude_self=True, engine=engine, progress=progress)
    _, nb = knn(vb, vb, k, exclude_self=True, engine=engine, progress=progress)
    inter = np.array([len(set(x).intersection(y)) for x, y in zip(na.tolist(), nb.tolist(), strict=True)], dtype=np.float64)
    jaccard = inter / (2 * k - inter)
    return ShiftTable(tuple(shared), cos.astype(np.float32), (1.0 - jaccard).astype(np.float32), k)


def neighbours(emb: Embeddings, word: str, k: int = 10, engine=None) -> list[tuple[str, float]]:
    """The ``k`` nearest words to ``word`` in ``emb`` (cosine), itself excluded; [] if absent."""
    from ..lexicon.knn import knn

    i = emb.get_index(word)
    if i is None:
        return []
    k = min(k, len(emb) - 1)
    if k < 1:
        return []
    scores, idx = knn(emb.vectors[i:i + 1], emb.vectors, k + 1, engine=engine)
    out = [(emb.index_to_key[j], float(s)) for j, s in zip(idx[0].tolist(), scores[0].tolist(), strict=True) if j != i]
    return out[:k]


def top_overlap(r1: Sequence[str], r2: Sequence[str], n: int = 50) -> float:
    """|top-n of r1 ∩ top-n of r2| / n: stability of two rankings."""
    if n < 1:
        raise XlingError("n must be at least 1")
    return len(set(r1[:n]) & set(r2[:n])) / n
