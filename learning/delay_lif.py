"""The delay-recurrent LIF network over a whole trial as one differentiable function.

Forward (the model contract of DESIGN.md, with an optional factor ``m`` on the currents)::

    I_j(t) = m_j(t) * sum_i sum_d W[j, i, d-1] * s_i(t-d)
    u_j(t) = beta * u_j(t-1) * (1 - s_j(t-1)) + I_j(t)        reset 'zero'
    u_j(t) = beta * (u_j(t-1) - theta * s_j(t-1)) + I_j(t)     reset 'subtract'
    s_j(t) = H(u_j(t) - theta) or x_j(t)                       free steps
    s_j(t) = x_j(t),  u_j(t) = 0                               clamped steps

``m`` is dropout on the synaptic currents (``keep / (1 - p)``), 1 in eval mode.

Backward (the adjoint recursion, in reverse time). With ``g_s(t) = dL/ds(t)``
and ``a(t) = dL/d(sum_i sum_d W s)(t)``::

    g_s_i(t) = dL/ds_i(t) + sum_d sum_j W[j, i, d-1] * a_j(t+d)     transposed delays
    g_u_j(t) = free * ( g_s_j(t) * H'(u_j(t) - theta) * (1 - x_j(t))
                        + beta * (1 - s_j(t)) * g_u_j(t+1) )         ('subtract': beta * g_u(t+1))
    a_j(t)   = m_j(t) * g_u_j(t)
    dL/dW[j, i, d-1] = sum_b sum_t a_j(t) * s_i(t-d)                  from presynaptic spikes only

``H'`` is the surrogate (:mod:`hdsnn.learning.surrogate`). **The reset is
detached**: the factor ``(1 - s(t-1))`` (or the subtracted ``theta * s(t-1)``)
is treated as a constant, as is common in surrogate-gradient training (Zenke
& Vogels 2021); the spikes still carry gradient through the delayed currents.
The dense reference :func:`delay_lif_dense` makes the same choice, so the two
gradients agree to rounding.

Memory: between the two passes only the spikes (bool), the membrane
potentials and the dropout mask (bool), ``B x L x N`` each, are kept. The
weights are used in the layout ``P = [pre, delay-1, post]``: the forward pass
adds the ``(D, N)`` block ``P[i]`` of each spike to the input of the next D
steps, and read as a matrix ``(pre) x (delay, post)`` the same tensor is the
transposed delay tensor of the backward pass. When ``W`` is a view of a
contiguous ``P`` (``W = P.permute(2, 0, 1)``, as :func:`hdsnn.learning.train`
holds it) neither pass copies it, and the gradient is accumulated directly in
that layout. The input in flight (forward) and the adjoint ``a`` (backward)
live in sliding windows of ``2D`` and ``2(K+D)`` steps (``K`` the backward
block), not over the whole trial. Nothing of size ``N * D`` per time step is
ever held: the weight gradient is accumulated, step by step, from the
presynaptic spikes of that step.
"""
from __future__ import annotations

import torch

from hdsnn.config import NetworkConfig
from hdsnn.models.simulate import RunawayGuard, Schedule, protocol_step
from hdsnn.validation import check_int, check_raster, check_real, check_weights

from .surrogate import Surrogate, spike

__all__ = ["delay_lif", "delay_lif_counts", "delay_lif_dense", "BACKWARD_BLOCK"]

#: Spikes per step up to which the forward pass delivers them one by one.
_FEW_SPIKES = 48
#: Steps per block of the backward pass (see :class:`_DelayLIF`); measured best on 2 CPU cores.
BACKWARD_BLOCK = 16


