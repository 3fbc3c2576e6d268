"""Margin against cue damage: the robustness table of margin learning beside the Hebbian rule (beyond the paper).

The margin ``kappa`` of :mod:`hdsnn.learning.margin` is the knob between
capacity and tolerance: every teacher-forced membrane is at least ``kappa``
away from the threshold, so a damaged cue must push it further before a spike
is lost or added. For each learner (the Hebbian rule, then margin learning
from the Hebbian weights at each ``kappa``) the table gives the pooled F1 of
the clamped recall under the paper's perturbations: cue noise ``p_flip``
(redraw at the cue's rate, on the pretime of 50 steps and the trigger),
a trigger shortened to its first k steps, and the cue of the first n neurons
removed. Weights are learned once per learner and every condition uses the
same trial seed. The last rows write the constraints for the shortened
trigger (``trigger_steps``, so that the free run they describe starts where
that recall's does): the margin then guarantees that trigger, at a cost for
the full one whose free run starts later.

Run: ``python -m paper.margin_robustness [--quick]``; writes
``paper/results/margin_robustness.json`` and a figure.
"""
from __future__ import annotations

import time

import numpy as np

from hdsnn.config import NetworkConfig, TrialConfig
from hdsnn.io import save_figure
from hdsnn.learning import learn
from hdsnn.models import bernoulli_patterns, recall

from ._common import benchmark_size, parser, save

KAPPAS = (0.1, 0.3, 0.5, 1.0)
#: Margins of the rows learned for the 20-step trigger (scaled with D).
TRIGGER_KAPPAS = (0.3, 0.5)


def conditions(D: int, N: int) -> dict:
    """The perturbations of the table, by label: the issue's points at the paper size, scaled to D and N."""
    trigger = (round(20 * D / 41), round(30 * D / 41))
    silenced = (round(128 * N / 1024), round(410 * N / 1024))
    return {"clean": TrialConfig(),
            "p_flip 0.25": TrialConfig(pretime=50, p_flip=0.25, seed=1),
            "p_flip 0.5": TrialConfig(pretime=50, p_flip=0.5, seed=1),
            f"trigger {trigger[0]} steps": TrialConfig(trigger_steps=trigger[0]),
            f"trigger {trigger[1]} steps": TrialConfig(trigger_steps=trigger[1]),
            f"{silenced[0]} silenced": TrialConfig(silenced=silenced[0]),
            f"{silenced[1]} silenced": TrialConfig(silenced=silenced[1])}


def table(size, kappas=KAPPAS, epochs: int = 200, trigger_kappas=TRIGGER_KAPPAS) -> dict:
    M, N, T, D, p = size
    targets = bernoulli_patterns(M, N, T, p, seed=0)
    net = NetworkConfig(N=N, D=D)
    learners = {"hebbian": learn(targets, "hebbian", net=net)}
    for kappa in kappas:
        learners[f"margin kappa={kappa:g}"] = learn(targets, "margin", net=net, kappa=kappa, epochs=epochs,
                                                    progress=False)
    short = round(20 * D / 41)
    for kappa in trigger_kappas:
        learners[f"margin kappa={kappa:g}, trigger {short}"] = learn(
            targets, "margin", net=net, kappa=kappa, epochs=epochs, trigger_steps=short, progress=False)
    rows = {}
    for name, learned in learners.items():
        row = {"learn_s": learned.seconds, "violations": learned.details.get("violations"), "f1": {}}
        for label, trial in conditions(D, N).items():
            row["f1"][label] = recall(learned.W, targets, net=net, trial=trial, progress=False).scores.pooled()["f1"]
        rows[name] = row
        cells = "  ".join(f"{k} {v:.4f}" for k, v in row["f1"].items())
        print(f"{name:<18} learned in {row['learn_s']:6.1f} s (violations {row['violations']}): {cells}", flush=True)
    return {"size": {"M": M, "N": N, "T": T, "D": D, "p_A": p}, "epochs": epochs, "rows": rows}


def figure(res: dict):
    from matplotlib.figure import Figure

    rows = res["rows"]
    labels = list(next(iter(rows.values()))["f1"])
    fig = Figure(figsize=(11, 4))
    ax = fig.subplots()
    width = 0.8 / len(rows)
    for j, (name, row) in enumerate(rows.items()):
        ax.bar(np.arange(len(labels)) + j * width, [row["f1"][k] for k in labels], width=width, label=name)
    ax.set_xticks(np.arange(len(labels)) + 0.4 - width / 2, labels, rotation=20, fontsize=8)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("pooled F1 (axis from 0)")
    size = res["size"]
    ax.set_title(f"Cue damage against the margin kappa (N={size['N']}, M={size['M']}, D={size['D']})")
    ax.legend(fontsize=7, ncol=len(rows))
    fig.tight_layout()
    return fig


def main(argv=None) -> dict:
    args = parser(__doc__, jobs=False).parse_args(argv)
    started = time.perf_counter()
    res = table(benchmark_size(args.quick), kappas=(0.1, 0.5) if args.quick else KAPPAS,
                epochs=100 if args.quick else 200, trigger_kappas=(0.3,) if args.quick else TRIGGER_KAPPAS)
    tag = "_quick" if args.quick else ""
    save_figure(figure(res), f"{args.out}/margin_robustness{tag}")
    save(args.out, f"margin_robustness{tag}", res, started)
    return res


if __name__ == "__main__":
    main()
