"""One owner of Brian2's global settings for an hdsnn run: device, target, compiler flags, cache, seed.

Brian2 keeps its device, code-generation preferences and random state in
globals. Every hdsnn network runs inside :func:`brian2_context`, which sets
what the run needs and, on leaving, puts back exactly what the user had:

- the **device** (a user's own ``set_device('cpp_standalone')`` survives a
  recall on the numpy or cython target: hdsnn runs on the runtime device and
  then re-activates the user's device with its build options);
- the **code-generation target** (``prefs.codegen.target``);
- the **compiler flags** of the C++ targets (:data:`COMPILE_ARGS`: Brian2's
  defaults without ``-ffast-math`` and with ``-ffp-contract=off``, needed for a
  membrane bitwise equal to torch's float32) and the **cython cache folder**
  (Brian2 keys its cache by the code only, so builds with these flags live in
  their own folder);
- the **random state** (``brian2.seed`` seeds numpy's global generator on the
  runtime device: the user's state is saved and restored);
- ``defaultclock.dt``.

Standalone targets (``cpp_standalone``, ``cuda_standalone``) build in a
temporary folder unless ``build_dir`` is given; ``cuda_standalone`` needs the
brian2cuda package and a GPU, and :func:`check_target` says so before any work.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import os
import tempfile

import numpy as np

from hdsnn.validation import check_choice

__all__ = ["TARGETS", "COMPILE_ARGS", "brian2_context", "check_target"]

#: Brian2 targets: runtime code generation (numpy, cython) or a standalone project.
TARGETS = ("numpy", "cython", "cpp_standalone", "cuda_standalone")
#: Compiler flags of the C++ targets: Brian2's defaults without -ffast-math, no FMA contraction.
COMPILE_ARGS = ["-w", "-O3", "-march=native", "-ffp-contract=off", "-std=c++11"]


def check_target(target: str, allowed=TARGETS) -> str:
    """Check a Brian2 target name and that what it needs is installed.

    Examples
    --------
    >>> check_target("cython")
    'cython'
    >>> check_target("gpu")
    Traceback (most recent call last):
    ...
    ValueError: target must be one of 'numpy', 'cython', 'cpp_standalone', 'cuda_standalone'; got 'gpu'
    """
    target = check_choice("target", target, tuple(allowed))
    if target == "cuda_standalone" and importlib.util.find_spec("brian2cuda") is None:
        raise ValueError("target 'cuda_standalone' needs the brian2cuda package and a CUDA GPU, and brian2cuda "
                         "is not installed; use target 'numpy', 'cython' or 'cpp_standalone'")
    return target


@contextlib.contextmanager
def brian2_context(target: str = "numpy", *, build_dir: str | None = None, seed: int | None = None):
    """Run Brian2 code with hdsnn's settings, restoring the user's Brian2 state afterwards.

    Parameters
    ----------
    target : {'numpy', 'cython', 'cpp_standalone', 'cuda_standalone'}
    build_dir : str, optional
        Folder of a standalone project (default: a temporary folder, removed afterwards).
    seed : int, optional
        Seed of Brian2's random numbers for this run.

    Yields
    ------
    module
        The ``brian2`` module.

    Raises
    ------
    ValueError
        For an unknown target, a missing brian2cuda, or a standalone target while the
        user's own device is that same standalone device (hdsnn would reset it).

    Examples
    --------
    The user's device and random state survive:

    >>> import brian2, numpy as np
    >>> np.random.seed(7); before = np.random.get_state()[1].copy()
    >>> with brian2_context("numpy", seed=1) as b2:
    ...     _ = b2.NeuronGroup(1, "v : 1")
    >>> bool((np.random.get_state()[1] == before).all()), brian2.get_device().__class__.__name__
    (True, 'RuntimeDevice')
    """
    target = check_target(target)
    import brian2 as b2

    # the module, not the `device` proxy that brian2.devices exports under the same name
    devices = importlib.import_module("brian2.devices.device")

    user_device = b2.get_device()
    standalone = target.endswith("_standalone")
    if standalone and user_device is devices.all_devices.get(target):
        raise ValueError(f"target {target!r} is also your own active Brian2 device: running hdsnn on it "
                         f"would reset the objects you defined; use target 'numpy' or 'cython', or "
                         f"call brian2.set_device('runtime') first")
    prefs, cython = b2.prefs.codegen, b2.prefs.codegen.runtime.cython
    saved = (prefs.target, list(prefs.cpp.extra_compile_args_gcc), cython.cache_dir)
    stack = list(devices.previous_devices)
    random_state = np.random.get_state()
    dt = b2.defaultclock.dt
    tmp = None
    try:
        prefs.cpp.extra_compile_args_gcc = list(COMPILE_ARGS)
        flags = hashlib.sha1(" ".join(COMPILE_ARGS).encode()).hexdigest()[:10]
        cython.cache_dir = os.path.join(os.path.expanduser("~"), ".cython", f"brian_extensions_hdsnn_{flags}")
        if standalone:
            if target == "cuda_standalone":
                import brian2cuda  # noqa: F401  (registers the device)
            if build_dir is None:
                tmp = tempfile.TemporaryDirectory(prefix="hdsnn-brian2-")
                build_dir = tmp.name
            b2.set_device(target, directory=build_dir, build_on_run=True)
        else:
            if user_device is not devices.runtime_device:
                b2.set_device("runtime")
            prefs.target = target
        if seed is not None:
            b2.seed(seed)
        yield b2
    finally:
        if standalone:
            b2.get_device().reinit()
        if b2.get_device() is not user_device:
            devices.reset_device(user_device)
        devices.previous_devices[:] = stack
        prefs.target, prefs.cpp.extra_compile_args_gcc, cython.cache_dir = saved
        np.random.set_state(random_state)
        b2.defaultclock.dt = dt
        if tmp is not None:
            tmp.cleanup()