def _check(W, inputs, clamp, net, keep, dropout):
    if net is not None and not isinstance(net, NetworkConfig):
        raise ValueError(f"net must be a NetworkConfig; got {type(net).__name__}")
    inputs = check_raster("inputs", inputs)
    B, N, L = inputs.shape
    if not isinstance(W, torch.Tensor) or not W.is_floating_point():
        W = check_weights("W", W, N=N)
    elif W.ndim != 3 or W.shape[:2] != (N, N):
        raise ValueError(f"W must have shape (N={N}, N={N}, D) indexed [post, pre, delay-1]; "
                         f"got {tuple(W.shape)}")
    if clamp is None:
        clamp = torch.zeros((B, L), dtype=torch.bool)
    if not isinstance(clamp, torch.Tensor) or tuple(clamp.shape) != (B, L):
        raise ValueError(f"clamp must be a bool tensor of shape (B={B}, L={L}); "
                         f"got {tuple(getattr(clamp, 'shape', ()))}")
    dropout = check_real("dropout", dropout, 0.0, 1.0, open_max=True)
    if keep is not None and (not isinstance(keep, torch.Tensor) or tuple(keep.shape) != (B, N, L)):
        raise ValueError(f"keep must be a bool tensor of shape (B={B}, N={N}, L={L}); "
                         f"got {tuple(getattr(keep, 'shape', ()))}")
    net = net if net is not None else NetworkConfig(N=N, D=W.shape[2])
    dev = W.device
    keep = None if keep is None else keep.to(dev, torch.bool).permute(0, 2, 1)      # (B, L, N) view
    return W, inputs.to(dev), clamp.to(dev, torch.bool), net, keep, 1.0 / (1.0 - dropout)


def _weight_grad(grad_P, window, s_all, lo, hi, D, free_any):
    """Add ``a(t+1 .. t+D)`` to the gradient of the weights of each spike at ``t`` in ``[lo, hi]``."""
    if not any(free_any[lo + 1: hi + 1 + D]):
        return
    for t in range(hi, lo - 1, -1):
        b_idx, i_idx = torch.nonzero(s_all[:, t], as_tuple=True)
        k = b_idx.numel()
        if 0 < k <= _FEW_SPIKES:
            for b, i in zip(b_idx.tolist(), i_idx.tolist()):
                grad_P[i] += window.rows(b, t + 1, D)
        elif k:
            grad_P.index_add_(0, i_idx, window.rows(b_idx, t + 1, D))


class _Window:
    """A ``(B, 2W, N)`` buffer standing for steps ``base .. base+2W-1`` of a longer ``(B, L+D, N)`` array.

    Forward (``forward=True``) it slides towards later steps, backward towards
    earlier ones, by ``W`` steps at a time, so that the ``W`` steps ahead of (or
    behind) the current one are always inside it and slices never wrap. Steps
    that were never written read as zero. This replaces the full-length input
    buffer of the forward pass and adjoint of the backward pass by ``2W`` steps.
    """

    def __init__(self, B, N, width, dtype, device, forward: bool, first: int):
        self.width = width
        self.buf = torch.zeros(B, 2 * width, N, dtype=dtype, device=device)
        self.forward = forward
        self.base = first if forward else first - 2 * width + 1

    def need(self, lo: int, hi: int) -> None:
        """Make steps ``lo .. hi`` (``hi - lo < 2W``, reached monotonically) addressable."""
        w = self.width
        if self.forward:
            while hi >= self.base + 2 * w:
                self.buf[:, :w] = self.buf[:, w:]
                self.buf[:, w:] = 0
                self.base += w
        else:
            while lo < self.base:
                self.buf[:, w:] = self.buf[:, :w]
                self.buf[:, :w] = 0
                self.base -= w

    def step(self, t: int) -> torch.Tensor:
        return self.buf[:, t - self.base]

    def rows(self, b, t: int, n: int) -> torch.Tensor:
        """Steps ``t .. t+n-1`` of trial(s) ``b``: ``(n, N)`` or ``(k, n, N)``."""
        return self.buf[b, t - self.base: t - self.base + n]

    def blocks(self, lo: int, count: int, n: int) -> torch.Tensor:
        """For each step ``t = lo .. lo+count-1``, steps ``t .. t+n-1`` flattened: ``(B, count, n*N)``."""
        B, S, N = self.buf.shape
        return self.buf.as_strided((B, count, n * N), (S * N, N, 1), self.buf.storage_offset() + (lo - self.base) * N)


