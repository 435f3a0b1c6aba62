"""Shared fixtures: small graphs and one short Cora run reused by several tests (the first
fit in a process compiles every pipeline, ~15 s on lavapipe)."""

import numpy as np
import pytest

import argva

EPOCHS = 5


@pytest.fixture(scope="session")
def cora():
    return argva.datasets.cora()


@pytest.fixture(scope="session")
def cora_run(cora):
    return argva.fit(cora, epochs=EPOCHS, seed=3, progress=False)


@pytest.fixture()
def ring():
    """A 12-node ring with 2 chords, 4 features, 2 classes."""
    rng = np.random.default_rng(0)
    n = 12
    edges = [(i, (i + 1) % n) for i in range(n)] + [(0, 6), (3, 9)]
    x = rng.random((n, 4)).astype(np.float32)
    y = np.arange(n) % 2
    return np.array(edges, dtype=np.int64).T, x, y
