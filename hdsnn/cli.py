"""Command line: ``hdsnn demo | patterns | init | recall | train | analyze | paper``.

User errors (bad values, missing or damaged files) are printed as one line
``hdsnn: error: ...`` without a traceback, with exit status 2.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

__all__ = ["main", "build_parser"]


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows each option's default, except where the help text states it (default None)."""

    def _get_help_string(self, action):
        if action.default is None:
            return action.help
        return super()._get_help_string(action)


def _add_network(p, with_size=True):
    g = p.add_argument_group("network")
    if with_size:
        g.add_argument("--N", type=int, default=1024, help="number of neurons")
        g.add_argument("--D", type=int, default=41, help="number of delays, 1..D steps (dt = 1 ms)")
    g.add_argument("--beta", type=float, default=0.7, help="membrane leak per step, in [0, 1)")
    g.add_argument("--theta", type=float, default=1.0, help="firing threshold (> 0)")
    g.add_argument("--reset", choices=("zero", "subtract"), default="zero", help="reset after a spike")


def _add_patterns(p):
    g = p.add_argument_group("patterns")
    g.add_argument("--M", type=int, default=16, help="number of patterns")
    g.add_argument("--T", type=int, default=1000, help="steps per pattern (1 step = 1 ms)")
    g.add_argument("--p-A", dest="p_A", type=float, default=1e-3,
                   help="firing probability per neuron per step, in (0, 1)")
    g.add_argument("--seed", type=int, default=0, help="random seed")


def _add_trial(p):
    g = p.add_argument_group("recall protocol")
    g.add_argument("--pretime", type=int, default=0, help="steps of spontaneous activity before the trigger")
    g.add_argument("--posttime", type=int, default=0, help="steps after the pattern")
    g.add_argument("--cue", choices=("clamp", "or"), default="clamp",
                   help="clamp: spikes forced to the cue, membrane held at 0; or: cue OR-ed with the network")
    g.add_argument("--trigger-steps", type=int, default=None,
                   help="steps of the trigger window that carry the cue (default: all D)")
    g.add_argument("--p-flip", type=float, default=0.0, help="probability of perturbing each cue entry, in [0, 1]")
    g.add_argument("--noise", choices=("redraw", "flip"), default="redraw",
                   help="redraw: fresh Bernoulli at the cue's rate; flip: invert the entry")
    g.add_argument("--silenced", type=int, default=0, help="neurons (the first ones) whose cue is removed")
    g.add_argument("--trial-seed", type=int, default=0, help="seed of pretime, posttime and noise draws")
    g.add_argument("--max-rate", type=float, default=0.05,
                   help="runaway guard: stop a trial above this firing probability per neuron per step")
    g.add_argument("--device", default="cpu", help="torch device: cpu or cuda")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hdsnn", formatter_class=_Formatter,
        description="Working memory in recurrent spiking networks with heterogeneous synaptic delays.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", formatter_class=_Formatter,
                       help="paper benchmark: patterns, Hebbian initialisation, recall, scores, figure",
                       description="Generate the paper's benchmark, learn W by the analytic Hebbian rule, "
                                   "recall every pattern from its trigger window, print scores and write "
                                   "results.json and a figure to --out.")
    _add_patterns(p)
    _add_network(p)
    p.add_argument("--gain", type=float, default=None,
                   help="Hebbian gain g, the input of a target spike in units of theta (default: "
                        "DEFAULT_GAIN = 2.5, measured by `hdsnn paper gain_scan`)")
    p.add_argument("--out", default="hdsnn-demo", help="output folder")
    p.add_argument("--device", default="cpu", help="torch device: cpu or cuda")

    p = sub.add_parser("patterns", formatter_class=_Formatter, help="generate target patterns (.npz)",
                       description="Generate M target rasters and write them to a .npz file.")
    p.add_argument("--out", required=True, help="output .npz file")
    p.add_argument("--N", type=int, default=1024, help="number of neurons")
    _add_patterns(p)
    p.add_argument("--kind", choices=("bernoulli", "sparse"), default="bernoulli",
                   help="bernoulli(p_A) rasters or the paper's sparse generative model")

    p = sub.add_parser("init", formatter_class=_Formatter, help="learn weights analytically (.npz)",
                       description="Compute W from target patterns by the Hebbian rule or exact least squares.")
    p.add_argument("--patterns", required=True, help="patterns .npz file (from `hdsnn patterns`)")
    p.add_argument("--out", required=True, help="output weights .npz file")
    p.add_argument("--method", choices=("hebbian", "lstsq"), default="hebbian", help="learning rule")
    p.add_argument("--D", type=int, default=41, help="number of delays, 1..D steps")
    p.add_argument("--beta", type=float, default=0.7, help="membrane leak per step used in the target")
    p.add_argument("--gain", type=float, default=None,
                   help="gain g, the input of a target spike (default: 2.5 for hebbian, 2.0 for lstsq)")

    p = sub.add_parser("recall", formatter_class=_Formatter, help="recall patterns from their triggers",
                       description="Recall every pattern from its trigger window with weights W, print scores, "
                                   "write the recalled raster (.npz) and scores (.json).")
    p.add_argument("--weights", required=True, help="weights .npz file (from `hdsnn init`)")
    p.add_argument("--patterns", required=True, help="patterns .npz file")
    p.add_argument("--out", required=True, help="output raster .npz file; scores go next to it as .json")
    p.add_argument("--simulator", choices=("torch", "brian2"), default="torch", help="simulator")
    _add_network(p, with_size=False)
    _add_trial(p)
    _add_brian2(p)

    p = sub.add_parser("paper", formatter_class=_Formatter, help="reproduce a figure of the paper",
                       description="Run one of the paper/ scripts; options after NAME go to the script "
                                   "(e.g. `hdsnn paper robustness --quick`; `hdsnn paper NAME --help`).")
    p.add_argument("name", choices=PAPER_SCRIPTS, help="script to run")
    p.add_argument("script_args", nargs=argparse.REMAINDER, help="options of the script")
    _add_analyze_parser(sub)
    _add_train_parser(sub)
    return parser


