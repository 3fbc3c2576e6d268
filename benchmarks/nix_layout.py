"""NIX layouts: one multiplexed SpikeTrain per segment (``write_nix``) against one SpikeTrain per neuron.

Writes the same rasters (targets and recall of M patterns of N neurons, T=1000,
p_A=1e-3) both ways through ``neo.NixIO`` and prints the time and size ratios;
writes ``benchmarks/results/nix_layout.json``. The per-neuron layout is slow
(measured at 955 s for 32 segments x 1024 neurons), so the default size
is small: M=2, N=256 (4 segments x 256 trains).

Run: ``python benchmarks/nix_layout.py [--M 2] [--N 256]``.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import neo

from hdsnn.analysis import rasters_to_block, read_nix, write_nix
from hdsnn.io import write_json
from hdsnn.models import bernoulli_patterns

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--M", type=int, default=2)
    parser.add_argument("--N", type=int, default=256)
    args = parser.parse_args(argv)
    target = bernoulli_patterns(args.M, args.N, 1000, 1e-3, seed=0)
    recall = bernoulli_patterns(args.M, args.N, 1000, 1e-3, seed=1)
    rasters = {"target": target, "recall": recall}
    folder = Path(tempfile.mkdtemp(prefix="hdsnn-nix-"))
    start = time.perf_counter()
    multiplexed = write_nix(folder / "multiplexed.nix", rasters)
    t_multi = time.perf_counter() - start
    back, _ = read_nix(multiplexed)
    assert all(bool((back[k] == v).all()) for k, v in rasters.items())
    start = time.perf_counter()
    block = rasters_to_block(rasters)
    io = neo.NixIO(str(folder / "per_neuron.nix"), mode="ow")
    io.write_block(block)
    io.close()
    t_per = time.perf_counter() - start
    sizes = {name: os.path.getsize(folder / f"{name}.nix") for name in ("multiplexed", "per_neuron")}
    result = {"M": args.M, "N": args.N, "segments": 2 * args.M, "seconds": {"multiplexed": t_multi, "per_neuron": t_per},
              "bytes": sizes, "time_ratio_per_neuron_over_multiplexed": t_per / t_multi,
              "size_ratio_per_neuron_over_multiplexed": sizes["per_neuron"] / sizes["multiplexed"]}
    print(f"{2 * args.M} segments x {args.N} neurons: multiplexed {t_multi:.2f} s, {sizes['multiplexed'] / 1e6:.2f} MB; "
          f"per neuron {t_per:.2f} s, {sizes['per_neuron'] / 1e6:.2f} MB; per-neuron / multiplexed: "
          f"time x{result['time_ratio_per_neuron_over_multiplexed']:.0f}, "
          f"size x{result['size_ratio_per_neuron_over_multiplexed']:.0f}")
    write_json(RESULTS / "nix_layout.json", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
