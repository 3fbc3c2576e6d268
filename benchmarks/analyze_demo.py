"""Time and peak memory of ``hdsnn analyze`` on the demo's results (goal: < 2 min, < 8 GB).

Makes the demo's files with the CLI (``hdsnn patterns``, ``hdsnn init``,
``hdsnn recall``: N=1024, M=16, T=1000, D=41, p_A=1e-3, Hebbian weights),
then runs ``hdsnn analyze`` on them in a child process and measures its wall
time and peak resident memory (``getrusage(RUSAGE_CHILDREN)``). Prints the
ratios to the goals and writes ``benchmarks/results/analyze_demo.json``.

Run: ``python benchmarks/analyze_demo.py [--work DIR] [--quick]`` (``--quick``:
N=256, M=4, for a smoke run).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hdsnn.cli import main
from hdsnn.io import write_json

RESULTS = Path(__file__).resolve().parent / "results"
GOAL_S, GOAL_GB = 120.0, 8.0


def run(work: Path, N: int, M: int, T: int) -> dict:
    pat, w, rec, out = work / "patterns.npz", work / "weights.npz", work / "recall.npz", work / "report"
    main(["patterns", "--out", str(pat), "--N", str(N), "--M", str(M), "--T", str(T)])
    main(["init", "--patterns", str(pat), "--out", str(w)])
    main(["recall", "--weights", str(w), "--patterns", str(pat), "--out", str(rec)])
    cmd = [sys.executable, "-c", "import sys; from hdsnn.cli import main; sys.exit(main(sys.argv[1:]))",
           "analyze", "--patterns", str(pat), "--recall", str(rec), "--weights", str(w), "--out", str(out)]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    wall = time.perf_counter() - start
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6
    report = json.loads((out / "report.json").read_text())
    return {"N": N, "M": M, "T": T, "command": " ".join(cmd[3:]), "wall_s": wall, "peak_memory_gb": peak_gb,
            "stages_s": report["wall_time_s"], "f1": report["scores"]["exact"]["pooled"]["f1"],
            "goal_s": GOAL_S, "goal_gb": GOAL_GB, "time_ratio": wall / GOAL_S, "memory_ratio": peak_gb / GOAL_GB,
            "load_average": os.getloadavg(), "cpus": os.cpu_count()}


def cli(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default=None, help="folder for the demo files and the report (default: temporary)")
    parser.add_argument("--quick", action="store_true", help="N=256, M=4")
    args = parser.parse_args(argv)
    N, M = (256, 4) if args.quick else (1024, 16)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="hdsnn-analyze-"))
    work.mkdir(parents=True, exist_ok=True)
    result = run(work, N, M, 1000)
    print(f"hdsnn analyze on N={N}, M={M}, T=1000: {result['wall_s']:.1f} s "
          f"({result['time_ratio']:.2f} x the {GOAL_S:.0f} s goal), peak {result['peak_memory_gb']:.2f} GB "
          f"({result['memory_ratio']:.2f} x the {GOAL_GB:.0f} GB goal); load average {result['load_average'][0]:.1f} "
          f"on {result['cpus']} CPUs")
    for name, sec in result["stages_s"].items():
        print(f"  {name:<22} {sec:>7.2f} s")
    name = "analyze_demo_quick.json" if args.quick else "analyze_demo.json"
    write_json(RESULTS / name, result)
    print(f"wrote {RESULTS / name}; report in {work / 'report'}")
    return 0


if __name__ == "__main__":
    sys.exit(cli())
