"""scikit-learn's searches, with the fits of sktune networks trained together.

``GridSearchCV``, ``RandomizedSearchCV``, ``HalvingGridSearchCV`` and
``HalvingRandomSearchCV`` are scikit-learn's classes — same parameters, same fitted
attributes, same candidate generation, same ranking and refit — whose ``fit`` evaluates
the (candidate, split) pairs differently: pairs whose networks can share one stacked
network (:mod:`sktune.model_selection._fusion`) are trained as one, in chunks sent to
joblib's workers (or Dask's) instead of single fits; every other pair goes through
scikit-learn's own ``_fit_and_score``. ``fit`` below follows
``sklearn.model_selection.BaseSearchCV.fit`` step by step and keeps its helpers
(scorers, routing, result formatting); only the evaluation of the pairs is new.

A search over anything that is not an sktune estimator (or a Pipeline ending with one),
or inside ``fusion_config(enabled=False)``, is scikit-learn's search, unchanged.
"""

import time
import warnings
from collections import defaultdict
from inspect import signature
from itertools import product
from numbers import Integral

import numpy as np
from joblib import effective_n_jobs
from sklearn.base import clone, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV as _SkGridSearchCV
from sklearn.model_selection import HalvingGridSearchCV as _SkHalvingGridSearchCV
from sklearn.model_selection import HalvingRandomSearchCV as _SkHalvingRandomSearchCV
from sklearn.model_selection import RandomizedSearchCV as _SkRandomizedSearchCV
from sklearn.model_selection import check_cv
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import indexable

from sktune._compat import (
    FUSED_SEARCH_SUPPORTED,
    BaseSearchCV,
    Interval,
    StrOptions,
    _check_method_params,
    _fit_context,
    _insert_error_scores,
    _MultimetricScorer,
    _warn_or_raise_about_fit_failures,
)
from sktune.model_selection._evaluate import (
    Pair,
    Settings,
    _ConvergenceCounter,
    fit_and_score_fused,
    fit_and_score_single,
)
from sktune.model_selection._fusion import get_fusion_config, plan_key
from sktune.model_selection._progress import SearchProgress, warn_not_converged
from sktune.model_selection._together import fit_together
from sktune.model_selection._wrappers import fit_path

#: the refit parameters sktune's searches add to scikit-learn's
_REFIT_CONSTRAINTS = {
    "refit_epochs": [StrOptions({"cv", "early_stopping"})],
    "refit_ensemble": [Interval(Integral, 1, None, closed="left")],
    "average_folds": ["boolean"],
}


