"""The one vector type of xling: words + a float32 matrix + an index.

Modelled on gensim's ``KeyedVectors`` (``index_to_key``, ``key_to_index``, ``vectors``,
lazily cached norms) but immutable: every operation returns a new object and never
writes into the caller's array.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .errors import XlingError


@dataclass(frozen=True)
class ReadReport:
    """What a reader did: how many rows it read, kept and dropped, and why."""

    path: str
    format: str
    rows_read: int
    rows_kept: int
    header: tuple[int, int] | None = None
    duplicates_dropped: int = 0
    nonfinite_dropped: int = 0
    duplicate_examples: tuple[str, ...] = ()
    nonfinite_examples: tuple[str, ...] = ()
    truncated: bool = False  # stopped early because of max_vocab

    def as_dict(self) -> dict:
        return {
            "path": self.path,
            "format": self.format,
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "header": list(self.header) if self.header else None,
            "duplicates_dropped": self.duplicates_dropped,
            "nonfinite_dropped": self.nonfinite_dropped,
            "truncated": self.truncated,
        }


class Embeddings:
    """Immutable word vectors.

    Parameters
    ----------
    words : sequence of str, length n
        Unique words, in row order (usually frequency order).
    vectors : ndarray, shape (n, d)
        Converted to float32 (no copy when already float32; a read-only memmap stays one).
    check_unique : bool
        Raise if ``words`` has duplicates (readers deduplicate before building).

    Attributes
    ----------
    index_to_key : tuple of str
    key_to_index : dict str -> int (built lazily)
    vectors : ndarray, shape (n, d), float32, read-only view
    """

    __slots__ = ("_words", "_vectors", "_key_to_index", "_norms", "report")

    def __init__(self, words: Sequence[str], vectors: np.ndarray, *, check_unique: bool = True,
                 report: ReadReport | None = None):
        vectors = np.asarray(vectors)
        if vectors.ndim != 2:
            raise XlingError(f"vectors must be a 2-d matrix, got shape {vectors.shape}")
        if vectors.dtype != np.float32:
            vectors = vectors.astype(np.float32)
        words = tuple(words)
        if len(words) != vectors.shape[0]:
            raise XlingError(f"{len(words)} words but {vectors.shape[0]} vector rows")
        if not isinstance(vectors, np.memmap) and vectors.flags.writeable:
            vectors = vectors.view()
            vectors.flags.writeable = False
        self._words = words
        self._vectors = vectors
        self._key_to_index: dict[str, int] | None = None
        self._norms: np.ndarray | None = None
        self.report = report
        if check_unique and len(self.key_to_index) != len(words):
            seen: set[str] = set()
            dup = None
            for w in words:
                if w in seen:
                    dup = w
                    break
                seen.add(w)
            raise XlingError(f"duplicate word {dup!r} in embeddings")

    # ----------------------------------------------------------------- basics
    @property
    def index_to_key(self) -> tuple[str, ...]:
        return self._words

    words = index_to_key

    @property
    def key_to_index(self) -> dict[str, int]:
        if self._key_to_index is None:
            k2i: dict[str, int] = {}
            for i, w in enumerate(self._words):
                k2i.setdefault(w, i)
            self._key_to_index = k2i
        return self._key_to_index

    @property
    def vectors(self) -> np.ndarray:
        return self._vectors

    @property
    def dim(self) -> int:
        return int(self._vectors.shape[1])

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self._words), self.dim)

    def __len__(self) -> int:
        return len(self._words)

    def __contains__(self, word: object) -> bool:
        return word in self.key_to_index

    def __getitem__(self, word: str) -> np.ndarray:
        return self._vectors[self.key_to_index[word]]

    def __repr__(self) -> str:
        return f"Embeddings(n={len(self)}, dim={self.dim})"

    def get_index(self, word: str, default: int | None = None) -> int | None:
        return self.key_to_index.get(word, default)

    def indices(self, words: Iterable[str]) -> np.ndarray:
        """Row indices of ``words``; -1 for words not in the vocabulary."""
        k2i = self.key_to_index
        return np.fromiter((k2i.get(w, -1) for w in words), dtype=np.int64)

    @property
    def norms(self) -> np.ndarray:
        """L2 norm of every row, shape (n,), float32; computed once, chunked."""
        if self._norms is None:
            self._norms = row_norms(self._vectors)
        return self._norms

    # ------------------------------------------------- gensim-style queries
    def _index(self, key) -> int:
        """gensim's ``get_index``: a word, or a row number; else ``KeyError``."""
        i = self.key_to_index.get(key) if isinstance(key, str) else None
        if i is not None:
            return i
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool) and 0 <= key < len(self._words):
            return int(key)
        raise KeyError(f"Key '{key}' not present")

    def get_vector(self, key: str | int, norm: bool = False) -> np.ndarray:
        """The vector of a word (or row number), as gensim's ``KeyedVectors.get_vector``.

        Parameters
        ----------
        key : str or int
        norm : bool
            Return it scaled to unit length (a zero row stays zero; gensim gives NaN there).

        Returns
        -------
        ndarray, shape (d,), float32 (read-only when not normalised)

        Raises
        ------
        KeyError
            for a word not in the vocabulary.
        """
        i = self._index(key)
        v = self._vectors[i]
        if not norm:
            return v
        n = self.norms[i]
        return v / n if n > 0 else np.zeros(self.dim, dtype=np.float32)

    def similarity(self, w1: str | int, w2: str | int) -> float:
        """Cosine similarity of two words (0 when either vector is zero), as gensim's."""
        return float(np.dot(self.get_vector(w1, norm=True), self.get_vector(w2, norm=True)))

    def most_similar(self, positive=None, negative=None, topn: int | None = 10, *, restrict_vocab: int | None = None,
                     chunk_rows: int = 65536):
        """Nearest words by cosine to the mean of ``positive`` minus ``negative``, as gensim's
        ``KeyedVectors.most_similar`` (``king - man + woman``: ``positive=["king", "woman"],
        negative=["man"]``).

        Parameters
        ----------
        positive, negative : str, int, ndarray of shape (d,), (key, weight) pairs, or a list of these
            Words weigh +1 (positive) or -1 (negative) unless a pair gives the weight. Word
            vectors are normalised before averaging; raw vectors are used as given. The mean
            is normalised.
        topn : int or None
            How many words; ``None``: the similarity to every row, an array of shape (n,)
            (or ``restrict_vocab``,). Fewer than 1: an empty list.
        restrict_vocab : int, optional
            Search only the first ``restrict_vocab`` rows (files are in frequency order).

        Returns
        -------
        list of (word, similarity)
            Best first, without the query words themselves.

        Raises
        ------
        KeyError
            for a query word not in the vocabulary; ``ValueError`` for an empty query.
        """
        if topn is not None and topn < 1:
            return []
        pos, neg = _as_list(positive), _as_list(negative)
        keys, weights = [], []
        for item, sign in [(x, 1.0) for x in pos] + [(x, -1.0) for x in neg]:
            if isinstance(item, tuple):
                keys.append(item[0])
                weights.append(float(item[1]))
            else:
                keys.append(item)
                weights.append(sign)
        if not keys:
            raise ValueError("cannot compute mean with no input")
        mean = np.zeros(self.dim, dtype=np.float32)
        total = 0.0
        exclude = set()
        for key, wt in zip(keys, weights, strict=True):
            if isinstance(key, np.ndarray):
                mean += wt * np.asarray(key, dtype=np.float32)
            else:
                i = self._index(key)
                exclude.add(i)
                mean += wt * self.get_vector(i, norm=True)
            total += abs(wt)
        if total > 0:
            mean /= total
        mnorm = float(np.linalg.norm(mean))
        if mnorm > 0:
            mean = (mean / mnorm).astype(np.float32)
        end = len(self) if restrict_vocab is None else min(int(restrict_vocab), len(self))
        sims = np.empty(end, dtype=np.float32)
        for s in range(0, end, chunk_rows):
            c = np.asarray(self._vectors[s:min(s + chunk_rows, end)], dtype=np.float32)
            sims[s:s + len(c)] = c @ mean
        with np.errstate(divide="ignore", invalid="ignore"):
            sims /= self.norms[:end]
        if topn is None:
            return sims
        k = min(topn + len(exclude), end)
        if k <= 0:
            return []
        # best first, ties by row (frequency) order; NaN rows (zero vectors) never rank
        order = np.where(np.isnan(sims), -np.inf, sims)
        top = np.argpartition(-order, k - 1)[:k] if k < end else np.arange(end)
        top = top[np.lexsort((top, -order[top]))]
        out = [(self._words[i], float(sims[i])) for i in top.tolist() if i not in exclude and order[i] > -np.inf]
        return out[:topn]

    # ------------------------------------------------------------- transforms
    def with_vectors(self, vectors: np.ndarray) -> Embeddings:
        """Same words, new matrix (same number of rows)."""
        return Embeddings(self._words, vectors, check_unique=False)

    def subset(self, items: Iterable[str] | np.ndarray) -> Embeddings:
        """Rows selected by words (must be in the vocabulary) or by integer indices."""
        if isinstance(items, np.ndarray) and items.dtype.kind in "iu":
            idx = items
        else:
            items = list(items)
            idx = self.indices(items)
            if (idx < 0).any():
                missing = items[int(np.flatnonzero(idx < 0)[0])]
                raise XlingError(f"word {missing!r} not in the vocabulary")
        return Embeddings([self._words[i] for i in idx.tolist()], self._vectors[idx], check_unique=False)

    def head(self, n: int) -> Embeddings:
        """The first ``n`` rows (a view: no copy)."""
        return Embeddings(self._words[:n], self._vectors[:n], check_unique=False)

    def normalize(self) -> Embeddings:
        """Unit-length rows (zero rows stay zero)."""
        return self.with_vectors(unit_rows(self._vectors))

    def center(self) -> Embeddings:
        """Mean-centred columns."""
        v = np.asarray(self._vectors, dtype=np.float32)
        return self.with_vectors(v - v.mean(axis=0, dtype=np.float64).astype(np.float32))

    def map(self, w: np.ndarray) -> Embeddings:
        """``X @ W``: the one mapping convention of xling (rows are words)."""
        w = np.asarray(w, dtype=np.float32)
        if w.ndim != 2 or w.shape[0] != self.dim:
            raise XlingError(f"map of shape {w.shape} does not apply to {self.dim}-d vectors")
        return self.with_vectors(chunked_matmul(self._vectors, w))

    # ----------------------------------------------------------- conversions
    @classmethod
    def from_keyedvectors(cls, kv) -> Embeddings:
        """From a gensim ``KeyedVectors`` object (no copy when already float32)."""
        return cls(list(kv.index_to_key), kv.vectors)

    def to_keyedvectors(self):
        """A gensim ``KeyedVectors`` holding a copy of these vectors."""
        from gensim.models import KeyedVectors

        kv = KeyedVectors(self.dim, dtype=np.float32)
        kv.add_vectors(list(self._words), np.array(self._vectors, dtype=np.float32))
        return kv