#: The scripts of paper/ runnable as ``hdsnn paper NAME``.
PAPER_SCRIPTS = ("robustness", "sequential", "scans", "capacity", "methods", "biophysical", "gain_scan",
                 "bptt_train", "motif_example", "polychrony_compare", "stdp_compare")


def _add_brian2(p):
    g = p.add_argument_group("Brian2 (--simulator brian2: the discrete-equivalent network)")
    g.add_argument("--target", choices=("numpy", "cython", "cpp_standalone", "cuda_standalone"),
                   default="numpy", help="Brian2 runtime target")
    g.add_argument("--threshold", type=float, default=None, help="prune: keep synapses with |w| >= threshold")
    g.add_argument("--top-k", type=int, default=None, help="prune: keep the k largest |w| per postsynaptic neuron")
    g.add_argument("--keep-fraction", type=float, default=None,
                   help="prune: keep this fraction of the non-zero weights, largest |w| first")
    g.add_argument("--budget-gb", type=float, default=None,
                   help="refuse networks estimated above this memory (GiB; default: half the available memory)")
    g.add_argument("--neuron", choices=("exact", "lif_current", "lif_conductance", "adex", "izhikevich"),
                   default="exact", help="exact: the discrete-equivalent network; others: continuous time, dt 0.1 ms")
    g.add_argument("--efficacy", type=float, default=None,
                   help="synaptic efficacy scale of a richer neuron (default: calibrated on the first 2 patterns)")
    g.add_argument("--tolerance", type=int, default=1, help="timing tolerance of a richer neuron's scores, in ms")


def _version() -> str:
    from . import __version__
    return f"hdsnn {__version__}"


