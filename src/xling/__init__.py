"""xling: cross-lingual embeddings -- alignment, bilingual lexicon induction and evaluation,
anchor dictionaries, CADE, vocabulary expansion.

The subpackages are ``xling.data`` (vectors, dictionaries, formats), ``xling.lexicon``
(nearest neighbours, retrieval, induction, evaluation), ``xling.align`` (normalisation,
Procrustes, refinement, recipes, CADE), ``xling.vocab`` (vocabulary expansion) and
``xling.cli`` (the ``xling`` command).

The main types are importable from here, loaded on first use so that ``import xling``
stays instant (no numpy, torch or faiss until a name is touched)::

    >>> import xling
    >>> xling.__version__                       # doctest: +SKIP
    '0.1.0'
    >>> emb = xling.load_embeddings("en.vec")   # doctest: +SKIP

``xling.align`` is the alignment subpackage; the alignment function itself is
``xling.align.align`` (also reachable as ``xling.align_spaces``).
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("xling")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"



# public name -> (module, attribute); each module is imported on first access only
_LAZY: dict[str, tuple[str, str]] = {
    # data
    "Embeddings": ("xling.data.embeddings", "Embeddings"),
    "load_embeddings": ("xling.data.vectors", "load_embeddings"),
    "save_embeddings": ("xling.data.vectors", "save_embeddings"),
    "BilingualDictionary": ("xling.data.dictionary", "BilingualDictionary"),
    "read_dictionary": ("xling.data.dictionary", "read_dictionary"),
    "write_dictionary": ("xling.data.dictionary", "write_dictionary"),
    # align
    "AlignConfig": ("xling.align.pipeline", "AlignConfig"),
    "AlignResult": ("xling.align.pipeline", "AlignResult"),
    "Recipe": ("xling.align.pipeline", "Recipe"),
    "make_config": ("xling.align.pipeline", "make_config"),
    "align_spaces": ("xling.align.pipeline", "align"),
    "procrustes": ("xling.align.procrustes", "procrustes"),
    # lexicon
    "knn": ("xling.lexicon.knn", "knn"),
    "Retrieval": ("xling.lexicon.retrieval", "Retrieval"),
    "translate": ("xling.lexicon.retrieval", "translate"),
    "induce": ("xling.lexicon.induce", "induce"),
    "evaluate": ("xling.lexicon.evaluate", "evaluate"),
    "EvalResult": ("xling.lexicon.evaluate", "EvalResult"),
}
_SUBPACKAGES = ("align", "cli", "data", "lexicon", "vocab")

__all__ = [
    "__version__",
    "Embeddings", "load_embeddings", "save_embeddings",
    "BilingualDictionary", "read_dictionary", "write_dictionary",
    "AlignConfig", "AlignResult", "Recipe", "make_config", "align_spaces", "procrustes",
    "knn", "Retrieval", "translate", "induce", "evaluate", "EvalResult",
    "align", "cli", "data", "lexicon", "vocab",
]  # tests/test_package.py checks that this matches _LAZY and _SUBPACKAGES


def __getattr__(name: str) -> Any:
    if name == "__version__":
        globals()["__version__"] = v = _version()
        return v
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value  # cache: later lookups skip __getattr__
        return value
    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'xling' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({n for n in globals() if n.startswith("__")} | set(__all__))


if TYPE_CHECKING:  # for type checkers and IDEs; never executed
    __version__: str
    from xling.align.pipeline import AlignConfig, AlignResult, Recipe, make_config
    from xling.align.pipeline import align as align_spaces
    from xling.align.procrustes import procrustes
    from xling.data.dictionary import BilingualDictionary, read_dictionary, write_dictionary
    from xling.data.embeddings import Embeddings
    from xling.data.vectors import load_embeddings, save_embeddings
    from xling.lexicon.evaluate import EvalResult, evaluate
    from xling.lexicon.induce import induce
    from xling.lexicon.knn import knn
    from xling.lexicon.retrieval import Retrieval, translate
