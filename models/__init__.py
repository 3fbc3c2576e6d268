"""What the network is: patterns, the recall protocol and the simulators.

Examples
--------
>>> from hdsnn.models import bernoulli_patterns, make_trials, simulate
"""
from .patterns import bernoulli_patterns, firing_probability, make_patterns, sparse_patterns
from .simulate import Simulation, lif_step, simulate, simulate_dense
from .trial import Trials, make_trials, perturb_cue, sequential_trials

__all__ = [
    "bernoulli_patterns", "sparse_patterns", "make_patterns", "firing_probability",
    "Trials", "make_trials", "sequential_trials", "perturb_cue",
    "lif_step", "simulate", "simulate_dense", "Simulation",
]