class _FusedSearchCV(BaseSearchCV):
    """``BaseSearchCV.fit`` with fused evaluation; see the module docstring."""

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, **params):
        """Run fit with all sets of parameters, training fusible fits together.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Targets.
        **params : dict of str -> object
            Parameters passed to the estimator's ``fit``, the scorer and the splitter,
            as in scikit-learn's searches.

        Returns
        -------
        self : object
            The fitted search.
        """
        if not FUSED_SEARCH_SUPPORTED or not get_fusion_config()["enabled"] or \
                fit_path(self.estimator) is None:
            if self.average_folds:
                raise ValueError(
                    "average_folds=True needs the fused search: an sktune estimator (or a "
                    "Pipeline ending with one) outside fusion_config(enabled=False); "
                    f"got {type(self.estimator).__name__}. Set average_folds=False.")
            return super().fit(X, y, **params)
        return self._fit_fused(X, y, params)

    def _fit_fused(self, X, y, params):
        scorers, refit_metric = self._get_scorers()
        X, y = indexable(X, y)
        params = _check_method_params(X, params=params)
        routed_params = self._get_routed_params_for_fit(params)
        weight = params.get("sample_weight")
        metadata = None if weight is None else {"sample_weight": weight}
        root = _root_context(self, X, y, metadata)
        self._checked_cv_orig = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        self._check_input_parameters(X=X, y=y, split_params=routed_params.splitter.split)
        self.n_splits_ = self._checked_cv_orig.get_n_splits(X, y, **routed_params.splitter.split)
        base_estimator = clone(self.estimator)
        parallel = Parallel(n_jobs=self.n_jobs, pre_dispatch=self.pre_dispatch,
                            return_as="generator_unordered")
        evaluate = _Evaluator(self, base_estimator, X, y, routed_params, Settings(
            scorer=scorers, fit_params=routed_params.estimator.fit,
            score_params=routed_params.scorer.score,
            return_train_score=self.return_train_score, error_score=self.error_score,
            verbose=self.verbose, n_splits=self.n_splits_, n_candidates=0, caller=self,
            max_memory=get_fusion_config()["max_memory"],
            keep_estimators=bool(self.average_folds and self.refit)),
            parallel, refit_metric if isinstance(refit_metric, str) else "score")
        with parallel:
            if root is not None and "callback_ctx" in signature(self._run_search).parameters:
                self._run_search(evaluate, callback_ctx=root)
            else:
                self._run_search(evaluate)
        results = evaluate.results
        self.cv_best_epochs_ = np.array(evaluate.best_epochs, dtype=float)
        first_test_score = evaluate.all_out[0]["test_scores"]
        self.multimetric_ = isinstance(first_test_score, dict)
        if callable(self.scoring) and self.multimetric_:
            self._check_refit_for_multimetric(first_test_score)
            refit_metric = self.refit
        if self.refit or not self.multimetric_:
            self.best_index_ = self._select_best_index(self.refit, refit_metric, results)
            if not callable(self.refit):
                self.best_score_ = results[f"mean_test_{refit_metric}"][self.best_index_]
            self.best_params_ = results["params"][self.best_index_]
        refit_not_converged = False
        if self.refit and self.average_folds:
            self._average_folds(X, y, evaluate.estimators,
                                self._ranked(results, refit_metric))
        elif self.refit:
            with _ConvergenceCounter() as counter:
                self._refit(base_estimator, X, y, routed_params, root, metadata,
                            self._refit_members(base_estimator, results, refit_metric))
            refit_not_converged = counter.count > 0
        self.scorer_ = scorers._scorers if isinstance(scorers, _MultimetricScorer) else scorers
        self.cv_results_ = results
        if root is not None:
            root.call_on_fit_task_end(estimator=self, X=X, y=y, metadata=metadata)
        warn_not_converged(evaluate.not_converged, len(evaluate.all_out),
                           refit=refit_not_converged, stacklevel=5)
        return self

    def _ranked(self, results, refit_metric):
        """The candidates the refit uses: the best, then (``refit_ensemble > 1``) the
        next best with a finite mean score."""
        indices = [self.best_index_]
        if self.refit_ensemble > 1 and not callable(self.refit):
            ranks = results[f"rank_test_{refit_metric}"]
            means = results[f"mean_test_{refit_metric}"]
            ranked = [i for i in np.argsort(ranks, kind="stable") if np.isfinite(means[i])]
            indices += [i for i in ranked if i != self.best_index_][:self.refit_ensemble - 1]
        return indices

    def _average_folds(self, X, y, estimators, indices):
        """``average_folds=True``: ``best_estimator_`` averages the fitted
        cross-validation models of the candidates ``indices`` (no training)."""
        start = time.time()
        members = [(f"rank{r}_split{s}", est) for r, i in enumerate(indices)
                   for s, est in enumerate(estimators[i]) if est is not None]
        if is_classifier(self.estimator):
            labels = np.unique(np.asarray(y))  # a fold that lacked a class cannot vote
            members = [(name, est) for name, est in members
                       if np.array_equal(np.asarray(est.classes_), labels)]
        if not members:
            raise ValueError("average_folds=True found no cross-validation fit to average "
                             "(every fit of the best candidates failed, or missed a "
                             "class); set average_folds=False to refit instead.")
        self.refit_indices_ = np.array(indices)
        self.refit_max_iter_ = [None] * len(indices)
        self.best_estimator_ = _vote([FrozenEstimator(est) for _, est in members],
                                     [name for name, _ in members])
        _fit(self.best_estimator_, X, y, {})  # the vote's label encoding; nothing trains
        if hasattr(self.best_estimator_.estimators_[0], "feature_names_in_"):
            self.feature_names_in_ = self.best_estimator_.estimators_[0].feature_names_in_
        self.refit_time_ = time.time() - start

    def _refit_members(self, base_estimator, results, refit_metric):
        """The estimators the refit trains: the best candidate, or the ``refit_ensemble``
        best, each for the epochs its cross-validation chose (``refit_epochs="cv"``)."""
        indices = self._ranked(results, refit_metric)
        members, self.refit_max_iter_ = [], []
        for i in indices:
            est = clone(base_estimator).set_params(**clone(results["params"][i], safe=False))
            self.refit_max_iter_.append(self._cv_length(est, self.cv_best_epochs_[i]))
            members.append(est)
        self.refit_indices_ = np.array(indices)
        return members

    def _cv_length(self, estimator, epochs):
        """With ``refit_epochs="cv"``, make a network that early-stopped in its
        cross-validation fits train for the mean of their best epochs on all the rows,
        without a hold-out of its own; returns that number (None: left as it is)."""
        path = fit_path(estimator)
        epochs = epochs[np.isfinite(epochs)]
        if self.refit_epochs != "cv" or path is None or not epochs.size or \
                not _is_true(path.final.get_params().get("early_stopping")):
            return None
        n_epochs = max(1, int(round(float(np.mean(epochs)))))
        estimator.set_params(**{path.prefix + "max_iter": n_epochs,
                                path.prefix + "early_stopping": False,
                                path.prefix + "n_iter_no_change": np.inf})
        return n_epochs

    def _refit(self, base_estimator, X, y, routed_params, root, metadata, members):
        """The refit on all the data: the best candidate (its length chosen by the
        cross-validation, see ``refit_epochs``), or a soft vote of the best
        ``refit_ensemble`` candidates, each refitted so: their networks train together
        (:func:`~sktune.model_selection._together.fit_together`), then vote."""
        fit_params = routed_params.estimator.fit
        with warnings.catch_warnings():
            if all(n is not None for n in self.refit_max_iter_):
                # a length the cross-validation chose, reached on purpose
                warnings.simplefilter("ignore", ConvergenceWarning)
            self._fit_best(X, y, fit_params, root, metadata, members)
        if hasattr(self.best_estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.best_estimator_.feature_names_in_

    def _fit_best(self, X, y, fit_params, root, metadata, members):
        def fit():
            if len(members) == 1:
                self.best_estimator_ = members[0]
                _fit(self.best_estimator_, X, y, fit_params)
                return
            fit_together(members, X, y, fit_params)
            self.best_estimator_ = _vote([FrozenEstimator(m) for m in members])
            _fit(self.best_estimator_, X, y, {})  # the vote's label encoding only

        start = time.time()
        if root is not None:
            sub = root.subcontext(task_name="refit-with-best-params")
            with sub.propagate_callback_context(members[0]):
                sub.call_on_fit_task_begin(estimator=self, X=X, y=y, metadata=metadata)
                start = time.time()
                fit()
            end = time.time()
            sub.call_on_fit_task_end(estimator=self, X=X, y=y, metadata=metadata)
        else:
            fit()
            end = time.time()
        self.refit_time_ = end - start


def _vote(members, names=None):
    """The members as one soft-voting (averaging) ensemble, fitted by the refit."""
    from sklearn.ensemble import VotingClassifier, VotingRegressor

    names = names or [f"rank{i}" for i in range(len(members))]
    named = list(zip(names, members))
    if is_classifier(members[0]):
        return VotingClassifier(named, voting="soft")
    return VotingRegressor(named)


def _fit(estimator, X, y, fit_params):
    if y is not None:
        estimator.fit(X, y, **fit_params)
    else:
        estimator.fit(X, **fit_params)


def _root_context(search, X, y, metadata):
    """scikit-learn's callback context of the search (None before scikit-learn 1.9)."""
    if not hasattr(search, "_init_callback_context"):
        return None
    return search._init_callback_context(
        max_subtasks=1 + (search.refit is not False)).call_on_fit_task_begin(
            estimator=search, X=X, y=y, metadata=metadata)


class _Evaluator:
    """The ``evaluate_candidates`` callable that ``_run_search`` drives: scikit-learn's,
    with the pairs evaluated in fused chunks where possible. It accumulates results
    across calls (the rounds of a halving search) as scikit-learn's does."""

    def __init__(self, search, base_estimator, X, y, routed_params, settings, parallel,
                 metric):
        self.search, self.base, self.X, self.y = search, base_estimator, X, y
        self.routed_params, self.settings, self.parallel = routed_params, settings, parallel
        self.all_candidate_params, self.all_out = [], []
        self.all_more_results = defaultdict(list)
        self.results = {}
        self.not_converged = []
        self.best_epochs = []  # per candidate: the best epoch of each split's fit
        self.estimators = []   # per candidate: each split's fitted model (keep_estimators)
        self.progress = SearchProgress(search.verbose, metric)

    def __call__(self, candidate_params, cv=None, more_results=None, callback_ctx=None):
        search = self.search
        cv = cv or search._checked_cv_orig
        candidate_params = list(candidate_params)
        n_candidates, n_splits = len(candidate_params), search.n_splits_
        splits = list(cv.split(self.X, self.y, **self.routed_params.splitter.split))
        if len(splits) != n_splits:
            raise ValueError(f"cv.split and cv.get_n_splits return inconsistent results. "
                             f"Expected {n_splits} splits, got {len(splits)}")
        if search.verbose > 0:
            print(f"Fitting {n_splits} folds for each of {n_candidates} candidates, "
                  f"totalling {n_candidates * n_splits} fits")
        offset = len(self.all_candidate_params)
        pairs = [Pair(i, c, params, s, train, test) for i, ((c, params), (s, (train, test)))
                 in enumerate(product(enumerate(candidate_params), enumerate(splits)))]
        if callback_ctx is not None:
            for pair in pairs:
                pair.context = callback_ctx.subcontext(task_name="candidate-split-evaluation",
                                                       task_id=pair.position)
        self.progress.expect(len(pairs), range(offset, offset + n_candidates), n_splits)
        records = self._evaluate(pairs, n_candidates, offset)
        out = [records[i].result for i in range(len(pairs))]
        if len(out) < 1:
            raise ValueError("No fits were performed. Was the CV iterator empty? "
                             "Were there no candidates?")
        self.not_converged += [offset + pairs[i].candidate for i in range(len(pairs))
                               if records[i].not_converged]
        epochs = np.array([records[i].best_epoch for i in range(len(pairs))])
        self.best_epochs.extend(epochs.reshape(n_candidates, n_splits))
        self.estimators.extend([records[c * n_splits + s].estimator for s in range(n_splits)]
                               for c in range(n_candidates))
        _warn_or_raise_about_fit_failures(out, search.error_score)
        if callable(search.scoring):
            _insert_error_scores(out, search.error_score)
        self.all_candidate_params.extend(candidate_params)
        self.all_out.extend(out)
        for key, value in (more_results or {}).items():
            self.all_more_results[key].extend(value)
        self.results = search._format_results(self.all_candidate_params, n_splits,
                                              self.all_out, self.all_more_results)
        return self.results

    def _evaluate(self, pairs, n_candidates, offset):
        """Every pair's Record, by position: fused chunks and single fits as joblib tasks."""
        settings = Settings(**{**vars(self.settings), "n_candidates": n_candidates})
        workers = effective_n_jobs(self.search.n_jobs)
        chunks, singles = self._plan(pairs, settings, workers)

        def report(record):
            pair = pairs[record.position]
            self.progress.update((offset, record.position), offset + pair.candidate,
                                 record.result["test_scores"])

        in_process = report if workers == 1 else None
        tasks = [delayed(fit_and_score_fused)(self.base, self.X, self.y, chunk, settings,
                                              in_process) for chunk in chunks]
        tasks += [delayed(fit_and_score_single)(self.base, self.X, self.y, pair, settings)
                  for pair in singles]
        records = {}
        for batch in self.parallel(tasks):
            for record in batch:
                records[record.position] = record
                report(record)
        return records

    def _plan(self, pairs, settings, workers):
        """Fused chunks (lists of pairs) and single pairs. In one process every fusible
        pair goes into one chunk (its preprocessing is then fitted once per split and
        setting); with several workers, each group of equal plan keys is split evenly
        among them."""
        groups, singles = defaultdict(list), []
        for pair in pairs:
            est = clone(self.base).set_params(**clone(pair.params, safe=False))
            key = plan_key(est, settings.fit_params)
            (singles.append(pair) if key is None else groups[key].append(pair))
        if workers == 1:
            fused = [p for group in groups.values() for p in group]
            return ([fused] if fused else []), singles
        chunks = []
        for group in groups.values():
            n = min(workers, len(group))
            chunks += [list(c) for c in np.array_split(np.array(group, dtype=object), n)]
        return chunks, singles


_ROUNDS = "    Each round's surviving candidates are trained together.\n"

_FUSED_NOTE = """
    sktune's version: same parameters, attributes and results as scikit-learn's
    :class:`sklearn.model_selection.{name}`, with the fits of sktune networks that differ
    only in per-copy settings (learning rate, L2/L1, dropout, momentum, betas, schedules,
    max_iter, early stopping, class weights, random_state, solver) trained together as
    one stacked network. See docs/tuning.md, "Fused searches".

    Three parameters are sktune's own, ``refit_epochs``, ``refit_ensemble`` and
    ``average_folds``: they shape the refit (``refit=True``; see Parameters).

    Besides scikit-learn's attributes, a fused search has ``cv_best_epochs_`` (ndarray
    of shape (n_candidates, n_splits): the epoch whose weights each fit kept, NaN
    where unknown), ``refit_indices_`` (the candidates refitted) and
    ``refit_max_iter_`` (the epochs each was refitted for; None where its own settings
    decided). Under ``fusion_config(enabled=False)``, or over estimators that are not
    sktune networks, the search is scikit-learn's: the first two parameters are ignored
    and ``average_folds=True`` raises.
"""


_REFIT_PARAMETERS = """
    refit_epochs : {"cv", "early_stopping"}, default="cv"
        ``"cv"``: a best candidate that early-stopped in its cross-validation fits is
        refitted on all the rows for the mean of their best epochs (``cv_best_epochs_``),
        without a hold-out of its own and without early stopping; its length is never
        decided on a small hold-out of the refit's data. ``"early_stopping"``:
        scikit-learn's refit, the candidate's own early stopping included.
    refit_ensemble : int, default=1
        Refit the ``refit_ensemble`` best candidates (each as ``refit_epochs`` says)
        and average them: ``best_estimator_`` is then a soft-voting
        :class:`~sklearn.ensemble.VotingClassifier` or a
        :class:`~sklearn.ensemble.VotingRegressor` of them, best first.
    average_folds : bool, default=False
        Do not refit: ``best_estimator_`` averages the fitted cross-validation models
        of the ``refit_ensemble`` best candidates — ``refit_ensemble * n_splits``
        networks, each trained on its training folds, wrapped in
        :class:`~sklearn.frozen.FrozenEstimator` inside the voting ensemble — so no
        training follows the search. The search keeps every fitted model until it
        ends (memory: one fitted model per candidate and split).
"""


def _doc(sk_class, extra=""):
    """scikit-learn's summary line, the note above, then scikit-learn's own Parameters
    and Attributes sections (the parameters and attributes are the same)."""
    doc = sk_class.__doc__ or ""
    start = doc.find("    Parameters\n    ----------\n")
    end = min((i for i in (doc.find(f"\n    {name}\n    ---", start)
                           for name in ("See Also", "Notes", "Examples")) if i > start),
              default=len(doc))
    sections = doc[start:end].rstrip() + "\n" if start >= 0 else ""
    # sktune's refit parameters close the Parameters section
    attributes = sections.find("\n    Attributes\n    ----------")
    if attributes < 0:
        raise RuntimeError(f"{sk_class.__name__}'s docstring has no Attributes section: "
                           "the refit parameters' entries need a new place")
    sections = sections[:attributes] + _REFIT_PARAMETERS.rstrip() + "\n" + \
        sections[attributes:]
    return (doc.split("\n", 1)[0] + "\n" + _FUSED_NOTE.format(name=sk_class.__name__)
            + extra + "\n" + sections)


class GridSearchCV(_SkGridSearchCV, _FusedSearchCV):
    __doc__ = _doc(_SkGridSearchCV) + """
    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sktune import MLPClassifier
    >>> from sktune.model_selection import GridSearchCV
    >>> X, y = load_iris(return_X_y=True)
    >>> search = GridSearchCV(MLPClassifier(max_iter=20, random_state=0),
    ...                       {"learning_rate_init": [1e-3, 1e-2], "alpha": [1e-4, 1e-2]},
    ...                       cv=3).fit(X, y)
    >>> len(search.cv_results_["params"])
    4
    """

    _parameter_constraints: dict = {**_SkGridSearchCV._parameter_constraints,
                                    **_REFIT_CONSTRAINTS}

    def __init__(self, estimator, param_grid, *, scoring=None, n_jobs=None, refit=True,
                 cv=None, verbose=0, pre_dispatch="2*n_jobs", error_score=np.nan,
                 return_train_score=False, refit_epochs="cv", refit_ensemble=1,
                 average_folds=False):
        super().__init__(estimator, param_grid, scoring=scoring, n_jobs=n_jobs, refit=refit,
                         cv=cv, verbose=verbose, pre_dispatch=pre_dispatch,
                         error_score=error_score, return_train_score=return_train_score)
        self.refit_epochs, self.refit_ensemble = refit_epochs, refit_ensemble
        self.average_folds = average_folds


class RandomizedSearchCV(_SkRandomizedSearchCV, _FusedSearchCV):
    __doc__ = _doc(_SkRandomizedSearchCV) + """
    Examples
    --------
    >>> from scipy.stats import loguniform
    >>> from sklearn.datasets import load_iris
    >>> from sktune import MLPClassifier
    >>> from sktune.model_selection import RandomizedSearchCV
    >>> X, y = load_iris(return_X_y=True)
    >>> search = RandomizedSearchCV(MLPClassifier(max_iter=20, random_state=0),
    ...                             {"learning_rate_init": loguniform(1e-4, 1e-1)},
    ...                             n_iter=4, cv=3, random_state=0).fit(X, y)
    >>> search.best_estimator_.n_iter_ <= 20
    True
    """

    _parameter_constraints: dict = {**_SkRandomizedSearchCV._parameter_constraints,
                                    **_REFIT_CONSTRAINTS}

    def __init__(self, estimator, param_distributions, *, n_iter=10, scoring=None,
                 n_jobs=None, refit=True, cv=None, verbose=0, pre_dispatch="2*n_jobs",
                 random_state=None, error_score=np.nan, return_train_score=False,
                 refit_epochs="cv", refit_ensemble=1,
                 average_folds=False):
        super().__init__(estimator, param_distributions, n_iter=n_iter, scoring=scoring,
                         n_jobs=n_jobs, refit=refit, cv=cv, verbose=verbose,
                         pre_dispatch=pre_dispatch, random_state=random_state,
                         error_score=error_score, return_train_score=return_train_score)
        self.refit_epochs, self.refit_ensemble = refit_epochs, refit_ensemble
        self.average_folds = average_folds


class HalvingGridSearchCV(_SkHalvingGridSearchCV, _FusedSearchCV):
    __doc__ = _doc(_SkHalvingGridSearchCV, extra=_ROUNDS) + """
    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sktune import MLPClassifier
    >>> from sktune.model_selection import HalvingGridSearchCV
    >>> X, y = load_iris(return_X_y=True)
    >>> search = HalvingGridSearchCV(
    ...     MLPClassifier(random_state=0), {"learning_rate_init": [1e-3, 3e-3, 1e-2]},
    ...     resource="max_iter", min_resources=2, max_resources=6, cv=3).fit(X, y)
    >>> search.n_resources_
    [2, 6]
    """

    _parameter_constraints: dict = {**_SkHalvingGridSearchCV._parameter_constraints,
                                    **_REFIT_CONSTRAINTS}

    def __init__(self, estimator, param_grid, *, factor=3, resource="n_samples",
                 max_resources="auto", min_resources="exhaust", aggressive_elimination=False,
                 cv=5, scoring=None, refit=True, error_score=np.nan, return_train_score=True,
                 random_state=None, n_jobs=None, verbose=0, refit_epochs="cv",
                 refit_ensemble=1, average_folds=False):
        super().__init__(estimator, param_grid, factor=factor, resource=resource,
                         max_resources=max_resources, min_resources=min_resources,
                         aggressive_elimination=aggressive_elimination, cv=cv,
                         scoring=scoring, refit=refit, error_score=error_score,
                         return_train_score=return_train_score, random_state=random_state,
                         n_jobs=n_jobs, verbose=verbose)
        self.refit_epochs, self.refit_ensemble = refit_epochs, refit_ensemble
        self.average_folds = average_folds


class HalvingRandomSearchCV(_SkHalvingRandomSearchCV, _FusedSearchCV):
    __doc__ = _doc(_SkHalvingRandomSearchCV, extra=_ROUNDS) + """
    Examples
    --------
    >>> from scipy.stats import loguniform
    >>> from sklearn.datasets import load_iris
    >>> from sktune import MLPClassifier
    >>> from sktune.model_selection import HalvingRandomSearchCV
    >>> X, y = load_iris(return_X_y=True)
    >>> search = HalvingRandomSearchCV(
    ...     MLPClassifier(random_state=0), {"alpha": loguniform(1e-5, 1e-1)},
    ...     n_candidates=6, resource="max_iter", min_resources=2, max_resources=6,
    ...     cv=3, random_state=0).fit(X, y)
    >>> search.n_candidates_
    [6, 2]
    """

    _parameter_constraints: dict = {**_SkHalvingRandomSearchCV._parameter_constraints,
                                    **_REFIT_CONSTRAINTS}

    def __init__(self, estimator, param_distributions, *, n_candidates="exhaust", factor=3,
                 resource="n_samples", max_resources="auto", min_resources="smallest",
                 aggressive_elimination=False, cv=5, scoring=None, refit=True,
                 error_score=np.nan, return_train_score=True, random_state=None, n_jobs=None,
                 verbose=0, refit_epochs="cv", refit_ensemble=1,
                 average_folds=False):
        super().__init__(estimator, param_distributions, n_candidates=n_candidates,
                         factor=factor, resource=resource, max_resources=max_resources,
                         min_resources=min_resources,
                         aggressive_elimination=aggressive_elimination, cv=cv,
                         scoring=scoring, refit=refit, error_score=error_score,
                         return_train_score=return_train_score, random_state=random_state,
                         n_jobs=n_jobs, verbose=verbose)
        self.refit_epochs, self.refit_ensemble = refit_epochs, refit_ensemble
        self.average_folds = average_folds


def _is_true(value):
    return isinstance(value, (bool, np.bool_)) and bool(value)
