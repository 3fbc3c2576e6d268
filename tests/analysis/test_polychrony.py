"""Polychronous groups: a hand-built network with one known group."""
import numpy as np
import pytest
import torch

from hdsnn.analysis.polychrony import Group, SearchConfig, detect_activations, find_groups, group_statistics
from hdsnn.config import NetworkConfig


def _network(anchor_weight=0.4):
    """Anchors 0, 1, 2 reach neuron 3 through delays 6, 4, 2: only together do they fire it.
    3 -> 4 (delay 3) -> 5 (delay 5) -> 6 (delay 2); 4 -> 7 with a weak weight; 9 gets an inhibitory input.
    8 fires at 15 from 4 (arriving at 14, one step early: 0.8 * 0.7 + 0.5 >= 1) and 5 (arriving at 15)."""
    N, D = 10, 8
    W = torch.zeros(N, N, D)
    W[3, 0, 5] = W[3, 1, 3] = W[3, 2, 1] = anchor_weight
    W[4, 3, 2] = 1.5
    W[5, 4, 4] = 1.5
    W[6, 5, 1] = 1.5
    W[7, 4, 0] = 0.5
    W[8, 0, 2] = W[8, 1, 2] = 0.3
    W[8, 4, 4] = 0.8
    W[8, 5, 0] = 0.5
    W[9, 6, 3] = -1.0
    return W, NetworkConfig(N=N, D=D, beta=0.7, theta=1.0)


KNOWN_NEURONS = [0, 1, 2, 3, 4, 5, 8, 6]
KNOWN_TIMES = [0, 2, 4, 6, 9, 14, 15, 16]


def test_the_known_group_is_found_with_its_causal_structure():
    W, net = _network()
    groups = find_groups(W, net, SearchConfig(n_anchors=3, candidates=3, min_path=3, batch=4), progress=False)
    assert len(groups) == 1
    g = groups[0]
    assert g.mother == 3
    assert g.neurons.tolist() == KNOWN_NEURONS and g.times.tolist() == KNOWN_TIMES
    assert g.depth.tolist() == [0, 0, 0, 1, 2, 3, 4, 4]
    assert [p.tolist() for p in g.parents] == [[], [], [], [0, 1, 2], [3], [4], [4, 5], [5]]
    assert (g.size, g.span, g.path_length) == (8, 16, 4)


def test_no_group_when_the_anchors_cannot_fire_the_mother_or_the_path_is_too_short():
    W, net = _network(anchor_weight=0.3)                        # 3 x 0.3 < theta
    assert find_groups(W, net, SearchConfig(candidates=3, min_path=1), mothers=[3], progress=False) == []
    W, net = _network()
    assert find_groups(W, net, SearchConfig(candidates=3, min_path=5), progress=False) == []


def test_detect_activations_by_template_matching():
    W, net = _network()
    (g,) = find_groups(W, net, SearchConfig(candidates=3), progress=False)
    rng = np.random.default_rng(0)
    r = rng.random((2, 10, 200)) < 0.01
    for m, onset in [(0, 30), (0, 120), (1, 70)]:
        r[m, g.neurons, onset + g.times] = True
    r[0, 5, 120 + 14] = False                                   # one spike a step late ...
    r[0, 5, 120 + 15] = True
    assert [(m, o) for m, o, _ in detect_activations(r, g, tolerance=1)] == [(0, 30), (0, 120), (1, 70)]
    exact = detect_activations(r, g, tolerance=0)
    assert [(m, o) for m, o, _ in exact] == [(0, 30), (1, 70)]  # ... is missed without tolerance
    partial = detect_activations(r, g, tolerance=0, min_fraction=7 / 8)
    assert (0, 120, 7) in partial


def test_group_statistics():
    g1 = Group(np.array([0, 1, 2, 3]), np.array([0, 1, 5, 9]), np.array([0, 0, 1, 2]), [], 2)
    g2 = Group(np.array([4, 5, 4]), np.array([0, 3, 6]), np.array([0, 1, 2]), [], 5)
    s = group_statistics([g1, g2], N=10)
    assert s["n_groups"] == 2 and s["neurons_in_groups"] == 6
    assert s["size"]["histogram"] == {3: 1, 4: 1} and s["span_steps"]["mean"] == 7.5
    assert s["n_neurons"]["histogram"] == {2: 1, 4: 1}
    assert s["fraction_of_neurons_in_groups"] == pytest.approx(0.6)


def test_search_config_is_validated():
    with pytest.raises(ValueError, match="candidates"):
        SearchConfig(n_anchors=3, candidates=2)


def test_automatic_anchor_count_takes_the_fewest_inputs_that_reach_threshold():
    W, net = _network()
    W[3, 7, 6] = 0.05                                           # a weaker fourth input, not needed
    groups = find_groups(W, net, SearchConfig(n_anchors=None, min_path=3), progress=False)
    # mother 3: three anchors (2 x 0.4 < theta); mother 4: one anchor (3 -> 4 is 1.5), the sub-chain 3, 4, 5, 8, 6
    found = {g.mother: (g.neurons.tolist(), g.times.tolist(), g.path_length) for g in groups}
    assert found == {3: (KNOWN_NEURONS, KNOWN_TIMES, 4), 4: ([3, 4, 5, 8, 6], [0, 3, 8, 9, 10], 3)}
    # with one extra candidate, the combinations that include the weak input fall below threshold
    groups = find_groups(W, net, SearchConfig(n_anchors=None, extra_candidates=1, min_path=1), mothers=[3],
                         progress=False)
    assert [x.neurons.tolist() for x in groups] == [KNOWN_NEURONS]
