"""Tuning tools: default search spaces, leaderboards and plots, Dask execution.

The same names are also available at the top level (``sktune.search_space``...).
"""

from sktune.model_selection._parallel import (
    RESILIENT_DASK,
    dask_client,
    preserve_thread_env,
    resilient_dask_backend,
)
from sktune.model_selection._results import (
    leaderboard,
    plot_learning_curves,
    plot_scores,
)
from sktune.model_selection._search_space import (
    DATA_RULES,
    DEFAULT_SPACE,
    optuna_distributions,
    search_space,
)

__all__ = [
    "DATA_RULES", "DEFAULT_SPACE", "RESILIENT_DASK", "dask_client", "leaderboard",
    "optuna_distributions", "plot_learning_curves", "plot_scores", "preserve_thread_env",
    "resilient_dask_backend", "search_space",
]
