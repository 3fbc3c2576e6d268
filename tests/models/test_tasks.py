"""Task generators (cue accumulation, sequential digits, MNIST files) and the task network's forward pass."""
import gzip
import struct

import numpy as np
import pytest
import torch

from hdsnn.models.task_network import (TaskNetworkConfig, TaskParameters, delay_mask_of, init_task_parameters,
                                       lattice_delays, readout_trace, run_task_network)
from hdsnn.models.tasks import (CueConfig, cue_accumulation, cue_side_counts, load_mnist, permuted_sequences,
                                sklearn_digits)


# ---------------------------------------------------------------- cue accumulation

def test_cue_protocol_timing_rates_and_labels():
    cfg = CueConfig()
    d = cue_accumulation(400, cfg, seed=3)
    x = d.inputs
    assert x.shape == (400, 40, 2250) and d.window == (2100, 2250) and d.n_classes == 2
    left, right = x[:, :10], x[:, 10:20]
    # silent 50 ms at the start of every slot, on both cue groups
    for k in range(7):
        assert left[:, :, k * 150: k * 150 + 50].sum() == 0 and right[:, :, k * 150: k * 150 + 50].sum() == 0
    assert x[:, :20, 1050:].sum() == 0                              # no cue during the wait
    # the recall group fires only in the last 150 ms, at 40 Hz
    recall = x[:, 20:30]
    assert recall[:, :, :2100].sum() == 0
    assert abs(float(recall[:, :, 2100:].mean()) - 0.040) < 0.002
    # noise at 10 Hz throughout
    assert abs(float(x[:, 30:].mean()) - 0.010) < 0.0005
    # a cue fires its group at 40 Hz; each slot has exactly one side
    l, r = cue_side_counts(d, cfg)
    assert bool((l + r == 7).all())
    assert bool(((r > l).long() == d.labels).all())                # label = majority side
    # about 30 % of a trial's cues are on its minority side
    minority = torch.minimum(l, r).sum() / (7 * 400)
    assert 0.26 < float(minority) < 0.34
    assert 0.4 < float(d.labels.double().mean()) < 0.6


def test_cue_seeded_and_variants():
    a, b, c = (cue_accumulation(5, seed=s) for s in (1, 1, 2))
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.inputs, c.inputs)
    long = cue_accumulation(2, CueConfig(wait_ms=10_000, n_cues=11), seed=0)
    assert long.inputs.shape[2] == 11 * 150 + 10_000 and long.window == (11 * 150 + 10_000 - 150, 11 * 150 + 10_000)


@pytest.mark.parametrize("kwargs, message", [
    ({"n_cues": 4}, "n_cues must be odd"),
    ({"cue_ms": 200}, "cue_ms must be at most slot_ms"),
    ({"wait_ms": 100}, "wait_ms must be"),
    ({"p_minor": 0.7}, "p_minor must be in"),
])
def test_cue_bad_config(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CueConfig(**kwargs)


def test_cue_bad_trials():
    with pytest.raises(ValueError, match="n_trials"):
        cue_accumulation(0)
    with pytest.raises(ValueError, match="config must be a CueConfig"):
        cue_accumulation(2, {"n_cues": 3})


# ---------------------------------------------------------------- sequential digits and MNIST files

def test_permuted_sequences_one_permutation_for_all():
    images = np.arange(2 * 9, dtype=float).reshape(2, 3, 3)
    d = permuted_sequences(images, np.array([0, 2]), seed=4)
    order = np.random.default_rng(4).permutation(9)
    assert np.allclose(d.inputs[0, 0].numpy(), images[0].ravel()[order] / 17)
    assert np.allclose(d.inputs[1, 0].numpy(), images[1].ravel()[order] / 17)
    assert d.n_classes == 3 and d.window == (8, 9)
    plain = permuted_sequences(images, np.array([0, 2]), permute=False)
    assert np.allclose(plain.inputs[0, 0].numpy(), images[0].ravel() / 17)


def test_sklearn_digits_shipped():
    d = sklearn_digits(seed=0)
    assert d.inputs.shape == (1797, 1, 64) and d.n_classes == 10
    assert float(d.inputs.max()) == 1.0 and float(d.inputs.min()) == 0.0


def _idx(path, array, gz=False):
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    (gzip.open if gz else open)(path, "wb").write(data)


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_idx(tmp_path, gz):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (5, 28, 28))
    y = np.array([3, 1, 4, 1, 5])
    suffix = ".gz" if gz else ""
    _idx(tmp_path / f"img{suffix}", x, gz)
    _idx(tmp_path / f"lab{suffix}", y, gz)
    d = load_mnist(tmp_path / f"img{suffix}", tmp_path / f"lab{suffix}", seed=1)
    order = np.random.default_rng(1).permutation(784)
    assert d.inputs.shape == (5, 1, 784) and d.labels.tolist() == y.tolist()
    assert np.allclose(d.inputs[2, 0].numpy(), x[2].ravel()[order] / x.max())


