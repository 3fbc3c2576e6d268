"""Training in a neuron model's own dynamics: closed-loop BPTT and the teacher-forced margin fit."""
import numpy as np
import pytest
import torch

from hdsnn.learning import (NeuronFitConfig, NeuronMarginConfig, NeuronTrainConfig, neuron_bptt, neuron_fit,
                            neuron_margin_init, neuron_violations, replay_fit)
from hdsnn.learning.closed_loop_bptt import closed_loop, network_plan, trial_protocol
from hdsnn.models import bernoulli_patterns, linearised_synapses, make_trials, recall, simulate_replica
from hdsnn.models.brian2 import NEURON_MODELS


@pytest.fixture(scope="module")
def small():
    P = bernoulli_patterns(2, 40, 60, 0.02, seed=1)
    return P, neuron_margin_init(P, D=10, progress=False)


def _replica_steps(model, syn, P, D=10):
    tr = make_trials(P, D)
    sim = simulate_replica(model, syn, tr.inputs, tr.clamp, efficacy=1.0, delay_shift_ms=0.1, max_rate_hz=None)
    out = torch.zeros(P.shape[0], P.shape[1], P.shape[2] * 10, dtype=torch.bool)
    out[sim.spikes[0], sim.spikes[1], np.rint(sim.spikes[2] / 0.1).astype(np.int64)] = True
    return out


@pytest.mark.parametrize("model", list(NEURON_MODELS))
def test_the_differentiable_closed_loop_is_the_replica_spike_for_spike(small, model):
    P, res = small
    syn = res.synapses if model == "lif_current" else linearised_synapses(res.synapses, model)
    cfg = NeuronTrainConfig(neuron=model)
    plan = network_plan(syn, model, P.shape[2], cfg, 0.7)
    cue, free = trial_protocol(P, 10, cfg, plan)
    s = closed_loop(torch.as_tensor(syn.weight, dtype=torch.float64), plan, cue, free, 0.7)
    ref = _replica_steps(model, syn, P)
    assert ref.sum() > 10 and torch.equal(s > 0.5, ref)


@pytest.mark.slow
def test_bptt_keeps_the_best_weights_and_resumes_bit_for_bit(small, tmp_path):
    P, res = small
    start = linearised_synapses(res.synapses, "lif_conductance")
    cfg = NeuronTrainConfig(neuron="lif_conductance", epochs=2, lr=1e-3, checkpoint_every=1)
    full = neuron_bptt(P, start, cfg, D=10, progress=False)
    assert len(full.history) == 3 and full.best_f1 == max(h["f1"] for h in full.history)
    assert not np.array_equal(full.last.weight, start.weight)              # the gradient moved the weights
    run = tmp_path / "run"
    from dataclasses import replace
    killed = neuron_bptt(P, start, replace(cfg, max_seconds=1e-9), D=10, run_dir=run, progress=False)
    assert killed.epochs_run == 1                                          # stopped (and saved) after one epoch
    resumed = neuron_bptt(P, start, cfg, D=10, run_dir=run, resume=True, progress=False)
    assert resumed.last.weight.tobytes() == full.last.weight.tobytes()
    with pytest.raises(ValueError, match="cannot resume"):
        neuron_bptt(P, start, NeuronTrainConfig(neuron="adex", epochs=2), D=10, run_dir=run, resume=True,
                    progress=False)


def test_teacher_forced_constraints_of_lif_current_are_the_convex_learners(small):
    """The same constraints written twice: the autograd fit counts the violations the margin learner counts,
    on weights that violate many (a few epochs of the convex learner)."""
    P, _ = small
    early = neuron_margin_init(P, D=10, config=NeuronMarginConfig(epochs=3), progress=False)
    counted = neuron_fit(P, early.synapses, NeuronFitConfig(neuron="lif_current", epochs=0), D=10, progress=False)
    assert counted.violations > 20
    assert counted.violations_per_neuron.tolist() == neuron_violations(early.synapses, P, early.config,
                                                                        per_neuron=True).tolist()


@pytest.mark.slow
def test_zero_teacher_forced_violations_give_exact_recall_in_the_conductance_neuron(small):
    """The guarantee for a nonlinear model: the linearised start violates, the fit removes every violation,
    and the closed loop (replica, and Brian2 spike for spike) then reproduces every target at its step."""
    P, res = small
    start = linearised_synapses(res.synapses, "lif_conductance")
    assert replay_fit_start(P, start) < 1.0
    fit = neuron_fit(P, start, NeuronFitConfig(neuron="lif_conductance"), D=10, progress=False)
    assert fit.history[0]["violations"] > 0 and fit.violations == 0
    assert replay_fit(fit, P, tolerance=0).pooled()["f1"] == 1.0
    b2 = recall(fit.synapses, P, simulator="brian2", tolerance=0, max_rate=None, **fit.recall_options)
    assert b2.scores.pooled()["f1"] == 1.0


def replay_fit_start(P, syn):
    return recall(syn, P, simulator="torch_neurons", neuron="lif_conductance", efficacy=1.0, delay_shift_ms=0.1,
                  tolerance=0).scores.pooled()["f1"]


def test_an_overflowing_trajectory_counts_as_violated(small):
    P, res = small
    bad = linearised_synapses(res.synapses, "adex")
    w = bad.weight.copy()
    w[bad.post == 3] = np.nan
    from dataclasses import replace
    counted = neuron_fit(P, replace(bad, weight=w), NeuronFitConfig(neuron="adex", epochs=0), D=10, progress=False)
    assert counted.violations_per_neuron[3] > 100


def test_bad_inputs_name_the_parameter(small):
    P, res = small
    with pytest.raises(ValueError, match="synapses must be a SynapseList"):
        neuron_fit(P, np.zeros(3), D=10)
    with pytest.raises(ValueError, match="config must be a NeuronFitConfig"):
        neuron_fit(P, res.synapses, NeuronTrainConfig(), D=10)
    with pytest.raises(ValueError, match=r"D must be in \[1, T-1=59\]"):
        neuron_bptt(P, res.synapses, D=60)
    with pytest.raises(ValueError, match="neuron must be one of"):
        NeuronFitConfig(neuron="hh")
