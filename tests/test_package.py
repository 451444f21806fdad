"""The top-level ``xling`` package: version, lazy names, and where it is imported from."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import xling

ROOT = Path(__file__).resolve().parents[1]


def test_version_is_the_installed_distribution():
    from importlib.metadata import version

    assert xling.__version__ == version("xling")
    assert xling.__version__[0].isdigit()


def test_import_is_lazy():
    code = ("import sys, xling; "
            "print(sorted(m for m in ['numpy', 'torch', 'faiss', 'gensim', 'xling.data', 'xling.align'] "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_every_public_name_resolves():
    from xling.align.pipeline import AlignConfig, align
    from xling.data.embeddings import Embeddings

    assert set(xling.__all__) == {"__version__", *xling._LAZY, *xling._SUBPACKAGES}
    for name in xling._LAZY:
        assert getattr(xling, name) is not None, name
    assert xling.Embeddings is Embeddings and xling.AlignConfig is AlignConfig
    assert xling.align_spaces is align
    for sub in xling._SUBPACKAGES:
        assert getattr(xling, sub).__name__ == f"xling.{sub}"
    assert set(xling.__all__) <= set(dir(xling))


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        xling.nonexistent  # noqa: B018


def test_checkout_does_not_shadow_the_installed_package(tmp_path):
    # `python -m pytest` puts the repository root first on sys.path: nothing there may be taken for
    # the package, so xling imports the same files from the root as from any other folder
    # (the installed wheel, or the source folders for an editable install).
    assert not (ROOT / "xling").exists()
    code = "import xling, xling.align as a; print(xling.__file__); print(a.__file__)"

    def where(cwd):
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              cwd=cwd).stdout

    assert where(ROOT) == where(tmp_path)
    assert Path(where(ROOT).split()[0]).parent.name == "xling"
