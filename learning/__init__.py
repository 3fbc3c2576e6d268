"""How weights are found: analytic Hebbian rule, exact least squares, teacher-forced margin, BPTT and STDP.

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
from .surrogate import Surrogate, spike  # noqa: E402
from .delay_lif import delay_lif, delay_lif_counts, delay_lif_dense  # noqa: E402
from .bptt import TrainConfig, TrainResult, f1_loss, f1_loss_from_counts, learning_rate, train  # noqa: E402

__all__ += ["Surrogate", "spike", "delay_lif", "delay_lif_counts", "delay_lif_dense",
            "TrainConfig", "TrainResult", "train", "f1_loss", "f1_loss_from_counts", "learning_rate"]
from .stdp import STDPConfig, STDPResult, learn_stdp, stdp_closed_form, stdp_event_loop  # noqa: E402

__all__ += ["STDPConfig", "STDPResult", "learn_stdp", "stdp_closed_form", "stdp_event_loop"]
from .margin import MarginConfig, MarginResult, count_violations, margin_init, margin_loss, teacher_forced_membrane  # noqa: E402

__all__ += ["MarginConfig", "MarginResult", "margin_init", "teacher_forced_membrane", "count_violations",
            "margin_loss"]
