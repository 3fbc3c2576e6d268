r"""Teacher-forced, convex margin learning of the delay weights.

With the targets ``s`` (``(M, N, T)``) as presynaptic input, the input current
of neuron ``j`` at a free-run step ``t >= D`` is linear in its own row of W,

    I_j(t) = sum_{i,d} W[j, i, d-1] s_i(t-d) = (W_flat C^T)_j(t),

where ``C`` is the sparse context of :mod:`hdsnn.learning.context` (one row per
pattern and step, one column ``i*D + d-1`` per presynaptic neuron and delay).
The membrane is what the simulator computes when its own spikes are the targets:
at the end of the clamp (membrane held at 0 until ``t = D-1``)

    u_j(D) = I_j(D)                                   (reset 'zero')
    u_j(D) = beta * (0 - theta s_j(D-1)) + I_j(D)     (reset 'subtract')

and then, for ``t = D+1 .. T-1``,

    u_j(t) = beta * u_j(t-1) * (1 - s_j(t-1)) + I_j(t)    (restart at the neuron's own target spikes)
    u_j(t) = beta * (u_j(t-1) - theta s_j(t-1)) + I_j(t)  ('subtract': an affine offset)

so ``u_j = A_j I_j + c_j`` is affine in row ``j``. The constraints over the free run are

    u_j(t) >= theta + kappa  where s_j(t) = 1,      u_j(t) <= theta - kappa  (and < theta)  elsewhere.

If all of them hold, recall from the clamped cue reproduces every target
exactly: by induction over t, the closed-loop spikes equal the targets, hence
so do the membranes. (``kappa > 0`` absorbs the float32 rounding between the
learner's and the simulator's order of summation.)

Objective, per postsynaptic neuron (convex in its row ``w_j``):

    L_j(w_j) = (1/M) sum_{mu, t} h(v_j(t)) + (l2/2) ||w_j||^2,
    v_j(t) = theta + kappa - u_j(t) at target spikes,  u_j(t) - theta + kappa elsewhere,

with the hinge ``h(v) = max(0, v)`` (default) or the squared hinge
``max(0, v)^2``. The gradient comes from the reverse (adjoint) recurrence with
the same restarts, ``lam(t) = dh/du(t) + a(t+1) lam(t+1)`` with
``a(t+1) = beta (1 - s_j(t))`` ('zero') or ``beta`` ('subtract') and no carry
across the end of the clamp, and ``dL/dW_flat = lam C / M + l2 W`` (a sparse
product). The hinge is the convex surrogate of the violation count; its
subgradient is non-zero only at violated constraints, so the work per epoch
follows the violations. Adam (default), plain subgradient steps (``'sgd'``: a
margin perceptron) or heavy-ball momentum minimise it from the warm start (the
Hebbian weights by default, or zero), one step per ``step_patterns`` patterns
(default all: one full-batch step per epoch), the steps visited in a seeded
random order. A neuron takes a step only where it violates a constraint of
that step's patterns (an update on mistakes), so a neuron without violations
over a whole epoch kept its weights through it: its counts are exact, its
weights a feasible point of its own problem, and it is stopped (not updated
or evaluated again). The history counts, per epoch, the violations met during
it (for full-batch steps: those of the weights at its start).

Measured choices (``paper/RESULTS.md``): from the Hebbian start, Adam reaches
zero violations on the paper benchmark in a few epochs; at large loads the
Hebbian start's many false positives push every weight down first, and
perceptron steps of 8 patterns from zero weights converge in far fewer epochs
than Adam (which stalls there). ``trigger_steps`` writes the constraints for a
shorter clamp, so that recall from that trigger is guaranteed instead.

Each neuron's problem involves only its row of W, and every operation here is
row-wise (the sparse products accumulate every output column in the same
order, whatever the other columns; the optimisers are elementwise; steps and
stopping are per neuron), so the rows can be learned in blocks of postsynaptic neurons on any
:mod:`hdsnn.parallel` executor and the weights are bit-identical whatever the
executor, the block size and the pattern minibatches (``memory_gb``) on CPU.
The dense ``(M (T-D)) x (N D)`` feature matrix is never formed: each pattern
minibatch holds its sparse context and ``(T-D) x block`` arrays.

Examples
--------
>>> from hdsnn.models import bernoulli_patterns
>>> P = bernoulli_patterns(2, 32, 120, 0.03, seed=0)
>>> res = margin_init(P, D=7, config=MarginConfig(kappa=0.2, epochs=100, lr=0.05))
>>> res.violations, res.W.shape
(0, torch.Size([32, 32, 7]))
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse import _sparsetools
from tqdm.auto import tqdm

from hdsnn.config import NetworkConfig, Record, param
from hdsnn.models.simulate import lif_step
from hdsnn.parallel import Executor, get_executor
from hdsnn.validation import check_choice, check_device, check_int, check_raster, check_real, check_weights

from .hebbian import hebbian_init

__all__ = ["MarginConfig", "MarginResult", "margin_init", "teacher_forced_membrane", "count_violations",
           "margin_loss", "LOSSES", "OPTIMIZERS", "SparseContext", "ColumnOptimizer", "drop_finished",
           "learn_columns"]

LOSSES = ("hinge", "squared_hinge")
OPTIMIZERS = ("adam", "sgd", "momentum")
INITS = ("hebbian", "zero")
_MOMENTUM = 0.9
_ADAM_BETAS = (0.9, 0.999)
_ADAM_EPS = 1e-8
#: Above this fraction of steps with a non-zero adjoint, the gradient gathers over the transposed
#: context (measured ~8x faster than scattering when most steps are busy); below, it scatters from the busy
#: steps only. Both add the same terms in the same order: the result is the same bits.
_GATHER_FRACTION = 0.25
#: The adjoint carried back over long silent stretches decays as beta^k; every _FLUSH_EVERY steps its
#: entries below _TINY (far below any gradient that matters) are set to 0, so that no subnormal number
#: (below 1.2e-38 in float32, 0.7^32 * 1e-30 stays above it) ever reaches the sparse products.
_TINY = 1e-30
_FLUSH_EVERY = 32


@dataclass(frozen=True)
class MarginConfig(Record):
    """Options of :func:`margin_init`.

    Parameters
    ----------
    kappa : float
        Margin (>= 0) in units of the membrane potential: ``u >= theta + kappa``
        at target spikes and ``u <= theta - kappa`` elsewhere.
    epochs : int
        Maximum number of passes over the patterns (>= 0; 0 only counts the
        violations of the warm start).
    lr : float
        Step size (> 0), in weight units (Adam's step is about ``lr`` per weight).
    l2 : float
        L2 penalty (>= 0) on the weights of a neuron while it is learning.
    loss : {'hinge', 'squared_hinge'}
    optimizer : {'adam', 'sgd'}
        Adam, or plain (sub)gradient steps (a margin perceptron).
    step_patterns : int or None
        Patterns per weight update (>= 1; None: all, one full-batch step per
        epoch). Steps group consecutive patterns and are visited in a seeded
        random order each epoch; smaller steps take more updates per pass and
        converge in fewer epochs at large loads.
    seed : int
        Seed of the order of the steps (the learner draws nothing else).
    init : {'hebbian', 'zero'}
        Warm start when ``W0`` is not given: :func:`~hdsnn.learning.hebbian_init`
        (good at small loads: the paper benchmark is a few epochs from it) or
        zero weights (better at large loads, where the Hebbian weights' many
        false positives push every weight down first).
    trigger_steps : int or None
        Length of the clamped trigger the constraints are written for (1 <= k <= D;
        None: D). The free run, hence the constraints, start at step k, with the
        context of the targets from step 0: zero violations then guarantee exact
        recall from a trigger of k steps (``TrialConfig(trigger_steps=k)``).
    batch_patterns : int or None
        Upper bound on the patterns of one memory minibatch (None: as many as
        ``memory_gb`` allows); each step is split into such minibatches.
        Minibatches bound memory only; the result does not depend on them.
    memory_gb : float
        Memory budget of one block in GB (> 0): weights, optimiser state,
        contexts and the arrays of one pattern minibatch.
    block_size : int or None
        Postsynaptic neurons per block (>= 1; None: all in one block).
    max_seconds : float or None
        Time budget of a block in seconds (> 0; None: no limit). A limit makes
        the result depend on the machine's speed.
    device : str
        ``'cpu'`` (bit-reproducible) or a CUDA device (``'cuda'``, ``'cuda:1'``).

    The result is a function of the targets, the warm start and these options:
    the same bits on CPU whatever ``batch_patterns``, ``block_size`` and the executor.

    Examples
    --------
    >>> MarginConfig(kappa=0.1).kappa
    0.1
    >>> MarginConfig(kappa=-1)
    Traceback (most recent call last):
    ...
    ValueError: kappa must be in [0.0, inf]; got -1.0
    """

    kappa: float = param(0.3, "margin: u >= theta + kappa at target spikes, <= theta - kappa elsewhere",
                         minimum=0.0, aliases=("margin",))
    epochs: int = param(200, "maximum passes over the patterns (0: only count the warm start's violations)",
                        minimum=0)
    lr: float = param(0.01, "step size in weight units", minimum=0.0, open_min=True)
    l2: float = param(1e-4, "L2 penalty on the weights of a learning neuron", minimum=0.0)
    loss: str = param("hinge", "convex surrogate of the violation count", choices=LOSSES)
    optimizer: str = param("adam", "adam, or plain subgradient steps (a margin perceptron)", choices=OPTIMIZERS)
    step_patterns: int | None = param(None, "patterns per weight update (default: all, one step per epoch)",
                                      minimum=1)
    seed: int = param(0, "seed of the order in which the steps are visited", minimum=0)
    init: str = param("hebbian", "warm start when no W0 is given: the Hebbian weights, or zero", choices=INITS)
    trigger_steps: int | None = param(None, "the clamp the constraints are written for: the free run starts at "
                                      "this step (default D, the recall protocol's trigger)", minimum=1)
    batch_patterns: int | None = param(None, "most patterns of one minibatch (default: as memory_gb allows)",
                                       minimum=1)
    memory_gb: float = param(4.0, "memory budget of one block (GB)", minimum=0.0, open_min=True)
    block_size: int | None = param(None, "postsynaptic neurons per block (default: all in one)", minimum=1)
    max_seconds: float | None = param(None, "time budget of a block (default: none)", minimum=0.0, open_min=True,
                                      unit="s")
    device: str = param("cpu", "torch device: cpu (bit-reproducible) or cuda")

    def _check(self):
        check_device("device", self.device)


@dataclass(frozen=True)
class MarginResult:
    """Result of :func:`margin_init`.

    Attributes
    ----------
    W : torch.Tensor
        Learned weights ``(N, N, D)`` (the dtype of the warm start, float32 by default).
    violations : int
        Teacher-forced constraints still violated by ``W`` (0: recall is exact).
    violations_per_neuron : torch.Tensor
        int64 ``(N,)``: the same per postsynaptic neuron.
    history : list of dict
        One entry per epoch, for the weights at the start of that epoch:
        ``epoch``, ``violations``, ``neurons_violating``, ``loss`` (mean of
        ``L_j`` over the neurons, with the last value of a stopped neuron).
    seconds : float
        Wall time of the learning.
    config : MarginConfig
    epochs_run : int
        Epochs of the longest block.
    """

    W: torch.Tensor
    violations: int
    violations_per_neuron: torch.Tensor
    history: list
    seconds: float
    config: MarginConfig
    epochs_run: int = 0


# --------------------------------------------------------------------------------------------
# Building blocks: sparse contexts, forward recurrence, adjoint, sparse products


@dataclass
class _Problem:
    """What every block shares: the spikes of the targets, sizes and the neuron model."""

    mu: np.ndarray
    i: np.ndarray
    t: np.ndarray
    M: int
    N: int
    T: int
    D: int
    beta: float
    theta: float
    reset: str
    start: int                  # the clamp's length: the free run, and the constraints, start here

    @classmethod
    def make(cls, targets: torch.Tensor, D: int, net: NetworkConfig, start: int | None = None) -> "_Problem":
        M, N, T = targets.shape
        mu, i, t = (x.numpy() for x in torch.nonzero(targets, as_tuple=True))
        return cls(mu, i, t, M, N, T, D, net.beta, net.theta, net.reset, D if start is None else start)

    def context_nnz(self) -> np.ndarray:
        """Non-zero entries of each pattern's context, ``(M,)``."""
        d = np.arange(1, self.D + 1)
        t = self.t[:, None] + d[None, :]
        keep = ((t >= self.start) & (t < self.T)).sum(1)
        return np.bincount(self.mu, weights=keep, minlength=self.M).astype(np.int64)

    def context(self, lo: int, hi: int, dtype) -> sp.csr_matrix:
        """Context of patterns ``lo .. hi-1``: CSR ``((hi-lo)(T-start), N D)``, rows pattern-major, sorted."""
        L, D, start = self.T - self.start, self.D, self.start
        sel = (self.mu >= lo) & (self.mu < hi)
        mu, i, t0 = self.mu[sel], self.i[sel], self.t[sel]
        d = np.arange(1, D + 1)
        t = t0[:, None] + d[None, :]
        keep = (t >= start) & (t < self.T)
        rows = ((mu[:, None] - lo) * L + t - start)[keep]
        cols = (i[:, None] * D + d[None, :] - 1)[keep]
        C = sp.csr_matrix((np.ones(rows.size, dtype=dtype), (rows, cols)), shape=((hi - lo) * L, self.N * D))
        C.sum_duplicates()                      # canonical: sorted columns in each row (a fixed order of sums)
        return C

    def own_spikes(self, lo: int, hi: int, rows: np.ndarray) -> torch.Tensor:
        """Targets of the postsynaptic ``rows`` for patterns ``lo .. hi-1``, bool ``(hi-lo, T, len(rows))``."""
        where = np.full(self.N, -1, dtype=np.int64)
        where[rows] = np.arange(rows.size)
        sel = (self.mu >= lo) & (self.mu < hi) & (where[self.i] >= 0)
        s = torch.zeros(hi - lo, self.T, rows.size, dtype=torch.bool)
        s[torch.from_numpy(self.mu[sel] - lo), torch.from_numpy(self.t[sel]),
          torch.from_numpy(where[self.i[sel]])] = True
        return s


class SparseContext:
    """A pattern minibatch's context, with the two products the learner needs.

    On CPU both products call scipy's kernels directly, accumulating in place:
    ``I = C X`` sums each output entry over the sorted columns of its row, and
    ``acc += C^T lam`` adds the rows of ``lam`` in row order into ``acc`` (so that
    several minibatches accumulate exactly as one). On CUDA, torch sparse CSR.
    Shared with :mod:`hdsnn.learning.margin_neurons`, whose contexts have one row per step ``dt``.

    Examples
    --------
    >>> C = sp.csr_matrix(np.array([[1.0, 0.0], [1.0, 1.0]], np.float32))
    >>> ctx = SparseContext(C, torch.device("cpu"))
    >>> ctx.current(torch.tensor([[2.0], [3.0]])).tolist()
    [[2.0], [5.0]]
    >>> acc = torch.zeros(2, 1); ctx.accumulate(acc, torch.tensor([[1.0], [1.0]])); acc.tolist()
    [[2.0], [1.0]]
    """

    def __init__(self, C: sp.csr_matrix, device: torch.device):
        self.C, self.device = C, device
        if device.type == "cpu":
            self.CT = C.T.tocsr()               # rows (i, d-1), columns the steps, sorted
            self.CT.sort_indices()
        else:
            self.Ct = self._torch(C)
            self.CTt = self._torch(C.T.tocsr())

    def _torch(self, A):
        return torch.sparse_csr_tensor(torch.from_numpy(A.indptr.astype(np.int64)),
                                       torch.from_numpy(A.indices.astype(np.int64)),
                                       torch.from_numpy(A.data), size=A.shape, device=self.device)

    def current(self, X: torch.Tensor) -> torch.Tensor:
        """``C @ X`` for ``X`` ``(N D, n)``: ``(rows, n)``."""
        if self.device.type != "cpu":
            return torch.sparse.mm(self.Ct, X)
        C = self.C
        X = np.ascontiguousarray(X.numpy())
        out = np.zeros((C.shape[0], X.shape[1]), dtype=X.dtype)
        _sparsetools.csr_matvecs(C.shape[0], C.shape[1], X.shape[1], C.indptr, C.indices, C.data,
                                 X.ravel(), out.ravel())
        return torch.from_numpy(out)

    def accumulate(self, acc: torch.Tensor, lam: torch.Tensor) -> None:
        """``acc += C^T @ lam`` for ``lam`` ``(rows, n)``, ``acc`` ``(N D, n)`` (rows of lam that are all 0 skipped)."""
        if self.device.type != "cpu":
            acc += torch.sparse.mm(self.CTt, lam)
            return
        busy = torch.nonzero(lam.ne(0).any(1)).flatten().numpy()
        if busy.size == 0:
            return
        target = acc.numpy()
        assert target.flags.c_contiguous
        if busy.size > _GATHER_FRACTION * lam.shape[0]:
            # gather: each row (i, d-1) of acc adds the rows of lam in step order (zero rows add exact zeros)
            CT, part = self.CT, np.ascontiguousarray(lam.numpy())
            _sparsetools.csr_matvecs(CT.shape[0], CT.shape[1], part.shape[1], CT.indptr, CT.indices, CT.data,
                                     part.ravel(), target.reshape(-1))
            return
        # scatter from the few busy steps only, in the same step order
        C = self.C[busy]
        part = np.ascontiguousarray(lam.numpy()[busy])
        _sparsetools.csc_matvecs(C.shape[1], C.shape[0], part.shape[1], C.indptr, C.indices, C.data,
                                 part.ravel(), target.reshape(-1))


def _membrane(I: torch.Tensor, s: torch.Tensor, start: int, beta: float, theta: float, reset: str) -> torch.Tensor:
    """Teacher-forced membrane over the free run: ``I`` ``(B, L, n)`` currents at ``t = start..T-1``,
    ``s`` bool ``(B, T, n)`` the neurons' own targets; returns ``u`` ``(B, L, n)``.

    Each step is :func:`hdsnn.models.simulate.lif_step` with the target spikes of the
    previous step, started from the clamped state (``u = 0``) at ``t = start-1`` (``start >= 1``);
    for the reset to zero written in place, the same operations in the same order (the same bits).
    """
    u = torch.empty_like(I)
    if reset != "zero":
        prev = torch.zeros_like(I[:, 0])
        for k in range(I.shape[1]):
            prev, _ = lif_step(prev, s[:, start + k - 1], I[:, k], beta, theta, reset)
            u[:, k] = prev
        return u
    zero = torch.zeros((), dtype=I.dtype, device=I.device)
    prev = torch.zeros_like(I[:, 0])
    for k in range(I.shape[1]):
        out = u[:, k]
        torch.where(s[:, start + k - 1], zero, prev, out=out)
        out.mul_(beta).add_(I[:, k])                        # beta * u + I, as lif_step
        prev = out
    return u


def _adjoint(g: torch.Tensor, s: torch.Tensor, start: int, beta: float, reset: str) -> torch.Tensor:
    """Reverse recurrence of :func:`_membrane`: ``lam(t) = g(t) + a(t+1) lam(t+1)``, no carry into the clamp."""
    lam = torch.empty_like(g)
    nxt = torch.zeros_like(g[:, 0])
    zero = torch.zeros((), dtype=g.dtype, device=g.device)
    for k in range(g.shape[1] - 1, -1, -1):
        out = lam[:, k]
        if reset == "zero":
            torch.where(s[:, start + k], zero, nxt, out=out)
        else:
            out.copy_(nxt)
        out.mul_(beta).add_(g[:, k])
        if k % _FLUSH_EVERY == 0:               # beta^k decays into subnormals, 10-100x slower to add
            torch.where(out.abs() < _TINY, zero, out, out=out)
        nxt = out
    return lam


def _deficit(u: torch.Tensor, own: torch.Tensor, theta: float, kappa: float):
    """Margin deficit ``v`` and violations ``bad`` for ``u`` ``(B, L, n)`` and targets ``own`` (same shape).

    ``v > 0`` is a violation: a target spike below ``theta + kappa`` or a silent step above
    ``theta - kappa``; with ``kappa = 0`` a silent step at exactly ``theta`` (which would spike) too.
    """
    v = torch.where(own, (theta + kappa) - u, u - (theta - kappa))
    bad = v > 0
    if kappa == 0:
        bad |= ~own & (u >= theta)
    return v, bad


def _constraints(u: torch.Tensor, own: torch.Tensor, theta: float, kappa: float, loss: str):
    """Violations ``(n,)`` and hinge sums ``(n,)`` (float64) of ``u`` ``(B, L, n)``."""
    v, bad = _deficit(u, own, theta, kappa)
    h = v.clamp_min_(0)
    if loss == "squared_hinge":
        h = h * h
    return bad.sum((0, 1)), h.sum(dim=(0, 1), dtype=torch.float64)


def _hinge_grad(u: torch.Tensor, own: torch.Tensor, theta: float, kappa: float, loss: str) -> torch.Tensor:
    """``dh/du`` ``(B, L, n)``: the (sub)gradient of the hinge terms with respect to the membrane."""
    v, bad = _deficit(u, own, theta, kappa)
    g = bad.to(u.dtype) if loss == "hinge" else 2 * v.clamp_min(0)
    return torch.where(own, -g, g)


# --------------------------------------------------------------------------------------------
# One block of postsynaptic neurons


@dataclass
class _BlockTask:
    problem: _Problem
    config: MarginConfig
    start: int
    stop: int
    W0: torch.Tensor                      # (nb, N*D)
    mask: torch.Tensor | None             # (nb, N*D) bool
    batch: int                            # patterns per memory minibatch (divides nothing; splits each step)
    progress: bool | None = None


class _Block:
    """The contexts and own targets of one block, per pattern minibatch; evaluates any subset of its rows.

    Patterns are grouped into steps of ``step`` consecutive patterns (one weight update each); each
    step is split into memory minibatches of at most ``batch`` patterns. Weights are held transposed,
    ``(N D, n)``, the layout of the sparse products.
    """

    def __init__(self, problem: _Problem, start: int, stop: int, step: int, batch: int, dtype, device):
        self.p, self.device = problem, device
        self.rows = np.arange(start, stop)
        np_dtype = {torch.float32: np.float32, torch.float64: np.float64}[dtype]
        self.steps, self.patterns = [], []          # per step: its memory minibatches, its number of patterns
        for first in range(0, problem.M, step):
            last = min(first + step, problem.M)
            bounds = [(lo, min(lo + batch, last)) for lo in range(first, last, batch)]
            self.steps.append([(lo, hi, SparseContext(problem.context(lo, hi, np_dtype), device),
                                problem.own_spikes(lo, hi, self.rows).to(device)) for lo, hi in bounds])
            self.patterns.append(last - first)

    def _forward(self, part, X: torch.Tensor, R: torch.Tensor):
        """Membrane ``(B, L, n)`` and own targets ``(B, T, n)`` of the columns ``X`` (rows ``R``) on one minibatch."""
        p = self.p
        lo, hi, ctx, own_all = part
        n = X.shape[1]
        own = own_all if n == own_all.shape[2] else own_all[:, :, R]
        I = ctx.current(X).reshape(hi - lo, p.T - p.start, n)
        return _membrane(I, own, p.start, p.beta, p.theta, p.reset), own

    def _backward(self, part, u: torch.Tensor, own: torch.Tensor, kappa: float, loss: str, acc: torch.Tensor):
        """``acc += lam C`` on one minibatch, ``lam`` the adjoint of the hinge terms of ``u``."""
        p = self.p
        g = _hinge_grad(u, own[:, p.start:], p.theta, kappa, loss)
        lam = _adjoint(g, own, p.start, p.beta, p.reset)
        part[2].accumulate(acc, lam.reshape(-1, u.shape[2]))

    def evaluate(self, Wt: torch.Tensor, R: torch.Tensor, kappa: float, loss: str, grad: bool,
                 keep_u: bool = False, steps=None):
        """Violations ``(n,)``, hinge sums ``(n,)`` and (``grad``) ``sum_mu lam C`` ``(N D, n)`` of rows ``R``
        over the given steps (default: all patterns)."""
        p = self.p
        n = R.numel()
        X = Wt if n == Wt.shape[1] else Wt[:, R].contiguous()            # (N D, n)
        counts = torch.zeros(n, dtype=torch.int64, device=Wt.device)
        hsum = torch.zeros(n, dtype=torch.float64, device=Wt.device)
        acc = torch.zeros(p.N * p.D, n, dtype=Wt.dtype, device=Wt.device) if grad else None
        us = []
        for k in (range(len(self.steps)) if steps is None else steps):
            for part in self.steps[k]:
                u, own = self._forward(part, X, R)
                c, h = _constraints(u, own[:, p.start:], p.theta, kappa, loss)
                counts += c
                hsum += h
                if keep_u:
                    us.append(u)
                if grad:
                    self._backward(part, u, own, kappa, loss, acc)
        return counts, hsum, acc, us

    def train_step(self, Wt: torch.Tensor, R: torch.Tensor, k: int, kappa: float, loss: str):
        """One update's evaluation of rows ``R`` on step ``k``: violations and hinge sums ``(n,)``, the
        rows that violate (bool ``(n,)``) and their summed adjoint products ``(N D, busy)`` (None if none).

        The gradient is computed for the violating columns only (the others have a zero adjoint); a
        step split into several minibatches evaluates them again on those columns, which gives the
        same membrane bits (every product is column by column).
        """
        p = self.p
        n = R.numel()
        X = Wt if n == Wt.shape[1] else Wt[:, R].contiguous()
        counts = torch.zeros(n, dtype=torch.int64, device=Wt.device)
        hsum = torch.zeros(n, dtype=torch.float64, device=Wt.device)
        parts = self.steps[k]
        kept = None
        for part in parts:
            u, own = self._forward(part, X, R)
            c, h = _constraints(u, own[:, p.start:], p.theta, kappa, loss)
            counts += c
            hsum += h
            if len(parts) == 1:
                kept = u, own
        busy = counts > 0
        cols = torch.nonzero(busy).flatten()
        if cols.numel() == 0:
            return counts, hsum, busy, None
        acc = torch.zeros(p.N * p.D, cols.numel(), dtype=Wt.dtype, device=Wt.device)
        whole = cols.numel() == n
        if kept is not None:
            u, own = kept
            if not whole:
                u, own = u[:, :, cols], own[:, :, cols]
            self._backward(parts[0], u, own, kappa, loss, acc)
        else:
            Xb, Rb = (X, R) if whole else (X[:, cols].contiguous(), R[cols])
            for part in parts:
                u, own = self._forward(part, Xb, Rb)
                self._backward(part, u, own, kappa, loss, acc)
        return counts, hsum, busy, acc


def _learn_block(task: _BlockTask) -> dict:
    """Learn rows ``start .. stop-1``; returns their weights, final violations and per-row history."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _learn(task)
    finally:
        torch.set_num_threads(threads)


class ColumnOptimizer:
    """Adam or plain steps on the columns of ``Wt`` ``(N D, n)``, each column with its own step count.

    A column is updated only at steps where its neuron violates a constraint (an update on mistakes,
    as the perceptron), so a neuron without violations over a whole epoch kept its weights through it.
    ``cfg`` is read for ``optimizer``, ``lr`` and ``l2`` only (any record with those fields).

    Examples
    --------
    >>> Wt = torch.zeros(3, 2)
    >>> opt = ColumnOptimizer(Wt, MarginConfig(optimizer="sgd", lr=0.5, l2=0.0), None)
    >>> opt.step(Wt, torch.tensor([1]), torch.ones(3, 1), patterns=1); Wt[:, 1].tolist()
    [-0.5, -0.5, -0.5]
    """

    def __init__(self, Wt: torch.Tensor, cfg: MarginConfig, mask: torch.Tensor | None):
        self.cfg, self.mask = cfg, mask
        if cfg.optimizer in ("adam", "momentum"):
            self.m1 = torch.zeros_like(Wt)
        if cfg.optimizer == "adam":
            self.m2 = torch.zeros_like(Wt)
        self.k = torch.zeros(Wt.shape[1], dtype=torch.int64)

    def step(self, Wt: torch.Tensor, cols: torch.Tensor, acc: torch.Tensor, patterns: int) -> None:
        """Descend on columns ``cols`` with ``acc`` ``(N D, len(cols))``, the summed adjoint products."""
        cfg = self.cfg
        whole = cols.numel() == Wt.shape[1]
        w = Wt if whole else Wt[:, cols]
        g = acc.div_(patterns).add_(w, alpha=cfg.l2) if cfg.l2 else acc.div_(patterns)
        if self.mask is not None:
            g.mul_(self.mask if whole else self.mask[:, cols])
        self.k[cols.cpu()] += 1
        # the same operations on the whole block and on a copy of some columns: the same bits
        if cfg.optimizer == "sgd":
            w.sub_(g, alpha=cfg.lr)
        elif cfg.optimizer == "momentum":
            m = self.m1 if whole else self.m1[:, cols]
            m.mul_(_MOMENTUM).add_(g)
            w.sub_(m, alpha=cfg.lr)
            if not whole:
                self.m1[:, cols] = m
        else:
            b1, b2 = _ADAM_BETAS
            k = self.k[cols.cpu()].to(dtype=torch.float64)
            c1 = (cfg.lr / (1 - b1 ** k)).to(Wt.dtype).to(Wt.device)
            c2 = (1 / (1 - b2 ** k)).to(Wt.dtype).to(Wt.device)
            m = self.m1 if whole else self.m1[:, cols]
            v = self.m2 if whole else self.m2[:, cols]
            m.mul_(b1).add_(g, alpha=1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = (v * c2).sqrt_().add_(_ADAM_EPS)
            w.sub_(m * c1 / denom)
            if not whole:
                self.m1[:, cols], self.m2[:, cols] = m, v
        if not whole:
            Wt[:, cols] = w

    def keep(self, sel: torch.Tensor) -> None:
        """Keep the state of the columns ``sel`` only (bool, or indices), as the block drops finished neurons."""
        for name in ("m1", "m2", "mask"):
            if getattr(self, name, None) is not None:
                setattr(self, name, getattr(self, name)[:, sel].contiguous())
        self.k = self.k[sel.cpu()]


def drop_finished(W: torch.Tensor, Wt: torch.Tensor, R: torch.Tensor, going: torch.Tensor, opt: ColumnOptimizer):
    """Drop the finished rows from the learning set: returns ``(Wt, R)`` for the rows where ``going``.

    ``W`` ``(cols, nb)`` holds the block's weights; ``Wt`` the columns of the rows ``R`` still learning
    (``W`` itself until the first drop). Finished columns are written back to ``W``, the others kept
    contiguous (so that no step copies them), and the optimiser's state follows.

    Examples
    --------
    >>> W = torch.zeros(2, 3); opt = ColumnOptimizer(W, MarginConfig(optimizer="sgd"), None)
    >>> Wt, R = drop_finished(W, W, torch.arange(3), torch.tensor([True, False, True]), opt)
    >>> R.tolist(), tuple(Wt.shape)
    ([0, 2], (2, 2))
    """
    if bool(going.all()):
        return Wt, R
    if Wt is not W:
        W[:, R] = Wt
    opt.keep(going)
    return Wt[:, going].contiguous(), R[going]


def learn_columns(W: torch.Tensor, mask, cfg, steps: list, train_step: Callable, evaluate: Callable, *,
                  patterns: int, desc: str, progress: bool | None = None) -> dict:
    """The epoch loop of a block of postsynaptic neurons, shared by the margin learners.

    ``W`` ``(cols, nb)`` holds the block's weights (updated in place); ``steps[k]`` is the number
    of patterns of step ``k``; ``train_step(Wt, R, k)`` returns the violations and hinge sums of
    rows ``R`` (the columns of ``Wt``) on step ``k``, the violating rows and their summed adjoint
    products (``_Block.train_step``); ``evaluate(Wt, R)`` the violations and hinge sums over all
    patterns. Each epoch visits the steps in a seeded order (``cfg.seed``), stepping the violating
    columns with a :class:`ColumnOptimizer`; a row clean for a whole epoch stops (:func:`drop_finished`).
    ``cfg`` is read for the optimiser, ``l2``, ``epochs``, ``max_seconds`` and ``seed``; ``patterns``
    (all of them) normalises the loss. Returns the per-row violations and history, and the epochs run.
    """
    t0 = time.perf_counter()
    device = W.device
    nb = W.shape[1]
    opt = ColumnOptimizer(W, cfg, mask)
    order_rng = np.random.default_rng(cfg.seed)
    viol = torch.zeros(nb, dtype=torch.int64)
    loss_row = torch.zeros(nb, dtype=torch.float64)
    hist_v, hist_l = [], []

    def record(Wt, R, counts, hsum):
        viol[R.cpu()] = counts.cpu()
        norm = (Wt.double() ** 2).sum(0)
        loss_row[R.cpu()] = (hsum / patterns + 0.5 * cfg.l2 * norm).cpu()

    # the rows still learning, R, have their columns in Wt (contiguous, so that no step copies them);
    # a finished row's column is written back to W
    R, Wt = torch.arange(nb, device=device), W
    epochs_run = 0
    bar = tqdm(range(cfg.epochs), desc=desc, unit="epoch", leave=False,
               disable=None if progress is None else not progress)
    for epoch in bar:
        if cfg.max_seconds is not None and time.perf_counter() - t0 > cfg.max_seconds:
            break
        seen = torch.zeros(R.numel(), dtype=torch.int64, device=device)
        hsum = torch.zeros(R.numel(), dtype=torch.float64, device=device)
        for k in order_rng.permutation(len(steps)).tolist():
            counts, h, busy, acc = train_step(Wt, R, k)
            seen += counts
            hsum += h
            if acc is not None:
                opt.step(Wt, torch.nonzero(busy).flatten(), acc, steps[k])
        record(Wt, R, seen, hsum)
        hist_v.append(viol.clone())
        hist_l.append(loss_row.clone())
        bar.set_postfix(violations=int(seen.sum()), neurons=int((seen > 0).sum()))
        epochs_run = epoch + 1
        Wt, R = drop_finished(W, Wt, R, seen > 0, opt)   # a row clean all epoch kept its weights: done
        if R.numel() == 0:
            break
    if R.numel():                                  # rows still learning: the violations of their final weights
        record(Wt, R, *evaluate(Wt, R))
        if Wt is not W:
            W[:, R] = Wt
    return {"violations": viol, "history_violations": hist_v, "history_loss": hist_l, "epochs_run": epochs_run}


def _learn(task: _BlockTask) -> dict:
    t0 = time.perf_counter()
    cfg, p = task.config, task.problem
    device = torch.device(cfg.device)
    W = task.W0.to(device).T.contiguous()                   # (N D, nb): the block's weights
    mask = None if task.mask is None else task.mask.to(device).T.contiguous()
    step = min(cfg.step_patterns or p.M, p.M)
    block = _Block(p, task.start, task.stop, step, min(task.batch, step), W.dtype, device)
    out = learn_columns(W, mask, cfg, block.patterns,
                        lambda Wt, R, k: block.train_step(Wt, R, k, cfg.kappa, cfg.loss),
                        lambda Wt, R: block.evaluate(Wt, R, cfg.kappa, cfg.loss, grad=False)[:2],
                        patterns=p.M, desc=f"margin rows {task.start}-{task.stop - 1}", progress=task.progress)
    W = W.T.contiguous()
    if mask is not None:
        W = torch.where(mask.T, W, torch.zeros_like(W))
    return {"start": task.start, "stop": task.stop, "W": W.cpu(), **out, "seconds": time.perf_counter() - t0}


# --------------------------------------------------------------------------------------------
# Front functions


def _inputs(targets, D, net, W=None, name="W"):
    targets = check_raster("targets", targets)
    M, N, T = targets.shape
    D = check_int("D", D, minimum=1)
    if D >= T:
        raise ValueError(f"D ({D} delays) must be smaller than T ({T} steps per pattern)")
    net = net if net is not None else NetworkConfig(N=N, D=D)
    if not isinstance(net, NetworkConfig):
        raise ValueError(f"net must be a NetworkConfig; got {type(net).__name__}")
    if W is not None:
        W = check_weights(name, W, N=N, D=D)
    return targets, D, net, W


def _itemsize(dtype) -> int:
    return torch.empty(0, dtype=dtype).element_size()


def _block_bytes(problem: _Problem, nb: int, batch: int, itemsize: int, adam: bool, masked: bool) -> int:
    """Bytes one block of ``nb`` rows needs with minibatches of ``batch`` patterns (an upper estimate)."""
    N, D, T, M = problem.N, problem.D, problem.T, problem.M
    L = T - problem.start
    row = N * D * nb
    fixed = row * itemsize * (1 + 2 * adam + 4) + row * masked      # W, Adam moments, X, acc, g, step; mask
    fixed += 2 * int(problem.context_nnz().sum()) * (itemsize + 8) + (M * (L + 1) + N * D) * 8   # contexts, C^T
    fixed += M * T * nb                                             # own targets
    per_pattern = L * nb * (7 * itemsize + 4)                      # I, u, v, h, g, lam, temporary; masks
    return fixed + batch * per_pattern


def _plan(problem: _Problem, cfg: MarginConfig, nb: int, itemsize: int, masked: bool) -> int:
    """Patterns per minibatch under ``cfg.memory_gb``; ValueError if one pattern does not fit."""
    adam = cfg.optimizer == "adam"
    budget = cfg.memory_gb * 1e9
    one = _block_bytes(problem, nb, 1, itemsize, adam, masked)
    if one > budget:
        raise ValueError(f"memory_gb={cfg.memory_gb} is too small: a block of {nb} postsynaptic neurons with "
                         f"one pattern per minibatch needs {one / 1e9:.3g} GB (lower block_size or raise memory_gb)")
    per = _block_bytes(problem, nb, 2, itemsize, adam, masked) - one
    fits = 1 + int((budget - one) // per)
    return max(1, min(problem.M, fits, cfg.batch_patterns or problem.M))


def _check_mask(mask, N, D):
    if mask is None:
        return None
    if isinstance(mask, np.ndarray):
        mask = torch.from_numpy(mask)
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool or tuple(mask.shape) != (N, N, D):
        got = (f"{type(mask).__name__}" if not isinstance(mask, torch.Tensor)
               else f"{mask.dtype} of shape {tuple(mask.shape)}")
        raise ValueError(f"mask must be a bool tensor of shape (N, N, D) = ({N}, {N}, {D}) indexed "
                         f"[post, pre, delay-1]; got {got}")
    return mask


def margin_init(targets, D: int = 41, config: MarginConfig | None = None, *, net: NetworkConfig | None = None,
                W0=None, mask=None, executor=None, progress: bool | None = None) -> MarginResult:
    """Learn weights whose teacher-forced membrane meets every margin constraint.

    Parameters
    ----------
    targets : bool array ``(M, N, T)``
        Patterns to store.
    D : int
        Number of delays (``1 <= D < T``); also the clamped trigger window.
    config : MarginConfig, optional
    net : NetworkConfig, optional
        ``beta``, ``theta`` and ``reset`` are read from it (N and D come from the targets).
    W0 : float tensor ``(N, N, D)``, optional
        Warm start (default: as ``config.init`` says, the Hebbian weights with the net's beta or zero).
    mask : bool tensor ``(N, N, D)``, optional
        Synapses that exist; the others stay exactly 0.
    executor : None, str, int or Executor
        Where the blocks of postsynaptic neurons run (:func:`hdsnn.parallel.get_executor`);
        one started here from a spec is closed here.
    progress : bool or None
        Progress bar over the epochs of each block (None: only on a terminal).

    Returns
    -------
    MarginResult

    Raises
    ------
    ValueError
        Bad targets, D, net, W0 or mask, or a ``memory_gb`` too small for one pattern.

    Examples
    --------
    >>> from hdsnn.models import bernoulli_patterns
    >>> P = bernoulli_patterns(2, 24, 100, 0.04, seed=1)
    >>> res = margin_init(P, D=5, config=MarginConfig(kappa=0.1, epochs=0))
    >>> res.history, res.violations == int(res.violations_per_neuron.sum())
    ([], True)
    """
    t0 = time.perf_counter()
    cfg = config if config is not None else MarginConfig()
    if not isinstance(cfg, MarginConfig):
        raise ValueError(f"config must be a MarginConfig; got {type(cfg).__name__}")
    targets, D, net, W0 = _inputs(targets, D, net, W0, "W0")
    M, N, T = targets.shape
    mask = _check_mask(mask, N, D)
    if W0 is None:
        W0 = hebbian_init(targets, D=D, beta=net.beta) if cfg.init == "hebbian" else torch.zeros(N, N, D)
    if mask is not None:
        W0 = torch.where(mask, W0, torch.zeros_like(W0))
    if cfg.trigger_steps is not None and cfg.trigger_steps > D:
        raise ValueError(f"trigger_steps must be in [1, D={D}]; got {cfg.trigger_steps}")
    problem = _Problem.make(targets, D, net, cfg.trigger_steps)
    nb = min(cfg.block_size or N, N)
    batch = _plan(problem, cfg, nb, _itemsize(W0.dtype), mask is not None)
    W_flat = W0.reshape(N, N * D)
    mask_flat = None if mask is None else mask.reshape(N, N * D)
    tasks = [_BlockTask(problem, cfg, a, min(a + nb, N), W_flat[a:a + nb].clone(),
                        None if mask_flat is None else mask_flat[a:a + nb].clone(), batch, progress)
             for a in range(0, N, nb)]
    ex = get_executor(executor)
    try:
        parts = ex.map(_learn_block, tasks)
    finally:
        if not isinstance(executor, Executor):
            ex.close()
    W = torch.cat([r["W"] for r in parts]).reshape(N, N, D)
    per_neuron = torch.cat([r["violations"] for r in parts])
    history = _history(parts)
    return MarginResult(W, int(per_neuron.sum()), per_neuron, history, time.perf_counter() - t0, cfg,
                        max(r["epochs_run"] for r in parts))


def _history(parts) -> list:
    epochs = max(len(r["history_violations"]) for r in parts)
    if epochs == 0:
        return []
    out = []
    for e in range(epochs):
        v = torch.cat([r["history_violations"][min(e, len(r["history_violations"]) - 1)] for r in parts])
        loss = torch.cat([r["history_loss"][min(e, len(r["history_loss"]) - 1)] for r in parts])
        out.append({"epoch": e, "violations": int(v.sum()), "neurons_violating": int((v > 0).sum()),
                    "loss": float(loss.numpy().mean())})
    return out


def _start(trigger_steps, D):
    if trigger_steps is None:
        return D
    k = check_int("trigger_steps", trigger_steps, minimum=1)
    if k > D:
        raise ValueError(f"trigger_steps must be in [1, D={D}]; got {k}")
    return k


def _whole(targets, D, net, W, trigger_steps=None):
    problem = _Problem.make(targets, D, net, _start(trigger_steps, D))
    block = _Block(problem, 0, problem.N, problem.M, problem.M, W.dtype, torch.device("cpu"))
    return problem, block, W.reshape(problem.N, problem.N * D).T.contiguous()


def teacher_forced_membrane(W, targets, D: int = 41, net: NetworkConfig | None = None, *,
                            trigger_steps: int | None = None) -> torch.Tensor:
    """The membrane ``u`` ``(M, N, T)`` of the recall protocol when the spikes are the targets.

    Zero over the clamped window ``t < k`` (``k = trigger_steps``, default D); for ``t >= k`` the recurrence of the
    module docstring (the simulator's :func:`~hdsnn.models.simulate.lif_step`
    fed with the target spikes). Computed from the sparse contexts.

    Examples
    --------
    >>> W = torch.zeros(2, 2, 2); W[1, 0, 1] = 1.5          # 0 -> 1, delay 2
    >>> s = torch.zeros(1, 2, 6, dtype=torch.bool); s[0, 0, 1] = True
    >>> teacher_forced_membrane(W, s, D=2)[0, 1].tolist()
    [0.0, 0.0, 0.0, 1.5, 1.0499999523162842, 0.73499995470047]
    """
    targets, D, net, W = _inputs(targets, D, net, W)
    problem, block, Wf = _whole(targets, D, net, W, trigger_steps)
    R = torch.arange(problem.N)
    *_, us = block.evaluate(Wf, R, 0.0, "hinge", grad=False, keep_u=True)
    u = torch.zeros(problem.M, problem.N, problem.T, dtype=W.dtype)
    u[:, :, problem.start:] = torch.cat(us).permute(0, 2, 1)
    return u


def count_violations(W, targets, D: int = 41, net: NetworkConfig | None = None, kappa: float = 0.3, *,
                     per_neuron: bool = False, trigger_steps: int | None = None):
    """Teacher-forced margin constraints that ``W`` violates.

    Returns the total (int), or the int64 counts per postsynaptic neuron ``(N,)``
    with ``per_neuron=True``. Zero (with ``kappa > 0``) means that recall from
    the clamped cue (of ``trigger_steps`` steps, default D) reproduces every target.

    Examples
    --------
    >>> W = torch.zeros(2, 2, 2); W[1, 0, 1] = 1.5
    >>> s = torch.zeros(1, 2, 6, dtype=torch.bool); s[0, 0, 1] = True; s[0, 1, 3] = True
    >>> count_violations(W, s, D=2, kappa=0.3), count_violations(W, s, D=2, kappa=0.6)
    (0, 1)
    """
    kappa = check_real("kappa", kappa, 0.0)
    targets, D, net, W = _inputs(targets, D, net, W)
    problem, block, Wf = _whole(targets, D, net, W, trigger_steps)
    counts, *_ = block.evaluate(Wf, torch.arange(problem.N), kappa, "hinge", grad=False)
    return counts if per_neuron else int(counts.sum())


def margin_loss(W, targets, D: int = 41, net: NetworkConfig | None = None, kappa: float = 0.3,
                loss: str = "hinge", l2: float = 0.0) -> tuple[float, torch.Tensor]:
    """The objective ``sum_j L_j`` and its (sub)gradient ``(N, N, D)`` by the adjoint recurrence.

    Computed in the dtype of W (float64 for gradient checks).

    Examples
    --------
    >>> W = torch.zeros(2, 2, 2, dtype=torch.float64); W[1, 0, 1] = 1.0
    >>> s = torch.zeros(1, 2, 6, dtype=torch.bool); s[0, 0, 1] = True; s[0, 1, 3] = True
    >>> value, grad = margin_loss(W, s, D=2, kappa=0.3)
    >>> round(value, 6), grad[1, 0].tolist()            # u(3) = 1.0 < 1.3: push both weights up
    (0.3, [-0.7, -1.0])
    """
    kappa = check_real("kappa", kappa, 0.0)
    check_choice("loss", loss, LOSSES)
    l2 = check_real("l2", l2, 0.0)
    targets, D, net, W = _inputs(targets, D, net, W)
    problem, block, Wf = _whole(targets, D, net, W)
    _, hsum, acc, _ = block.evaluate(Wf, torch.arange(problem.N), kappa, loss, grad=True)
    value = float(hsum.sum()) / problem.M + 0.5 * l2 * float((Wf.double() ** 2).sum())
    grad = (acc / problem.M + l2 * Wf).T
    return value, grad.reshape(W.shape)
