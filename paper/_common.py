"""Shared machinery of the paper scripts: options, parallel runs, outputs."""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from hdsnn.io import write_json
from hdsnn.parallel import get_executor

RESULTS = Path(__file__).resolve().parent / "results"

#: The paper benchmark ``(M, N, T, D, p_A)`` and the small one of the ``--quick`` modes.
PAPER_SIZE = (16, 1024, 1000, 41, 1e-3)
QUICK_SIZE = (4, 256, 300, 21, 4e-3)

#: The BPTT settings that train on the benchmark (measured in paper/bptt_train.py): the triangle
#: surrogate of half-width 0.5 and no dropout (the TrainConfig defaults, fast sigmoid 15 and dropout
#: 0.37, lose F1 from the Hebbian start).
TRAINING = {"surrogate": "triangle", "alpha": 2.0, "dropout": 0.0}


def benchmark_size(quick: bool) -> tuple:
    """``(M, N, T, D, p_A)`` of the paper benchmark, or of the quick mode."""
    return QUICK_SIZE if quick else PAPER_SIZE


def parser(doc: str, jobs: bool = True) -> argparse.ArgumentParser:
    """Options of every paper script: --quick, --out and (unless ``jobs=False``) --jobs."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    if jobs:
        p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                       help="parallel worker processes (a process pool; see --executor)")
        p.add_argument("--executor", default=None,
                       help="where the points run instead (hdsnn.parallel): 'local', K or 'processes:K' (a local "
                            "Dask cluster), or tcp://HOST:PORT (a running scheduler)")
    p.add_argument("--out", default=str(RESULTS), help="output folder")
    return p


def _call(item):
    fn, args = item
    return fn(*args)


def run_parallel(fn, jobs_args: list, jobs: int, executor=None) -> list:
    """``[fn(*a) for a in jobs_args]`` (in order) on one :mod:`hdsnn.parallel` executor.

    ``executor`` (a spec of :func:`hdsnn.parallel.get_executor`) wins; otherwise a pool of
    ``jobs`` processes, or in-process for one job. The points are independent and seeded,
    so the results are the same whatever runs them.
    """
    spec = executor if executor is not None else (f"pool:{jobs}" if jobs > 1 and len(jobs_args) > 1 else None)
    with get_executor(spec) as ex:
        return ex.map(_call, [(fn, tuple(a)) for a in jobs_args])


def mean_se(values) -> tuple[float, float]:
    """Mean and standard error of the mean."""
    v = np.asarray(values, dtype=float)
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else 0.0


def save(out, name: str, data: dict, started: float) -> Path:
    data = {**data, "wall_time_s": time.perf_counter() - started}
    path = write_json(Path(out) / f"{name}.json", data)
    print(f"wrote {path} ({data['wall_time_s']:.1f} s)")
    return path
