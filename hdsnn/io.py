"""Files: rasters, weights and synapse lists as ``.npz`` with JSON metadata, no pickle.

A raster file holds ``raster`` (bool, ``(M, N, T)``); a weight file holds
``W`` (float32, ``(N, N, D)``, index ``[post, pre, delay-1]``); a synapse file
(:func:`hdsnn.models.save_synapses`, built on :func:`save_arrays`) holds a COO
list ``post, pre, delay_steps, weight`` and optionally ``delay_ms``. Each holds
``meta``: a JSON string with the kind of file, the package version, the
shapes and the configuration that produced it. Files are written to a
temporary file in the same folder and renamed, so an interrupted write never
leaves a half-written file under the final name. Loading uses
``allow_pickle=False`` and checks kind, keys, dtype and shape.
"""
from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import torch

from .validation import check_allocation, check_raster, check_weights, format_bytes, memory_budget

__all__ = ["save_raster", "load_raster", "save_weights", "load_weights", "write_json", "read_meta", "save_figure",
           "atomic_write", "replace_atomically", "folder_lock", "save_arrays", "load_arrays", "file_kind"]

FORMAT = 1

#: Metadata keys that the file format writes itself: user metadata may not use them.
RESERVED_KEYS = ("dtype", "dtypes", "format", "hdsnn_version", "kind", "shape", "shapes")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: A temporary file untouched for this long (seconds) is left over from an interrupted write, not in use.
STALE_AFTER_S = 600


def _remove_stale(folder: Path, name: str, suffix: str) -> None:
    """Remove temporary files ``.NAME.*SUFFIX`` left in ``folder`` by an interrupted write of ``NAME``.

    Only files untouched for :data:`STALE_AFTER_S` seconds: a younger one may be another process's write.
    """
    now = time.time()
    for stale in folder.glob(f".{glob_escape(name)}.*{glob_escape(suffix)}"):
        try:
            if stale.is_file() and now - stale.stat().st_mtime > STALE_AFTER_S:
                stale.unlink()
        except OSError:
            pass


