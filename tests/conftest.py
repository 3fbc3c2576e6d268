import pytest
import torch

from hdsnn.models import bernoulli_patterns

import sys
from pathlib import Path

# tests in the subfolders import dyadic_weights from here (pytest runs with --import-mode=importlib)
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def small_patterns():
    """A small benchmark the Hebbian rule recalls almost perfectly: M=4, N=512, T=300, p_A=3e-3."""
    return bernoulli_patterns(4, 512, 300, 3e-3, seed=11)


def dyadic_weights(N, D, density=0.3, seed=0, scale=16):
    """Random weights that are multiples of 1/scale: every sum is exact in float32."""
    g = torch.Generator().manual_seed(seed)
    W = torch.randint(-8, 8, (N, N, D), generator=g).float() / scale
    return W * (torch.rand(N, N, D, generator=g) < density)