# --------------------------------------------------------------------- helpers
_CHUNK_ROWS = 65536


def _as_list(value) -> list:
    """gensim's ``_ensure_list``: None -> [], one key or one 1-d vector -> [it], 2-d -> its rows."""
    if value is None:
        return []
    if isinstance(value, (str, int, np.integer)) or (isinstance(value, np.ndarray) and value.ndim == 1):
        return [value]
    if isinstance(value, np.ndarray) and value.ndim == 2:
        return list(value)
    return list(value)


def row_norms(x: np.ndarray, chunk_rows: int = _CHUNK_ROWS) -> np.ndarray:
    """L2 norms of the rows of ``x`` in float32, chunked (no full float64 copy)."""
    out = np.empty(x.shape[0], dtype=np.float32)
    for s in range(0, x.shape[0], chunk_rows):
        c = np.asarray(x[s:s + chunk_rows], dtype=np.float32)
        out[s:s + chunk_rows] = np.sqrt(np.einsum("ij,ij->i", c, c))
    return out


def unit_rows(x: np.ndarray) -> np.ndarray:
    """A new float32 matrix with unit-length rows; zero rows stay zero."""
    n = row_norms(x)
    n[n == 0] = 1.0
    return np.asarray(x, dtype=np.float32) / n[:, None]


def chunked_matmul(x: np.ndarray, w: np.ndarray, chunk_rows: int = _CHUNK_ROWS, *, unit: bool = False) -> np.ndarray:
    """``x @ w`` in float32, row chunk by row chunk (works on memory-mapped ``x``);
    ``unit=True``: ``unit_rows(x) @ w`` without a full normalised copy of ``x``."""
    from .blas import map_rows  # fixed blocks: the same bytes whatever the BLAS threads

    return map_rows(x, w, unit=unit)
