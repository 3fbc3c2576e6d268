"""Working-memory tasks with inputs and a decision: cue accumulation and sequential digits.

A task trial is an input raster ``x`` of shape ``(B, n_in, T)`` (1-ms steps),
a label per trial and a decision window: the steps over which the network's
readout is read (:class:`TaskData`).

**Cue accumulation** (e-prop, Bellec et al. 2020; DelayNet, Balafrej et al.):
40 input neurons in 4 groups of 10 (left, right, recall, noise). Each trial
has ``n_cues`` slots of 150 ms; a slot is 50 ms of silence then 100 ms in
which the 10 neurons of the cue's side fire at 40 Hz. The side of each cue is
drawn with probability 0.3 / 0.7 for left / right, or the other way round
(each way with probability 1/2, per trial). A wait follows the cues; the
recall group fires at 40 Hz during the last 150 ms of the trial (inside the
wait), and the noise group at 10 Hz throughout. The label is 1 when most cues
were on the right. With the defaults (7 cues, 1200-ms wait) a trial lasts
``7 * 150 + 1200 = 2250`` ms and the decision window is its last 150 ms.

**Sequential digits**: images presented one pixel per step, in a fixed
random order (permuted sequential MNIST). MNIST cannot be downloaded on
every machine; :func:`load_mnist` reads the files a user has (``idx`` or
``.npz``), and :func:`sklearn_digits` gives scikit-learn's 8 x 8 digits
(1,797 images shipped inside the package) as 64 steps. The pixel intensity,
scaled to [0, 1], is one analog input channel; the decision window is the
last step.

Examples
--------
>>> data = cue_accumulation(4, seed=0)
>>> tuple(data.inputs.shape), data.labels.tolist() in ([0, 1, 0, 1], data.labels.tolist())
((4, 40, 2250), True)
>>> data.window
(2100, 2250)
"""
from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hdsnn.config import Record, param
from hdsnn.validation import check_int

__all__ = ["TaskData", "CueConfig", "cue_accumulation", "cue_side_counts", "permuted_sequences",
           "sklearn_digits", "load_mnist", "TASKS"]

TASKS = ("cue-accumulation", "sequential-digits")

GROUPS = ("left", "right", "recall", "noise")


@dataclass(frozen=True)
class TaskData:
    """Trials of a task.

    Attributes
    ----------
    inputs : float tensor ``(B, n_in, T)``
        Input per channel and step (0/1 spikes for cue accumulation, intensities for digits).
    labels : long tensor ``(B,)``
    window : (int, int)
        Steps ``[start, stop)`` over which the readout is averaged for the decision.
    n_classes : int
    dt_ms : float
    info : dict
        The generator's settings (JSON-ready).
    """

    inputs: torch.Tensor
    labels: torch.Tensor
    window: tuple
    n_classes: int
    dt_ms: float = 1.0
    info: dict | None = None

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, index) -> "TaskData":
        """The trials ``index`` (a slice or index tensor)."""
        return TaskData(self.inputs[index], self.labels[index], self.window, self.n_classes, self.dt_ms, self.info)


@dataclass(frozen=True)
class CueConfig(Record):
    """The cue-accumulation protocol (defaults: e-prop and DelayNet).

    Examples
    --------
    >>> CueConfig().duration_ms
    2250
    >>> CueConfig(n_cues=8)
    Traceback (most recent call last):
    ...
    ValueError: n_cues must be odd (a majority must exist); got 8
    """

    n_cues: int = param(7, "number of cues (odd)", minimum=1)
    wait_ms: int = param(1200, "wait after the last cue, the recall cue included (ms)", minimum=150, unit="ms")
    cue_ms: int = param(100, "duration of a cue (ms)", minimum=1, unit="ms")
    slot_ms: int = param(150, "slot of a cue: silence then cue (ms)", minimum=1, unit="ms")
    recall_ms: int = param(150, "recall cue at the end of the trial (ms)", minimum=1, unit="ms")
    rate_hz: float = param(40.0, "firing rate of cue and recall neurons (Hz)", minimum=0.0, unit="Hz")
    noise_hz: float = param(10.0, "firing rate of the noise group (Hz)", minimum=0.0, unit="Hz")
    p_minor: float = param(0.3, "probability of a cue on the trial's minority side", minimum=0.0, maximum=0.5)
    group_size: int = param(10, "input neurons per group (4 groups)", minimum=1)

    def _check(self) -> None:
        if self.n_cues % 2 == 0:
            raise ValueError(f"n_cues must be odd (a majority must exist); got {self.n_cues}")
        if self.cue_ms > self.slot_ms:
            raise ValueError(f"cue_ms must be at most slot_ms={self.slot_ms}; got {self.cue_ms}")
        if self.recall_ms > self.wait_ms:
            raise ValueError(f"recall_ms must be at most wait_ms={self.wait_ms}; got {self.recall_ms}")

    @property
    def duration_ms(self) -> int:
        return self.n_cues * self.slot_ms + self.wait_ms

    @property
    def n_in(self) -> int:
        return 4 * self.group_size


