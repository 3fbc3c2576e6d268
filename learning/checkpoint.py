"""Training checkpoints: weights, optimizer state and RNG state in one ``.npz``, no pickle.

Every tensor of the optimizer state is flattened to an array named
``opt.<parameter index>.<name>`` (for AdamW ``step``, ``exp_avg``,
``exp_avg_sq``; for SGD ``momentum_buffer``); the random generator's state is
the ``uint8`` array ``rng_state``. Everything else (epoch, configuration,
history, a digest of the targets) is JSON in ``meta``. Files are written
atomically (temporary file, then rename), so a run killed while writing leaves
the previous checkpoint intact; they are read with ``allow_pickle=False``.
"""
from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path

import numpy as np
import torch

from hdsnn.io import atomic_write

__all__ = ["save_checkpoint", "load_checkpoint", "optimizer_arrays", "optimizer_state", "check_resumable",
           "epoch_end"]

KIND = "bptt-checkpoint"


def optimizer_arrays(optimizer: torch.optim.Optimizer) -> dict[str, np.ndarray]:
    """The optimizer's per-parameter state as named numpy arrays.

    Examples
    --------
    >>> w = torch.zeros(3, requires_grad=True); opt = torch.optim.SGD([w], lr=0.1, momentum=0.9)
    >>> w.sum().backward(); opt.step()
    >>> sorted(optimizer_arrays(opt))
    ['opt.0.momentum_buffer']
    """
    arrays = {}
    for index, state in optimizer.state_dict()["state"].items():
        for name, value in state.items():
            if not isinstance(value, torch.Tensor):
                value = torch.tensor(value)
            arrays[f"opt.{index}.{name}"] = value.detach().cpu().numpy()
    return arrays


def optimizer_state(optimizer: torch.optim.Optimizer, arrays: dict[str, np.ndarray], device="cpu") -> dict:
    """A ``state_dict`` for ``optimizer`` whose state comes from :func:`optimizer_arrays`.

    The parameter groups are those of ``optimizer`` itself (built from the same configuration).
    """
    state: dict = {}
    for key, array in arrays.items():
        _, index, name = key.split(".", 2)
        tensor = torch.from_numpy(np.array(array))
        if name != "step":                            # AdamW keeps its step counter on the CPU
            tensor = tensor.to(device)
        state.setdefault(int(index), {})[name] = tensor
    return {"state": state, "param_groups": optimizer.state_dict()["param_groups"]}


def save_checkpoint(path, *, W: torch.Tensor, best_W: torch.Tensor, optimizer: torch.optim.Optimizer,
                    generator: torch.Generator, epoch: int, meta: dict, extra: dict | None = None) -> Path:
    """Write a checkpoint atomically.

    ``extra`` holds further named tensors (a trainer with several parameters),
    stored as arrays ``x.<name>`` and returned by :func:`load_checkpoint` under ``'extra'``.

    Examples
    --------
    >>> import tempfile, os
    >>> w = torch.ones(2, 2, 1, requires_grad=True); opt = torch.optim.AdamW([w], lr=0.1)
    >>> w.sum().backward(); opt.step(); g = torch.Generator().manual_seed(0)
    >>> f = os.path.join(tempfile.mkdtemp(), "c.npz")
    >>> _ = save_checkpoint(f, W=w, best_W=w, optimizer=opt, generator=g, epoch=1, meta={"note": 1})
    >>> c = load_checkpoint(f); c["epoch"], sorted(c["optimizer"])
    (1, ['opt.0.exp_avg', 'opt.0.exp_avg_sq', 'opt.0.step'])
    """
    arrays = {"W": W.detach().cpu().numpy(), "best_W": best_W.detach().cpu().numpy(),
              "rng_state": generator.get_state().numpy(), **optimizer_arrays(optimizer),
              **{f"x.{k}": v.detach().cpu().numpy() for k, v in (extra or {}).items()}}
    info = {"kind": KIND, "epoch": int(epoch), "arrays": {k: [str(v.dtype), list(v.shape)] for k, v in arrays.items()},
            **meta}
    arrays["meta"] = np.array(json.dumps(info, sort_keys=True))
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"checkpoint path must end in .npz; got {str(path)!r}")
    return atomic_write(path, lambda h: np.savez(h, **arrays))


def load_checkpoint(path) -> dict:
    """Read and check a checkpoint: ``{'W', 'best_W', 'rng_state', 'optimizer', 'extra', 'epoch', 'meta'}``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file not found: {str(path)!r}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        meta = json.loads(str(arrays.pop("meta")))
    except (zipfile.BadZipFile, OSError, EOFError, KeyError, ValueError, json.JSONDecodeError) as err:
        raise ValueError(f"{str(path)!r} is not a readable checkpoint (corrupted or truncated?): {err}") from None
    if not isinstance(meta, dict) or meta.get("kind") != KIND:
        raise ValueError(f"{str(path)!r} is not an hdsnn training checkpoint")
    for key, (dtype, shape) in meta["arrays"].items():
        if key not in arrays or str(arrays[key].dtype) != dtype or list(arrays[key].shape) != shape:
            raise ValueError(f"{str(path)!r}: array {key!r} is missing or does not match its metadata "
                             f"({dtype} {shape}); file damaged?")
    return {"W": torch.from_numpy(arrays["W"]), "best_W": torch.from_numpy(arrays["best_W"]),
            "rng_state": torch.from_numpy(arrays["rng_state"]),
            "optimizer": {k: v for k, v in arrays.items() if k.startswith("opt.")},
            "extra": {k[2:]: torch.from_numpy(v) for k, v in arrays.items() if k.startswith("x.")},
            "epoch": int(meta["epoch"]), "meta": meta}


def check_resumable(state: dict, identity: dict, path) -> None:
    """Refuse to resume from a checkpoint whose recorded settings differ from this run's.

    Raises
    ------
    ValueError
        Naming the first entry of ``identity`` that differs.

    Examples
    --------
    >>> check_resumable({"meta": {"lr": 1}}, {"lr": 2}, "c.npz")
    Traceback (most recent call last):
    ...
    ValueError: cannot resume from 'c.npz': its lr differs from this run's (1 != 2)
    """
    for key, value in identity.items():
        if state["meta"].get(key) != value:
            raise ValueError(f"cannot resume from {str(path)!r}: its {key} differs from this run's "
                             f"({state['meta'].get(key)!r} != {value!r})")


def epoch_end(config, epoch: int, done: bool, start_time: float) -> tuple[bool, bool]:
    """``(write a checkpoint now, stop now)`` after ``epoch`` of a trainer whose config has
    ``epochs``, ``checkpoint_every`` and ``max_seconds``: a checkpoint every
    ``checkpoint_every`` epochs, at the last epoch, when done, and when the time
    budget (from ``start_time``, a ``time.perf_counter()``) has run out, which stops the run.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> c = SimpleNamespace(epochs=10, checkpoint_every=5, max_seconds=None)
    >>> epoch_end(c, 3, False, time.perf_counter()), epoch_end(c, 5, False, time.perf_counter())
    ((False, False), (True, False))
    """
    out_of_time = config.max_seconds is not None and time.perf_counter() - start_time > config.max_seconds
    save = epoch % config.checkpoint_every == 0 or done or epoch == config.epochs or out_of_time
    return save, out_of_time
