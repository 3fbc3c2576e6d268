"""Train the delay tensor by closed-loop BPTT from the Hebbian initialisation and report F1 and wall time.

Run (the issue's benchmarks, one run each; 1 CPU thread by default)::

    python -m paper.bptt_train --M 16            # N=512, T=1000, D=41, p_A=1e-3
    python -m paper.bptt_train --M 64

Writes ``paper/results/bptt_N{N}_M{M}.json`` (settings, eval-mode scores of the
initialisation and of every epoch, epochs and wall time) and the training
folder ``paper/results/bptt_N{N}_M{M}/`` (history, figure, checkpoint).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from hdsnn import NetworkConfig, bernoulli_patterns
from hdsnn.io import save_weights, write_json
from hdsnn.learning import TrainConfig, train

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--N", type=int, default=512)
    p.add_argument("--M", type=int, default=16)
    p.add_argument("--T", type=int, default=1000)
    p.add_argument("--D", type=int, default=41)
    p.add_argument("--p-A", dest="p_A", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0, help="seed of the patterns and of training")
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--lr", type=float, default=TrainConfig.lr)
    p.add_argument("--dropout", type=float, default=TrainConfig.dropout)
    p.add_argument("--alpha", type=float, default=TrainConfig.alpha)
    p.add_argument("--surrogate", default=TrainConfig.surrogate, choices=("fast_sigmoid", "arctan", "triangle"))
    p.add_argument("--optimizer", default=TrainConfig.optimizer, choices=("adamw", "sgd"))
    p.add_argument("--gain", type=float, default=TrainConfig.gain, help="Hebbian gain of the initialisation")
    p.add_argument("--tag", default="", help="suffix of the result names")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--stop-f1", type=float, default=1.0)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--device", default="cpu")
    p.add_argument("--resume", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    name = f"bptt_N{args.N}_M{args.M}{args.tag}"
    targets = bernoulli_patterns(args.M, args.N, args.T, args.p_A, seed=args.seed)
    config = TrainConfig(epochs=args.epochs, lr=args.lr, dropout=args.dropout, alpha=args.alpha,
                         surrogate=args.surrogate, optimizer=args.optimizer, gain=args.gain, batch_size=args.batch_size, stop_f1=args.stop_f1, seed=args.seed, device=args.device)
    t0 = time.perf_counter()
    result = train(targets, config=config, net=NetworkConfig(N=args.N, D=args.D), out=RESULTS / name,
                   resume=args.resume, progress=True)
    wall = time.perf_counter() - t0
    first, best = result.history[0], max(result.history, key=lambda r: r["f1"])
    summary = {"N": args.N, "M": args.M, "T": args.T, "D": args.D, "p_A": args.p_A, "threads": args.threads,
               "config": config.to_dict(), "init_f1": first["f1"], "best_f1": result.best_f1,
               "best_epoch": best["epoch"], "epochs_run": result.epochs, "wall_time_s": wall,
               "final": {k: result.history[-1][k] for k in ("precision", "recall", "f1", "tp", "fp", "fn")},
               "per_epoch": [{k: r[k] for k in ("epoch", "loss", "lr", "f1", "precision", "recall", "seconds")}
                             for r in result.history]}
    save_weights(RESULTS / name / "weights_best.npz", result.best_W, method="bptt", f1=result.best_f1)
    write_json(RESULTS / f"{name}.json", summary)
    print(f"{name}: F1 {first['f1']:.5f} (Hebbian init) -> {result.best_f1:.5f} at epoch {best['epoch']} "
          f"({result.epochs} epochs run, {wall:.1f} s wall)")
    return summary


if __name__ == "__main__":
    main()
