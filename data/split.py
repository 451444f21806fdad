"""Train/test splits of a dictionary by source word (MUSE style), never leaking a source word.

All translations of a source word go to the same side. ``frequency``: train takes the most
frequent source words, test the next band (MUSE: 5,000 train words, then 1,500 test words);
frequency is the rank in a vocabulary (``.vec`` files list words most frequent first).
``random``: a seeded shuffle of the source words.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

import numpy as np

from .dictionary import BilingualDictionary
from .errors import XlingError


class SplitMode(str, Enum):
    frequency = "frequency"
    random = "random"


@dataclass(frozen=True)
class SplitReport:
    mode: str
    src_words: int
    train_words: int
    test_words: int
    train_pairs: int
    test_pairs: int
    unranked_words: int  # frequency mode: source words not in the ranking vocabulary (left out)
    unused_words: int  # ranked words beyond train + test

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def split_dictionary(d: BilingualDictionary, *, mode: SplitMode = SplitMode.frequency,
                     train_size: int | None = 5000, test_size: int | None = 1500,
                     ranks: Mapping[str, int] | None = None, seed: int = 0,
                     test_fraction: float | None = None) -> tuple[BilingualDictionary, BilingualDictionary,
                                                                   SplitReport]:
    """Split ``d`` into (train, test) by source word.

    Parameters
    ----------
    d : the dictionary.
    mode : ``frequency`` (needs ``ranks``) or ``random`` (uses ``seed``).
    train_size, test_size : numbers of source words (None: all the remaining words).
    ranks : ``word -> rank`` (0 = most frequent), e.g. ``emb.key_to_index``; frequency mode
        leaves out (and counts) source words without a rank.
    seed : random mode's seed (same seed, same split).
    test_fraction : random mode only: test gets this fraction of the source words (overrides
        the sizes).

    Returns
    -------
    (train, test, SplitReport). Pairs keep the input order within each part.
    """
    mode = SplitMode(mode)
    words = d.src_words
    unranked = 0
    # 1. order the source words
    if mode is SplitMode.frequency:
        if ranks is None:
            raise XlingError("a frequency split needs a ranking vocabulary (e.g. --src vectors)")
        ranked = [w for w in words if w in ranks]
        unranked = len(words) - len(ranked)
        order = sorted(ranked, key=lambda w: ranks[w])
    else:
        rng = np.random.default_rng(seed)
        order = [words[i] for i in rng.permutation(len(words))]
        if test_fraction is not None:
            if not 0.0 < test_fraction < 1.0:
                raise XlingError("test fraction must be between 0 and 1")
            n_test = int(round(test_fraction * len(order)))
            order = order[n_test:] + order[:n_test]
            train_size, test_size = len(order) - n_test, n_test
    # 2. cut: train = first band, test = the next band
    n_train = len(order) if train_size is None else min(train_size, len(order))
    train_w = set(order[:n_train])
    rest = order[n_train:]
    n_test = len(rest) if test_size is None else min(test_size, len(rest))
    test_w = set(rest[:n_test])
    if not test_w and test_size != 0:
        raise XlingError(f"no source word left for the test set ({len(order)} usable source words, "
                         f"{n_train} went to train): lower --train-size")
    train = d.select([s in train_w for s, _ in d.pairs])
    test = d.select([s in test_w for s, _ in d.pairs])
    rep = SplitReport(mode.value, len(words), len(train_w), len(test_w), len(train), len(test), unranked,
                      len(order) - len(train_w) - len(test_w))
    return train, test, rep
