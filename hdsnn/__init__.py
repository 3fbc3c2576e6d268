"""hdsnn: working memory in recurrent spiking networks with heterogeneous synaptic delays.

A population of N neurons whose synapses each carry D delays (weights
``W[post, pre, delay-1]`` of shape ``(N, N, D)``) stores M spike patterns and
replays any of them from its first D steps. Three front doors, one per stage:
``learn(targets, method)``, ``recall(W, targets, simulator=...)`` and
``analyze(targets, recalled, D, out)``.

Examples
--------
>>> import hdsnn
>>> P = hdsnn.bernoulli_patterns(M=4, N=128, T=200, p_A=0.01, seed=0)
>>> W = hdsnn.learn(P, "hebbian", D=21).W
>>> result = hdsnn.recall(W, P)
>>> result.scores.pooled()["f1"] > 0.9
True
"""
__version__ = "0.1.0"

# ground: parameters and files
from .config import NetworkConfig, PatternConfig, TrialConfig
from .io import load_raster, load_weights, save_raster, save_weights
# stage 1, patterns
from .models import bernoulli_patterns, make_patterns, simulate, sparse_patterns
# stage 2, the analytic rules as building blocks
from .learning import hebbian_init, least_squares_init
# the front doors of learning, recall and analysis
from .api import LEARNERS, SIMULATORS, Learned, Recall, analyze, learn, recall

__all__ = [
    "__version__", "NetworkConfig", "PatternConfig", "TrialConfig",
    "save_raster", "load_raster", "save_weights", "load_weights",
    "bernoulli_patterns", "sparse_patterns", "make_patterns", "simulate", "hebbian_init", "least_squares_init",
    "learn", "Learned", "LEARNERS", "recall", "Recall", "SIMULATORS", "analyze",
]
