"""Shared helpers of the benchmarks: machine description and JSON output."""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    return {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version(),
            "platform": platform.platform(), "date": time.strftime("%Y-%m-%d %H:%M:%S")}


def best_of(fn, repeat: int):
    """Run ``fn`` ``repeat`` times; return (minimum wall time in s, last result)."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


#: Sizes (M, N, T, D, p_A): the paper benchmark, and a quick one for smoke runs.
PAPER_SIZE = (16, 1024, 1000, 41, 1e-3)
QUICK_SIZE = (4, 256, 300, 21, 4e-3)


def parse(doc: str, argv, repeat_help: str):
    """Common options (--quick, --repeat); returns (args, (M, N, T, D, p_A), patterns)."""
    from hdsnn import bernoulli_patterns

    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="N=256, T=300, D=21 (seconds)")
    parser.add_argument("--repeat", type=int, default=3, help=repeat_help)
    parser.add_argument("--out", default=None, help="output JSON (default: benchmarks/results/NAME.json)")
    args = parser.parse_args(argv)
    size = QUICK_SIZE if args.quick else PAPER_SIZE
    M, N, T, D, p = size
    return args, size, bernoulli_patterns(M, N, T, p, seed=0)
