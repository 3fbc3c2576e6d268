"""Working-memory tasks: cue accumulation with its ablations, the long wait, Brian2 replay, sequential digits.

Each row is one :func:`hdsnn.task_runs.run_task` (``hdsnn task``) on the
settings of :func:`hdsnn.task_runs.task_settings`:

- cue accumulation (7 cues, 1200-ms wait, membrane time constants clamped to
  0.1-50 ms): DelayNet's lattice delays, and the ablations and controls of
  :data:`hdsnn.task_runs.VARIANTS` (no delays, no branching-factor
  regulariser, long membrane time constants up to 2 s, no recurrence),
  tested on 2,048 fresh trials;
- the trained network of the first row tested, without retraining, at a
  10-s wait (``--long-wait-trials`` fresh trials);
- the first row's network replayed in Brian2 on the first ``--brian2-trials``
  test trials (:func:`hdsnn.models.brian2.task.simulate_task_brian2`): its
  decisions against torch's;
- permuted sequential digits (scikit-learn's 8 x 8 digits, 64 steps) with
  delays, without, and feed-forward.

A row whose JSON is already in ``--out`` is read, not rerun (``--rerun`` to
train again); ``--ablation-epochs`` caps the training of the ablation rows.

Run: ``python -m paper.cue_accumulation [--quick]`` (or ``hdsnn paper cue_accumulation``);
writes ``OUT/tasks.json`` (``tasks_quick.json``). Quick mode: the quick runs of ``hdsnn task``.
"""
from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import torch

from hdsnn.learning.task_training import evaluate_task
from hdsnn.models.task_network import load_task_network
from hdsnn.models.tasks import CueConfig, cue_accumulation
from hdsnn.task_runs import SEED_STRIDE, VARIANTS, brian2_replay, run_task

from ._common import RESULTS, parser, save

CUE_ROWS = tuple(VARIANTS)
DIGIT_ROWS = ("delays", "no-delays", "feedforward")


def _row(name, out, variant, quick, rerun, **kw) -> dict:
    stem = name + ("_quick" if quick else "") + ("" if variant == "delays" else f"_{variant}")
    path = Path(out) / f"{stem}.json"
    if path.exists() and not rerun:
        return json.loads(path.read_text())
    return run_task(name, out, quick=quick, variant=variant, progress=False, **kw)


def _summary(r: dict) -> dict:
    return {"variant": r["variant"], "test_accuracy": r["test_accuracy"], "chance": r["chance"],
            "test_trials": r["trials"]["test"], "epochs": r["epochs"], "learn_seconds": r["learn_seconds"],
            "best_validation_accuracy": r["best_validation_accuracy"], "rate_hz": r["test_rate_hz"],
            "tau_ms": r["learned"]["tau_ms"], "spectrum_peak_hz": r["spectrum"]["peak_hz"],
            "curriculum_epochs": r.get("curriculum_epochs", 0)}


def run(out, quick: bool, rerun: bool, ablation_epochs: int | None, long_wait_trials: int, brian2_trials: int,
        curriculum: int, max_seconds: float | None) -> dict:
    out = Path(out) / "tasks"
    cue_rows = []
    for variant in CUE_ROWS:
        kw = {"curriculum": curriculum} if variant == "delays" else {"epochs": ablation_epochs, "sweep_trials": 0,
                                                                   "curriculum": curriculum}
        if variant == "delays" and max_seconds:
            kw["max_seconds"] = max_seconds
        cue_rows.append(_summary(_row("cue-accumulation", out, variant, quick, rerun, **kw)))
    stem = "cue-accumulation" + ("_quick" if quick else "")
    params, net, meta = load_task_network(out / f"{stem}_network.npz")
    main = json.loads((out / f"{stem}.json").read_text())
    cue = CueConfig(**main["settings"]["cue"])
    long = cue_accumulation(long_wait_trials, replace(cue, wait_ms=10_000), seed=SEED_STRIDE * main["seed"] + 900_004)
    long_wait = {"wait_ms": 10_000, "trials": long_wait_trials, "trained_at_wait_ms": cue.wait_ms,
                 "accuracy": evaluate_task(params, long)["accuracy"]}
    brian2 = None
    if brian2_trials:
        test = cue_accumulation(brian2_trials, cue, seed=SEED_STRIDE * main["seed"] + 900_002)
        brian2 = brian2_replay(params, test, evaluate_task(params, test)["decisions"])
    digit_rows = [_summary(_row("sequential-digits", out, v, quick, rerun)) for v in DIGIT_ROWS]
    return {"cue_accumulation": cue_rows, "accuracy_vs_wait": main.get("accuracy_vs_wait"),
            "accuracy_vs_cues": main.get("accuracy_vs_cues"), "long_wait": long_wait, "brian2": brian2,
            "sequential_digits": digit_rows}


def main(argv=None) -> None:
    p = parser(__doc__, jobs=False)
    p.add_argument("--rerun", action="store_true", help="train every row again")
    p.add_argument("--ablation-epochs", type=int, default=None, help="epochs of the ablation rows (default: the "
                                                                      "task's)")
    p.add_argument("--curriculum", type=int, default=0, help="epochs of the wait curriculum (0: none)")
    p.add_argument("--max-seconds", type=float, default=None, help="training time of the main row (s)")
    p.add_argument("--long-wait-trials", type=int, default=None, help="trials at the 10-s wait (default 512; quick 32)")
    p.add_argument("--brian2-trials", type=int, default=None, help="test trials replayed in Brian2 (default 256; "
                                                                   "quick 8)")
    args = p.parse_args(argv)
    started = time.perf_counter()
    torch.set_num_threads(1)
    long_trials = args.long_wait_trials if args.long_wait_trials is not None else (32 if args.quick else 512)
    b2 = args.brian2_trials if args.brian2_trials is not None else (8 if args.quick else 256)
    data = run(args.out, args.quick, args.rerun, args.ablation_epochs, long_trials, b2, args.curriculum,
               args.max_seconds)
    save(Path(args.out) / "tasks", "tasks" + ("_quick" if args.quick else ""), data, started)


if __name__ == "__main__":
    main()
