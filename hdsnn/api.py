"""The front doors and the file workflows that the command line runs.

``learn`` (:mod:`hdsnn.learning.learn`), ``recall`` (:mod:`hdsnn.models.recall`)
and ``analyze`` (:mod:`hdsnn.analysis.report`) work on arrays. The functions
here do the same work from and to files, with every output path checked
before any work starts, so that a mistyped ``--out`` never costs a run and
never overwrites an input:

- :func:`demo`: the paper benchmark (patterns, Hebbian weights, recall, scores, figure);
- :func:`patterns_file`, :func:`learn_file`, :func:`recall_file`, :func:`analyze_files`.

Each returns a dict that says what was done (the CLI prints it).

Weights learned in a continuous-time neuron (``margin_neurons``) are written as a
synapse file (:func:`hdsnn.models.save_synapses`: each synapse with its real-valued
delay where it has one) whose metadata ``learned_for`` records the neuron model,
the delays, ``dt_ms``, ``delay_shift_ms``, the efficacy and the trigger they were
learned for. :func:`recall_file` reads either kind of weights file, replays such
weights with those settings where the call gives none (:func:`replay_settings`)
and warns (:class:`LearnedForWarning`) where a requested setting differs.
"""
from __future__ import annotations

import os
import time
import warnings
from dataclasses import replace
from pathlib import Path

from .config import NetworkConfig, PatternConfig, TrialConfig
from .validation import check_device
from .io import load_raster, load_weights, save_figure, save_raster, save_weights, write_json
from .analysis.plots import plot_recall
from .analysis.files import read_rasters
from .analysis.report import analyze
from .learning.learn import LEARNERS, Learned, learn
from .models import make_patterns
from .models.connectivity import SynapseConfig
from .models.export import SynapseList, load_weights_or_synapses, save_synapses
from .models.recall import SIMULATORS, Recall, recall

__all__ = ["learn", "recall", "analyze", "Learned", "Recall", "LEARNERS", "SIMULATORS", "demo", "patterns_file",
           "learn_file", "recall_file", "analyze_files", "check_outputs", "replay_settings", "LearnedForWarning"]


class LearnedForWarning(UserWarning):
    """A recall asks for another neuron model, delays or step than the weights were learned for."""


def check_outputs(outputs: dict, inputs=(), *, folders=()) -> None:
    """Check output paths before any work: suffix, not an input, not a folder (or a file), writable parent.

    Parameters
    ----------
    outputs : dict name -> (path, suffix or None)
        Files to be written, by option name (``'--out'``).
    inputs : iterable of paths
        Files that are read: no output may be one of them.
    folders : iterable of (name, path)
        Folders to be written.

    Examples
    --------
    >>> check_outputs({"--out": ("w.json", ".npz")})
    Traceback (most recent call last):
    ...
    ValueError: --out must end in .npz; got 'w.json'
    """
    read = {Path(p).resolve() for p in inputs if p is not None}
    for name, (path, suffix) in outputs.items():
        path = Path(path)
        if suffix is not None and path.suffix != suffix:
            raise ValueError(f"{name} must end in {suffix}; got {str(path)!r}")
        if path.resolve() in read:
            raise ValueError(f"{name} {str(path)!r} is also an input file: it would be overwritten; "
                             f"choose another name")
        if path.is_dir():
            raise ValueError(f"{name} must be a file name; {str(path)!r} is a folder")
        _writable(name, path.parent)
    for name, path in folders:
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise ValueError(f"{name} must be a folder; {str(path)!r} is a file")
        if path.resolve() in read:
            raise ValueError(f"{name} {str(path)!r} is also an input")
        _writable(name, path)


def _writable(name: str, folder: Path) -> None:
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"{name}: {str(existing)!r} is a file, so {str(folder)!r} cannot be created")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{name}: the folder {str(existing)!r} is not writable")


