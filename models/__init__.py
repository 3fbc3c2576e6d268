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

# Brian2 export and the discrete-equivalent Brian2 network (issue 4).
from .export import SynapseList, check_memory, count_kept, estimate_memory, export_synapses  # noqa: E402
from .brian2_exact import Brian2Simulation, simulate_brian2  # noqa: E402

__all__ += ["SynapseList", "export_synapses", "count_kept", "estimate_memory", "check_memory",
            "Brian2Simulation", "simulate_brian2"]
from .brian2_recall import Brian2Recall, recall_brian2  # noqa: E402

__all__ += ["Brian2Recall", "recall_brian2"]
from .connectivity import DelayDistribution, dense_mask, masked_hebbian_init, random_mask  # noqa: E402

__all__ += ["DelayDistribution", "dense_mask", "random_mask", "masked_hebbian_init"]
from .brian2_neurons import NEURON_MODELS, NeuronModel, calibrate_efficacy, recall_neurons  # noqa: E402

__all__ += ["NEURON_MODELS", "NeuronModel", "recall_neurons", "calibrate_efficacy"]
