"""Parameters as small immutable records that declare their constraints as data.

Each field of a record is declared once with :func:`param`: its default, its
range or choices, its unit and its help text. The record validates every field
on construction from that declaration (a quantity is converted to the field's
unit, see :mod:`hdsnn.units`), and the command line builds its options from
the same declarations (:func:`options`), so a default, a range or a unit is
written in one place only.

Three records cover the model contract of DESIGN.md:

- :class:`NetworkConfig`: what the network is (size, delays, neuron);
- :class:`PatternConfig`: what is stored (number, length and statistics of the
  target rasters);
- :class:`TrialConfig`: how a pattern is recalled (pretime, cue semantics and
  the paper's trigger perturbations).

Examples
--------
>>> [(o.name, o.default, o.help) for o in options(NetworkConfig)][:2]
[('N', 1024, 'number of neurons'), ('D', 41, 'number of synaptic delays per neuron pair, 1 .. D steps')]
>>> NetworkConfig(beta=1.5)
Traceback (most recent call last):
...
ValueError: beta must be in [0.0, 1.0); got 1.5
"""
from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field, fields, replace

from .units import magnitude
from .validation import check_choice, check_int, check_real

__all__ = ["Record", "param", "options", "Option", "resolve_options", "NetworkConfig", "PatternConfig", "TrialConfig",
           "RESETS", "CUE_MODES", "NOISE_MODES", "PATTERN_KINDS"]

RESETS = ("zero", "subtract")
CUE_MODES = ("clamp", "or")
NOISE_MODES = ("redraw", "flip")
PATTERN_KINDS = ("bernoulli", "sparse")


def param(default, help: str, *, minimum=None, maximum=None, open_min: bool = False, open_max: bool = False,
          choices: tuple | None = None, unit: str | None = None, cli: bool = True, aliases: tuple = ()):
    """A record field with its constraints, unit and help, as dataclass metadata.

    ``minimum``/``maximum`` bound numbers (``open_*``: strict); ``choices``
    lists the allowed strings; ``unit`` is the unit a float is read in (a
    quantity is converted); ``cli=False`` keeps the field off the command line;
    ``aliases`` are other names of its command-line flag.
    """
    spec = {"help": help, "minimum": minimum, "maximum": maximum, "open_min": open_min, "open_max": open_max,
            "choices": None if choices is None else tuple(choices), "unit": unit, "cli": cli,
            "aliases": tuple(aliases)}
    return field(default=default, metadata={"hdsnn": spec})


@dataclass(frozen=True)
class Option:
    """One declared field of a record, as the command line sees it."""

    name: str
    kind: str                   # 'int', 'float', 'str' or 'bool'
    optional: bool              # None allowed
    default: object
    help: str
    minimum: object = None
    maximum: object = None
    open_min: bool = False
    open_max: bool = False
    choices: tuple | None = None
    unit: str | None = None
    cli: bool = True
    aliases: tuple = ()


def _kind(annotation) -> tuple[str, bool]:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    parts = [p.strip() for p in text.split("|")]
    kinds = [p for p in parts if p != "None"]
    if len(kinds) != 1 or kinds[0] not in ("int", "float", "str", "bool"):
        raise TypeError(f"a param field must be int, float, str or bool (optionally | None); got {text}")
    return kinds[0], "None" in parts


def options(record) -> list[Option]:
    """The declared fields of a record class (or instance), in order."""
    out = []
    for f in fields(record):
        spec = f.metadata.get("hdsnn")
        if spec is None:
            continue
        kind, optional = _kind(f.type)
        default = f.default if f.default is not MISSING else None
        out.append(Option(f.name, kind, optional, default, **spec))
    return out


def check_option(option: Option, value):
    """Validate one value against its declaration; returns the value as stored."""
    name = option.name
    if value is None:
        if option.optional:
            return None
        raise ValueError(f"{name} must be given (None is not allowed)")
    if option.unit is not None:
        value = magnitude(name, value, option.unit)
    if option.kind == "int":
        return check_int(name, value, option.minimum, option.maximum)
    if option.kind == "float":
        return check_real(name, value, option.minimum, option.maximum, open_min=option.open_min,
                          open_max=option.open_max)
    if option.kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be True or False; got {value!r}")
        return value
    if option.choices is not None:
        return check_choice(name, value, option.choices)
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string; got {value!r} ({type(value).__name__})")
    return value


