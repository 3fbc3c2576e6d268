"""What the spikes mean: scores, Neo/Elephant statistics, files, motifs, polychronous groups, figures.

Examples
--------
>>> from hdsnn.analysis import score, sliding_f1
"""
from .scores import Scores, confusion, score, sliding_f1
from .plots import plot_recall

__all__ = ["Scores", "confusion", "score", "sliding_f1", "plot_recall"]
from .neo_io import block_to_rasters, rasters_to_block, trains_from_raster  # noqa: E402

__all__ += ["rasters_to_block", "block_to_rasters", "trains_from_raster"]
from .timing import Matching, match_spikes, spike_train_distances, timing_error_stats, tolerant_score  # noqa: E402

__all__ += ["Matching", "match_spikes", "tolerant_score", "timing_error_stats", "spike_train_distances"]
from .statistics import cross_correlograms, fano_factors, firing_rates, isi_statistics  # noqa: E402

__all__ += ["firing_rates", "isi_statistics", "fano_factors", "cross_correlograms"]
from .files import read_nix, read_nwb, write_nix, write_nwb  # noqa: E402

__all__ += ["write_nix", "read_nix", "write_nwb", "read_nwb"]
from .polychrony import Group, SearchConfig, detect_activations, find_groups, group_statistics  # noqa: E402

__all__ += ["SearchConfig", "Group", "find_groups", "detect_activations", "group_statistics"]
from .motifs import SpadeConfig, concatenate_trials, estimate_spade_memory, find_motifs  # noqa: E402

__all__ += ["SpadeConfig", "find_motifs", "estimate_spade_memory", "concatenate_trials"]
