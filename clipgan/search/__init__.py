"""Latent search: CLIP-GLaSS's two-objective NSGA-II, all restarts batched together."""

from clipgan.search.pool import PriorPool, draw_pool
from clipgan.search.runner import (SELECT_RULES, SearchConfig, SearchResult, pick_from_front, run_search,
                                   sample_unguided)

__all__ = ["PriorPool", "SELECT_RULES", "SearchConfig", "SearchResult", "draw_pool", "pick_from_front", "run_search",
           "sample_unguided"]
