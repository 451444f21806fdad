"""xling's own word2vec trainer (skip-gram / CBOW with negative sampling).

Why not gensim: CADE trains each slice with the compass's *output* (context, ``syn1neg``)
matrix frozen, and stock gensim cannot freeze it. This trainer can (``train_output=False``):
the output matrix is only read, never written, so it stays byte-identical.

The CPU path is a numba kernel run as a "hogwild" parallel loop over chunks of sentences
(as word2vec.c and gensim do): several threads update the shared input matrix without locks.
With ``threads=1`` the result is bit-reproducible for a given seed; with more threads the
interleaving of updates changes from run to run (as with gensim), so results differ slightly.
The ``device='cuda'`` path is a batched torch trainer (:mod:`xling.align.w2v_torch`).

The conventions follow word2vec.c / gensim so that settings mean the same thing:
reduced random window, frequent-word subsampling with ``sample``, unigram^0.75 negatives,
learning rate decaying linearly from ``alpha`` to ``min_alpha`` over all epochs,
sigmoid from a 1000-entry table clipped at |x| = 6, CBOW uses the mean of the context.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from ..data.errors import XlingError
from ..lexicon.device import Device, resolve_device

Progress = Callable[[int, int], None]

MAX_EXP = 6.0
EXP_TABLE_SIZE = 1000
CUM_TABLE_DOMAIN = 2**31 - 1
CHUNK_WORDS = 10_000  # words per hogwild work item (as gensim's batch_words)


class Arch(str, Enum):
    """word2vec architecture."""

    sg = "sg"
    cbow = "cbow"


@dataclass(frozen=True)
class W2VParams:
    """Training settings (names and defaults as gensim's ``Word2Vec``)."""

    arch: Arch = Arch.cbow
    dim: int = 100
    window: int = 5
    negative: int = 5
    epochs: int = 5
    alpha: float = 0.025
    min_alpha: float = 0.0001
    sample: float = 1e-3
    threads: int = 1
    seed: int = 0
    ns_exponent: float = 0.75

    def __post_init__(self):
        object.__setattr__(self, "arch", Arch(self.arch))
        for name in ("dim", "window", "negative", "epochs", "threads"):
            if getattr(self, name) < 1:
                raise XlingError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0 < self.alpha or self.min_alpha < 0 or self.min_alpha > self.alpha:
            raise XlingError(f"need 0 <= min_alpha <= alpha and alpha > 0, got {self.alpha}, {self.min_alpha}")
        if self.sample < 0:
            raise XlingError(f"sample must be >= 0, got {self.sample}")


@dataclass(frozen=True)
class Vocab:
    """Words in descending count order (ties: first seen first) and their counts."""

    words: tuple[str, ...]
    counts: np.ndarray  # shape (n,), int64
    key_to_index: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        if not self.key_to_index:
            object.__setattr__(self, "key_to_index", {w: i for i, w in enumerate(self.words)})

    def __len__(self) -> int:
        return len(self.words)


@dataclass(frozen=True)
class Corpus:
    """A corpus encoded against a vocabulary: one flat token array and sentence offsets.

    ``tokens[offsets[s]:offsets[s+1]]`` are the word ids of sentence ``s`` (out-of-vocabulary
    words are dropped before windowing, as gensim does).
    """

    tokens: np.ndarray  # int32, shape (n_tokens,)
    offsets: np.ndarray  # int64, shape (n_sentences + 1,)

    @property
    def n_words(self) -> int:
        return int(self.tokens.shape[0])


@dataclass(frozen=True)
class TrainStats:
    words: int  # in-vocabulary words seen, over all epochs (before subsampling)
    seconds: float  # time spent in the training loop (JIT compilation excluded)
    threads: int
    device: str

    @property
    def words_per_sec(self) -> float:
        return self.words / self.seconds if self.seconds > 0 else float("nan")


# ---------------------------------------------------------------------------- vocabulary
def count_words(sentences: Sequence[Sequence[str]]) -> dict[str, int]:
    """Word -> count over all sentences (insertion order = first occurrence)."""
    counts: dict[str, int] = {}
    get = counts.get
    for sent in sentences:
        for w in sent:
            counts[w] = get(w, 0) + 1
    return counts


def build_vocab(counts: dict[str, int], min_count: int = 5, restrict_to=None) -> Vocab:
    """Keep words with ``count >= min_count`` (and in ``restrict_to`` when given), most frequent first."""
    items = [(w, c) for w, c in counts.items() if c >= min_count and (restrict_to is None or w in restrict_to)]
    items.sort(key=lambda wc: -wc[1])  # stable: ties keep first-seen order
    return Vocab(tuple(w for w, _ in items), np.array([c for _, c in items], dtype=np.int64))


def encode(sentences: Sequence[Sequence[str]], vocab: Vocab) -> Corpus:
    """Word ids of every sentence, out-of-vocabulary words dropped."""
    k2i = vocab.key_to_index
    ids: list[int] = []
    offsets = [0]
    for sent in sentences:
        ids.extend([i for i in map(k2i.get, sent) if i is not None])
        offsets.append(len(ids))
    return Corpus(np.asarray(ids, dtype=np.int32), np.asarray(offsets, dtype=np.int64))


def cum_table(counts: np.ndarray, power: float = 0.75) -> np.ndarray:
    """Cumulative unigram^power table for negative sampling (as gensim), shape (n,), int64."""
    p = np.asarray(counts, dtype=np.float64) ** power
    cum = np.cumsum(p / p.sum())
    return np.round(cum * CUM_TABLE_DOMAIN).astype(np.int64)


def keep_probability(counts: np.ndarray, sample: float) -> np.ndarray:
    """Probability of keeping each occurrence of a word under subsampling (word2vec formula)."""
    counts = np.asarray(counts, dtype=np.float64)
    if sample <= 0 or counts.sum() == 0:
        return np.ones(counts.shape, np.float32)
    threshold = sample * counts.sum()
    p = (np.sqrt(counts / threshold) + 1.0) * threshold / np.maximum(counts, 1)
    return np.minimum(p, 1.0).astype(np.float32)


def init_input_vectors(n: int, dim: int, seed: int) -> np.ndarray:
    """Uniform(-0.5/dim, 0.5/dim) start vectors, as word2vec.c, shape (n, dim) float32."""
    rng = np.random.default_rng(seed)
    return ((rng.random((n, dim), dtype=np.float32) - 0.5) / dim).astype(np.float32)


def chunk_bounds(offsets: np.ndarray, chunk_words: int = CHUNK_WORDS) -> np.ndarray:
    """Split sentences into work items of about ``chunk_words`` words; sentence index bounds."""
    n_sent = len(offsets) - 1
    bounds = [0]
    start_words = 0
    for s in range(n_sent):
        if offsets[s + 1] - start_words >= chunk_words:
            bounds.append(s + 1)
            start_words = offsets[s + 1]
    if bounds[-1] != n_sent:
        bounds.append(n_sent)
    return np.asarray(bounds, dtype=np.int64)


# ---------------------------------------------------------------------------- training
def train(
    corpus: Corpus,
    syn0: np.ndarray,
    syn1: np.ndarray,
    counts: np.ndarray,
    params: W2VParams,
    *,
    train_output: bool = True,
    device: Device | str = Device.cpu,
    progress: Progress | None = None,
) -> TrainStats:
    """Train word2vec with negative sampling, updating ``syn0`` (and ``syn1`` unless frozen) in place.

    Parameters
    ----------
    corpus : Corpus
        Encoded sentences (ids index rows of ``syn0`` / ``syn1``).
    syn0 : ndarray, shape (n, d), float32, C-contiguous, writable
        Input ("word") vectors; updated in place.
    syn1 : ndarray, shape (n, d), float32
        Output ("context") vectors. With ``train_output=False`` it is only read: the bytes
        do not change (CADE's frozen compass).
    counts : ndarray, shape (n,)
        Word counts (negative-sampling distribution and subsampling).
    params : W2VParams
    train_output : bool
        Update ``syn1`` too (ordinary word2vec) or keep it frozen.
    device : Device or {"cpu", "cuda", "auto"}
        ``cpu``: numba hogwild kernel; ``cuda``: batched torch trainer on the GPU; ``auto``:
        cuda when there is one (resolved by :func:`xling.lexicon.device.resolve_device`).
    progress : callable(words_done, words_total), optional

    Returns
    -------
    TrainStats
    """
    n, d = syn0.shape
    if syn1.shape != (n, d) or counts.shape != (n,):
        raise XlingError(f"shape mismatch: syn0 {syn0.shape}, syn1 {syn1.shape}, counts {counts.shape}")
    if syn0.dtype != np.float32 or not syn0.flags.c_contiguous or not syn0.flags.writeable:
        raise XlingError("syn0 must be a writable C-contiguous float32 matrix")
    if corpus.n_words == 0:
        raise XlingError("nothing to train on: no in-vocabulary words in the corpus")
    if resolve_device(device) is Device.cuda:
        from .w2v_torch import train_torch

        return train_torch(corpus, syn0, syn1, counts, params, train_output=train_output, device=Device.cuda,
                           progress=progress)
    return _train_numba(corpus, syn0, syn1, counts, params, train_output, progress)


def _train_numba(corpus, syn0, syn1, counts, params, train_output, progress) -> TrainStats:
    import time

    import numba

    from . import w2v_kernels as K

    usable = syn1.dtype == np.float32 and syn1.flags.c_contiguous and syn1.flags.writeable
    if train_output and not usable:
        raise XlingError("syn1 must be a writable C-contiguous float32 matrix when it is trained")
    # Frozen: the kernel reads the caller's array and never writes it (the tests check the
    # bytes). numba compiles one array type, so a read-only or strided syn1 is copied first.
    syn1_work = syn1 if usable else np.array(syn1, dtype=np.float32, order="C", copy=True)
    threads = min(params.threads, numba.config.NUMBA_NUM_THREADS)
    numba.set_num_threads(threads)
    cum = cum_table(counts, params.ns_exponent)
    keep = keep_probability(counts, params.sample)
    exp_table = K.make_exp_table()
    bounds = chunk_bounds(corpus.offsets)
    n_chunks = len(bounds) - 1
    total = corpus.n_words * params.epochs
    block = max(1, threads * 8)  # chunks between two progress reports
    sg = params.arch is Arch.sg
    # 1. compile (cached on disk after the first run) outside the timed loop
    K.warm_up()
    t0 = time.perf_counter()
    done = 0
    for epoch in range(params.epochs):
        for c0 in range(0, n_chunks, block):
            c1 = min(n_chunks, c0 + block)
            # 2. one hogwild pass over a block of chunks
            K.run_chunks(corpus.tokens, corpus.offsets, bounds, c0, c1, syn0, syn1_work, cum, keep, exp_table,
                         sg, params.window, params.negative, train_output, params.alpha, params.min_alpha,
                         epoch, params.epochs, corpus.n_words, np.uint64(params.seed & (2**63 - 1)))
            done = epoch * corpus.n_words + int(corpus.offsets[bounds[c1]])
            if progress is not None:
                progress(done, total)
    seconds = time.perf_counter() - t0
    return TrainStats(words=total, seconds=seconds, threads=threads, device="cpu")
