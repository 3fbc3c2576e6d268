"""hdsnn: working memory in recurrent spiking networks with heterogeneous synaptic delays.

A population of N neurons whose synapses each carry D delays (weights
``W[post, pre, delay-1]`` of shape ``(N, N, D)``) stores M spike patterns and
replays any of them from its first D steps.

Examples
--------
>>> import hdsnn
>>> P = hdsnn.bernoulli_patterns(M=4, N=128, T=200, p_A=0.01, seed=0)
>>> W = hdsnn.hebbian_init(P, D=21)
>>> result = hdsnn.recall(W, P)
>>> result.scores.pooled()["f1"] > 0.9
True
"""
__version__ = "0.1.0"

from .config import NetworkConfig, PatternConfig, TrialConfig  # noqa: E402
from .api import recall, Recall  # noqa: E402
from .io import load_raster, load_weights, save_raster, save_weights  # noqa: E402
from .models import bernoulli_patterns, make_patterns, simulate, sparse_patterns  # noqa: E402
from .learning import hebbian_init, least_squares_init  # noqa: E402

__all__ = [
    "__version__", "NetworkConfig", "PatternConfig", "TrialConfig",
    "recall", "Recall", "bernoulli_patterns", "sparse_patterns", "make_patterns", "simulate",
    "hebbian_init", "least_squares_init",
    "save_raster", "load_raster", "save_weights", "load_weights",
]
