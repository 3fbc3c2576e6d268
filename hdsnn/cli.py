"""Command line: ``hdsnn demo | patterns | init | train | recall | analyze | task | paper``.

The options of each command are generated from the parameter records
(:func:`hdsnn.config.options`): a default, range, unit or help text is written
once, in the record. Each command parses, calls one function of
:mod:`hdsnn.api` and prints what it returns. User errors (bad values, missing,
damaged or unwritable files) are printed as one line ``hdsnn: error: ...``
without a traceback, with exit status 2.
"""
from __future__ import annotations

import argparse
import sys
import warnings

from . import __version__, api
from .cli_options import Formatter, add_record, given_options, option_type, owners, record_from_args
from .config import NetworkConfig, PatternConfig, TrialConfig, options
from .learning.learn import LEARNERS
from .models.connectivity import SynapseConfig, random_mask
from .models.recall import SIMULATORS
from .models.tasks import TASKS
from .task_runs import VARIANTS
from .validation import check_int

__all__ = ["main", "build_parser", "PAPER_SCRIPTS"]

#: The scripts of paper/ runnable as ``hdsnn paper NAME``.
PAPER_SCRIPTS = ("robustness", "sequential", "scans", "capacity", "methods", "biophysical", "gain_scan",
                 "bptt_train", "motif_example", "polychrony_compare", "stdp_compare", "margin_robustness",
                 "margin_load", "margin_neurons", "learned_delays", "cue_accumulation")