def demo(*, patterns: PatternConfig | None = None, net: NetworkConfig | None = None, gain: float | None = None,
         out="hdsnn-demo", device: str = "cpu") -> dict:
    """The paper benchmark: patterns, Hebbian weights, recall of every pattern, scores and a figure.

    Writes ``out/results.json`` and ``out/recall_pattern0.png``/``.svg``; returns what
    ``results.json`` holds, plus the scores object under ``'_scores'``.
    """
    patterns = patterns or PatternConfig()
    net = net or NetworkConfig(N=patterns.N)
    if net.N != patterns.N:
        raise ValueError(f"net.N ({net.N}) must equal patterns.N ({patterns.N})")
    out = Path(out)
    check_outputs({}, folders=[("--out", out)])
    check_device("device", device)
    options = {} if gain is None else {"gain": gain}
    stages = {}
    t0 = time.perf_counter()
    targets = make_patterns(patterns)
    stages["patterns"] = time.perf_counter() - t0
    learned = learn(targets, "hebbian", net=net, **options)
    stages["hebbian init"] = learned.seconds
    t0 = time.perf_counter()
    result = recall(learned.W, targets, net=net, device=device)
    stages["recall"] = time.perf_counter() - t0
    stages["total"] = sum(stages.values())
    f1 = result.scores.f1[0]
    figure = save_figure(plot_recall(targets, result.raster, net.D, pattern=0,
                                     title=f"pattern 0: target and recall (F1 = {f1:.4f})"), out / "recall_pattern0")
    results = {"patterns": patterns.to_dict(), "network": net.to_dict(), "gain": learned.options["gain"],
               "scores": result.scores.to_dict(), "runaway": result.runaway.tolist(), "wall_time_s": stages,
               "figure": [str(p) for p in figure]}
    write_json(out / "results.json", results)
    return {**results, "_scores": result.scores, "files": [str(out / "results.json"), *results["figure"]]}


def patterns_file(config: PatternConfig, out) -> dict:
    """Generate target patterns and write them to ``out`` (.npz)."""
    check_outputs({"--out": (out, ".npz")})
    raster = make_patterns(config)
    path = save_raster(out, raster, config=config.to_dict())
    return {"files": [str(path)], "shape": list(raster.shape), "spikes": int(raster.sum()),
            "rate": float(raster.float().mean())}


def learn_file(patterns, out, method: str = "hebbian", *, net: NetworkConfig | None = None, D: int | None = None,
               init_weights=None, mask=None, run_dir=None, resume: bool = False, progress: bool | None = None,
               executor=None, synapse_config: SynapseConfig | None = None, **options) -> dict:
    """Learn weights from a patterns file and write them, with their metadata, to ``out`` (.npz).

    Dense weights go to a weight file (:func:`hdsnn.io.save_weights`); a learner that works on a
    synapse list (``margin_neurons``, ``delays``) writes a synapse file (:func:`hdsnn.models.save_synapses`),
    its metadata ``learned_for`` completed with ``delays``: the whole-ms channels, or the draws of
    ``synapse_config`` (a :class:`~hdsnn.models.SynapseConfig`, ``margin_neurons`` only).

    Raises
    ------
    ValueError
        A bad output path (before any work), a synapse_config for another method, or what
        :func:`hdsnn.learn` refuses.
    """
    check_outputs({"--out": (out, ".npz")}, inputs=[patterns, init_weights],
                  folders=[("--run-dir", run_dir)] if run_dir is not None else ())
    if synapse_config is not None and not isinstance(synapse_config, SynapseConfig):
        raise ValueError(f"synapse_config must be a SynapseConfig; got {type(synapse_config).__name__}")
    if synapse_config is not None and synapse_config.delays is not None and method != "margin_neurons":
        raise ValueError(f"real-valued delays (--delays {synapse_config.delays}) are for method 'margin_neurons' "
                         f"only; got method {method!r}")
    targets, _ = load_raster(patterns)
    W0 = None if init_weights is None else load_weights(init_weights)[0]
    extra = ({"out": run_dir, "resume": resume} if method in ("bptt", "delays")
             else {"executor": executor} if executor else {})
    M, N, T = targets.shape
    synapse_config = synapse_config or SynapseConfig()
    n_delays = D if D is not None else (net.D if net is not None else 41)
    synapses = synapse_config.draw(N, n_delays)
    if synapses is not None:
        extra["synapses"] = synapses
    learned = learn(targets, method, D=D, net=net, mask=mask, W0=W0, progress=progress, **extra, **options)
    meta = {**learned.metadata(), "patterns": {"file": str(patterns), "shape": [M, N, T]},
            "mask_info": mask_info(mask)}
    meta.pop("last_W", None)
    if "learned_for" in meta:
        meta["learned_for"]["delays"] = ({"source": "mask", **mask_info(mask)} if mask is not None
                                         else synapse_config.describe(learned.D))
    if learned.synapses is not None:
        files = [str(save_synapses(out, learned.synapses, **meta))]
    else:
        files = [str(save_weights(out, learned.W, **meta))]
    if method == "bptt" and run_dir is not None:
        files.append(str(save_weights(Path(run_dir) / "weights_last.npz", learned.details["last_W"],
                                      method="bptt", epochs=learned.details["epochs"])))
    return {"files": files, "learned": learned, "seconds": learned.seconds}


