"""BPTT of the task network: it learns, it resumes to the same bits, it refuses bad input."""
import pytest
import torch

from hdsnn.learning.task_training import TaskTrainConfig, branching_penalty, evaluate_task, train_task
from hdsnn.models.task_network import TaskNetworkConfig, init_task_parameters
from hdsnn.models.tasks import CueConfig, cue_accumulation

CUE = CueConfig(n_cues=1, wait_ms=150)
NET = TaskNetworkConfig(n_rec=27, mid_delay=5, long_delay=9, rec_scale=0.3)


def _make(epoch):
    return cue_accumulation(32, CUE, seed=epoch)


@pytest.mark.slow
def test_learns_the_one_cue_task_above_chance():
    """One cue, recall right after it: the readout must learn which side fired."""
    val = cue_accumulation(128, CUE, seed=999)
    before = evaluate_task(init_task_parameters(NET, seed=0), val)["accuracy"]
    r = train_task(lambda e: cue_accumulation(64, CUE, seed=e), val, NET,
                   TaskTrainConfig(epochs=6, trials_per_epoch=64, batch_size=16, lr=1e-2, validation_trials=128),
                   progress=False)
    assert r.best_accuracy >= 0.85 > before + 0.2
    after = evaluate_task(r.best, val)["accuracy"]
    assert after == r.best_accuracy
    # bounds hold after every step
    assert float(r.params.tau.min()) >= NET.tau_min_ms and float(r.params.tau.max()) <= NET.tau_max_ms
    assert bool((r.params.W_in >= 0).all()) and not bool((r.params.W_rec * ~r.params.mask).any())


@pytest.mark.slow
def test_resume_gives_the_same_bits(tmp_path):
    cfg = TaskTrainConfig(epochs=4, trials_per_epoch=32, batch_size=16, lr=1e-2, validation_trials=32)
    val = cue_accumulation(32, CUE, seed=7)
    straight = train_task(_make, val, NET, cfg, progress=False)
    part = TaskTrainConfig(**{**cfg.to_dict(), "max_seconds": 1e-9})           # stops after epoch 1
    first = train_task(_make, val, NET, part, out=tmp_path, progress=False)
    assert first.epochs == 1
    resumed = train_task(_make, val, NET, cfg, out=tmp_path, resume=True, progress=False)
    assert resumed.epochs == 4
    for a, b in zip(straight.params, resumed.params):
        assert torch.equal(a, b)
    assert [h["val_accuracy"] for h in straight.history] == [h["val_accuracy"] for h in resumed.history]
    changed = TaskTrainConfig(**{**cfg.to_dict(), "lr": 2e-2})
    with pytest.raises(ValueError, match="cannot resume"):
        train_task(_make, val, NET, changed, out=tmp_path, resume=True, progress=False)


def test_branching_penalty_counts_population_changes():
    z = torch.zeros(2, 3, 5)
    z[0, :, 2] = 1.0                       # n = 0, 0, 3, 0, 0
    assert float(branching_penalty(z)) == pytest.approx((9 + 9) / 4)
    assert float(branching_penalty(torch.ones(2, 3, 5))) == 0.0


def test_bad_input():
    val = cue_accumulation(4, CUE, seed=0)
    with pytest.raises(ValueError, match="net must be a TaskNetworkConfig"):
        train_task(_make, val, {"n_rec": 8})
    with pytest.raises(ValueError, match="validation has 40 input channels but net.n_in=3"):
        train_task(_make, val, TaskNetworkConfig(n_in=3, n_rec=8, delays="none"))
    with pytest.raises(ValueError, match="validation must be a TaskData"):
        train_task(_make, [1, 2], NET)
    with pytest.raises(ValueError, match="batch_size must be"):
        TaskTrainConfig(batch_size=0)


def test_an_exploding_step_is_skipped_and_the_weights_stay_finite():
    """A threshold of 40 makes the subtract reset multiply the adjoint by (1 - 40) at each spike."""
    net = TaskNetworkConfig(n_rec=8, delays="none", theta=40.0, input_scale=400.0, rec_scale=0.3)
    cue = CueConfig(n_cues=3, wait_ms=300)
    r = train_task(lambda e: cue_accumulation(16, cue, seed=e), cue_accumulation(8, cue, seed=9), net,
                   TaskTrainConfig(epochs=1, trials_per_epoch=16, batch_size=8, clip=None), progress=False)
    assert r.history[1]["skipped_steps"] >= 1
    assert all(bool(torch.isfinite(t).all()) for t in r.params if t.is_floating_point())