def _forward(P, inputs, clamp, keep, scale, beta, theta, reset, max_rate):
    """The event-driven trial: potentials ``u_all`` and spikes ``s_all`` ``(B, L, N)``, and the steps
    that carry no gradient (clamped, or silenced by the runaway guard)."""
    N, D, _ = P.shape
    B, _, L = inputs.shape
    x = inputs.permute(0, 2, 1)                                 # (B, L, N) view
    future = _Window(B, N, D, P.dtype, P.device, forward=True, first=0)   # input of the next D steps
    u_all = torch.empty(B, L, N, dtype=P.dtype, device=P.device)
    s_all = torch.zeros(B, L, N, dtype=torch.bool, device=P.device)
    schedule = Schedule(inputs, clamp)
    u = torch.zeros(B, N, dtype=P.dtype, device=P.device)
    s = torch.zeros(B, N, dtype=torch.bool, device=P.device)
    guard = RunawayGuard(B, N, D, max_rate, P.device)
    for t in range(L):
        future.need(t, t + D)
        current = future.step(t) if keep is None else future.step(t) * keep[:, t] * scale
        u, s, b_idx, i_idx = protocol_step(t, u, s, current, x[:, t], clamp[:, t], schedule, guard,
                                             beta, theta, reset)
        k = b_idx.numel()
        u_all[:, t] = u
        s_all[:, t] = s
        if 0 < k <= _FEW_SPIKES:                # a Python loop beats index_add_ for a few spikes
            for b, i in zip(b_idx.tolist(), i_idx.tolist()):
                future.rows(b, t + 1, D).add_(P[i])
        elif k:
            future.rows(slice(None), t + 1, D).index_add_(0, b_idx, P[i_idx])
    if guard.on and not guard.all_alive:        # silenced steps do not depend on W: no gradient there
        after = torch.arange(L, device=P.device)[None, :] >= guard.stopped_at[:, None]
        clamp = clamp | (after & (guard.stopped_at[:, None] >= 0))
    return u_all, s_all, clamp


def _backward(P, u_all, s_all, inputs, clamp, keep, scale, beta, theta, reset, surrogate, K, grad_s_at):
    """The adjoint recursion in reverse time; ``grad_s_at(t)`` is ``dL/ds(t)`` ``(B, N)``. Returns the
    gradient of ``P``."""
    x = inputs.permute(0, 2, 1)                                 # (B, L, N) view
    N, D, _ = P.shape
    B, L, _ = u_all.shape
    P_in = P.reshape(N, D * N).T                                # [(delay-1, post), pre]: transposed delays, a view
    dtype, device = P.dtype, P.device
    adjoint = _Window(B, N, K + D, dtype, device, forward=False, first=L + D - 1)   # a(t), zero beyond L
    grad_P = torch.zeros(N, D, N, dtype=dtype, device=device)          # [pre, delay-1, post]
    free = (~clamp).to(dtype)                                            # (B, L)
    free_any = (~clamp).any(dim=0).tolist()
    g_next = torch.zeros(B, N, dtype=dtype, device=device)              # g_u(t+1)
    for hi in range(L - 1, -1, -K):                            # blocks [lo, hi], latest first
        lo = max(0, hi - K + 1)
        adjoint.need(lo, hi + D)
        if not any(free_any[lo: hi + 1]):
            g_next = torch.zeros_like(g_next)
            _weight_grad(grad_P, adjoint, s_all, lo, hi, D, free_any)
            continue
        # Input from the adjoint of later blocks, for every step of this block in one product:
        # rows of this block are still zero, so the windows a(t+1 .. t+D) see only later blocks.
        later = None
        if any(free_any[lo + 1: hi + 1 + D]):
            later = adjoint.blocks(lo + 1, hi - lo + 1, D) @ P_in              # (B, K, N)
        for t in range(hi, lo - 1, -1):
            if not free_any[t]:
                g_next = torch.zeros_like(g_next)
                _weight_grad(grad_P, adjoint, s_all, t, t, D, free_any)
                continue
            g_s = grad_s_at(t) if later is None else grad_s_at(t) + later[:, t - lo]
            inner = min(hi - t, D)                              # later steps inside this block, within reach
            if inner:
                g_s = g_s + adjoint.rows(slice(None), t + 1, inner).reshape(B, inner * N) @ P_in[: inner * N]
            h = surrogate.derivative(u_all[:, t] - theta)
            g_u = g_s * h * (~x[:, t])
            if reset == "zero":
                g_u = g_u + beta * g_next * (~s_all[:, t])
            else:
                g_u = g_u + beta * g_next
            g_u = g_u * free[:, t, None]
            g_next = g_u
            adjoint.step(t).copy_(g_u if keep is None else g_u * keep[:, t] * scale)
            _weight_grad(grad_P, adjoint, s_all, t, t, D, free_any)
    return grad_P