def _table(scores, stages: dict) -> str:
    lines = [f"{'pattern':>8} {'precision':>10} {'recall':>8} {'F1':>8}"]
    for m, (p, r, f) in enumerate(zip(scores.precision, scores.recall, scores.f1)):
        lines.append(f"{m:>8} {p:>10.4f} {r:>8.4f} {f:>8.4f}")
    pooled = scores.pooled()
    lines.append(f"{'pooled':>8} {pooled['precision']:>10.4f} {pooled['recall']:>8.4f} {pooled['f1']:>8.4f}")
    lines.append("")
    lines.append("stage          wall time (s)")
    for name, sec in stages.items():
        lines.append(f"{name:<14} {sec:>10.3f}")
    return "\n".join(lines)


def _demo(args) -> int:
    from . import hebbian_init, recall
    from .analysis.plots import plot_recall, save_figure
    from .config import NetworkConfig, PatternConfig
    from .io import write_json
    from .learning import DEFAULT_GAIN
    from .models import make_patterns

    gain = DEFAULT_GAIN if args.gain is None else args.gain
    pcfg = PatternConfig(M=args.M, N=args.N, T=args.T, p_A=args.p_A, seed=args.seed)
    net = NetworkConfig(N=args.N, D=args.D, beta=args.beta, theta=args.theta, reset=args.reset)
    out = Path(args.out)
    stages = {}
    t0 = time.perf_counter()
    targets = make_patterns(pcfg)
    stages["patterns"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    W = hebbian_init(targets, D=net.D, beta=net.beta, gain=gain)
    stages["hebbian init"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = recall(W, targets, net, device=args.device)
    stages["recall"] = time.perf_counter() - t0
    stages["total"] = sum(stages.values())
    print(f"hdsnn demo: N={net.N} M={pcfg.M} T={pcfg.T} D={net.D} p_A={pcfg.p_A} gain={gain} seed={pcfg.seed}")
    print(_table(result.scores, stages))
    if bool(result.runaway.any()):
        print(f"warning: runaway activity stopped in patterns {result.runaway.nonzero().flatten().tolist()}")
    figure = save_figure(plot_recall(targets, result.raster, net.D, pattern=0,
                                     title=f"pattern 0: target and recall (F1 = {result.scores.f1[0]:.4f})"),
                         out / "recall_pattern0")
    write_json(out / "results.json", {
        "patterns": pcfg.to_dict(), "network": net.to_dict(), "gain": gain,
        "scores": result.scores.to_dict(), "runaway": result.runaway.tolist(),
        "wall_time_s": stages, "figure": [str(p) for p in figure]})
    print(f"wrote {out / 'results.json'}, {figure[0]}, {figure[1]}")
    return 0


def _patterns(args) -> int:
    from .config import PatternConfig
    from .io import save_raster
    from .models import make_patterns

    cfg = PatternConfig(M=args.M, N=args.N, T=args.T, p_A=args.p_A, kind=args.kind, seed=args.seed)
    raster = make_patterns(cfg)
    path = save_raster(args.out, raster, config=cfg.to_dict())
    print(f"wrote {path}: {cfg.M} patterns x {cfg.N} neurons x {cfg.T} steps, "
          f"{int(raster.sum())} spikes (rate {float(raster.float().mean()):.2e} per step)")
    return 0


def _init(args) -> int:
    from .io import load_raster, save_weights
    from .learning import DEFAULT_GAIN, LSTSQ_GAIN, hebbian_init, least_squares_init

    targets, meta = load_raster(args.patterns)
    t0 = time.perf_counter()
    if args.method == "hebbian":
        gain = DEFAULT_GAIN if args.gain is None else args.gain
        W = hebbian_init(targets, D=args.D, beta=args.beta, gain=gain)
    else:
        gain = LSTSQ_GAIN if args.gain is None else args.gain
        W = least_squares_init(targets, D=args.D, beta=args.beta, gain=gain)
    seconds = time.perf_counter() - t0
    M, N, T = targets.shape
    path = save_weights(args.out, W, method=args.method, gain=gain, beta=args.beta, D=args.D,
                        patterns={"file": str(args.patterns), "shape": [M, N, T]}, seconds=seconds)
    print(f"wrote {path}: W {tuple(W.shape)} by {args.method} (gain {gain}) in {seconds:.2f} s, "
          f"{float((W != 0).float().mean()):.1%} non-zero")
    return 0


def _recall_inputs(args):
    """Weights, patterns, network and trial of ``hdsnn recall``, checked against each other."""
    from .config import NetworkConfig, TrialConfig
    from .io import load_raster, load_weights

    W, _ = load_weights(args.weights)
    targets, _ = load_raster(args.patterns)
    N = targets.shape[1]
    if W.shape[0] != N:
        raise ValueError(f"weights {args.weights!r} are for N={W.shape[0]} neurons but patterns "
                         f"{args.patterns!r} have N={N}")
    net = NetworkConfig(N=N, D=W.shape[2], beta=args.beta, theta=args.theta, reset=args.reset)
    trial = TrialConfig(pretime=args.pretime, posttime=args.posttime, cue=args.cue,
                        trigger_steps=args.trigger_steps, p_flip=args.p_flip, noise=args.noise,
                        silenced=args.silenced, seed=args.trial_seed)
    return W, targets, net, trial


def _recall(args) -> int:
    if args.simulator == "brian2":
        return _recall_brian2(args)
    from . import recall
    from .io import save_raster, write_json

    W, targets, net, trial = _recall_inputs(args)
    result = recall(W, targets, net, trial, max_rate=args.max_rate, device=args.device)
    out = Path(args.out)
    save_raster(out, result.raster, network=net.to_dict(), trial=trial.to_dict(),
                weights=str(args.weights), patterns=str(args.patterns))
    write_json(out.with_suffix(".json"), {"network": net.to_dict(), "trial": trial.to_dict(),
                                          "scores": result.scores.to_dict(), "runaway": result.runaway.tolist(),
                                          "simulation_s": result.seconds})
    print(_table(result.scores, {"recall": result.seconds}))
    print(f"wrote {out} and {out.with_suffix('.json')}")
    return 0


def _paper(args) -> int:
    import importlib

    importlib.import_module(f"hdsnn.paper.{args.name}").main(args.script_args)
    return 0


def _add_analyze_parser(sub) -> None:
    p = sub.add_parser("analyze", formatter_class=_Formatter,
                       help="analyse a recall: scores, statistics, motifs, groups, figures, NIX/NWB files",
                       description="Compare a recalled raster (from `hdsnn recall`) with its patterns (from "
                                   "`hdsnn patterns`) and write a report folder: report.json with every score and "
                                   "statistic, figures (PNG and SVG), rasters.nix and rasters.nwb. With --weights "
                                   "(default: the weights named in the recall file, if present) it also plots the "
                                   "weights and searches polychronous groups.")
    p.add_argument("--patterns", required=True, help="patterns .npz file")
    p.add_argument("--recall", required=True, help="recalled raster .npz file")
    p.add_argument("--out", required=True, help="report folder")
    p.add_argument("--weights", default=None, help="weights .npz file (default: from the recall file's metadata)")
    p.add_argument("--no-weights", action="store_true", help="skip the weight figure and the group search")
    p.add_argument("--D", type=int, default=None, help="trigger window (default: from the recall file's metadata)")
    p.add_argument("--tolerance", type=int, nargs="+", default=[0, 1, 2], help="tolerances k (steps) of the scores")
    p.add_argument("--sliding-width", type=int, default=20, help="window of the sliding F1 (steps)")
    p.add_argument("--spade-budget-gb", type=float, default=2.0,
                   help="memory budget of SPADE; it runs on the first neurons that fit")
    p.add_argument("--spade-min-occ", type=int, default=3, help="fewest occurrences of a SPADE motif")
    p.add_argument("--group-mothers", type=int, default=None,
                   help="search groups from the first this many neurons (default: all)")


def _analyze(args) -> int:
    from .analysis.motifs import SpadeConfig
    from .analysis.report import analyze
    from .config import NetworkConfig
    from .io import load_raster, load_weights

    targets, _ = load_raster(args.patterns)
    recalled, rmeta = load_raster(args.recall)
    if targets.shape != recalled.shape:
        raise ValueError(f"patterns {args.patterns!r} have shape {tuple(targets.shape)} but recall "
                         f"{args.recall!r} has {tuple(recalled.shape)}")
    network = rmeta.get("network") or {}
    D = args.D if args.D is not None else network.get("D")
    if D is None:
        raise ValueError(f"--D is needed: the recall file {args.recall!r} does not record the network's D")
    W = None
    weights = args.weights if args.weights is not None else rmeta.get("weights")
    if weights is not None and not args.no_weights:
        if args.weights is None and not Path(weights).exists():
            print(f"note: weights {weights!r} named in the recall file not found; no group search")
        else:
            W, _ = load_weights(weights)
    net = NetworkConfig.from_dict(network) if network else None
    mothers = None if args.group_mothers is None else range(min(args.group_mothers, targets.shape[1]))
    t0 = time.perf_counter()
    report = analyze(targets, recalled, D, args.out, W=W, net=net, dt_ms=network.get("dt_ms", 1.0),
                     tolerances=args.tolerance, sliding_width=args.sliding_width,
                     spade_budget_gb=args.spade_budget_gb, spade=SpadeConfig(min_occ=args.spade_min_occ),
                     group_mothers=mothers, config={"network": network, "trial": rmeta.get("trial"),
                                                    "patterns": str(args.patterns), "recall": str(args.recall)})
    pooled = report["scores"]["exact"]["pooled"]
    print(f"F1 {pooled['f1']:.4f} (exact)" + "".join(
        f", {v['pooled']['f1']:.4f} (±{k})" for k, v in report["scores"]["tolerant"].items() if k != "0"))
    for name, sec in report["wall_time_s"].items():
        print(f"{name:<22} {sec:>8.2f} s")
    print(f"peak memory {report['peak_memory_gb']:.2f} GB; wrote {len(report['files'])} files to {args.out} "
          f"in {time.perf_counter() - t0:.1f} s")
    return 0


def _recall_brian2(args) -> int:
    from .io import save_raster, write_json
    from .models.brian2_recall import recall_brian2

    W, targets, net, trial = _recall_inputs(args)
    budget = None if args.budget_gb is None else args.budget_gb * 2**30
    if args.neuron != "exact":
        return _recall_neurons(args, W, targets, net, budget)
    result = recall_brian2(W, targets, net, trial, target=args.target, threshold=args.threshold,
                           top_k=args.top_k, keep_fraction=args.keep_fraction, budget_bytes=budget)
    out = Path(args.out)
    brian2 = {"target": args.target, "synapses": result.n_synapses, "threshold": args.threshold,
              "top_k": args.top_k, "keep_fraction": args.keep_fraction}
    save_raster(out, result.raster, network=net.to_dict(), trial=trial.to_dict(), simulator="brian2",
                brian2=brian2, weights=str(args.weights), patterns=str(args.patterns))
    stages = {"export": result.export_seconds, "build": result.build_seconds, "brian2 run": result.run_seconds}
    write_json(out.with_suffix(".json"), {"network": net.to_dict(), "trial": trial.to_dict(), "simulator": "brian2",
                                          "brian2": brian2, "scores": result.scores.to_dict(),
                                          "wall_time_s": stages, "simulation_s": result.run_seconds})
    print(f"Brian2 ({args.target}): {result.n_synapses} synapses")
    print(_table(result.scores, stages))
    print(f"wrote {out} and {out.with_suffix('.json')}")
    return 0


def _recall_neurons(args, W, targets, net, budget) -> int:
    """``hdsnn recall --simulator brian2 --neuron MODEL``: continuous-time recall with a richer neuron."""
    from .io import save_raster, write_json
    from .models.brian2_neurons import calibrate_efficacy, recall_neurons
    from .models.export import export_synapses

    if args.target not in ("numpy", "cython"):
        raise ValueError(f"--target must be 'numpy' or 'cython' with --neuron {args.neuron}; got {args.target!r}")
    synapses = export_synapses(W, threshold=args.threshold, top_k=args.top_k, keep_fraction=args.keep_fraction,
                               budget_bytes=budget)
    t0 = time.perf_counter()
    kw = dict(beta=net.beta, k=args.tolerance, target=args.target)
    efficacy, shift, table = args.efficacy, 0.5, None
    if efficacy is None:
        efficacy, shift, table = calibrate_efficacy(args.neuron, synapses, targets[:2], net.D, **kw)
    calibration = time.perf_counter() - t0
    result = recall_neurons(args.neuron, synapses, targets, net.D, efficacy=efficacy, delay_shift_ms=shift, **kw)
    out = Path(args.out)
    brian2 = {"target": args.target, "neuron": args.neuron, "synapses": len(synapses.weight), "efficacy": efficacy,
              "delay_shift_ms": shift, "tolerance_ms": args.tolerance, "stopped": result.stopped,
              "calibration": None if table is None else {f"{e}/{d}": f for (e, d), f in table.items()}}
    save_raster(out, result.raster, network=net.to_dict(), simulator="brian2", brian2=brian2,
                weights=str(args.weights), patterns=str(args.patterns))
    stages = {"calibration": calibration, "brian2 run": result.seconds}
    write_json(out.with_suffix(".json"), {"network": net.to_dict(), "simulator": "brian2", "brian2": brian2,
                                          "scores": result.scores.to_dict(), "wall_time_s": stages,
                                          "simulation_s": result.seconds})
    print(f"Brian2 {args.neuron} ({args.target}), efficacy {efficacy:g}, scores with ±{args.tolerance} ms tolerance")
    print(_table(result.scores, stages))
    print(f"wrote {out} and {out.with_suffix('.json')}")
    return 0


def _add_train_parser(sub) -> None:
    from .learning.bptt import TrainConfig

    d = TrainConfig()
    p = sub.add_parser("train", formatter_class=_Formatter, help="learn weights by BPTT or STDP (.npz)",
                       description="bptt: train W by closed-loop surrogate-gradient BPTT (loss 1 - F1), evaluating "
                                   "eval-mode recall every epoch; writes the weights of the best epoch to --out and "
                                   "the checkpoint, history.json and a figure of the training to --run-dir. "
                                   "stdp: replay the patterns (clamped, recurrent transmission off) with pair-based "
                                   "STDP on the delayed synapses and write the learned weights to --out; the "
                                   "narrow window with the mirrored depression is the Hebbian rule.")
    p.add_argument("--patterns", required=True, help="patterns .npz file (from `hdsnn patterns`)")
    p.add_argument("--out", required=True, help="output weights .npz file (bptt: weights of the best epoch)")
    p.add_argument("--method", choices=("bptt", "stdp"), default="bptt", help="training method")
    p.add_argument("--run-dir", default=None, help="folder for checkpoint, history and figure "
                                                   "(default: --out without .npz, plus _run)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint in --run-dir")
    p.add_argument("--init-weights", default=None, help="initial weights .npz (default: --init rule)")
    p.add_argument("--init", choices=("hebbian", "random"), default=d.init, help="initialisation rule")
    p.add_argument("--gain", type=float, default=d.gain, help="Hebbian gain of the initialisation")
    p.add_argument("--D", type=int, default=41, help="number of delays, 1..D steps")
    _add_network(p, with_size=False)
    g = p.add_argument_group("optimisation")
    g.add_argument("--epochs", type=int, default=d.epochs, help="maximum number of epochs")
    g.add_argument("--batch-size", type=int, default=None, help="patterns per gradient step (default: all)")
    g.add_argument("--optimizer", choices=("adamw", "sgd"), default=d.optimizer, help="optimizer")
    g.add_argument("--lr", type=float, default=d.lr, help="peak learning rate")
    g.add_argument("--lr-min", type=float, default=d.lr_min, help="learning rate at the end of the cosine decay")
    g.add_argument("--warmup", type=int, default=d.warmup, help="epochs of linear warm-up")
    g.add_argument("--momentum", type=float, default=d.momentum, help="SGD momentum")
    g.add_argument("--weight-decay", type=float, default=d.weight_decay, help="weight decay")
    g.add_argument("--dropout", type=float, default=d.dropout, help="dropout on synaptic currents, in [0, 1)")
    g.add_argument("--clip", type=float, default=d.clip, help="maximum gradient norm (0: no clipping)")
    g.add_argument("--surrogate", choices=("fast_sigmoid", "arctan", "triangle"), default=d.surrogate,
                   help="surrogate derivative of the threshold")
    g.add_argument("--alpha", type=float, default=d.alpha, help="sharpness of the surrogate")
    g.add_argument("--stop-f1", type=float, default=d.stop_f1, help="stop at this eval-mode pooled F1")
    g.add_argument("--no-early-stop", action="store_true", help="run every epoch whatever the F1")
    g.add_argument("--checkpoint-every", type=int, default=d.checkpoint_every, help="epochs between checkpoints")
    g.add_argument("--seed", type=int, default=d.seed, help="seed of initialisation, order and dropout")
    g.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    g.add_argument("--device", default="cpu", help="torch device: cpu or cuda")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    from .learning.stdp import STDPConfig

    s = STDPConfig()
    g = p.add_argument_group("STDP (--method stdp; --gain and --beta set the amplitude and the mirrored term)")
    g.add_argument("--replays", type=int, default=s.n_replays, help="replays of every pattern")
    g.add_argument("--tau-plus", type=float, default=None,
                   help="potentiation window time constant in steps (default: narrow, an arrival one step "
                        "before the spike only)")
    g.add_argument("--depression", choices=("mirrored", "exponential"), default=s.depression,
                   help="mirrored: the analytic -beta term; exponential: a_minus * exp(-lag / tau_minus)")
    g.add_argument("--tau-minus", type=float, default=None,
                   help="exponential depression time constant in steps (default: the spike's own step only)")
    g.add_argument("--a-plus", type=float, default=None,
                   help="potentiation amplitude (default: gain / (N D p) / replays, the Hebbian rule's scale)")
    g.add_argument("--a-minus", type=float, default=None,
                   help="exponential depression amplitude (default: beta * a_plus)")
    g.add_argument("--update", choices=("additive", "multiplicative"), default=s.update,
                   help="additive (clipped to the bounds) or multiplicative soft bounds")
    g.add_argument("--w-min", type=float, default=None, help="lower weight bound (default: none)")
    g.add_argument("--w-max", type=float, default=None, help="upper weight bound (default: none)")
    g.add_argument("--w-init", type=float, default=s.w_init, help="initial weight of every synapse")
    g.add_argument("--p-connect", type=float, default=None,
                   help="learn on a random mask: probability that a pair is connected (default: every pair "
                        "on every delay 1..D)")
    g.add_argument("--synapses-per-pair", type=int, default=3,
                   help="with --p-connect: synapses (uniform delays 1..D) per connected pair")
    g.add_argument("--simulator", choices=("torch", "brian2"), default="torch",
                   help="torch (closed form or event loop) or the plastic Brian2 network")
    g.add_argument("--brian2-target", choices=("numpy", "cython"), default="numpy",
                   help="Brian2 runtime target of --simulator brian2")


def _train_stdp(args) -> int:
    from .io import load_raster, save_weights
    from .learning.stdp import STDPConfig, learn_stdp
    from .models.connectivity import random_mask

    if args.init_weights is not None:
        raise ValueError("--init-weights applies to --method bptt only; STDP starts from --w-init")
    targets, _ = load_raster(args.patterns)
    M, N, T = targets.shape
    out = Path(args.out)
    if out.suffix != ".npz":
        raise ValueError(f"--out must end in .npz; got {str(out)!r}")
    config = STDPConfig(n_replays=args.replays, tau_plus=args.tau_plus, depression=args.depression,
                        tau_minus=args.tau_minus, a_plus=args.a_plus, a_minus=args.a_minus, gain=args.gain,
                        beta=args.beta, update=args.update, w_min=args.w_min, w_max=args.w_max, w_init=args.w_init)
    mask = None
    if args.p_connect is not None:
        mask = random_mask(N, args.D, p_connect=args.p_connect, synapses_per_pair=args.synapses_per_pair,
                           seed=args.seed)
    result = learn_stdp(targets, args.D, config, mask=mask, simulator=args.simulator, target=args.brian2_target,
                        progress=False if args.no_progress else None)
    save_weights(out, result.W, method="stdp", stdp=config.to_dict(), a_plus=result.a_plus, a_minus=result.a_minus,
                 simulator=result.simulator, implementation=result.method, n_synapses=result.n_synapses,
                 mask=None if mask is None else {"p_connect": args.p_connect,
                                                 "synapses_per_pair": args.synapses_per_pair, "seed": args.seed},
                 seconds=result.seconds, D=args.D, beta=args.beta,
                 patterns={"file": str(args.patterns), "shape": [M, N, T]})
    print(f"learned W {tuple(result.W.shape)} by STDP ({result.simulator}, {result.method}) in {result.seconds:.2f} s: "
          f"{args.replays} replays, a_plus {result.a_plus:.4g}, {result.n_synapses} synapses")
    print(f"wrote {out}")
    return 0


def _train(args) -> int:
    import torch

    from .config import NetworkConfig
    from .io import load_raster, load_weights, save_weights
    from .learning.bptt import TrainConfig, train

    if args.method == "stdp":
        return _train_stdp(args)
    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f"threads must be >= 1; got {args.threads}")
        torch.set_num_threads(args.threads)
    targets, _ = load_raster(args.patterns)
    W0 = None
    D = args.D
    if args.init_weights is not None:
        W0, _ = load_weights(args.init_weights)
        D = W0.shape[2]
    M, N, T = targets.shape
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, optimizer=args.optimizer, lr=args.lr,
                         lr_min=args.lr_min, warmup=args.warmup, momentum=args.momentum,
                         weight_decay=args.weight_decay, dropout=args.dropout,
                         clip=None if args.clip == 0 else args.clip, surrogate=args.surrogate, alpha=args.alpha,
                         init=args.init, gain=args.gain,
                         stop_f1=None if args.no_early_stop else args.stop_f1,
                         checkpoint_every=args.checkpoint_every, seed=args.seed, device=args.device)
    net = NetworkConfig(N=N, D=D, beta=args.beta, theta=args.theta, reset=args.reset)
    out = Path(args.out)
    if out.suffix != ".npz":
        raise ValueError(f"--out must end in .npz; got {str(out)!r}")
    run_dir = Path(args.run_dir) if args.run_dir is not None else out.with_name(out.stem + "_run")
    result = train(targets, W0, config, net, out=run_dir, resume=args.resume,
                   progress=False if args.no_progress else None)
    save_weights(out, result.best_W, method="bptt", f1=result.best_f1, epochs=result.epochs,
                 config=config.to_dict(), network=net.to_dict(),
                 patterns={"file": str(args.patterns), "shape": [M, N, T]})
    save_weights(run_dir / "weights_last.npz", result.W, method="bptt", epochs=result.epochs)
    first = result.history[0]["f1"]
    print(f"trained {result.epochs} epochs in {result.seconds:.1f} s: pooled F1 {first:.4f} (init) -> "
          f"{result.best_f1:.4f} (best)")
    print(f"wrote {out}, {run_dir / 'weights_last.npz'}, {run_dir / 'history.json'}, {run_dir / 'training.png'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``hdsnn`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {"demo": _demo, "patterns": _patterns, "init": _init, "recall": _recall, "paper": _paper,
                "analyze": _analyze, "train": _train}
    try:
        return handlers[args.command](args)
    except (ValueError, FileNotFoundError) as err:
        print(f"hdsnn: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hdsnn: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
