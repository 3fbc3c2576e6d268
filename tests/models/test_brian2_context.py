"""The Brian2 context helper leaves the user's Brian2 state as it found it."""
import subprocess
import sys

import numpy as np
import pytest
import torch

from hdsnn.learning import hebbian_init
from hdsnn.models import bernoulli_patterns, recall

pytestmark = pytest.mark.brian2


@pytest.mark.slow            # a fresh interpreter with a standalone device: seconds
def test_users_device_and_random_state_survive_a_recall():
    """A user's set_device('cpp_standalone') and numpy random state are the same after hdsnn runs Brian2."""
    code = """
import brian2, numpy as np, torch
from hdsnn.learning import hebbian_init
from hdsnn.models import bernoulli_patterns, recall
brian2.set_device("cpp_standalone", build_on_run=False, directory=None)
np.random.seed(123)
state = np.random.get_state()[1].copy()
prefs = brian2.prefs.codegen.target
P = bernoulli_patterns(1, 30, 60, 0.05, seed=0)
for neuron in ("exact", "lif_current"):
    r = recall(hebbian_init(P, D=6), P, simulator="brian2", neuron=neuron, efficacy=2.0)
dev = brian2.get_device()
print(type(dev).__name__, dev.build_on_run, bool((np.random.get_state()[1] == state).all()),
      brian2.prefs.codegen.target == prefs, r.network is not None)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["CPPStandaloneDevice", "False", "True", "True", "True"]


@pytest.mark.slow
def test_standalone_on_the_users_own_standalone_device_is_refused():
    code = """
import brian2
from hdsnn.models.brian2 import brian2_context
brian2.set_device("cpp_standalone", build_on_run=False)
try:
    with brian2_context("cpp_standalone"):
        pass
except ValueError as err:
    print(err)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "target 'cpp_standalone' is also your own active Brian2 device" in out.stdout


def test_seed_is_applied_inside_and_restored_outside():
    from hdsnn.models.brian2 import brian2_context

    np.random.seed(5)
    before = np.random.get_state()[1].copy()
    with brian2_context("numpy", seed=1):
        inside = np.random.rand()
    with brian2_context("numpy", seed=1):
        again = np.random.rand()
    assert inside == again and bool((np.random.get_state()[1] == before).all())