def glob_escape(text: str) -> str:
    """``text`` with the glob characters ``*?[`` escaped."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def _version() -> str:
    try:
        return importlib.metadata.version("hdsnn")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def replace_atomically(path, write_to, suffix: str = ".tmp") -> Path:
    """Write ``path`` through a temporary file in the same folder, then rename it.

    ``write_to(tmp_path)`` creates and fills the temporary file; if it fails,
    the temporary file is removed and any older ``path`` is left untouched.
    Temporary files of ``path`` left by an interrupted earlier write
    (``.NAME.*SUFFIX``, untouched for :data:`STALE_AFTER_S` s) are removed first; the file gets the mode ``0o666``
    less the umask, as :func:`open` would give it.
    """
    path = Path(path)
    if path.exists() and path.is_dir():
        raise ValueError(f"path must be a file name; {str(path)!r} is a folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(path.parent, path.name, suffix)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        write_to(tmp)
        os.chmod(tmp, 0o666 & ~_umask())            # mkstemp makes 0600: follow the umask like open() does
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write(path, write) -> Path:
    """Write a file atomically: ``write(handle)`` fills a binary handle on a temporary file, then it is renamed."""
    def write_to(tmp):
        with open(tmp, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
    return replace_atomically(path, write_to)


def _save_npz(path, kind: str, key: str, array: np.ndarray, meta: dict) -> Path:
    return save_arrays(path, kind, {key: array}, meta, main=key)


def save_arrays(path, kind: str, arrays: dict, meta: dict, *, main: str | None = None) -> Path:
    """Write named arrays and their JSON metadata to one ``.npz`` file, atomically, without pickle.

    The building block of the raster, weight and synapse files: ``meta`` gets the file's ``kind``,
    the format version, the package version and the ``shapes`` and ``dtypes`` of every array (and
    ``shape``/``dtype`` of the ``main`` one); loading (:func:`load_arrays`) checks them.

    Parameters
    ----------
    path : str or Path
        Destination, ending in ``.npz``.
    kind : str
        What the file holds (``'raster'``, ``'weights'``, ``'synapses'``).
    arrays : dict of str -> numpy array
        Arrays of a plain (not object) dtype; the name ``'meta'`` is reserved.
    meta : dict
        JSON-serialisable metadata; the keys of :data:`RESERVED_KEYS` are refused.
    main : str, optional
        The array whose shape and dtype go under ``shape`` and ``dtype``.

    Raises
    ------
    ValueError
        A reserved metadata key, an array named ``'meta'``, an object array, or a path not ending in ``.npz``.

    Examples
    --------
    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "a.npz")
    >>> _ = save_arrays(f, "example", {"x": np.arange(3), "y": np.ones(2)}, {"note": "hi"})
    >>> arrays, meta = load_arrays(f, "example", ("x", "y"))
    >>> arrays["x"].tolist(), meta["note"], meta["shapes"]["y"]
    ([0, 1, 2], 'hi', [2])
    """
    reserved = sorted(set(meta) & set(RESERVED_KEYS))
    if reserved:
        raise ValueError(f"metadata keys {', '.join(map(repr, reserved))} are reserved (the file writes "
                         f"{', '.join(map(repr, RESERVED_KEYS))} itself); rename them")
    arrays = {name: np.asarray(a) for name, a in arrays.items()}
    if "meta" in arrays:
        raise ValueError("an array may not be named 'meta' (the file's metadata)")
    for name, a in arrays.items():
        if a.dtype.hasobject:
            raise ValueError(f"array {name!r} has dtype object, which cannot be stored without pickle")
    head = {"kind": kind, "format": FORMAT, "hdsnn_version": _version()}
    if main is not None:
        head.update(shape=list(arrays[main].shape), dtype=str(arrays[main].dtype))
    if len(arrays) > 1 or main is None:
        head.update(shapes={n: list(a.shape) for n, a in arrays.items()},
                    dtypes={n: str(a.dtype) for n, a in arrays.items()})
    text = np.array(json.dumps({**head, **meta}, sort_keys=True))
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"path must end in .npz; got {str(path)!r}")
    return atomic_write(path, lambda h: np.savez_compressed(h, **arrays, meta=text))


def _load_npz(path, kind: str, key: str) -> tuple[np.ndarray, dict]:
    arrays, meta = load_arrays(path, kind, (key,))
    array = arrays[key]
    if list(array.shape) != meta.get("shape"):
        raise ValueError(f"{str(path)!r}: {key} has shape {list(array.shape)} but its metadata says "
                         f"{meta.get('shape')} (file damaged?)")
    return array, meta


def load_arrays(path, kind: str, keys, optional=()) -> tuple[dict, dict]:
    """Read the arrays ``keys`` (and those of ``optional`` it holds) of a file of :func:`save_arrays`.

    Checks, before inflating anything, that the file exists, is a zip under the memory budget and
    declares no array above it; then, without pickle, that it is an hdsnn file of this ``kind``
    holding every array of ``keys``, each with the shape its metadata records (where it records one).

    Returns
    -------
    (arrays, meta) : dict of str -> numpy array, dict

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not a readable ``.npz``, another kind of file, a missing array, or a shape that
        contradicts the metadata; the message names the file and what is wrong.

    Examples
    --------
    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "a.npz")
    >>> _ = save_arrays(f, "example", {"x": np.arange(3)}, {})
    >>> load_arrays(f, "other", ("x",))
    Traceback (most recent call last):
    ...
    ValueError: '...a.npz' holds a 'example' file, expected a 'other' file
    """
    path = _existing_file(path, kind)
    budget = memory_budget()
    size = path.stat().st_size
    if size > budget:
        raise ValueError(f"{kind} file {str(path)!r} is {format_bytes(size)} on disk, above the memory budget "
                         f"of {format_bytes(budget)} (half the available memory, or $HDSNN_MEMORY_BUDGET_GB)")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{str(path)!r} is not a readable .npz file (corrupted or truncated?)")
    _check_declared_sizes(path, kind, budget)
    keys = tuple(keys)
    try:
        with np.load(path, allow_pickle=False) as data:
            names = set(data.files)
            if "meta" not in names:
                raise ValueError(f"{str(path)!r} is not an hdsnn file: it holds {sorted(names)}, no 'meta'")
            meta = json.loads(str(data["meta"]))
            if not isinstance(meta, dict) or meta.get("kind") != kind:
                got = meta.get("kind") if isinstance(meta, dict) else meta
                raise ValueError(f"{str(path)!r} holds a {got!r} file, expected a {kind!r} file")
            missing = [k for k in keys if k not in names]
            if missing:
                raise ValueError(f"{str(path)!r} is not an hdsnn {kind} file: it holds {sorted(names)}, "
                                 f"expected {sorted([*keys, 'meta'])}")
            arrays = {k: data[k] for k in (*keys, *optional) if k in names}
    except (zipfile.BadZipFile, OSError, EOFError, json.JSONDecodeError, KeyError) as err:
        raise ValueError(f"{str(path)!r} is not a readable .npz file (corrupted or truncated?): {err}") from None
    except ValueError as err:
        if "hdsnn" in str(err) or "holds a" in str(err):
            raise
        raise ValueError(f"{str(path)!r} could not be read without pickle (corrupted, or not an hdsnn "
                         f"file?): {err}") from None
    shapes = meta.get("shapes")
    if isinstance(shapes, dict):
        for name, array in arrays.items():
            if name in shapes and list(array.shape) != shapes[name]:
                raise ValueError(f"{str(path)!r}: {name} has shape {list(array.shape)} but its metadata says "
                                 f"{shapes[name]} (file damaged?)")
    return arrays, meta


def _existing_file(path, kind: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{kind} file not found: {str(path)!r}")
    if path.is_dir():
        raise ValueError(f"{kind} file {str(path)!r} is a folder, not a .npz file")
    if not path.is_file():
        raise ValueError(f"{kind} file {str(path)!r} is not a regular file (a device, pipe or socket?)")
    return path


def _check_declared_sizes(path: Path, kind: str, budget: int) -> None:
    """Refuse arrays whose ``.npy`` headers inside the zip declare more than the budget, before inflating them.

    A member whose header cannot be read is left to :func:`numpy.load`, which reports it.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = [info for info in archive.infolist() if info.filename.endswith(".npy")]
            for info in members:
                try:
                    with archive.open(info) as member:
                        version = np.lib.format.read_magic(member)
                        read = {(1, 0): np.lib.format.read_array_header_1_0,
                                (2, 0): np.lib.format.read_array_header_2_0}[version]
                        shape, _, dtype = read(member)
                except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile, SyntaxError):
                    continue
                n_bytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
                check_allocation(f"{kind} file {str(path)!r}: array {info.filename[:-4]!r} of shape "
                                 f"{tuple(shape)} ({dtype})", n_bytes, budget,
                                 hint="the file is damaged or was not written by hdsnn")
    except (zipfile.BadZipFile, OSError, EOFError):
        return                                            # np.load reports a damaged archive