class _DelayLIF(torch.autograd.Function):
    """Forward: event-driven trial, saving spikes and potentials. Backward: the adjoint recursion.

    Works on the weights in the layout ``P = [pre, delay-1, post]`` (contiguous):
    the forward pass delivers the ``(D, N)`` block ``P[i]`` of each spike, and
    read as a matrix ``(pre) x (delay, post)`` it is the transposed delay tensor
    of the backward pass; its gradient is accumulated in the same layout.
    """

    @staticmethod
    def forward(ctx, P, inputs, clamp, keep, scale, beta, theta, reset, surrogate, block, max_rate):
        P = P.detach()
        u_all, s_all, clamp = _forward(P, inputs, clamp, keep, scale, beta, theta, reset, max_rate)
        ctx.save_for_backward(P, u_all, s_all, inputs, clamp, keep)      # nothing weight-sized but P itself
        ctx.params = (scale, beta, theta, reset, surrogate, block)
        return s_all.permute(0, 2, 1).to(P.dtype)

    @staticmethod
    def backward(ctx, grad_spikes):
        grad_s = grad_spikes.permute(0, 2, 1)                      # (B, L, N) view
        grad_P = _backward(*ctx.saved_tensors, *ctx.params, lambda t: grad_s[:, t])
        return grad_P, None, None, None, None, None, None, None, None, None, None


class _DelayLIFCounts(torch.autograd.Function):
    """The same trial, returning only the counts a spike-count loss needs: per trial, the spikes on
    target (``TP``) and all spikes inside the scored steps. ``dL/ds(t)`` is rebuilt step by step in
    the backward pass from the two count gradients, so no ``B x N x L`` float tensor exists at all."""

    @staticmethod
    def forward(ctx, P, inputs, clamp, keep, scale, target, scored, beta, theta, reset, surrogate, block,
                max_rate):
        P = P.detach()
        u_all, s_all, clamp = _forward(P, inputs, clamp, keep, scale, beta, theta, reset, max_rate)
        ctx.save_for_backward(P, u_all, s_all, inputs, clamp, keep, target, scored)
        ctx.params = (scale, beta, theta, reset, surrogate, block)
        tp = (s_all & target).sum(dim=(1, 2))
        fired = (s_all & scored[:, :, None]).sum(dim=(1, 2))
        return torch.stack([tp, fired], dim=1).to(P.dtype)

    @staticmethod
    def backward(ctx, grad_counts):
        P, u_all, s_all, inputs, clamp, keep, target, scored = ctx.saved_tensors
        g_tp, g_fired = grad_counts[:, 0, None], grad_counts[:, 1, None]
        area = scored.to(P.dtype)

        def grad_s_at(t):
            return g_tp * target[:, t] + g_fired * area[:, t, None]

        grad_P = _backward(P, u_all, s_all, inputs, clamp, keep, *ctx.params, grad_s_at)
        return (grad_P,) + (None,) * 12


def _lean_args(W, surrogate, block, max_rate):
    """The weights as ``P = [pre, delay-1, post]`` (a view when ``W`` is itself a view of such a
    tensor, as :func:`hdsnn.learning.train` holds it) and the checked options of the lean functions."""
    surrogate = surrogate if surrogate is not None else Surrogate()
    block = check_int("block", block, minimum=1)
    if max_rate is not None:
        max_rate = check_real("max_rate", max_rate, 0.0, 1.0, open_min=True)
    P = W.permute(1, 2, 0)
    return (P if P.is_contiguous() else P.contiguous()), surrogate, block, max_rate


