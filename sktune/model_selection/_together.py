"""Fitting several estimators on the same rows, their networks trained as one.

A search's refit ensemble (``refit_ensemble=k``) fits its k best candidates on all the
rows. They differ in per-copy settings only (rates, regularisation, lengths...), so
their networks stack as the search's own fits did: :func:`fit_together` does for each
what its ``fit`` does — the wrappers' work before the network (``prepare_input``), the
network's validation and preparation (``_begin_fit``), its training, the commit
(``_end_fit``) — with the training of the stackable ones done by the engine's
:func:`~sktune.engine.train_stacked`. Each fitted model equals the one its own ``fit``
gives (the engine's fused fits equal unfused ones).
"""

from collections import defaultdict

from joblib import hash as joblib_hash

from sktune import _training
from sktune.engine import train_stacked
from sktune.model_selection._fusion import fusion_signature, plan_key
from sktune.model_selection._wrappers import (
    commit,
    fit_path,
    fit_preprocessing,
    prepare_input,
    use_preprocessing,
)


class _SharedPreprocessing:
    """``prepare_input``'s ``preprocess``: a pipeline's steps before its network, fitted
    once for all the estimators whose steps (at that depth) are equal, as the search's
    fits of one split share theirs; steps joblib cannot hash are fitted for their own."""

    def __init__(self):
        self.fitted = {}

    def __call__(self, pipeline, depth, X, y):
        if len(pipeline.steps) == 1:  # nothing before the network to fit
            return X
        try:
            key = (depth, joblib_hash(pipeline[:-1]))
        except Exception:  # noqa: BLE001 - an unpicklable step: fitted for itself alone
            key = (depth, id(pipeline))
        if key not in self.fitted:
            self.fitted[key] = fit_preprocessing(pipeline, X, y)
        steps, Xt = self.fitted[key]
        use_preprocessing(pipeline, steps)
        return Xt


def fit_together(estimators, X, y, fit_params):
    """Fit each of ``estimators`` on ``X, y`` as its own ``fit`` would, training the
    networks that can stack as one.

    Parameters
    ----------
    estimators : list of estimators
        Unfitted sktune estimators, or Pipelines / TransformedTargetRegressors ending
        with one; any other estimator (or fit parameter other than sample weights)
        makes that estimator fit through its own ``fit``.
    X, y : array-like
        The rows all of them are fitted on.
    fit_params : dict
        Parameters of each estimator's ``fit`` (sample weights).

    Returns
    -------
    estimators : list
        The same estimators, fitted. The first failure raises, as its ``fit`` would.
    """
    groups, preprocess = defaultdict(list), _SharedPreprocessing()
    for est in estimators:
        path = fit_path(est)
        if path is None or plan_key(est, fit_params) is None:
            est.fit(X, y, **fit_params)
            continue
        final, Xt, yt = prepare_input(est, X, y, preprocess)
        run = final._begin_fit(Xt, yt, fit_params.get(path.weight_key))
        groups[fusion_signature(run)].append((est, final, run))
    for signature, members in groups.items():
        if signature is None or len(members) == 1:
            for member in members:
                _training.train(member[2])
        else:
            for outcome in train_stacked([run for _, _, run in members]):
                if outcome.error is not None:
                    raise outcome.error
        for est, final, run in members:
            final._end_fit(run)
            commit(est)
    return estimators