def mask_info(mask) -> dict | None:
    """What a weights file records of the mask it was learned on."""
    if mask is None:
        return None
    return {"synapses": int(mask.sum()), "shape": list(mask.shape)}


def replay_settings(learned_for: dict | None, simulator: str, options: dict, trial: TrialConfig | None = None,
                    net: NetworkConfig | None = None, *, source: str = "the weights") -> tuple[dict, TrialConfig | None]:
    """The recall options and trial for weights learned for a continuous-time neuron (``learned_for`` of
    their file): the recorded neuron, efficacy, ``delay_shift_ms``, ``dt_ms`` and trigger where the
    request gives none, and a :class:`LearnedForWarning` for each requested one that differs.

    A discrete simulator (``torch``, ``dense``, ``brian2`` with ``neuron='exact'``) on such weights
    warns too: it runs the delays binned to whole steps, in another neuron than the one learned for.
    Without ``learned_for`` (weights of the discrete learners) the request is returned as it is.

    Parameters
    ----------
    learned_for : dict or None
        ``meta['learned_for']`` of the weights file (:meth:`hdsnn.learning.Learned.metadata`).
    simulator : str
    options : dict
        The simulator options given (those not given are absent).
    trial, net : TrialConfig, NetworkConfig, optional
    source : str
        How the warnings name the weights (their file).

    Returns
    -------
    (options, trial)

    Examples
    --------
    >>> import warnings
    >>> lf = {"method": "margin_neurons", "neuron": "lif_current", "efficacy": 1.0, "delay_shift_ms": 0.1,
    ...       "dt_ms": 0.1, "trigger_steps": None, "beta": 0.7, "D": 41}
    >>> replay_settings(lf, "brian2", {})[0]
    {'neuron': 'lif_current', 'efficacy': 1.0, 'delay_shift_ms': 0.1, 'dt_ms': 0.1}
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = replay_settings(lf, "torch_neurons", {"neuron": "adex"}, source="weights 'w.npz'")
    >>> print(caught[0].message)
    weights 'w.npz' were learned for neuron 'lif_current' (method margin_neurons); recalling with neuron 'adex'
    """
    options = dict(options)
    if not learned_for:
        return options, trial
    method = learned_for.get("method", "?")
    neuron = learned_for.get("neuron")

    def warn(text):
        warnings.warn(f"{source} were learned for {text}", LearnedForWarning, stacklevel=3)

    discrete = simulator in ("torch", "dense") or (simulator == "brian2" and options.get("neuron") == "exact")
    if discrete:
        warn(f"neuron {neuron!r} at dt {learned_for.get('dt_ms')} ms with its delays shortened by "
             f"{learned_for.get('delay_shift_ms')} ms (method {method}); simulator {simulator!r} runs the discrete "
             f"neuron on the delays binned to whole steps")
        return options, trial
    if neuron is not None:
        if options.get("neuron", neuron) != neuron:
            warn(f"neuron {neuron!r} (method {method}); recalling with neuron {options['neuron']!r}")
        options.setdefault("neuron", neuron)
    for key, what in (("efficacy", "efficacy"), ("delay_shift_ms", "delays shortened by"), ("dt_ms", "step dt")):
        recorded = learned_for.get(key)
        if recorded is None:
            continue
        if key in options and options[key] != recorded:
            unit = "" if key == "efficacy" else " ms"
            warn(f"{what} {recorded}{unit} (method {method}); recalling with {options[key]}{unit}")
        options.setdefault(key, recorded)
    recorded_k = learned_for.get("trigger_steps")
    if recorded_k is not None and (trial is None or trial.trigger_steps is None):
        trial = replace(trial or TrialConfig(), trigger_steps=recorded_k)
    elif recorded_k is not None and trial.trigger_steps != recorded_k:
        warn(f"a trigger of {recorded_k} ms (method {method}); recalling with trigger_steps {trial.trigger_steps}")
    beta = learned_for.get("beta")
    if beta is not None and net is not None and net.beta != beta:
        warn(f"beta {beta} (tau_m of the neuron; method {method}); recalling with beta {net.beta}")
    return options, trial