def resolve_options(record: type, owner: str, options: dict):
    """The options record of a registry entry from keyword options (or ``config=`` an instance of it).

    ``owner`` names the entry in errors (``"method 'hebbian'"``); an option the record
    does not declare is refused with the list of those it does.

    Examples
    --------
    >>> resolve_options(TrialConfig, "simulator 'torch'", {"p_flip": 0.25}).p_flip
    0.25
    >>> resolve_options(TrialConfig, "simulator 'torch'", {"top_k": 3})
    Traceback (most recent call last):
    ...
    ValueError: simulator 'torch' takes the options cue, noise, p_flip, posttime, pretime, seed, silenced, trigger_steps; got top_k
    """
    options = dict(options)
    config = options.pop("config", None)
    allowed = sorted(f.name for f in fields(record))
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"{owner} takes the options {', '.join(allowed)}; got {', '.join(unknown)}")
    if config is None:
        return record(**options)
    if not isinstance(config, record):
        raise ValueError(f"config must be a {record.__name__} for {owner}; got {type(config).__name__}")
    return replace(config, **options)


class Record:
    """Base of the frozen parameter records: validation from the declarations, dict round trip.

    Subclasses are frozen dataclasses whose fields are declared with :func:`param`;
    cross-field rules go in ``_check(self)``.
    """

    def __post_init__(self):
        for option in options(self):
            object.__setattr__(self, option.name, check_option(option, getattr(self, option.name)))
        self._check()

    def _check(self) -> None:
        """Rules that involve several fields (none by default)."""

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
class NetworkConfig(Record):
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

    N: int = param(1024, "number of neurons", minimum=1)
    D: int = param(41, "number of synaptic delays per neuron pair, 1 .. D steps", minimum=1)
    beta: float = param(0.7, "membrane leak per step", minimum=0.0, maximum=1.0, open_max=True)
    theta: float = param(1.0, "firing threshold", minimum=0.0, open_min=True)
    reset: str = param("zero", "reset after a spike: to zero, or subtract theta", choices=RESETS)
    dt_ms: float = param(1.0, "duration of one time step", minimum=0.0, open_min=True, unit="ms", cli=False)


@dataclass(frozen=True)
class PatternConfig(Record):
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

    M: int = param(16, "number of patterns", minimum=1)
    N: int = param(1024, "number of neurons", minimum=1)
    T: int = param(1000, "steps per pattern (1 step = 1 ms)", minimum=2)
    p_A: float = param(1e-3, "firing probability per neuron per step", minimum=0.0, maximum=1.0,
                       open_min=True, open_max=True)
    kind: str = param("bernoulli", "bernoulli(p_A) rasters or the paper's sparse generative model",
                      choices=PATTERN_KINDS)
    E_S: float = param(4.0, "standard deviation of the sparse model's logit evidence", minimum=0.0, open_min=True)
    p_SM: float = param(0.005, "fraction of entries kept by the sparse model", minimum=0.0, maximum=1.0,
                        open_min=True, open_max=True)
    min_isi: int = param(4, "minimum inter-spike interval of the sparse model (steps)", minimum=1)
    seed: int = param(0, "random seed", minimum=0)


@dataclass(frozen=True)
class TrialConfig(Record):
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

    pretime: int = param(0, "steps of spontaneous activity before the trigger", minimum=0)
    posttime: int = param(0, "steps after the pattern", minimum=0)
    cue: str = param("clamp", "clamp: spikes forced to the cue, membrane held at 0; or: cue OR-ed with the network",
                     choices=CUE_MODES)
    trigger_steps: int | None = param(None, "steps of the trigger window that carry the cue (default: all D)",
                                      minimum=0)
    p_flip: float = param(0.0, "probability of perturbing each cue entry", minimum=0.0, maximum=1.0)
    noise: str = param("redraw", "redraw: fresh Bernoulli at the cue's rate; flip: invert the entry",
                       choices=NOISE_MODES)
    silenced: int = param(0, "neurons (the first ones) whose cue is removed", minimum=0)
    seed: int = param(0, "seed of pretime, posttime and noise draws", minimum=0)