def test_load_mnist_bad_files(tmp_path):
    x = np.zeros((3, 28, 28))
    _idx(tmp_path / "img", x)
    _idx(tmp_path / "lab", np.array([1, 2]))
    with pytest.raises(ValueError, match="3 images but 2 labels"):
        load_mnist(tmp_path / "img", tmp_path / "lab")
    raw = (tmp_path / "img").read_bytes()
    (tmp_path / "cut").write_bytes(raw[:-10])
    with pytest.raises(ValueError, match="truncated"):
        load_mnist(tmp_path / "cut", tmp_path / "lab")
    (tmp_path / "text").write_bytes(b"hello world")
    with pytest.raises(ValueError, match="not an idx file"):
        load_mnist(tmp_path / "text", tmp_path / "lab")
    with pytest.raises(ValueError, match="labels: an idx image file needs"):
        load_mnist(tmp_path / "img")
    with pytest.raises(FileNotFoundError, match="not found"):
        load_mnist(tmp_path / "missing.npz")
    np.savez(tmp_path / "wrong.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="must hold arrays 'x'"):
        load_mnist(tmp_path / "wrong.npz")


# ---------------------------------------------------------------- the network

def test_lattice_delays_structure():
    d, pos = lattice_delays(125, seed=0)
    centre = np.linalg.norm(pos - 2.5, axis=1)
    r_max = 5 * np.sqrt(3)
    assert (d[centre < 0.2 * r_max] == 1).all()
    assert (d[(centre >= 0.2 * r_max) & (centre < 0.3 * r_max)] == 80).all()
    assert (d[centre >= 0.3 * r_max] == 100).all()
    assert ((pos - np.floor(pos)) <= 0.5).all()                     # jitter U(0, 0.5) per coordinate
    with pytest.raises(ValueError, match="n_rec must be a cube"):
        TaskNetworkConfig(n_rec=100)


@pytest.mark.parametrize("side", ["pre", "post"])
def test_mask_one_delay_per_neuron_no_self(side):
    cfg = TaskNetworkConfig(n_rec=27, delay_side=side, mid_delay=5, long_delay=9)
    mask = delay_mask_of(cfg, seed=2)
    delays, _ = lattice_delays(27, mid=5, long=9, seed=2)
    assert mask.shape == (27, 27, 9) and not bool(mask[torch.arange(27), torch.arange(27)].any())
    assert int(mask.sum()) == 27 * 26
    post, pre, d = torch.nonzero(mask).T
    owner = pre if side == "pre" else post
    assert torch.equal(d + 1, torch.from_numpy(delays)[owner])
    assert int(delay_mask_of(TaskNetworkConfig(n_rec=27, recurrent=False)).sum()) == 0


def _reference(p: TaskParameters, x, window):
    """The docstring's equations, synapse by synapse (float64)."""
    B, n_in, T = x.shape
    N = p.W_in.shape[0]
    alpha = torch.exp(-1.0 / p.tau).expand(N)
    theta = p.theta.expand(N)
    syn = torch.nonzero(p.mask).tolist()
    u = torch.zeros(B, N, dtype=torch.float64)
    z = torch.zeros(B, N, T, dtype=torch.float64)
    for t in range(T):
        cur = x[:, :, t] @ p.W_in.T + p.bias
        for post, pre, d in syn:
            if t - d - 1 >= 0:
                cur[:, post] += p.W_rec[post, pre, d] * z[:, pre, t - d - 1]
        u = alpha * u + cur
        z[:, :, t] = (u >= theta).double()
        u = u - theta * z[:, :, t]
    kappa = float(torch.exp(-1.0 / p.tau_out))
    y = torch.zeros(B, p.W_out.shape[0], dtype=torch.float64)
    trace = []
    for t in range(T):
        y = kappa * y + z[:, :, t] @ p.W_out.T + p.bias_out
        trace.append(y)
    trace = torch.stack(trace, 2)[:, :, window[0]:window[1]]
    return z, trace


@pytest.mark.parametrize("side, hetero", [("pre", False), ("post", True)])
def test_forward_equals_the_equations(side, hetero):
    cfg = TaskNetworkConfig(n_in=6, n_rec=27, delay_side=side, mid_delay=3, long_delay=7, heterogeneous=hetero,
                            rec_scale=1.5, input_scale=1.0)
    p = init_task_parameters(cfg, seed=1, dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    if hetero:
        p = p._replace(tau=p.tau * (0.5 + torch.rand(27, generator=g, dtype=torch.float64)),
                       theta=p.theta * (0.5 + torch.rand(27, generator=g, dtype=torch.float64)))
    p = p._replace(bias=0.05 * torch.randn(27, generator=g, dtype=torch.float64))
    x = (torch.rand(3, 6, 40, generator=g) < 0.2).double()
    out = run_task_network(p, x, window=(30, 40))
    z, trace = _reference(p, x, (30, 40))
    assert 0.02 < float(z.mean()) < 0.6                              # lively, not saturated
    assert torch.equal(out.spikes, z)
    assert torch.allclose(out.readout, trace, rtol=1e-12, atol=1e-12)
    assert torch.allclose(out.logits, trace.mean(2), rtol=1e-12, atol=1e-12)


def test_forward_general_mask_and_feedforward():
    """A mask with several delays per neuron (summed delay by delay) and the feed-forward control."""
    cfg = TaskNetworkConfig(n_in=3, n_rec=8, delays="none", rec_scale=2.0, input_scale=1.0)
    p = init_task_parameters(cfg, seed=0, dtype=torch.float64)
    g = torch.Generator().manual_seed(5)
    mask = torch.rand(8, 8, 4, generator=g) < 0.3
    p = p._replace(mask=mask, W_rec=torch.randn(8, 8, 4, generator=g, dtype=torch.float64) * mask)
    x = (torch.rand(2, 3, 30, generator=g) < 0.3).double()
    out = run_task_network(p, x, window=(0, 30))
    z, trace = _reference(p, x, (0, 30))
    assert torch.equal(out.spikes, z) and torch.allclose(out.readout, trace, rtol=1e-12, atol=1e-12)
    ff = init_task_parameters(TaskNetworkConfig(n_in=3, n_rec=8, recurrent=False), seed=0, dtype=torch.float64)
    z_ff, _ = _reference(ff, x, (0, 30))
    assert torch.equal(run_task_network(ff, x, window=(0, 30)).spikes, z_ff)


def test_readout_gradient_in_tau_out_matches_finite_differences():
    cfg = TaskNetworkConfig(n_in=2, n_rec=8, delays="none")
    p = init_task_parameters(cfg, seed=0, dtype=torch.float64)
    z = (torch.rand(2, 8, 25, generator=torch.Generator().manual_seed(1)) < 0.3).double()
    tau = p.tau_out.clone().requires_grad_(True)
    readout_trace(p._replace(tau_out=tau), z, 10, 25).sum().backward()
    h = 1e-6
    f = lambda v: float(readout_trace(p._replace(tau_out=torch.tensor([v], dtype=torch.float64)), z, 10, 25).sum())
    t0 = float(tau.detach())
    fd = (f(t0 + h) - f(t0 - h)) / (2 * h)
    assert abs(float(tau.grad) - fd) < 1e-6 * max(1.0, abs(fd))


def test_forward_bad_input():
    p = init_task_parameters(TaskNetworkConfig(n_in=2, n_rec=8, delays="none"), seed=0)
    with pytest.raises(ValueError, match="inputs have 3 channels but the network has n_in=2"):
        run_task_network(p, torch.zeros(1, 3, 10), window=(0, 10))
    with pytest.raises(ValueError, match="window must satisfy"):
        run_task_network(p, torch.zeros(1, 2, 10), window=(5, 11))
