"""Shared fixtures: small synthetic spaces made here, never downloaded."""
from __future__ import annotations

import numpy as np
import pytest


def random_orthogonal(d: int, rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return (q * np.sign(np.diag(r))).astype(np.float32)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def rotated_pair(rng):
    """``Y = X @ Q + noise``: word i of X translates to word i of Y."""
    from xling.data.embeddings import Embeddings

    n, d = 600, 24
    x = rng.standard_normal((n, d)).astype(np.float32)
    q = random_orthogonal(d, rng)
    y = (x @ q + 0.01 * rng.standard_normal((n, d))).astype(np.float32)
    src = Embeddings([f"s{i}" for i in range(n)], x)
    tgt = Embeddings([f"t{i}" for i in range(n)], y)
    return src, tgt, q


@pytest.fixture
def cli():
    """Invoke the real Typer app; returns (exit_code, stdout, stderr)."""
    from typer.testing import CliRunner

    from xling.cli.main import app

    runner = CliRunner()

    def run(*args, input=None):
        res = runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)
        return res.exit_code, res.stdout, res.stderr

    return run