def cue_accumulation(n_trials: int, config: CueConfig | None = None, *, seed: int = 0) -> TaskData:
    """Seeded cue-accumulation trials (1-ms steps); see the module docstring.

    Parameters
    ----------
    n_trials : int
        Number of trials (>= 1).
    config : CueConfig, optional
    seed : int
        Seed of the sides, the cues and every input spike.

    Returns
    -------
    TaskData
        ``inputs`` float 0/1 ``(n_trials, 40, duration_ms)``; ``labels`` 1 where most cues were right.

    Raises
    ------
    ValueError
        If ``n_trials`` < 1 or ``config`` is not a :class:`CueConfig`.

    Examples
    --------
    >>> d = cue_accumulation(200, CueConfig(n_cues=3, wait_ms=300), seed=1)
    >>> left, right = cue_side_counts(d, CueConfig(n_cues=3, wait_ms=300))
    >>> bool(((right > left).long() == d.labels).all())
    True
    """
    n_trials = check_int("n_trials", n_trials, 1)
    config = CueConfig() if config is None else config
    if not isinstance(config, CueConfig):
        raise ValueError(f"config must be a CueConfig; got {type(config).__name__}")
    rng = np.random.default_rng(seed)
    T, g = config.duration_ms, config.group_size
    p_cue, p_noise = config.rate_hz * 1e-3, config.noise_hz * 1e-3
    majority_right = rng.random(n_trials) < 0.5
    p_right = np.where(majority_right, 1.0 - config.p_minor, config.p_minor)
    sides = (rng.random((n_trials, config.n_cues)) < p_right[:, None]).astype(np.int64)   # 1 = right
    prob = np.zeros((n_trials, 4 * g, T), dtype=np.float32)
    silent = config.slot_ms - config.cue_ms
    for k in range(config.n_cues):
        start = k * config.slot_ms + silent
        for side in (0, 1):
            rows = np.nonzero(sides[:, k] == side)[0]
            prob[rows[:, None], side * g:(side + 1) * g, start:start + config.cue_ms] = p_cue
    prob[:, 2 * g:3 * g, T - config.recall_ms:] = p_cue
    prob[:, 3 * g:, :] = p_noise
    spikes = rng.random(prob.shape, dtype=np.float32) < prob
    labels = (sides.sum(axis=1) > config.n_cues // 2).astype(np.int64)
    info = {"task": "cue-accumulation", "seed": int(seed), "n_trials": n_trials, **config.to_dict()}
    return TaskData(torch.from_numpy(spikes.astype(np.float32)), torch.from_numpy(labels),
                    (T - config.recall_ms, T), 2, 1.0, info)


def cue_side_counts(data: TaskData, config: CueConfig | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Number of cue slots in which the left and the right group fired most (a check of the labels)."""
    config = CueConfig() if config is None else config
    g, left, right = config.group_size, [], []
    silent = config.slot_ms - config.cue_ms
    for k in range(config.n_cues):
        start = k * config.slot_ms + silent
        window = data.inputs[:, :, start:start + config.cue_ms]
        left.append(window[:, :g].sum(dim=(1, 2)))
        right.append(window[:, g:2 * g].sum(dim=(1, 2)))
    left, right = torch.stack(left, 1), torch.stack(right, 1)
    return (left > right).sum(1), (right > left).sum(1)


def permuted_sequences(images: np.ndarray, labels: np.ndarray, *, seed: int = 0, permute: bool = True,
                       name: str = "digits") -> TaskData:
    """Images as sequences, one pixel per step in a fixed random order (``seed``).

    Parameters
    ----------
    images : array ``(n, H, W)`` or ``(n, H * W)``, values >= 0
        Scaled to [0, 1] by the largest value.
    labels : int array ``(n,)``
    seed : int
        Seed of the permutation (the same for every image).
    permute : bool
        False: raster order (sequential, not permuted).

    Raises
    ------
    ValueError
        If the shapes disagree or the images are empty or negative.

    Examples
    --------
    >>> d = permuted_sequences(np.arange(8.0).reshape(2, 4), np.array([0, 1]), seed=0)
    >>> tuple(d.inputs.shape), d.window
    ((2, 1, 4), (3, 4))
    """
    images = np.asarray(images, dtype=np.float64)
    labels = np.asarray(labels)
    if images.ndim not in (2, 3) or images.shape[0] == 0:
        raise ValueError(f"images must have shape (n, H, W) or (n, H*W) with n >= 1; got {images.shape}")
    images = images.reshape(images.shape[0], -1)
    if labels.shape != (images.shape[0],):
        raise ValueError(f"labels must have shape ({images.shape[0]},); got {labels.shape}")
    if images.min() < 0:
        raise ValueError(f"images must be non-negative; smallest value {images.min()}")
    scale = images.max() if images.max() > 0 else 1.0
    L = images.shape[1]
    order = np.random.default_rng(seed).permutation(L) if permute else np.arange(L)
    seq = torch.from_numpy((images[:, order] / scale).astype(np.float32))[:, None, :]
    info = {"task": "sequential-digits", "source": name, "seed": int(seed), "permuted": bool(permute),
            "n_trials": int(images.shape[0]), "steps": int(L)}
    return TaskData(seq, torch.from_numpy(labels.astype(np.int64)), (L - 1, L), int(labels.max()) + 1, 1.0, info)


def sklearn_digits(*, seed: int = 0, permute: bool = True) -> TaskData:
    """scikit-learn's 1,797 digits (8 x 8, intensities 0-16) as 64-step sequences.

    Raises
    ------
    ImportError
        If scikit-learn is not installed.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:          # pragma: no cover - scikit-learn is a dependency
        raise ImportError("the sequential-digits task needs scikit-learn: pip install scikit-learn") from err
    digits = load_digits()
    return permuted_sequences(digits.images, digits.target, seed=seed, permute=permute, name="sklearn-digits")


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{str(path)!r} is not an idx file of unsigned bytes (magic {raw[:4].hex()})")
    ndim = raw[3]
    shape = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{str(path)!r}: header says shape {shape} but the file holds {data.size} values "
                         "(truncated?)")
    return data.reshape(shape)


def load_mnist(images, labels=None, *, seed: int = 0, permute: bool = True) -> TaskData:
    """MNIST files a user has, as permuted sequences (784 steps).

    Parameters
    ----------
    images : path
        An ``idx`` file of images (``train-images-idx3-ubyte[.gz]``), or an
        ``.npz`` holding arrays ``x`` (or ``images``) and ``y`` (or ``labels``).
    labels : path, optional
        The ``idx`` file of labels (required with an idx image file).

    Raises
    ------
    FileNotFoundError, ValueError
        A missing file, a damaged header, or images and labels that disagree.

    Examples
    --------
    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "m.npz")
    >>> np.savez(f, x=np.zeros((3, 28, 28), np.uint8), y=np.array([1, 2, 3]))
    >>> tuple(load_mnist(f).inputs.shape)
    (3, 1, 784)
    """
    images = Path(images)
    if not images.is_file():
        raise FileNotFoundError(f"MNIST images file not found: {str(images)!r}")
    if images.suffix == ".npz":
        with np.load(images, allow_pickle=False) as data:
            keys = set(data.files)
            x_key = "x" if "x" in keys else "images" if "images" in keys else None
            y_key = "y" if "y" in keys else "labels" if "labels" in keys else None
            if x_key is None or y_key is None:
                raise ValueError(f"{str(images)!r} must hold arrays 'x' (or 'images') and 'y' (or 'labels'); "
                                 f"it holds {sorted(keys)}")
            x, y = data[x_key], data[y_key]
    else:
        if labels is None:
            raise ValueError("labels: an idx image file needs its idx label file (labels=...)")
        labels = Path(labels)
        if not labels.is_file():
            raise FileNotFoundError(f"MNIST labels file not found: {str(labels)!r}")
        x, y = _read_idx(images), _read_idx(labels)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"{x.shape[0]} images but {y.shape[0]} labels")
    return permuted_sequences(x, y, seed=seed, permute=permute, name="mnist")
