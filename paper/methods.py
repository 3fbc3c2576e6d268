"""Learning methods compared on the same benchmark (the paper's initialisation study).

For each method, W is learned from the same patterns and evaluated by recall
from clean triggers and from noisy triggers (``p_flip = 0.25``, the paper's
redraw noise, with 50 steps of pretime): pooled precision, recall, F1, wall
time of learning, fraction of non-zero weights and weight norm.

Methods: ``hebbian`` (analytic, STDP-equivalent), ``lstsq`` (exact
minimum-norm least squares), ``bptt`` (closed-loop surrogate-gradient training
from the Hebbian initialisation, at most ``BPTT_EPOCHS`` epochs, stopping at
F1 = 1; its learning time includes the initialisation and the eval-mode recall
of every epoch).

Run: ``python -m paper.methods [--quick]``; full mode (N=1024, M=16) measured
at 890 s on 2 cores shared with another run (Hebbian 0.3 s, least squares 60 s,
BPTT 816 s for its 10 epochs). Writes ``paper/results/methods.json``.
"""
from __future__ import annotations

import time

from hdsnn import NetworkConfig, TrialConfig, bernoulli_patterns, recall
from hdsnn.learning import TrainConfig, hebbian_init, least_squares_init, train

from ._common import TRAINING, benchmark_size, parser, save

#: BPTT from the Hebbian initialisation, with the settings that train on this benchmark (TRAINING).
BPTT_EPOCHS = 10


def _bptt(P, D):
    config = TrainConfig(epochs=BPTT_EPOCHS, stop_f1=1.0, **TRAINING)
    result = train(P, config=config, net=NetworkConfig(N=P.shape[1], D=D), progress=False)
    print(f"bptt: F1 {result.history[0]['f1']:.4f} (Hebbian init) -> {result.best_f1:.4f} in {result.epochs} epochs")
    return result.best_W


LEARN = {"hebbian": lambda P, D: hebbian_init(P, D=D),
         "lstsq": lambda P, D: least_squares_init(P, D=D, tol=1e-6, progress=False),
         "bptt": _bptt}


def compare(size, methods=tuple(LEARN)) -> list[dict]:
    M, N, T, D, p = size
    targets = bernoulli_patterns(M, N, T, p, seed=0)
    net = NetworkConfig(N=N, D=D)
    rows = []
    for name in methods:
        t0 = time.perf_counter()
        W = LEARN[name](targets, D)
        seconds = time.perf_counter() - t0
        clean = recall(W, targets, net=net, progress=False).scores.pooled()
        noisy = recall(W, targets, net=net, trial=TrialConfig(pretime=50, posttime=50, p_flip=0.25, seed=1),
                       progress=False).scores.pooled()
        rows.append({"method": name, "learn_s": seconds, "nonzero_fraction": float((W != 0).float().mean()),
                     "weight_norm": float(W.norm()), "clean": clean, "p_flip_0.25": noisy})
        print(f"{name:8s} learn {seconds:7.2f} s  F1 clean {clean['f1']:.4f}  F1 at p_flip=0.25 {noisy['f1']:.4f}")
    return rows


def main(argv=None) -> dict:
    args = parser(__doc__).parse_args(argv)
    started = time.perf_counter()
    size = benchmark_size(args.quick)
    out = {"size": dict(zip("MNTD", size[:4]), p_A=size[4]), "rows": compare(size)}
    save(args.out, f"methods{'_quick' if args.quick else ''}", out, started)
    return out


if __name__ == "__main__":
    main()