def delay_lif(W, inputs, clamp=None, net: NetworkConfig | None = None, surrogate: Surrogate | None = None, *,
              keep=None, dropout: float = 0.0, block: int = BACKWARD_BLOCK,
              max_rate: float | None = None) -> torch.Tensor:
    """Spikes of a batch of trials, differentiable with respect to ``W`` (lean adjoint backward).

    The spikes are exactly those of :func:`hdsnn.models.simulate` (without
    runaway guard) for the same ``W``, ``inputs`` and ``clamp`` when
    ``keep`` is None.

    Parameters
    ----------
    W : float tensor ``(N, N, D)``
        Weights ``[post, pre, delay-1]``; may require grad.
    inputs : bool tensor ``(B, N, L)``
        External spikes (see :func:`hdsnn.models.make_trials`).
    clamp : bool tensor ``(B, L)``, optional
        Clamped steps (spikes = inputs, membrane held at 0).
    net : NetworkConfig, optional
        ``beta``, ``theta``, ``reset``.
    surrogate : Surrogate, optional
        Pseudo-derivative of the threshold (default fast sigmoid, alpha 15).
    keep : bool tensor ``(B, N, L)``, optional
        Dropout mask on the synaptic currents (True: kept); kept currents are
        scaled by ``1 / (1 - dropout)``.
    dropout : float
        Dropout probability in [0, 1) used for that scale.
    block : int
        Steps per block of the backward pass (>= 1): the input that a block
        receives from the adjoint of later steps is one product with the
        transposed delays for the whole block (the weights are read once per
        block instead of once per step); inside the block the recursion runs
        step by step over the few delays that stay inside it. 1 is the plain
        step-by-step recursion. The result does not depend on it (up to rounding).
    max_rate : float or None
        Runaway guard, exactly as in :func:`hdsnn.models.simulate`: a trial
        whose activity runs away is silent from then on (and its silenced
        steps carry no gradient). None (default): no guard.

    Returns
    -------
    float tensor ``(B, N, L)``
        Spikes (0.0 or 1.0).

    Examples
    --------
    >>> W = torch.zeros(3, 3, 3); W[1, 0, 1] = 1.0; W[2, 1, 2] = 1.0
    >>> _ = W.requires_grad_(True)
    >>> x = torch.zeros(1, 3, 10, dtype=torch.bool); x[0, 0, 0] = True
    >>> s = delay_lif(W, x, net=NetworkConfig(N=3, D=3))
    >>> torch.nonzero(s[0]).tolist()
    [[0, 0], [1, 2], [2, 5]]
    >>> s.sum().backward(); W.grad.shape
    torch.Size([3, 3, 3])
    """
    W, inputs, clamp, net, keep, scale = _check(W, inputs, clamp, net, keep, dropout)
    P, surrogate, block, max_rate = _lean_args(W, surrogate, block, max_rate)
    return _DelayLIF.apply(P, inputs, clamp, keep, scale, net.beta, net.theta, net.reset, surrogate, block,
                           max_rate)


