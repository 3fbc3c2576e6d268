"""What the spikes mean: scores, Neo/Elephant statistics, files, motifs, polychronous groups, figures.

Every function takes the targets first, then the recalled raster; rasters may be
arrays or Neo objects (:func:`as_raster`).

Examples
--------
>>> from hdsnn.analysis import score, sliding_f1
"""
from .scores import Scores, confusion, score, sliding_f1
from .timing import Matching, match_spikes, spike_train_distances, timing_error_stats, tolerant_score
from .neo_io import as_raster, block_to_rasters, rasters_to_block, trains_from_raster
from .files import read_nix, read_nwb, read_rasters, write_nix, write_nwb
from .statistics import cross_correlograms, fano_factors, firing_rates, isi_statistics
from .polychrony import Group, SearchConfig, detect_activations, find_groups, group_statistics
from .motifs import SpadeConfig, concatenate_trials, estimate_spade_memory, find_motifs
from .capacity import gardner_capacity, load, max_patterns
from .plots import plot_recall
from .report import analyze

__all__ = [
    # scores and timing
    "Scores", "confusion", "score", "sliding_f1",
    "Matching", "match_spikes", "tolerant_score", "timing_error_stats", "spike_train_distances",
    # Neo and files
    "as_raster", "rasters_to_block", "block_to_rasters", "trains_from_raster",
    "write_nix", "read_nix", "write_nwb", "read_nwb", "read_rasters",
    # statistics, motifs, groups
    "firing_rates", "isi_statistics", "fano_factors", "cross_correlograms",
    "SearchConfig", "Group", "find_groups", "detect_activations", "group_statistics",
    "SpadeConfig", "find_motifs", "estimate_spade_memory", "concatenate_trials",
    # capacity bounds
    "gardner_capacity", "max_patterns", "load",
    # figures and the report
    "plot_recall", "analyze",
]
