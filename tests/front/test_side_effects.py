"""No side effects on import: the matplotlib backend, torch threads."""
import os
import subprocess

import pytest
import sys


@pytest.mark.slow            # a fresh interpreter
def test_backend_survives_import_and_recall():
    code = """
import matplotlib
import torch
threads = torch.get_num_threads()
import hdsnn, hdsnn.analysis, hdsnn.cli
P = hdsnn.bernoulli_patterns(2, 40, 80, 0.05, seed=0)
hdsnn.recall(hdsnn.learn(P, "hebbian", D=5).W, P)
print(matplotlib.get_backend(), torch.get_num_threads() == threads)
"""
    env = {**os.environ, "MPLBACKEND": "svg"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["svg", "True"]
