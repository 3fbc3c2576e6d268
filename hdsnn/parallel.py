"""One executor for independent work: in-process, local Dask workers, or a running Dask scheduler.

Independent pieces of work (postsynaptic-neuron blocks of the margin learner,
scan points, seeds) go through :func:`get_executor`:

- ``None`` or ``'local'``: in-process, one item after the other;
- an int ``K`` or ``'processes:K'``: a :class:`dask.distributed.LocalCluster`
  of ``K`` worker processes (one thread each), started here and stopped by
  :meth:`Executor.close`;
- ``'threads:K'``: the same with ``K`` threads in this process (cheap to start,
  for tests);
- ``'pool:K'``: ``K`` worker processes of the standard library's process pool
  (no Dask needed; the paper scripts' ``--jobs K``);
- ``'tcp://HOST:PORT'``: the address of a running Dask scheduler.

Every executor returns the results of :meth:`Executor.map` in the order of the
items, so a caller whose items are independent gets the same result whatever
the executor. Dask is optional: ``pip install -e '.[dask]'``.

On a SLURM cluster, start the scheduler and workers with dask-jobqueue and
pass the scheduler's address (text only, nothing here imports it)::

    from dask_jobqueue import SLURMCluster
    cluster = SLURMCluster(cores=8, processes=8, memory="32GB", walltime="02:00:00")
    cluster.scale(jobs=4)                       # 4 SLURM jobs of 8 workers
    print(cluster.scheduler_address)            # 'tcp://node001:8786' (the login node's scheduler)
    # then, in the job that learns:
    # margin_init(targets, executor="tcp://node001:8786")

or from a shell: ``dask scheduler`` on one node and ``dask worker tcp://HOST:8786``
in each SLURM job. The workers need the same environment (``hdsnn`` installed).

Examples
--------
>>> with get_executor() as ex:
...     ex.map(abs, [-1, 2, -3])
[1, 2, 3]
"""
from __future__ import annotations

from numbers import Integral
from typing import Callable, Iterable

__all__ = ["Executor", "LocalExecutor", "PoolExecutor", "DaskExecutor", "get_executor"]

_SPEC_HELP = "None, 'local', an int K >= 1, 'processes:K', 'threads:K', 'pool:K' or 'tcp://HOST:PORT'"


class Executor:
    """Maps a function over independent items; results in the order of the items."""

    def map(self, fn: Callable, items: Iterable) -> list:
        raise NotImplementedError

    def close(self) -> None:
        """Release the workers this executor started (nothing for the local one)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class LocalExecutor(Executor):
    """In-process, serial.

    Examples
    --------
    >>> LocalExecutor().map(str, [1, 2])
    ['1', '2']
    """

    def map(self, fn: Callable, items: Iterable) -> list:
        return [fn(item) for item in items]

    def __repr__(self) -> str:
        return "LocalExecutor()"


def _one_thread():
    import torch

    torch.set_num_threads(1)


class PoolExecutor(Executor):
    """A pool of K worker processes of the standard library (no Dask needed), one torch thread each.

    Examples
    --------
    >>> with PoolExecutor(2) as pool:
    ...     pool.map(abs, [-1, -2, 3])
    [1, 2, 3]
    """

    def __init__(self, workers: int):
        from concurrent.futures import ProcessPoolExecutor

        self.workers = workers
        self.pool = ProcessPoolExecutor(max_workers=workers, initializer=_one_thread)

    def map(self, fn: Callable, items: Iterable) -> list:
        return list(self.pool.map(fn, items))

    def close(self) -> None:
        self.pool.shutdown()

    def __repr__(self) -> str:
        return f"PoolExecutor({self.workers})"


def _dask():
    try:
        import dask.distributed as distributed
    except ImportError as err:                          # pragma: no cover - depends on the environment
        raise ImportError("a Dask executor needs dask.distributed, which is not installed; "
                          "install it with: pip install -e '.[dask]'") from err
    return distributed


class DaskExecutor(Executor):
    """A Dask client: on a :class:`~dask.distributed.LocalCluster` it starts, or on a scheduler's address.

    Parameters
    ----------
    workers : int, optional
        Start a local cluster of this many workers.
    address : str, optional
        Connect to the running scheduler at this address instead.
    processes : bool
        Local workers are processes (True) or threads of this process (False).
    """

    def __init__(self, workers: int | None = None, address: str | None = None, processes: bool = True):
        distributed = _dask()
        self.cluster = None
        if address is None:
            self.cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                                    processes=processes, dashboard_address=":0")   # any free port: two clusters never clash
            self.client = distributed.Client(self.cluster)
        else:
            self.client = distributed.Client(address)
        self.workers, self.address, self.processes = workers, address, processes

    def map(self, fn: Callable, items: Iterable) -> list:
        futures = self.client.map(fn, list(items), pure=False)
        return self.client.gather(futures)

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None

    def __repr__(self) -> str:
        where = self.address or f"LocalCluster({self.workers} {'processes' if self.processes else 'threads'})"
        return f"DaskExecutor({where})"


def _count(spec, text: str) -> int:
    try:
        k = int(text)
    except ValueError:
        k = 0
    if k < 1:
        raise ValueError(f"executor must be {_SPEC_HELP}; got {spec!r}")
    return k


def get_executor(spec=None) -> Executor:
    """The executor named by ``spec``.

    Parameters
    ----------
    spec : None, str, int or Executor
        See the module docstring; an :class:`Executor` is returned as it is.

    Returns
    -------
    Executor
        Close it (or use it as a context manager) to stop the workers it started.

    Raises
    ------
    ValueError
        If ``spec`` is none of the accepted forms.
    ImportError
        If a Dask executor is asked for and dask.distributed is not installed.

    Examples
    --------
    >>> get_executor("local")
    LocalExecutor()
    >>> get_executor("processes:0")
    Traceback (most recent call last):
    ...
    ValueError: executor must be None, 'local', an int K >= 1, 'processes:K', 'threads:K', 'pool:K' or 'tcp://HOST:PORT'; got 'processes:0'
    """
    if spec is None or spec == "local":
        return LocalExecutor()
    if isinstance(spec, Executor):
        return spec
    if isinstance(spec, Integral) and not isinstance(spec, bool):
        return DaskExecutor(workers=_count(spec, str(spec)))
    if isinstance(spec, str):
        if spec.startswith("processes:"):
            return DaskExecutor(workers=_count(spec, spec.split(":", 1)[1]))
        if spec.startswith("pool:"):
            return PoolExecutor(_count(spec, spec.split(":", 1)[1]))
        if spec.startswith("threads:"):
            return DaskExecutor(workers=_count(spec, spec.split(":", 1)[1]), processes=False)
        if spec.startswith("tcp://") and len(spec) > len("tcp://"):
            return DaskExecutor(address=spec)
    raise ValueError(f"executor must be {_SPEC_HELP}; got {spec!r}")