def delay_lif_counts(W, inputs, target, scored, clamp=None, net: NetworkConfig | None = None,
                     surrogate: Surrogate | None = None, *, keep=None, dropout: float = 0.0,
                     block: int = BACKWARD_BLOCK, max_rate: float | None = None) -> torch.Tensor:
    """Spike counts of a batch of trials against targets, differentiable with respect to ``W``.

    The trials of :func:`delay_lif`, reduced to what an F1-type loss needs:
    per trial, ``TP = sum(s * target)`` and ``S = sum(s)`` over the scored
    steps. Same gradients as :func:`delay_lif` followed by those sums, but the
    backward pass builds ``dL/ds(t)`` step by step from the two count
    gradients: neither the float spikes nor their gradient (``B x N x L``
    each) are ever materialised, which is what :func:`hdsnn.learning.train` uses.

    Parameters
    ----------
    W, inputs, clamp, net, surrogate, keep, dropout, block, max_rate
        As in :func:`delay_lif`.
    target : bool tensor ``(B, N, L)``
        Target spikes at their place in the trial (False outside the scored steps).
    scored : bool tensor ``(B, L)``
        Steps whose spikes count (``S``).

    Returns
    -------
    float tensor ``(B, 2)``
        ``[TP, S]`` per trial.

    Examples
    --------
    >>> W = torch.zeros(3, 3, 3); W[1, 0, 1] = 1.0; W[2, 1, 2] = 1.0
    >>> _ = W.requires_grad_(True)
    >>> x = torch.zeros(1, 3, 10, dtype=torch.bool); x[0, 0, 0] = True
    >>> y = torch.zeros(1, 3, 10, dtype=torch.bool); y[0, 1, 2] = True; y[0, 2, 6] = True
    >>> scored = torch.ones(1, 10, dtype=torch.bool)
    >>> delay_lif_counts(W, x, y, scored, net=NetworkConfig(N=3, D=3)).tolist()   # spikes at 0, 2, 5
    [[1.0, 3.0]]
    """
    W, inputs, clamp, net, keep, scale = _check(W, inputs, clamp, net, keep, dropout)
    B, N, L = inputs.shape
    target = check_raster("target", target)
    if tuple(target.shape) != (B, N, L):
        raise ValueError(f"target must have the shape of inputs, (B={B}, N={N}, L={L}); got {tuple(target.shape)}")
    if not isinstance(scored, torch.Tensor) or scored.dtype != torch.bool or tuple(scored.shape) != (B, L):
        raise ValueError(f"scored must be a bool tensor of shape (B={B}, L={L}); "
                         f"got {tuple(getattr(scored, 'shape', ()))}")
    P, surrogate, block, max_rate = _lean_args(W, surrogate, block, max_rate)
    dev = P.device
    return _DelayLIFCounts.apply(P, inputs, clamp, keep, scale, target.to(dev).permute(0, 2, 1), scored.to(dev),
                                 net.beta, net.theta, net.reset, surrogate, block, max_rate)


def delay_lif_dense(W, inputs, clamp=None, net: NetworkConfig | None = None,
                    surrogate: Surrogate | None = None, *, keep=None, dropout: float = 0.0) -> torch.Tensor:
    """Reference: the same network in plain torch autograd, dense context every step.

    Each step multiplies the flattened ``(B, N*D)`` context of delayed spikes
    by the weights, as the paper's code does, and autograd stores that context
    for every step (memory ``B x L x N x D``). Same arguments, result and
    gradient convention (reset detached) as :func:`delay_lif`.

    Examples
    --------
    >>> W = torch.zeros(3, 3, 3); W[1, 0, 1] = 1.0; W[2, 1, 2] = 1.0
    >>> x = torch.zeros(1, 3, 10, dtype=torch.bool); x[0, 0, 0] = True
    >>> torch.nonzero(delay_lif_dense(W, x, net=NetworkConfig(N=3, D=3))[0]).tolist()
    [[0, 0], [1, 2], [2, 5]]
    """
    W, inputs, clamp, net, keep, scale = _check(W, inputs, clamp, net, keep, dropout)
    factor = None if keep is None else keep.to(W.dtype) * scale
    surrogate = surrogate if surrogate is not None else Surrogate()
    B, N, L = inputs.shape
    D = W.shape[2]
    W_flat = W.reshape(N, N * D)                                   # [post, (pre, delay-1)]
    context = torch.zeros(B, N, D, dtype=W.dtype, device=W.device)  # [b, pre, d-1] = s_pre(t-d)
    u = torch.zeros(B, N, dtype=W.dtype, device=W.device)
    s = torch.zeros(B, N, dtype=W.dtype, device=W.device)
    xs = inputs.to(W.dtype)
    out = []
    for t in range(L):
        current = context.reshape(B, N * D) @ W_flat.T
        if factor is not None:
            current = current * factor[:, t]
        if net.reset == "zero":
            u = net.beta * u * (1.0 - s.detach()) + current
        else:
            u = net.beta * (u - net.theta * s.detach()) + current
        fired = spike(u - net.theta, surrogate)
        c = clamp[:, t, None]
        s = torch.where(c, xs[:, :, t], torch.where(inputs[:, :, t], xs[:, :, t], fired))
        u = torch.where(c, torch.zeros_like(u), u)
        out.append(s)
        context = torch.cat([s[:, :, None], context[:, :, :-1]], dim=2)
    return torch.stack(out, dim=2)
