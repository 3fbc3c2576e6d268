"""The front doors and the file workflows that the command line runs.

``learn`` (:mod:`hdsnn.learning.learn`), ``recall`` (:mod:`hdsnn.models.recall`)
and ``analyze`` (:mod:`hdsnn.analysis.report`) work on arrays. The functions
here do the same work from and to files, with every output path checked
before any work starts, so that a mistyped ``--out`` never costs a run and
never overwrites an input:

- :func:`demo`: the paper benchmark (patterns, Hebbian weights, recall, scores, figure);
- :func:`patterns_file`, :func:`learn_file`, :func:`recall_file`, :func:`analyze_files`.

Each returns a dict that says what was done (the CLI prints it).
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from .config import NetworkConfig, PatternConfig, TrialConfig
from .validation import check_device
from .io import load_raster, load_weights, save_figure, save_raster, save_weights, write_json
from .analysis.plots import plot_recall
from .analysis.files import read_rasters
from .analysis.report import analyze
from .learning.learn import LEARNERS, Learned, learn
from .models import make_patterns
from .models.recall import SIMULATORS, Recall, recall

__all__ = ["learn", "recall", "analyze", "Learned", "Recall", "LEARNERS", "SIMULATORS", "demo", "patterns_file",
           "learn_file", "recall_file", "analyze_files", "check_outputs"]


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
               executor=None, **options) -> dict:
    """Learn weights from a patterns file and write them, with their metadata, to ``out`` (.npz)."""
    check_outputs({"--out": (out, ".npz")}, inputs=[patterns, init_weights],
                  folders=[("--run-dir", run_dir)] if run_dir is not None else ())
    targets, _ = load_raster(patterns)
    W0 = None if init_weights is None else load_weights(init_weights)[0]
    extra = ({"out": run_dir, "resume": resume} if method in ("bptt", "delays")
             else {"executor": executor} if executor else {})
    learned = learn(targets, method, D=D, net=net, mask=mask, W0=W0, progress=progress, **extra, **options)
    M, N, T = targets.shape
    meta = {**learned.metadata(), "patterns": {"file": str(patterns), "shape": [M, N, T]},
            "mask_info": mask_info(mask)}
    meta.pop("last_W", None)
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


def recall_file(weights, patterns, out, *, simulator: str = "torch", net: NetworkConfig | None = None,
                trial: TrialConfig | None = None, max_rate: float | None = 0.05, **options) -> dict:
    """Recall the patterns of a file with the weights of a file; write the raster (.npz) and its scores (.json).

    Both outputs are checked before the simulation and written whole: the
    scores file first, then the raster, each atomically; if the raster
    cannot be written, the scores file is removed again.
    """
    out = Path(out)
    check_outputs({"--out": (out, ".npz"), "--out (scores)": (out.with_suffix(".json"), ".json")},
                  inputs=[weights, patterns])
    W, _ = load_weights(weights)
    targets, _ = load_raster(patterns)
    if W.shape[0] != targets.shape[1]:
        raise ValueError(f"weights {str(weights)!r} are for N={W.shape[0]} neurons but patterns "
                         f"{str(patterns)!r} have N={targets.shape[1]}")
    result = recall(W, targets, simulator=simulator, net=net, trial=trial, max_rate=max_rate, **options)
    info = {**result.provenance, "weights": str(weights), "patterns": str(patterns)}
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
            W, _ = load_weights(path)
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
