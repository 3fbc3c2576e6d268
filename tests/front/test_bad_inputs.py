"""Every user error gets a clear message naming the parameter, what is allowed and what was given."""
import json

import numpy as np
import pytest
import torch

import hdsnn
from hdsnn.config import NetworkConfig, PatternConfig, TrialConfig
from hdsnn.io import load_raster, load_weights, save_raster, save_weights
from hdsnn.learning import hebbian_init, least_squares_init
from hdsnn.models import bernoulli_patterns, make_trials, simulate
from hdsnn.analysis import score, sliding_f1

P = bernoulli_patterns(2, 10, 50, 0.1, seed=0)


def _nan_weights():
    W = torch.zeros(10, 10, 5)
    W[3, 4, 1] = float("nan")
    return W


def _saved_nan_weights(tmp_path):
    path = tmp_path / "nan.npz"
    meta = json.dumps({"kind": "weights", "shape": [10, 10, 5]})
    np.savez(path, W=_nan_weights().numpy(), meta=np.array(meta))
    return path


CASES = [
    # (description, call, exception, message pattern)
    ("negative N", lambda p: PatternConfig(N=-5), ValueError, r"N must be >= 1; got -5"),
    ("zero patterns", lambda p: bernoulli_patterns(0, 10, 10), ValueError, r"M must be >= 1; got 0"),
    ("T too short", lambda p: PatternConfig(T=1), ValueError, r"T must be >= 2; got 1"),
    ("p_A above 1", lambda p: bernoulli_patterns(1, 5, 5, p_A=1.5), ValueError, r"p_A must be in \(0.0, 1.0\); got 1.5"),
    ("p_A zero", lambda p: PatternConfig(p_A=0.0), ValueError, r"p_A must be in \(0.0, 1.0\); got 0.0"),
    ("p_A NaN", lambda p: PatternConfig(p_A=float("nan")), ValueError, r"p_A must be finite"),
    ("non-integer M", lambda p: PatternConfig(M=2.5), ValueError, r"M must be an integer; got 2.5"),
    ("unknown pattern kind", lambda p: PatternConfig(kind="poisson"), ValueError, r"kind must be one of 'bernoulli', 'sparse'; got 'poisson'"),
    ("beta equal to 1", lambda p: NetworkConfig(beta=1.0), ValueError, r"beta must be in \[0.0, 1.0\); got 1.0"),
    ("negative theta", lambda p: NetworkConfig(theta=-1), ValueError, r"theta must be in \(0.0, inf\]; got -1.0"),
    ("unknown reset", lambda p: NetworkConfig(reset="hard"), ValueError, r"reset must be one of 'zero', 'subtract'; got 'hard'"),
    ("p_flip above 1", lambda p: TrialConfig(p_flip=1.2), ValueError, r"p_flip must be in \[0.0, 1.0\]; got 1.2"),
    ("unknown cue mode", lambda p: TrialConfig(cue="add"), ValueError, r"cue must be one of 'clamp', 'or'; got 'add'"),
    ("negative pretime", lambda p: TrialConfig(pretime=-3), ValueError, r"pretime must be >= 0; got -3"),
    ("D not below T", lambda p: hebbian_init(P, D=50), ValueError, r"D \(50 delays\) must be smaller than T \(50 steps"),
    ("D zero", lambda p: hebbian_init(P, D=0), ValueError, r"D must be >= 1; got 0"),
    ("negative gain", lambda p: hebbian_init(P, D=5, gain=-1.0), ValueError, r"gain must be in \(0.0, inf\]; got -1.0"),
    ("raster with 2 axes", lambda p: hebbian_init(P[0], D=5), ValueError, r"raster must have 3 dimensions \(M patterns, N neurons, T steps\); got shape \(10, 50\)"),
    ("raster with values 2", lambda p: hebbian_init(P.int() * 2, D=5), ValueError, r"raster must hold only 0 and 1"),
    ("raster without spikes", lambda p: hebbian_init(torch.zeros(1, 4, 20, dtype=torch.bool), D=5), ValueError, r"raster has no spikes"),
    ("trigger longer than D", lambda p: make_trials(P, 5, TrialConfig(trigger_steps=9)), ValueError, r"trigger_steps must be in \[0, D=5\]; got 9"),
    ("silencing more than N", lambda p: make_trials(P, 5, TrialConfig(silenced=11)), ValueError, r"silenced must be in \[0, N=10\]; got 11"),
    ("weights not square", lambda p: hdsnn.recall(torch.zeros(10, 9, 5), P), ValueError, r"W must have shape \(N, N, D\) indexed \[post, pre, delay-1\]; got shape \(10, 9, 5\)"),
    ("weights for other N", lambda p: hdsnn.recall(torch.zeros(12, 12, 5), P), ValueError, r"W is for N=12 neurons but the patterns have N=10"),
    ("weights with NaN", lambda p: hdsnn.recall(_nan_weights(), P), ValueError, r"W must be finite; it holds 1 NaN or inf entries"),
    ("weights with D >= T", lambda p: hdsnn.recall(torch.zeros(10, 10, 60), P), ValueError, r"W has D=60 delays, which must be smaller than the patterns' T=50 steps"),
    ("clamp of wrong shape", lambda p: simulate(torch.zeros(10, 10, 5), P, torch.zeros(3, 3, dtype=torch.bool)), ValueError, r"clamp must be a bool tensor of shape \(B=2, L=50\); got \(3, 3\)"),
    ("max_rate zero", lambda p: simulate(torch.zeros(10, 10, 5), P, max_rate=0.0), ValueError, r"max_rate must be in \(0.0, 1.0\]; got 0.0"),
    ("scores of different shapes", lambda p: score(P, P[:1], D=5), ValueError, r"targets and recalled must have the same shape"),
    ("sliding window zero", lambda p: sliding_f1(P, P, width=0), ValueError, r"width must be >= 1; got 0"),
    ("lstsq tolerance", lambda p: least_squares_init(P, D=5, tol=0.0), ValueError, r"tol must be in \(0.0, inf\]; got 0.0"),
    ("missing raster file", lambda p: load_raster(p / "none.npz"), FileNotFoundError, r"raster file not found: .*none.npz"),
    ("weights file given as patterns", lambda p: load_raster(save_weights(p / "w.npz", torch.ones(2, 2, 1))), ValueError, r"holds a 'weights' file, expected a 'raster' file"),
    ("not an npz file", lambda p: load_weights((p / "x.npz").write_text("hello") and p / "x.npz"), ValueError, r"not a readable .npz file"),
    ("NaN weights in a file", lambda p: load_weights(_saved_nan_weights(p)), ValueError, r"W must be finite; it holds 1 NaN"),
    ("file name without .npz", lambda p: save_raster(p / "r.txt", P), ValueError, r"path must end in .npz; got"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_reported_clearly(case, tmp_path):
    _, call, exc, pattern = case
    with pytest.raises(exc, match=pattern):
        call(tmp_path)


def test_there_are_at_least_twenty_distinct_cases():
    assert len({c[0] for c in CASES}) >= 20
