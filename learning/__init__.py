"""How weights are found, behind ``learn(targets, method)``: Hebbian rule, least squares, margin, BPTT, STDP,
learned delays, and learning in a neuron model's own dynamics.

Examples
--------
>>> from hdsnn.learning import learn, LEARNERS
>>> sorted(LEARNERS)
['bptt', 'delays', 'hebbian', 'lstsq', 'margin', 'margin_neurons', 'neuron_fit', 'stdp']
"""
from .context import check_patterns, context_matrix, deconvolved_target, dense_context
from .hebbian import DEFAULT_GAIN, hebbian_init, hebbian_init_dense, hebbian_scale, masked_hebbian_init
from .least_squares import LSTSQ_GAIN, least_squares_init, least_squares_pinv
from .surrogate import Surrogate, spike
from .delay_lif import delay_lif, delay_lif_counts, delay_lif_dense
from .bptt import TrainConfig, TrainResult, f1_loss, f1_loss_from_counts, learning_rate, train
from .stdp import STDPConfig, stdp_closed_form, stdp_event_loop
from .stdp_brian2 import stdp_brian2
from .margin import MarginConfig, MarginResult, count_violations, margin_init, margin_loss, teacher_forced_membrane
from .margin_neurons import NeuronMarginConfig, NeuronMarginResult, neuron_margin_init, neuron_membrane, neuron_violations, replay
from .closed_loop_bptt import NeuronTrainConfig, NeuronTrainResult, neuron_bptt
from .teacher_forced import NeuronFitConfig, NeuronFitResult, neuron_fit, replay_fit
from .delays import DelayConfig, DelayResult, delay_sigma, learn_delays, rounded_weights, spread_synapses, tap_kernel
from .learn import LEARNERS, HebbianOptions, Learned, LstsqOptions, StdpOptions, learn

__all__ = [
    # the learning front door
    "learn", "Learned", "LEARNERS", "HebbianOptions", "LstsqOptions", "StdpOptions",
    # analytic rules
    "hebbian_init", "hebbian_init_dense", "masked_hebbian_init", "hebbian_scale", "DEFAULT_GAIN",
    "least_squares_init", "least_squares_pinv", "LSTSQ_GAIN",
    "context_matrix", "deconvolved_target", "dense_context", "check_patterns",
    # gradient learning
    "Surrogate", "spike", "delay_lif", "delay_lif_counts", "delay_lif_dense",
    "TrainConfig", "TrainResult", "train", "f1_loss", "f1_loss_from_counts", "learning_rate",
    # margin learning
    "MarginConfig", "MarginResult", "margin_init", "teacher_forced_membrane", "count_violations", "margin_loss",
    "NeuronMarginConfig", "NeuronMarginResult", "neuron_margin_init", "neuron_membrane", "neuron_violations", "replay",
    # training in a nonlinear neuron model's own dynamics
    "NeuronTrainConfig", "NeuronTrainResult", "neuron_bptt", "NeuronFitConfig", "NeuronFitResult", "neuron_fit",
    "replay_fit",
    # learned delays
    "DelayConfig", "DelayResult", "learn_delays", "spread_synapses", "tap_kernel", "delay_sigma", "rounded_weights",
    # STDP
    "STDPConfig", "stdp_closed_form", "stdp_event_loop", "stdp_brian2",
]