def recall_file(weights, patterns, out, *, simulator: str = "torch", net: NetworkConfig | None = None,
                trial: TrialConfig | None = None, max_rate: float | None = 0.05, **options) -> dict:
    """Recall the patterns of a file with the weights of a file; write the raster (.npz) and its scores (.json).

    ``weights`` is a weight file (dense ``W``) or a synapse file (a synapse list with real-valued
    delays, as ``hdsnn init --method margin_neurons`` writes it). Weights recorded as learned for a
    continuous-time neuron are replayed with the recorded settings where none are given, and a
    :class:`LearnedForWarning` names each requested setting that differs (:func:`replay_settings`).
    Exact spike times (continuous time) go into the raster file's metadata (``spike_times``: pattern,
    neuron, ``time_ms`` from the trigger onset) beside the 1-ms raster.

    Both outputs are checked before the simulation and written whole: the
    scores file first, then the raster, each atomically; if the raster
    cannot be written, the scores file is removed again.

    Raises
    ------
    FileNotFoundError, ValueError
        A missing or damaged file, weights and patterns that do not fit, a bad option (before any work).
    """
    out = Path(out)
    check_outputs({"--out": (out, ".npz"), "--out (scores)": (out.with_suffix(".json"), ".json")},
                  inputs=[weights, patterns])
    kind, W, wmeta = load_weights_or_synapses(weights)
    targets, _ = load_raster(patterns)
    n = W.N if isinstance(W, SynapseList) else W.shape[0]
    if n != targets.shape[1]:
        raise ValueError(f"weights {str(weights)!r} are for N={n} neurons but patterns "
                         f"{str(patterns)!r} have N={targets.shape[1]}")
    options, trial = replay_settings(wmeta.get("learned_for"), simulator, options, trial, net,
                                     source=f"weights {str(weights)!r}")
    result = recall(W, targets, simulator=simulator, net=net, trial=trial, max_rate=max_rate, **options)
    info = {**result.provenance, "weights": str(weights), "patterns": str(patterns),
            "learned_for": wmeta.get("learned_for")}
    extra = {}
    if result.spikes is not None:
        extra = {"spike_times": {"pattern": result.spikes[0].tolist(), "neuron": result.spikes[1].tolist(),
                                 "time_ms": result.spikes[2].tolist()}}
    scores_path = write_json(out.with_suffix(".json"), {**info, "scores": result.scores.to_dict(),
                                                         "runaway": result.runaway.tolist(),
                                                         "wall_time_s": result.seconds})
    try:
        save_raster(out, result.raster, **info, **extra)
    except BaseException:
        scores_path.unlink(missing_ok=True)          # the pair is written whole or not at all
        raise
    return {"files": [str(out), str(out.with_suffix(".json"))], "recall": result}