INIT_METHODS = ("hebbian", "lstsq", "margin", "margin_neurons")
TRAIN_METHODS = ("bptt", "stdp", "delays", "neuron_fit")
#: Options of the run group of ``hdsnn train`` that are also fields of the delays learner's record.
SHARED_RUN = ("p_connect", "synapses_per_pair")
SIM_RENAME = {"seed": "brian2_seed"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hdsnn", formatter_class=Formatter,
                                     description="Working memory in recurrent spiking networks with "
                                                 "heterogeneous synaptic delays.")
    parser.add_argument("--version", action="version", version=f"hdsnn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub_kw = {"formatter_class": Formatter}

    p = sub.add_parser("demo", help="paper benchmark: patterns, Hebbian weights, recall, scores, figure", **sub_kw,
                       description="Generate the paper's benchmark, learn W by the analytic Hebbian rule, recall "
                                   "every pattern from its trigger window, print scores, write results.json and a "
                                   "figure to --out.")
    add_record(p.add_argument_group("patterns"), PatternConfig, skip=("kind", "E_S", "p_SM", "min_isi"))
    add_record(p.add_argument_group("network"), NetworkConfig, skip=("N",))
    p.add_argument("--gain", type=float, default=None, help="Hebbian gain (default: 2.5, from gain_scan)")
    p.add_argument("--out", default="hdsnn-demo", help="output folder")
    p.add_argument("--device", default="cpu", help="torch device: cpu or cuda")

    p = sub.add_parser("patterns", help="generate target patterns (.npz)", **sub_kw,
                       description="Generate M target rasters and write them to a .npz file.")
    p.add_argument("--out", required=True, help="output .npz file")
    add_record(p.add_argument_group("patterns"), PatternConfig)

    for name, methods, text in (("init", INIT_METHODS, "learn weights analytically (.npz)"),
                                ("train", TRAIN_METHODS, "learn weights by BPTT, STDP or in a neuron model's own dynamics (.npz)")):
        p = sub.add_parser(name, help=text, description=text + "; options apply to the methods in brackets.",
                           **sub_kw)
        p.add_argument("--patterns", required=True, help="patterns .npz file (from `hdsnn patterns`)")
        p.add_argument("--out", required=True, help="output weights .npz file")
        p.add_argument("--method", choices=methods, default=methods[0], help="learning rule")
        add_record(p.add_argument_group("network"), NetworkConfig, skip=("N",))
        records = {m: LEARNERS[m].options for m in methods}
        if name == "train":                       # before the records: these flags are shared with delays
            g = p.add_argument_group("run")
            g.add_argument("--run-dir", default=None, help="bptt, delays: checkpoint and history (default: "
                                                           "--out without .npz, plus _run)")
            g.add_argument("--resume", action="store_true", help="bptt, delays: continue from the checkpoint")
            g.add_argument("--init-weights", default=None, help="bptt: initial weights .npz (default: --init)")
            g.add_argument("--p-connect", type=float, default=None, help="bptt, stdp: learn on a random mask "
                           "with this probability that a pair is connected; delays: that of its synapses "
                           "(default 1.0)")
            g.add_argument("--synapses-per-pair", type=int, default=None, help="synapses per connected pair "
                           "(default: 3 in a random mask, 1 for delays)")
            g.add_argument("--mask-seed", type=int, default=0, help="bptt, stdp, with --p-connect: seed of the "
                                                                   "mask (delays: --seed)")
            g.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
            g.add_argument("--no-progress", action="store_true", help="no progress bar")
        g = p.add_argument_group("method options (default: the method's own)")
        # delays first: its --init has the most choices (margin, hebbian, random); the others check theirs
        for method in sorted(records, key=lambda m: m != "delays"):
            add_record(g, records[method], keep_default=False, owners=owners(records), skip=("beta",))
        if name == "init":
            p.add_argument("--executor", default=None, help="margin, margin_neurons: where the blocks of neurons run: "
                           "'local' (default), K or 'processes:K' (a local Dask cluster), or tcp://HOST:PORT (a "
                           "scheduler)")
            add_record(p.add_argument_group("synapses of margin_neurons (written as a synapse file)"), SynapseConfig,
                       keep_default=False, owners={o.name: f"default {o.default}" for o in options(SynapseConfig)})

    p = sub.add_parser("recall", help="recall patterns from their triggers", **sub_kw,
                       description="Recall every pattern from its trigger window with weights W, print scores, "
                                   "write the recalled raster (.npz) and its scores (.json).")
    p.add_argument("--weights", required=True, help="weights .npz file (from `hdsnn init`): a dense W or a synapse "
                                                     "list; settings it was learned for are the defaults")
    p.add_argument("--patterns", required=True, help="patterns .npz file")
    p.add_argument("--out", required=True, help="output raster .npz file; scores go next to it as .json")
    p.add_argument("--simulator", choices=tuple(SIMULATORS), default="torch", help="simulator")
    add_record(p.add_argument_group("network"), NetworkConfig, skip=("N", "D"))
    g = p.add_argument_group("recall protocol")
    add_record(g, TrialConfig, rename={"seed": "trial_seed"})
    g.add_argument("--max-rate", type=option_type("float", True), default=0.05,
                   help="runaway guard: stop a trial above this firing probability per neuron per step")
    records = {s: SIMULATORS[s].options for s in SIMULATORS}
    g = p.add_argument_group("simulator options (default: the simulator's own)")
    for cls in records.values():
        add_record(g, cls, keep_default=False, owners=owners(records), rename=SIM_RENAME)

    p = sub.add_parser("analyze", help="analyse a recall: scores, statistics, motifs, groups, figures, files",
                       **sub_kw, description="Compare a recalled raster with its patterns and write a report "
                                             "folder: report.json, figures (PNG and SVG), rasters.nix, rasters.nwb.")
    p.add_argument("--patterns", required=True, help="patterns: .npz, or .nwb/.nix from hdsnn or another tool")
    p.add_argument("--recall", required=True, help="recalled raster: .npz, .nwb or .nix")
    p.add_argument("--out", required=True, help="report folder")
    p.add_argument("--dt-ms", type=float, default=None, help="step (ms) of NWB/NIX files that state none")
    p.add_argument("--weights", default=None, help="weights .npz file (default: from the recall file)")
    p.add_argument("--no-weights", action="store_true", help="skip the weight figure and the group search")
    p.add_argument("--D", type=int, default=None, help="trigger window (default: from the recall file)")
    p.add_argument("--tolerance", type=int, nargs="+", default=[0, 1, 2], help="tolerances k (steps) of the scores")
    p.add_argument("--sliding-width", type=int, default=20, help="window of the sliding F1 (steps)")
    p.add_argument("--spade-budget-gb", type=float, default=2.0, help="memory budget of SPADE (GiB)")
    p.add_argument("--group-mothers", type=int, default=None, help="search groups from the first this many "
                                                                   "neurons (default: all)")

    p = sub.add_parser("task", help="train and test the task network on a working-memory task", **sub_kw,
                       description="Train the recurrent delayed LIF network with inputs and a readout on a task "
                                   "(BPTT), test it on fresh trials, sweep the wait and the number of cues, and write "
                                   "OUT/<task>[_quick][_<variant>].json, the network (.npz) and figures.")
    p.add_argument("name", choices=TASKS, help="task")
    p.add_argument("--quick", action="store_true", help="a small run (about a minute on 2 cores)")
    p.add_argument("--out", default="hdsnn-task", help="output folder")
    p.add_argument("--seed", type=int, default=0, help="seed of the network, the trials and the order")
    p.add_argument("--variant", choices=tuple(VARIANTS), default="delays",
                   help="DelayNet's lattice delays, or an ablation or control")
    p.add_argument("--wait-ms", type=int, default=None, help="cue-accumulation: wait after the cues (default 1200)")
    p.add_argument("--n-cues", type=int, default=None, help="cue-accumulation: number of cues (default 7)")
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default: the task's)")
    p.add_argument("--max-seconds", type=float, default=None, help="stop training after this wall time (s)")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: the task's)")
    p.add_argument("--curriculum", type=int, default=0, help="cue-accumulation: epochs over which the training "
                                                             "wait grows from 150 ms to --wait-ms (0: none)")
    p.add_argument("--test-trials", type=int, default=None, help="fresh test trials (default 2048; quick 256)")
    p.add_argument("--sweep-trials", type=int, default=None, help="trials per sweep point (0: no sweep)")
    p.add_argument("--brian2-trials", type=int, default=0, help="replay this many test trials in Brian2")
    p.add_argument("--mnist-images", default=None, help="sequential-digits: MNIST images file (idx or .npz)")
    p.add_argument("--mnist-labels", default=None, help="sequential-digits: MNIST labels idx file")
    p.add_argument("--init", default=None, help="start from a trained network file (..._network.npz)")
    p.add_argument("--resume", action="store_true", help="continue training from the run's checkpoint")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")

    p = sub.add_parser("paper", help="reproduce a figure of the paper", **sub_kw,
                       description="Run one of the paper/ scripts; options after NAME go to the script.")
    p.add_argument("name", choices=PAPER_SCRIPTS, help="script to run")
    p.add_argument("script_args", nargs=argparse.REMAINDER, help="options of the script")
    return parser


def _table(scores, stages: dict) -> str:
    lines = [f"{'pattern':>8} {'precision':>10} {'recall':>8} {'F1':>8}"]
    lines += [f"{m:>8} {p:>10.4f} {r:>8.4f} {f:>8.4f}"
              for m, (p, r, f) in enumerate(zip(scores.precision, scores.recall, scores.f1))]
    pooled = scores.pooled()
    lines += [f"{'pooled':>8} {pooled['precision']:>10.4f} {pooled['recall']:>8.4f} {pooled['f1']:>8.4f}", "",
              "stage          wall time (s)"] + [f"{name:<14} {sec:>10.3f}" for name, sec in stages.items()]
    return "\n".join(lines)


def _demo(args):
    pcfg = record_from_args(PatternConfig, args)
    res = api.demo(patterns=pcfg, net=record_from_args(NetworkConfig, args, N=pcfg.N), gain=args.gain, out=args.out,
                   device=args.device)
    print(f"hdsnn demo: N={pcfg.N} M={pcfg.M} T={pcfg.T} D={args.D} p_A={pcfg.p_A} gain={res['gain']} "
          f"seed={pcfg.seed}")
    print(_table(res["_scores"], res["wall_time_s"]))
    if any(res["runaway"]):
        print(f"warning: runaway activity stopped in patterns {[i for i, r in enumerate(res['runaway']) if r]}")
    return res


def _patterns(args):
    res = api.patterns_file(record_from_args(PatternConfig, args), args.out)
    print(f"{res['shape'][0]} patterns x {res['shape'][1]} neurons x {res['shape'][2]} steps, "
          f"{res['spikes']} spikes (rate {res['rate']:.2e} per step)")
    return res


def _learn(args):
    methods = INIT_METHODS if args.command == "init" else TRAIN_METHODS
    if args.command == "init" and args.method == "margin" and getattr(args, "neuron", None) is not None:
        args.method = "margin_neurons"          # margin learning in that neuron's own dynamics
    if args.command == "train" and args.method == "bptt" and getattr(args, "neuron", None) is not None:
        args.method = "neuron_fit"              # hdsnn train --neuron MODEL: learning in that model's dynamics
    shared = SHARED_RUN if args.command == "train" and args.method != "delays" else ()
    given = given_options(args, {m: LEARNERS[m].options for m in methods}, args.method, "--method",
                          skip=("beta",) + shared)
    net = record_from_args(NetworkConfig, args, N=1)
    extra = {"executor": args.executor} if args.command == "init" and args.executor else {}
    if args.command == "init":
        chosen = {o.name: getattr(args, o.name) for o in options(SynapseConfig) if getattr(args, o.name) is not None}
        if chosen and args.method != "margin_neurons":
            raise ValueError(", ".join("--" + k.replace("_", "-") for k in sorted(chosen))
                             + f" apply to --method margin_neurons only; got --method {args.method}")
        if chosen and "delays" not in chosen:
            raise ValueError(", ".join("--" + k.replace("_", "-") for k in sorted(chosen))
                             + " need --delays uniform|lognormal|exponential")
        if chosen:
            extra["synapse_config"] = SynapseConfig(**chosen)
    if args.command == "train":
        if args.method in ("bptt", "delays"):
            run_dir = args.run_dir or str(args.out)[:-len(".npz")] + "_run"
            extra = {"run_dir": run_dir, "resume": args.resume}
            if args.init_weights:
                if args.method != "bptt":
                    raise ValueError("--init-weights applies to --method bptt only")
                extra["init_weights"] = args.init_weights
        elif args.run_dir or args.resume or args.init_weights:
            raise ValueError("--run-dir, --resume and --init-weights apply to --method bptt (and delays) only")
        if args.method == "delays" and args.mask_seed != 0:
            raise ValueError("--mask-seed does not apply to --method 'delays': its synapses are drawn with --seed")
        extra["progress"] = False if args.no_progress else None
        if args.threads is not None:
            import torch
            torch.set_num_threads(check_int("--threads", args.threads, 1))
        if args.p_connect is not None and args.method != "delays":
            k = 3 if args.synapses_per_pair is None else args.synapses_per_pair
            check_int("--synapses-per-pair", k, 1, net.D)
            N = int(api.load_raster(args.patterns)[0].shape[1])
            extra["mask"] = random_mask(N, net.D, p_connect=args.p_connect, synapses_per_pair=k,
                                        seed=args.mask_seed)
        elif args.synapses_per_pair is not None and args.method != "delays":
            raise ValueError("--synapses-per-pair applies with --p-connect (or to --method delays)")
    if args.method == "stdp":
        given.setdefault("beta", net.beta)
    D = None if extra.get("init_weights") else net.D
    res = api.learn_file(args.patterns, args.out, args.method, net=net, D=D, **extra, **given)
    learned = res["learned"]
    if learned.synapses is not None:
        syn = learned.synapses
        delays = "real-valued delays" if syn.delay_ms is not None else f"whole-ms delays 1..{syn.D}"
        neuron = learned.options.get("neuron")
        print(f"learned {len(syn)} synapses ({delays}) by {learned.method}"
              + (f" for neuron {neuron}" if neuron else "") + f" in {learned.seconds:.2f} s, "
              f"{float((syn.weight != 0).mean()) if len(syn) else 0.0:.1%} non-zero")
    else:
        print(f"learned W {tuple(learned.W.shape)} by {learned.method} in {learned.seconds:.2f} s, "
              f"{float((learned.W != 0).float().mean()):.1%} non-zero")
    facts = learned.details
    if learned.method == "delays":
        syn = learned.synapses
        print(f"{len(syn)} synapses, delays {float(syn.delay_ms.min()):.2f} .. {float(syn.delay_ms.max()):.2f} "
              f"steps (mean {float(syn.delay_ms.mean()):.2f})")
    if "best_f1" in facts:
        print(f"pooled F1 {learned.history[0]['f1']:.4f} (init) -> {facts['best_f1']:.4f} (best), "
              f"{facts['epochs']} epochs")
    if "violations" in facts:
        print(f"teacher-forced violations left: {facts['violations']} ({facts['neurons_violating']} neurons) after "
              f"{facts['epochs']} epochs" + ("; recall reproduces every target" if facts["violations"] == 0 else ""))
    return res


def _recall(args):
    given = given_options(args, {s: SIMULATORS[s].options for s in SIMULATORS}, args.simulator, "--simulator",
                   SIM_RENAME)
    trial = TrialConfig(**{o.name: getattr(args, o.name) for o in options(TrialConfig) if o.name != "seed"},
                        seed=args.trial_seed)
    res = api.recall_file(args.weights, args.patterns, args.out, simulator=args.simulator,
                          net=record_from_args(NetworkConfig, args, N=1, D=1), trial=trial, max_rate=args.max_rate, **given)
    result = res["recall"]
    if "efficacy" in result.provenance:
        opts = result.provenance["options"]
        print(f"{args.simulator} {opts.get('neuron')}: efficacy {result.provenance['efficacy']:g}, delays shortened "
              f"by {result.provenance['delay_shift_ms']:g} ms, dt {opts.get('dt_ms'):g} ms, scores at "
              f"±{opts['tolerance']} ms")
    print(_table(result.scores, result.seconds))
    return res


def _analyze(args):
    mothers = None if args.group_mothers is None else range(check_int("--group-mothers", args.group_mothers, 1))
    res = api.analyze_files(args.patterns, args.recall, args.out, weights=args.weights,
                            use_weights=not args.no_weights, D=args.D, dt_ms=args.dt_ms, tolerances=args.tolerance,
                            sliding_width=args.sliding_width, spade_budget_gb=args.spade_budget_gb,
                            group_mothers=mothers)
    report = res["report"]
    for note in res["notes"]:
        print(f"note: {note}")
    pooled = report["scores"]["exact"]["pooled"]
    print(f"F1 {pooled['f1']:.4f} (exact)" + "".join(
        f", {v['pooled']['f1']:.4f} (±{k})" for k, v in report["scores"]["tolerant"].items() if k != "0"))
    for name, sec in report["wall_time_s"].items():
        print(f"{name:<22} {sec:>8.2f} s")
    return {"files": report["files"]}


def _task(args):
    import torch

    from .task_runs import run_task

    if args.threads is not None:
        torch.set_num_threads(check_int("threads", args.threads, 1))
    mnist = None
    if args.mnist_images is not None:
        if args.name != "sequential-digits":
            raise ValueError("--mnist-images applies to the sequential-digits task only")
        mnist = (args.mnist_images, args.mnist_labels)
    res = run_task(args.name, args.out, quick=args.quick, seed=args.seed, variant=args.variant, wait_ms=args.wait_ms,
                   n_cues=args.n_cues, epochs=args.epochs, max_seconds=args.max_seconds, lr=args.lr,
                   curriculum=args.curriculum, init=args.init, test_trials=args.test_trials,
                   sweep_trials=args.sweep_trials, mnist=mnist, brian2_trials=args.brian2_trials, resume=args.resume,
                   progress=False if args.no_progress else None)
    print(f"{args.name} ({args.variant}): test accuracy {res['test_accuracy']:.4f} on {res['trials']['test']} "
          f"trials (chance {res['chance']:.3f}), {res['epochs']} epochs, {res['learn_seconds']:.1f} s")
    if "accuracy_vs_wait" in res:
        pairs = zip(res["accuracy_vs_wait"]["wait_ms"], res["accuracy_vs_wait"]["accuracy"])
        print("accuracy against the wait: " + ", ".join(f"{w} ms {a:.3f}" for w, a in pairs))
    if "brian2" in res:
        b = res["brian2"]
        print(f"Brian2 replay: {b['same_decisions_as_torch']} of {b['trials']} decisions as torch")
    return {"files": res["files"]}


def _paper(args):
    import importlib

    importlib.import_module(f"hdsnn.paper.{args.name}").main(args.script_args)
    return {}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``hdsnn`` command."""
    args = build_parser().parse_args(argv)
    handlers = {"demo": _demo, "patterns": _patterns, "init": _learn, "train": _learn, "recall": _recall,
                "analyze": _analyze, "task": _task, "paper": _paper}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", api.LearnedForWarning)
            try:
                res = handlers[args.command](args)
            finally:
                for w in caught:
                    if issubclass(w.category, api.LearnedForWarning):
                        print(f"hdsnn: warning: {w.message}", file=sys.stderr)
                    else:
                        warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    except (ValueError, OSError) as err:
        print(f"hdsnn: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hdsnn: interrupted", file=sys.stderr)
        return 130
    if res.get("files"):
        print("wrote " + ", ".join(res["files"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