def save_raster(path, raster, **meta) -> Path:
    """Write a ``(M, N, T)`` spike raster atomically.

    Parameters
    ----------
    path : str or Path
        Destination, ending in ``.npz``.
    raster : bool array ``(M, N, T)``
    **meta
        JSON-serialisable metadata (configuration, scores...).

    Examples
    --------
    >>> import tempfile, os
    >>> r = torch.zeros(2, 3, 10, dtype=torch.bool); r[0, 1, 4] = True
    >>> f = os.path.join(tempfile.mkdtemp(), "r.npz")
    >>> _ = save_raster(f, r, note="example")
    >>> back, meta = load_raster(f)
    >>> torch.equal(back, r), meta["note"]
    (True, 'example')
    """
    raster = check_raster("raster", raster)
    return _save_npz(path, "raster", "raster", raster.cpu().numpy(), meta)


def load_raster(path) -> tuple[torch.Tensor, dict]:
    """Read a raster file; returns ``(raster, metadata)``. See :func:`save_raster`."""
    array, meta = _load_npz(path, "raster", "raster")
    if array.dtype != np.bool_ or array.ndim != 3:
        raise ValueError(f"{str(path)!r}: raster must be bool with 3 dimensions (M, N, T); "
                         f"got {array.dtype} with shape {array.shape}")
    return torch.from_numpy(array), meta


def save_weights(path, W, **meta) -> Path:
    """Write a ``(N, N, D)`` weight tensor (stored as float32) atomically.

    Examples
    --------
    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "w.npz")
    >>> _ = save_weights(f, torch.ones(4, 4, 3), method="example")
    >>> load_weights(f)[0].shape
    torch.Size([4, 4, 3])
    """
    W = check_weights("W", W)
    return _save_npz(path, "weights", "W", W.detach().cpu().to(torch.float32).numpy(), meta)


