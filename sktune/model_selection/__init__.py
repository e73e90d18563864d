"""Tuning tools: fused searches, default search spaces, leaderboards and plots, Dask.

``GridSearchCV``, ``RandomizedSearchCV``, ``HalvingGridSearchCV`` and
``HalvingRandomSearchCV`` are scikit-learn's searches with the fits of sktune networks
trained together as one stacked network (see docs/tuning.md, "Fused searches"). The
other names are also available at the top level (``sktune.search_space``...).
"""

from sktune.model_selection._fusion import PER_COPY_PARAMS, fusion_config, get_fusion_config
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
from sktune.model_selection._search import (
    GridSearchCV,
    HalvingGridSearchCV,
    HalvingRandomSearchCV,
    RandomizedSearchCV,
)
from sktune.model_selection._search_space import (
    DATA_RULES,
    DEFAULT_SPACE,
    optuna_distributions,
    search_space,
)

__all__ = [
    "DATA_RULES", "DEFAULT_SPACE", "GridSearchCV", "HalvingGridSearchCV", "HalvingRandomSearchCV",
    "PER_COPY_PARAMS", "RESILIENT_DASK", "RandomizedSearchCV", "dask_client", "fusion_config",
    "get_fusion_config", "leaderboard", "optuna_distributions", "plot_learning_curves",
    "plot_scores", "preserve_thread_env", "resilient_dask_backend", "search_space",
]
