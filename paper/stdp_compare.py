"""STDP against the analytic rule and BPTT on the paper benchmark.

For each network size, W is learned from the same patterns by

- ``analytic``: :func:`hdsnn.learning.hebbian_init` (gain 2.5);
- ``stdp``: ``hdsnn.learn(targets, 'stdp')`` (torch), replays of the clamped
  patterns with plasticity on and recurrent transmission off:

  * additive, no bounds, mirrored depression (the analytic ``-beta`` term),
    potentiation window ``tau_plus`` in {narrow, 2, 5, 10} steps;
  * additive, no bounds, exponential depression with ``tau_minus = tau_plus``
    and ``a_minus = beta * a_plus`` (so that each kernel's mass keeps the
    analytic ratio ``beta``), ``tau_plus`` in {2, 5, 10};
  * the mirrored rule with the window's total weight scaled to the narrow
    one's (``a_plus * (1 - exp(-1/tau_plus))``, "mass-normalised");
  * narrow window, mirrored depression, with bounds: additive updates clipped
    to one pair's weights ``[-beta a, a]`` (``a = gain / (N D p)``), and
    multiplicative soft bounds at the analytic weights' range
    ``[min W_analytic, max W_analytic]``, each with 1, 4 and 16 replays.
    (Additive updates without bounds do not depend on the number of
    replays, the amplitude being ``a_plus / n_replays``: the results record
    the largest difference between 16 replays and the analytic W.)

- ``bptt``: closed-loop BPTT from the analytic weights (triangle surrogate,
  alpha 2, no dropout, AdamW lr 2e-3: the settings that trained at N=512,
  ``paper/results/bptt_N512_M16.json``), stopped at F1 = 1 or a time limit.

Metrics: pooled recall F1 (torch simulator, clamped trigger); F1 with 50 steps
of pretime and posttime and the cue perturbed with probability p_flip in
{0, 0.1, 0.25, 0.5} (the paper's redraw noise, ``paper/robustness.py``);
Pearson r of W with the analytic W; polychronous groups
(:func:`hdsnn.analysis.find_groups`, anchors: the fewest strongest inputs that
reach threshold, ``min_path=1``, from the first ``--mothers`` neurons; not searched where
recall runs away, as the search has no runaway guard) and their
:func:`~hdsnn.analysis.group_statistics`; wall time of learning.

A Brian2 section learns with the plastic Brian2 network
(:mod:`hdsnn.learning.stdp_brian2`) and compares its weights with the torch
rule's: (a) a small network (N=256, M=4, T=300, D=21, p_A=4e-3; dense and on
a random mask), whose weights learned by the narrow mirrored rule in Brian2
are then recalled with plasticity off by the torch simulator, the
discrete-equivalent Brian2 network and a Brian2 LIF neuron (continuous time);
(b) in full mode, the N=512 benchmark on its dense network (10.7 M plastic
synapses: the weights, the wall time, recall F1), and the N=1024 benchmark's
patterns on a mask of about 0.1 M synapses (the dense 43 M would need about
6.5 GB at the 150 bytes per plastic synapse measured at N=512).

Run: ``python -m paper.stdp_compare [--quick]`` (or ``hdsnn paper stdp_compare``);
full mode (N=1024 and N=512, M=16, T=1000, D=41, p_A=1e-3) measured at 954 s
on a shared 2-core machine with one torch thread (of which BPTT 244 s and 132 s);
quick mode about 15 s. ``--replot`` redraws the
figure from the JSON. Writes ``paper/results/stdp_compare.json`` and
``stdp_compare.png/.svg`` (``_quick`` in quick mode).
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch

from hdsnn import NetworkConfig, TrialConfig, bernoulli_patterns, recall
from hdsnn.analysis import SearchConfig, find_groups, group_statistics
from hdsnn.io import save_figure
from hdsnn.learning import DEFAULT_GAIN, STDPConfig, TrainConfig, hebbian_init, learn, train
from hdsnn.learning.stdp import default_amplitude

from ._common import PAPER_SIZE, QUICK_SIZE, TRAINING, parser, save

P_FLIPS = (0.0, 0.1, 0.25, 0.5)
#: The paper benchmark at N=512, where the analytic rule alone is not perfect.
N512_SIZE = (16, 512, 1000, 41, 1e-3)


def pearson(a: torch.Tensor, b: torch.Tensor) -> float:
    """Pearson correlation of two weight tensors, in float64, without copying both to numpy."""
    a, b = a.reshape(-1).double(), b.reshape(-1).double()
    a = a - a.mean()
    b = b - b.mean()
    return float((a @ b) / (a.norm() * b.norm()))


def evaluate(W, targets, D, mothers: int) -> dict:
    """Recall F1, robustness to cue noise, and polychronous-group statistics of W."""
    M, N, T = targets.shape
    net = NetworkConfig(N=N, D=D)
    start = time.perf_counter()
    clean = recall(W, targets, net=net, progress=False)
    pooled = clean.scores.pooled()
    out = {"f1": pooled["f1"], "precision": pooled["precision"], "recall": pooled["recall"],
           "runaway": int(clean.runaway.sum()), "robustness": {}}
    for p in P_FLIPS:
        trial = TrialConfig(pretime=50, posttime=50, p_flip=p, noise="redraw", seed=1)
        out["robustness"][str(p)] = recall(W, targets, net=net, trial=trial, progress=False).scores.pooled()["f1"]
    out["recall_s"] = time.perf_counter() - start
    if out["runaway"]:
        # the group search simulates without a runaway guard: in a network whose recall runs away it
        # costs hours (every neuron fires every step), and its "groups" would be the runaway itself
        out["groups"] = {"n_groups": None, "n_mothers_searched": 0, "mean_size": None, "max_size": None,
                         "mean_span_steps": None, "max_path_length": None, "with_path_at_least_2": None,
                         "neurons_in_groups": None, "skipped": "recall ran away in "
                                                               f"{out['runaway']} of {M} patterns"}
        out["groups_s"] = 0.0
        return out
    start = time.perf_counter()
    groups = find_groups(W, net, SearchConfig(n_anchors=None, min_path=1), mothers=range(min(mothers, N)),
                         progress=False)
    stats = group_statistics(groups, N=N)
    out["groups"] = {"n_groups": stats["n_groups"], "n_mothers_searched": min(mothers, N),
                     "mean_size": stats["size"]["mean"], "max_size": stats["size"]["max"],
                     "mean_span_steps": stats["span_steps"]["mean"],
                     "max_path_length": stats["path_length"]["max"],
                     "with_path_at_least_2": int(sum(g.path_length >= 2 for g in groups)),
                     "neurons_in_groups": stats["neurons_in_groups"]}
    out["groups_s"] = time.perf_counter() - start
    return out


def stdp_variants(quick: bool) -> list[tuple[str, dict]]:
    """(label, settings) of the STDP rows; settings: STDPConfig fields, bounds as 'analytic'."""
    taus = (None, 2.0) if quick else (None, 2.0, 5.0, 10.0)
    rows = [(f"stdp mirrored tau+={'narrow' if t is None else f'{t:g}'}",
             dict(tau_plus=t, depression="mirrored")) for t in taus]
    rows += [(f"stdp mirrored tau+={t:g} mass-normalised", dict(tau_plus=t, depression="mirrored", scale="mass"))
             for t in taus if t is not None]
    rows += [(f"stdp exponential tau+=tau-={t:g}", dict(tau_plus=t, depression="exponential", tau_minus=t))
             for t in taus if t is not None]
    for R in ((1, 4) if quick else (1, 4, 16)):
        rows.append((f"stdp narrow additive clipped to one pair R={R}", dict(n_replays=R, bounds="pair")))
    for R in ((1, 4) if quick else (1, 4, 16)):
        rows.append((f"stdp narrow multiplicative analytic range R={R}",
                     dict(n_replays=R, update="multiplicative", bounds="analytic")))
    return rows


def learn_all(targets, D, quick: bool, bptt_seconds: float, bptt_epochs: int) -> dict:
    """Every learned W of one size, with the wall time of learning."""
    M, N, T = targets.shape
    start = time.perf_counter()
    H = hebbian_init(targets, D=D)
    weights = {"analytic": (H, time.perf_counter() - start, {"rule": "hebbian_init", "gain": DEFAULT_GAIN})}
    lo, hi = float(H.min()), float(H.max())
    pair = default_amplitude(targets, D)                 # the analytic weight of one pair
    for label, settings in stdp_variants(quick):
        settings = dict(settings)
        bounds = settings.pop("bounds", None)
        if bounds == "analytic":
            settings.update(w_min=lo, w_max=hi)
        elif bounds == "pair":                           # a synapse holds at most one pair's weight
            settings.update(w_min=-STDPConfig().beta * pair, w_max=pair)
        if settings.pop("scale", None) == "mass":        # the window's total weight is that of the narrow one
            settings["a_plus"] = pair * (1.0 - math.exp(-1.0 / settings["tau_plus"])) / settings.get("n_replays", 1)
        cfg = STDPConfig(**settings)
        r = _stdp(targets, D, cfg, progress=False)
        how = r.details["implementation"]
        weights[label] = (r.W, r.seconds, {"config": cfg.to_dict(), "implementation": how,
                                           "a_plus": r.details["a_plus"], "a_minus": r.details["a_minus"]})
        print(f"  {label:<40} learned in {r.seconds:6.2f} s ({how})", flush=True)
    cfg = TrainConfig(epochs=bptt_epochs, stop_f1=1.0, max_seconds=bptt_seconds, seed=0, **TRAINING)
    res = train(targets, config=cfg, net=NetworkConfig(N=N, D=D), progress=False)
    weights["bptt"] = (res.best_W, res.seconds, {"config": cfg.to_dict(), "epochs": res.epochs,
                                                 "init_f1": res.history[0]["f1"], "best_f1": res.best_f1})
    print(f"  {'bptt':<40} learned in {res.seconds:6.2f} s ({res.epochs} epochs)", flush=True)
    return weights


def compare_size(size, quick: bool, mothers: int, bptt_seconds: float, bptt_epochs: int) -> dict:
    M, N, T, D, p = size
    targets = bernoulli_patterns(M, N, T, p, seed=0)
    print(f"N={N} M={M} T={T} D={D} p_A={p}", flush=True)
    weights = learn_all(targets, D, quick, bptt_seconds, bptt_epochs)
    H = weights["analytic"][0]
    rows = []
    for label, (W, seconds, info) in weights.items():
        r = {"method": label, "learn_s": seconds, "pearson_r_analytic": pearson(W, H),
             "nonzero_fraction": float((W != 0).float().mean()), **info, **evaluate(W, targets, D, mothers)}
        rows.append(r)
        print(f"  {label:<40} r={r['pearson_r_analytic']:.4f}  F1 {r['f1']:.4f}  F1(p_flip 0.25) "
              f"{r['robustness']['0.25']:.4f}  groups {r['groups']['n_groups']}  (recall {r['recall_s']:.0f} s, "
              f"groups {r['groups_s']:.0f} s)", flush=True)
    invariance = float((_stdp(targets, D, STDPConfig(n_replays=16)).W - H).abs().max())
    return {"size": {"M": M, "N": N, "T": T, "D": D, "p_A": p}, "rows": rows,
            "additive_16_replays_minus_analytic_max_abs": invariance,
            "analytic_weight_range": [float(H.min()), float(H.max())]}


def _stdp(targets, D, cfg: STDPConfig, **kw):
    """The torch STDP learner of the registry with the rule ``cfg``."""
    return learn(targets, "stdp", D=D, net=NetworkConfig(beta=cfg.beta), **cfg.to_dict(), **kw)


def brian2_section(quick: bool) -> dict:
    """Brian2 plastic network against the torch rule on masks; recall of Brian2-learned weights."""
    from hdsnn.learning.stdp_brian2 import stdp_brian2
    from hdsnn.models import export_synapses, make_trials, random_mask, simulate
    from hdsnn.models.brian2 import calibrate_efficacy, simulate_brian2
    from hdsnn.learning.stdp import stdp_event_loop

    out = {}
    M, N, T, D, p = QUICK_SIZE
    targets = bernoulli_patterns(M, N, T, p, seed=0)
    mask = random_mask(N, D, p_connect=0.5, synapses_per_pair=3, seed=0)
    small = {"size": {"M": M, "N": N, "T": T, "D": D, "p_A": p}, "synapses_dense": N * N * D,
             "mask": {"p_connect": 0.5, "synapses_per_pair": 3, "synapses": int(mask.sum())}, "rules": {}}
    Wb = None
    for label, cfg, m in (
            ("narrow mirrored additive, dense", STDPConfig(n_replays=2), None),
            *(() if quick else (
                ("tau+=5 exponential additive, dense", STDPConfig(n_replays=2, tau_plus=5.0, depression="exponential",
                                                                  tau_minus=5.0), None),
                ("narrow multiplicative [-0.1, 0.2], dense", STDPConfig(n_replays=2, update="multiplicative",
                                                                         w_min=-0.1, w_max=0.2), None))),
            ("tau+=2 exponential multiplicative [-0.1, 0.2], mask",
             STDPConfig(n_replays=2, tau_plus=2.0, depression="exponential", tau_minus=2.0,
                        update="multiplicative", w_min=-0.1, w_max=0.2), mask)):
        W, (build, run) = stdp_brian2(targets, D, cfg, mask=m, return_seconds=True)
        t0 = time.perf_counter()
        Wt = stdp_event_loop(targets, D, cfg, mask=m, dtype=torch.float64)
        torch_s = time.perf_counter() - t0
        small["rules"][label] = {"max_abs_diff_torch_brian2": float((W - Wt).abs().max()),
                                 "max_abs_weight": float(W.abs().max()), "brian2_build_s": build,
                                 "brian2_run_s": run, "torch_event_loop_s": torch_s}
        print(f"  Brian2 vs torch, {label}: max |dW| {small['rules'][label]['max_abs_diff_torch_brian2']:.2e} "
              f"(weights up to {float(W.abs().max()):.3f}); Brian2 {build + run:.1f} s, torch {torch_s:.2f} s",
              flush=True)
        if Wb is None:
            Wb = W.float()
            small["narrow_mirrored_brian2_minus_analytic_max_abs"] = float((Wb - hebbian_init(targets, D=D))
                                                                           .abs().max())
    # recall of the Brian2-learned weights (narrow mirrored), plasticity off
    trials = make_trials(targets, D)
    net = NetworkConfig(N=N, D=D)
    a = simulate(Wb, trials.inputs, trials.clamp, net, max_rate=None).raster
    sim = simulate_brian2(Wb, trials.inputs, trials.clamp, net)
    from hdsnn.models import score
    syn = export_synapses(Wb)
    e, shift, table = calibrate_efficacy("lif_current", syn, targets[:1 if quick else 2], D,
                                         efficacies=(1.0, 2.0) if quick else (0.7, 1.0, 1.4, 2.0, 2.8),
                                         delay_shifts_ms=(0.5,) if quick else (0.0, 0.5))
    lif = recall(Wb, targets, simulator="brian2", neuron="lif_current", efficacy=e, delay_shift_ms=shift,
                 max_rate=0.1)
    small["recall"] = {"torch_f1": score(targets, trials.extract(a), D).pooled()["f1"],
                       "brian2_exact_f1": score(targets, trials.extract(sim.raster), D).pooled()["f1"],
                       "brian2_exact_equals_torch": bool(torch.equal(a, sim.raster)),
                       "lif_current_f1_tolerance_1ms": lif.scores.pooled()["f1"], "lif_current_efficacy": e,
                       "lif_current_delay_shift_ms": shift}
    print(f"  recall of Brian2-learned weights: torch F1 {small['recall']['torch_f1']:.4f}, Brian2 exact "
          f"{small['recall']['brian2_exact_f1']:.4f} (identical rasters: {small['recall']['brian2_exact_equals_torch']}),"
          f" LIF (±1 ms) {small['recall']['lif_current_f1_tolerance_1ms']:.4f}", flush=True)
    out["small"] = small
    if not quick:
        # the N=512 benchmark, dense (10.7 M plastic synapses; the N=1024 one, 43 M, would need about 6.5 GB)
        M, N, T, D, p = N512_SIZE
        targets = bernoulli_patterns(M, N, T, p, seed=0)
        W, (build, run) = stdp_brian2(targets, D, STDPConfig(), return_seconds=True)
        H = hebbian_init(targets, D=D)
        out["paper_N512_dense"] = {
            "size": {"M": M, "N": N, "T": T, "D": D, "p_A": p}, "synapses": N * N * D,
            "rule": "narrow mirrored additive, 1 replay", "brian2_build_s": build, "brian2_run_s": run,
            "max_abs_diff_analytic": float((W.float() - H).abs().max()), "max_abs_weight": float(H.abs().max()),
            "pearson_r_analytic": pearson(W, H),
            "recall_f1_torch": recall(W.float(), targets, progress=False).scores.pooled()["f1"]}
        del W
        print(f"  N=512 benchmark, dense, in Brian2: {build + run:.1f} s; max |W - W_analytic| "
              f"{out['paper_N512_dense']['max_abs_diff_analytic']:.2e}, recall F1 "
              f"{out['paper_N512_dense']['recall_f1_torch']:.4f}", flush=True)
        M, N, T, D, p = PAPER_SIZE
        targets = bernoulli_patterns(M, N, T, p, seed=0)
        mask = random_mask(N, D, p_connect=0.05, synapses_per_pair=2, seed=0)
        cfg = STDPConfig()
        W, (build, run) = stdp_brian2(targets, D, cfg, mask=mask, return_seconds=True)
        t0 = time.perf_counter()
        Wt = stdp_event_loop(targets, D, cfg, mask=mask, dtype=torch.float64)
        loop_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        Wc = _stdp(targets, D, cfg, mask=mask).W
        closed_s = time.perf_counter() - t0
        out["paper_patterns_on_mask"] = {
            "size": {"M": M, "N": N, "T": T, "D": D, "p_A": p},
            "mask": {"p_connect": 0.05, "synapses_per_pair": 2, "synapses": int(mask.sum())},
            "rule": "narrow mirrored additive, 1 replay", "brian2_build_s": build, "brian2_run_s": run,
            "torch_event_loop_s": loop_s, "torch_closed_form_s": closed_s,
            "max_abs_diff_torch_brian2": float((W - Wt).abs().max()),
            "max_abs_diff_closed_form_brian2": float((W - Wc.double()).abs().max()),
            "max_abs_weight": float(W.abs().max())}
        print(f"  paper patterns on a mask of {int(mask.sum())} synapses: Brian2 {build + run:.1f} s, torch event loop "
              f"{loop_s:.1f} s, closed form {closed_s:.2f} s; max |dW| {out['paper_patterns_on_mask']['max_abs_diff_torch_brian2']:.2e}",
              flush=True)
    return out


def figure(results: dict):
    from matplotlib.figure import Figure

    sizes = results["sizes"]
    fig = Figure(figsize=(19, 4.2))
    axes = fig.subplots(1, 4)
    ax = axes[0]
    labels = [r["method"] for r in sizes[0]["rows"]]
    x = np.arange(len(labels))
    for k, s in enumerate(sizes):
        f1 = [r["f1"] for r in s["rows"]]
        ax.bar(x + 0.4 * k - 0.2, f1, width=0.4, label=f"N={s['size']['N']}")
    ax.set_xticks(x, [lab.replace("stdp ", "") for lab in labels], rotation=70, ha="right", fontsize=7)
    ax.set_ylabel("pooled recall F1")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
    ax.set_title("recall")
    ax = axes[1]
    keep = ("analytic", "bptt", "stdp mirrored tau+=2", "stdp narrow additive clipped to one pair R=1",
            "stdp narrow multiplicative analytic range R=1", "stdp narrow multiplicative analytic range R=16")
    for k, s in enumerate(sizes):
        for c, r in enumerate([r for r in s["rows"] if r["method"] in keep]):
            ax.plot(P_FLIPS, [r["robustness"][str(p)] for p in P_FLIPS], marker="o", ms=3, color=f"C{c}",
                    ls="-" if k == 0 else "--", label=f"{r['method'].replace('stdp ', '')}, N={s['size']['N']}")
    ax.set_xlabel("p_flip (redraw), 50 steps pretime")
    ax.set_ylabel("pooled F1")
    ax.set_title("cue noise")
    ax.legend(fontsize=5)
    ax = axes[2]
    for k, s in enumerate(sizes):
        narrow = [r for r in s["rows"] if r["method"] == "stdp mirrored tau+=narrow"]
        for kind, marker, ls in (("mirrored", "o", "-"), ("mass-normalised", "^", ":"), ("exponential", "s", "--")):
            pts = [(0.0, r["pearson_r_analytic"], r["f1"]) for r in narrow]
            for r in s["rows"]:
                cfg = r.get("config") or {}
                name = r["method"]
                if kind == "mass-normalised":
                    chosen = name.endswith("mass-normalised")
                else:
                    chosen = (name.startswith(f"stdp {kind} tau+=") and "mass" not in name
                              and cfg.get("w_max") is None and cfg.get("tau_plus") is not None)
                if chosen:
                    pts.append((cfg["tau_plus"], r["pearson_r_analytic"], r["f1"]))
            pts.sort()
            ax.plot([q[0] for q in pts], [q[1] for q in pts], marker=marker, color=f"C{k}", ls=ls,
                    label=f"r, {kind}, N={s['size']['N']}")
            ax.plot([q[0] for q in pts], [q[2] for q in pts], marker=marker, color=f"C{k}", ls=ls, alpha=0.35,
                    label=f"F1, {kind}, N={s['size']['N']}")
    ax.set_xlabel("tau+ (steps; 0 = narrow)")
    ax.set_title("window width: r with analytic W, and F1")
    ax.legend(fontsize=6)
    ax = axes[3]
    for k, s in enumerate(sizes):
        for update, ls in (("additive", "-"), ("multiplicative", "--")):
            pts = [(r["config"]["n_replays"], r["f1"]) for r in s["rows"]
                   if r["method"].startswith(f"stdp narrow {update} ")]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ls=ls, color=f"C{k}",
                    label=f"{update}, N={s['size']['N']}")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("replays")
    ax.set_ylabel("pooled F1")
    ax.set_title("narrow, bounded: clip / soft bounds")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def markdown(results: dict) -> str:
    """The table of paper/RESULTS.md, from the results."""
    lines = []
    for s in results["sizes"]:
        z = s["size"]
        lines.append(f"N={z['N']}, M={z['M']}, T={z['T']}, D={z['D']}, p_A={z['p_A']}:\n")
        lines.append("| method | learn (s) | r with analytic | F1 (precision, recall) | F1 p_flip 0.1 | 0.25 | 0.5 "
                     "| groups (mothers) | mean size | max path |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|")
        for r in s["rows"]:
            g = r["groups"]
            if g["n_groups"] is None:
                lines.append(f"| {r['method']} | {r['learn_s']:.2f} | {r['pearson_r_analytic']:.4f} | {r['f1']:.4f} "
                             f"({r['precision']:.3f}, {r['recall']:.3f}, {r['runaway']} runaway) | "
                             f"{r['robustness']['0.1']:.4f} | {r['robustness']['0.25']:.4f} | "
                             f"{r['robustness']['0.5']:.4f} | not searched (runaway) | - | - |")
                continue
            size = "-" if g["mean_size"] is None else f"{g['mean_size']:.1f}"
            path = "-" if g["max_path_length"] is None else f"{g['max_path_length']:.0f}"
            lines.append(f"| {r['method']} | {r['learn_s']:.2f} | {r['pearson_r_analytic']:.4f} | {r['f1']:.4f} "
                         f"({r['precision']:.3f}, {r['recall']:.3f}{', ' + str(r['runaway']) + ' runaway' if r['runaway'] else ''}) | "
                         f"{r['robustness']['0.1']:.4f} | {r['robustness']['0.25']:.4f} | "
                         f"{r['robustness']['0.5']:.4f} | {g['n_groups']} ({g['n_mothers_searched']}) | {size} | "
                         f"{path} |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> dict:
    p = parser(__doc__)
    p.add_argument("--mothers", type=int, default=None, help="neurons searched for groups (default 64; quick 16)")
    p.add_argument("--bptt-seconds", type=float, default=None,
                   help="time limit of each BPTT run (default 240; quick 20)")
    p.add_argument("--no-brian2", action="store_true", help="skip the Brian2 section")
    p.add_argument("--replot", action="store_true", help="only redraw the figure and table from the JSON in --out")
    args = p.parse_args(argv)
    started = time.perf_counter()
    if args.replot:
        import json
        from pathlib import Path

        name = f"stdp_compare{'_quick' if args.quick else ''}"
        results = json.loads((Path(args.out) / f"{name}.json").read_text())
        save_figure(figure(results), f"{args.out}/{name}")
        print(markdown(results))
        return results
    torch.set_num_threads(1)          # a shared 2-core machine; find_groups is fastest on one thread too
    if args.quick:
        sizes = [QUICK_SIZE]
        mothers, bptt_s, bptt_epochs = 16, 20.0, 3
    else:
        sizes = [PAPER_SIZE, N512_SIZE]
        mothers, bptt_s, bptt_epochs = 64, 240.0, 12
    mothers = args.mothers if args.mothers is not None else mothers
    bptt_s = args.bptt_seconds if args.bptt_seconds is not None else bptt_s
    results = {"sizes": [compare_size(s, args.quick, mothers, bptt_s, bptt_epochs) for s in sizes],
               "p_flips": list(P_FLIPS), "mothers": mothers}
    if not args.no_brian2:
        results["brian2"] = brian2_section(args.quick)
    name = f"stdp_compare{'_quick' if args.quick else ''}"
    save_figure(figure(results), f"{args.out}/{name}")
    results["table_markdown"] = markdown(results)
    print(results["table_markdown"])
    save(args.out, name, results, started)
    return results


if __name__ == "__main__":
    main()
