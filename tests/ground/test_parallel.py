"""The executor abstraction: same results in order whatever runs them; clear errors."""
import operator
import re

import pytest

from hdsnn.parallel import DaskExecutor, LocalExecutor, get_executor

SPEC_HELP = "None, 'local', an int K >= 1, 'processes:K', 'threads:K', 'pool:K' or 'tcp://HOST:PORT'"


def test_local_executor_maps_in_order():
    with get_executor(None) as ex:
        assert isinstance(ex, LocalExecutor)
        assert ex.map(operator.neg, range(5)) == [0, -1, -2, -3, -4]
    assert isinstance(get_executor("local"), LocalExecutor)


@pytest.mark.parametrize("spec", ["processes:0", "threads:x", "nodes:2", "tcp://", 0, -2, True, 1.5])
def test_bad_spec_names_the_allowed_forms(spec):
    with pytest.raises(ValueError, match=re.escape(f"executor must be {SPEC_HELP}; got {spec!r}")):
        get_executor(spec)


def test_an_executor_is_passed_through():
    ex = LocalExecutor()
    assert get_executor(ex) is ex


def test_dask_threads_map_in_order():
    with get_executor("threads:2") as ex:
        assert isinstance(ex, DaskExecutor)
        assert ex.map(operator.neg, range(7)) == [0, -1, -2, -3, -4, -5, -6]


def test_a_process_pool_gives_the_results_in_order():
    from hdsnn.parallel import PoolExecutor, get_executor

    with get_executor("pool:2") as ex:
        assert isinstance(ex, PoolExecutor) and ex.map(abs, [-3, 1, -2]) == [3, 1, 2]
