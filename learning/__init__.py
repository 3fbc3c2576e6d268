"""How weights are found: analytic Hebbian rule and exact least squares.

Examples
--------
>>> from hdsnn.learning import hebbian_init, least_squares_init
"""
from .context import context_matrix, deconvolved_target, dense_context
from .hebbian import DEFAULT_GAIN, hebbian_init, hebbian_init_dense
from .least_squares import LSTSQ_GAIN, least_squares_init, least_squares_pinv

__all__ = [
    "hebbian_init", "hebbian_init_dense", "DEFAULT_GAIN",
    "least_squares_init", "least_squares_pinv", "LSTSQ_GAIN",
    "context_matrix", "deconvolved_target", "dense_context",
]