def read_spikes(path, role: str, prefer: tuple, dt_ms: float | None = None) -> tuple:
    """One raster from a ``.npz``, ``.nwb`` or ``.nix`` file (ours or another tool's): ``(raster, metadata)``.

    A file that holds several rasters (hdsnn's NWB and NIX files hold the targets and
    the recall) gives the first kind of ``prefer`` it has; ``role`` names the option in errors.
    """
    rasters, meta = read_rasters(path, dt_ms=dt_ms)
    if len(rasters) == 1:
        raster = next(iter(rasters.values()))
    else:
        kind = next((k for k in prefer if k in rasters), None)
        if kind is None:
            raise ValueError(f"{role} {str(path)!r} holds the rasters {sorted(rasters)}; none of them is one of "
                             f"{list(prefer)}")
        raster = rasters[kind]
    config = meta.get("config") or {}
    return raster, {**{k: v for k, v in meta.items() if k != "config"}, **config}


def analyze_files(patterns, recalled, out, *, weights=None, use_weights: bool = True, D: int | None = None,
                  dt_ms: float | None = None, **options) -> dict:
    """Analyse a recall file against its patterns file and write the report folder ``out``.

    Both files may be ``.npz`` (hdsnn), ``.nwb`` or ``.nix`` (hdsnn's or another tool's,
    with ``dt_ms`` where the file states no resolution). ``D`` and the weights default to
    what the recall file records.
    """
    check_outputs({}, inputs=[patterns, recalled, weights], folders=[("--out", out)])
    targets, _ = read_spikes(patterns, "--patterns", ("target", "patterns", "raster"), dt_ms)
    rec, meta = read_spikes(recalled, "--recall", ("recall", "raster"), dt_ms)
    if targets.shape != rec.shape:
        raise ValueError(f"patterns {str(patterns)!r} have shape {tuple(targets.shape)} but recall "
                         f"{str(recalled)!r} has {tuple(rec.shape)}")
    _check_recorded_patterns(patterns, targets, recalled, meta)
    network = meta.get("network") or {}
    recorded_D = network.get("D")
    if D is not None and recorded_D is not None and D != recorded_D:
        raise ValueError(f"--D {D} contradicts the recall file {str(recalled)!r}, whose network has D={recorded_D}; "
                         f"leave --D out or give --D {recorded_D}")
    D = D if D is not None else recorded_D
    if D is None:
        raise ValueError(f"--D is needed: the recall file {str(recalled)!r} does not record the network's D")
    notes = []
    W = None
    path = weights if weights is not None else meta.get("weights")
    if path is not None and use_weights:
        if weights is None and not Path(path).exists():
            notes.append(f"weights {path!r} named in the recall file not found; no group search")
        else:
            _, W, _ = load_weights_or_synapses(path)
            W = W.to_dense() if isinstance(W, SynapseList) else W        # the group search reads the channels
            M, N, T = rec.shape
            if W.shape[0] != N:
                raise ValueError(f"weights {str(path)!r} are for N={W.shape[0]} neurons but the rasters have N={N}")
            if W.shape[2] != D:
                raise ValueError(f"weights {str(path)!r} have D={W.shape[2]} delays but the recall has D={D}")
    net = NetworkConfig.from_dict(network) if network else None
    report = analyze(targets, rec, D, out, W=W, net=net, dt_ms=network.get("dt_ms", meta.get("dt_ms") or 1.0),
                     config={"network": network, "trial": meta.get("trial"), "patterns": str(patterns),
                             "recall": str(recalled)}, **options)
    return {"report": report, "notes": notes}


def _check_recorded_patterns(patterns, targets, recalled, meta: dict) -> None:
    """Refuse a recall file made from another patterns file than ``patterns`` (unless both hold the same rasters)."""
    recorded = meta.get("patterns")
    if not isinstance(recorded, str) or not Path(recorded).is_file():
        return                                        # not recorded, or moved away: nothing to compare
    if Path(recorded).resolve() == Path(patterns).resolve() or Path(recorded).samefile(patterns):
        return
    try:
        original = load_raster(recorded)[0]
        same = original.shape == targets.shape and bool((original == targets).all())
    except ValueError:
        same = False
    if not same:
        raise ValueError(f"the recall file {str(recalled)!r} was made from the patterns {recorded!r}, not from "
                         f"--patterns {str(patterns)!r}, and their rasters differ: refused; give --patterns "
                         f"{recorded!r}")
