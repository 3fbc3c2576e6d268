"""What the network is: patterns, the recall protocol, the simulators and the contract's scores.

Examples
--------
>>> from hdsnn.models import bernoulli_patterns, recall
"""
from .patterns import bernoulli_patterns, firing_probability, make_patterns, sparse_patterns
from .trial import Trials, make_trials, perturb_cue, sequential_trials
from .simulate import Simulation, apply_guard, lif_step, simulate, simulate_dense
from .scores import Matching, Scores, confusion, match_spikes, score, spike_time_score, tolerant_score
from .connectivity import DelayDistribution, SynapseConfig, delay_histogram, dense_mask, random_mask, random_synapses
from .export import (SynapseList, check_memory, check_synapses, count_kept, estimate_memory, export_synapses,
                     load_synapses, load_weights_or_synapses, save_synapses)
from .noise import background_noise
from .replica import simulate_replica
from .linearised import linearised_synapses, psp_peak, rest_scale, threshold_distance
from .recall import NEURONS, SIMULATORS, Brian2Options, Recall, TorchNeuronOptions, TorchOptions, recall

__all__ = [
    # patterns and trials
    "bernoulli_patterns", "sparse_patterns", "make_patterns", "firing_probability",
    "Trials", "make_trials", "sequential_trials", "perturb_cue",
    # discrete-time simulation
    "lif_step", "simulate", "simulate_dense", "apply_guard", "Simulation",
    # the contract's scores
    "Scores", "confusion", "score", "Matching", "match_spikes", "tolerant_score", "spike_time_score",
    # connectivity and export
    "DelayDistribution", "dense_mask", "random_mask", "random_synapses", "delay_histogram", "SynapseConfig",
    "SynapseList", "export_synapses", "count_kept", "estimate_memory", "check_memory", "check_synapses",
    # synapse files (with real-valued delays)
    "save_synapses", "load_synapses", "load_weights_or_synapses",
    # continuous-time neurons in torch (the replica of the Brian2 models)
    "simulate_replica", "background_noise",
    # weights carried from one neuron model to another through the efficacy at rest
    "linearised_synapses", "psp_peak", "rest_scale", "threshold_distance",
    # the recall front door
    "recall", "Recall", "SIMULATORS", "NEURONS", "TorchOptions", "Brian2Options", "TorchNeuronOptions",
]