def load_weights(path) -> tuple[torch.Tensor, dict]:
    """Read a weight file; returns ``(W, metadata)``; checks shape and finiteness."""
    array, meta = _load_npz(path, "weights", "W")
    if array.dtype != np.float32:
        raise ValueError(f"{str(path)!r}: W must be float32; got {array.dtype}")
    try:
        W = check_weights("W", torch.from_numpy(array))
    except ValueError as err:
        raise ValueError(f"{str(path)!r}: {err}") from None
    return W, meta


def read_meta(path, kind: str) -> dict:
    """Metadata of a raster, weight or synapse file (``kind`` is 'raster', 'weights' or 'synapses')."""
    key = {"raster": "raster", "weights": "W", "synapses": "weight"}.get(kind, "W")
    return load_arrays(path, kind, (key,))[1]


def file_kind(path) -> str:
    """The kind an hdsnn ``.npz`` file records (``'raster'``, ``'weights'``, ``'synapses'``...), read from its
    metadata alone.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not an hdsnn ``.npz`` file (no readable metadata), naming the file.

    Examples
    --------
    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "w.npz")
    >>> file_kind(save_weights(f, torch.ones(2, 2, 1)))
    'weights'
    """
    path = _existing_file(path, "weights")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{str(path)!r} is not a readable .npz file (corrupted or truncated?)")
    _check_declared_sizes(path, "weights", memory_budget())     # before reading even the metadata
    try:
        with np.load(path, allow_pickle=False) as data:
            if "meta" not in data.files:
                raise ValueError(f"{str(path)!r} is not an hdsnn file: it holds {sorted(data.files)}, no 'meta'")
            meta = json.loads(str(data["meta"]))
    except (zipfile.BadZipFile, OSError, EOFError, json.JSONDecodeError, KeyError) as err:
        raise ValueError(f"{str(path)!r} is not a readable .npz file (corrupted or truncated?): {err}") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("kind"), str):
        raise ValueError(f"{str(path)!r} is not an hdsnn file: its metadata records no kind")
    return meta["kind"]


def write_json(path, data: dict) -> Path:
    """Write JSON atomically (indented, keys sorted)."""
    text = json.dumps(data, indent=2, sort_keys=True).encode()
    return atomic_write(Path(path), lambda h: h.write(text))


def save_figure(fig, stem) -> list[Path]:
    """Save a matplotlib ``Figure`` as ``stem.png`` (150 dpi) and ``stem.svg``, each atomically; returns both paths.

    Examples
    --------
    >>> import tempfile
    >>> from matplotlib.figure import Figure
    >>> fig = Figure(); _ = fig.subplots().plot([0, 1])
    >>> [p.suffix for p in save_figure(fig, Path(tempfile.mkdtemp()) / "line")]
    ['.png', '.svg']
    """
    stem = Path(stem)
    paths = [stem.with_name(stem.name + ".png"), stem.with_name(stem.name + ".svg")]
    for path, kw in zip(paths, ({"format": "png", "dpi": 150}, {"format": "svg"})):
        replace_atomically(path, lambda tmp, kw=kw: fig.savefig(tmp, **kw), suffix=path.suffix)
    return paths


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def folder_lock(folder, what: str = "run folder"):
    """Hold ``folder/.hdsnn.lock`` (with this process's id) while a run writes into ``folder``.

    A second run on the same folder is refused while the first is alive; the lock of a
    process that died (killed, say) is taken over, so that ``--resume`` works after a kill.

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> with folder_lock(d):
    ...     with folder_lock(d):
    ...         pass
    Traceback (most recent call last):
    ...
    ValueError: run folder ... is in use by process ... (it holds .hdsnn.lock); wait for it to end or choose another folder
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{what} must be a folder; {str(folder)!r} is a file")
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / ".hdsnn.lock"
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            try:
                pid = int(lock.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid == os.getpid() or (pid and _alive(pid)):
                raise ValueError(f"{what} {str(folder)!r} is in use by process {pid} (it holds {lock.name}); "
                                 f"wait for it to end or choose another folder") from None
            lock.unlink(missing_ok=True)                      # left by a process that died
    else:
        raise ValueError(f"{what} {str(folder)!r}: its lock {lock.name} could not be taken")
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    try:
        yield folder
    finally:
        lock.unlink(missing_ok=True)
