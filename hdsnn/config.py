"""Parameters as small immutable records, validated on construction.

Three records cover the model contract of DESIGN.md:

- :class:`NetworkConfig`: what the network is (size, delays, neuron);
- :class:`PatternConfig`: what is stored (number, length and statistics of the
  target rasters);
- :class:`TrialConfig`: how a pattern is recalled (pretime, cue semantics and
  the paper's trigger perturbations).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from .validation import check_choice, check_int, check_probability, check_real

__all__ = ["NetworkConfig", "PatternConfig", "TrialConfig", "RESETS", "CUE_MODES", "NOISE_MODES"]

RESETS = ("zero", "subtract")
CUE_MODES = ("clamp", "or")
NOISE_MODES = ("redraw", "flip")
PATTERN_KINDS = ("bernoulli", "sparse")


class _Record:
    """Mixin: dict round trip for JSON metadata."""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict):
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(
                f"{cls.__name__} got unknown fields {sorted(unknown)}; allowed: {sorted(known)}"
            )
        return cls(**data)


@dataclass(frozen=True)
class NetworkConfig(_Record):
    """The recurrent population and its neuron model.

    Parameters
    ----------
    N : int
        Number of neurons (>= 1).
    D : int
        Number of synaptic delays per neuron pair, delays ``1 .. D`` steps (>= 1).
    beta : float
        Membrane leak per step, in [0, 1) (``tau = -dt / ln(beta)``; 0.7 gives 2.8 steps).
    theta : float
        Firing threshold (> 0).
    reset : {'zero', 'subtract'}
        Reset to zero after a spike, or subtract ``theta``.
    dt_ms : float
        Duration of one time step in milliseconds (> 0); used for units only.

    Examples
    --------
    >>> NetworkConfig(N=64, D=11).beta
    0.7
    """

    N: int = 1024
    D: int = 41
    beta: float = 0.7
    theta: float = 1.0
    reset: str = "zero"
    dt_ms: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "N", check_int("N", self.N, minimum=1))
        object.__setattr__(self, "D", check_int("D", self.D, minimum=1))
        object.__setattr__(self, "beta", check_real("beta", self.beta, 0.0, 1.0, open_max=True))
        object.__setattr__(self, "theta", check_real("theta", self.theta, 0.0, open_min=True))
        check_choice("reset", self.reset, RESETS)
        object.__setattr__(self, "dt_ms", check_real("dt_ms", self.dt_ms, 0.0, open_min=True))


@dataclass(frozen=True)
class PatternConfig(_Record):
    """The stored target patterns.

    Parameters
    ----------
    M : int
        Number of patterns (>= 1).
    N : int
        Number of neurons (>= 1).
    T : int
        Steps per pattern (>= 2).
    p_A : float
        Firing probability per neuron per step, in (0, 1).
    kind : {'bernoulli', 'sparse'}
        Plain Bernoulli(p_A) rasters, or the paper's sparse generative model.
    E_S : float
        Standard deviation of the logit evidence of the sparse model (> 0).
    p_SM : float
        Fraction of (neuron, step) entries kept by the sparse model, in (0, 1).
    min_isi : int
        Minimum inter-spike interval of the sparse model in steps (>= 1).
    seed : int
        Seed of the random generator (>= 0).

    Examples
    --------
    >>> PatternConfig(M=4, N=32, T=100, p_A=0.01).kind
    'bernoulli'
    """

    M: int = 16
    N: int = 1024
    T: int = 1000
    p_A: float = 1e-3
    kind: str = "bernoulli"
    E_S: float = 4.0
    p_SM: float = 0.005
    min_isi: int = 4
    seed: int = 0

    def __post_init__(self):
        object.__setattr__(self, "M", check_int("M", self.M, minimum=1))
        object.__setattr__(self, "N", check_int("N", self.N, minimum=1))
        object.__setattr__(self, "T", check_int("T", self.T, minimum=2))
        object.__setattr__(self, "p_A", check_probability("p_A", self.p_A))
        check_choice("kind", self.kind, PATTERN_KINDS)
        object.__setattr__(self, "E_S", check_real("E_S", self.E_S, 0.0, open_min=True))
        object.__setattr__(self, "p_SM", check_probability("p_SM", self.p_SM))
        object.__setattr__(self, "min_isi", check_int("min_isi", self.min_isi, minimum=1))
        object.__setattr__(self, "seed", check_int("seed", self.seed, minimum=0))


@dataclass(frozen=True)
class TrialConfig(_Record):
    """How one pattern is recalled (DESIGN.md recall protocol, PAPER.md perturbations).

    Parameters
    ----------
    pretime : int
        Steps of spontaneous Bernoulli(p_A) activity before the trigger (>= 0).
    posttime : int
        Steps after the pattern, with spontaneous input spikes OR-ed in (>= 0).
    cue : {'clamp', 'or'}
        ``'clamp'`` (default): during pretime and trigger the spikes are exactly
        the cue and the membrane is held at 0. ``'or'`` (the paper's notebooks):
        the network runs throughout and its own spikes are OR-ed with the cue.
    trigger_steps : int or None
        Steps of the trigger window that carry the cue, ``0 .. D`` (None: all D).
    p_flip : float
        Probability, per entry of the cue (pretime and trigger), of a perturbation, in [0, 1].
    noise : {'redraw', 'flip'}
        ``'redraw'`` (the paper's notebook): a perturbed entry is replaced by a
        fresh Bernoulli draw at the cue's mean rate; ``'flip'``: it is inverted.
    silenced : int
        Number of neurons (the first ones) whose cue is removed during the trigger (>= 0).
    seed : int
        Seed of the pretime, posttime and noise draws (>= 0).

    Examples
    --------
    >>> TrialConfig(p_flip=0.25).noise
    'redraw'
    """

    pretime: int = 0
    posttime: int = 0
    cue: str = "clamp"
    trigger_steps: int | None = None
    p_flip: float = 0.0
    noise: str = "redraw"
    silenced: int = 0
    seed: int = 0

    def __post_init__(self):
        object.__setattr__(self, "pretime", check_int("pretime", self.pretime, minimum=0))
        object.__setattr__(self, "posttime", check_int("posttime", self.posttime, minimum=0))
        check_choice("cue", self.cue, CUE_MODES)
        if self.trigger_steps is not None:
            object.__setattr__(
                self, "trigger_steps", check_int("trigger_steps", self.trigger_steps, minimum=0)
            )
        object.__setattr__(
            self, "p_flip", check_probability("p_flip", self.p_flip, open_interval=False)
        )
        check_choice("noise", self.noise, NOISE_MODES)
        object.__setattr__(self, "silenced", check_int("silenced", self.silenced, minimum=0))
        object.__setattr__(self, "seed", check_int("seed", self.seed, minimum=0))
