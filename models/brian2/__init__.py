"""Brian2 networks: the discrete-equivalent network and continuous-time neuron models.

Brian2 is imported when a network is built, never on import of this package.
:func:`~hdsnn.models.brian2.context.brian2_context` owns Brian2's global settings
during a run and restores the user's afterwards.
"""
from .context import COMPILE_ARGS, TARGETS, brian2_context, check_target
from .exact import EQUATIONS, Brian2Simulation, simulate_brian2
from .neurons import (METHODS, NEURON_MODELS, NeuronModel, NeuronSimulation, calibrate_efficacy, evaluate_parameters,
                      simulate_neurons)

__all__ = [
    "brian2_context", "check_target", "TARGETS", "COMPILE_ARGS",
    "EQUATIONS", "Brian2Simulation", "simulate_brian2",
    "NEURON_MODELS", "NeuronModel", "METHODS", "NeuronSimulation", "simulate_neurons", "calibrate_efficacy",
    "evaluate_parameters",
]
