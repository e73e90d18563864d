"""Evaluating a search's (candidate, split) pairs: fused chunks and single fits.

Both kinds of task return scikit-learn's per-fit records (``_fit_and_score``'s dict:
``fit_error``, ``test_scores``, ``train_scores``, ``n_test_samples``, ``fit_time``,
``score_time``), so that scikit-learn's own code aggregates them into ``cv_results_``.

A fused chunk (:func:`fit_and_score_fused`) does for each pair what ``_fit_and_score``
does — set the parameters on a clone, split the data, fit, score with the same scorer,
report with the same messages — except that the fits are prepared first
(``_begin_fit``), trained together where they can be
(the engine's :func:`~sktune.engine.train_stacked`), and committed
(``_end_fit``) one by one as they finish. In a Pipeline the preprocessing steps are
fitted once per split and distinct preprocessing setting and shared by the pairs that
use them. A pair's ``fit_time`` is its own preparation and commit time plus its share
of the group's training time (and of its preprocessing).
"""

import time
import traceback
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial
from inspect import signature

import numpy as np
from joblib import hash as joblib_hash
from joblib import logger
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from sktune import _training
from sktune._compat import (
    _check_method_params,
    _fit_and_score,
    _MultimetricScorer,
    _num_samples,
    _safe_split,
    _score,
)
from sktune.engine import train_stacked
from sktune.engine._stacked_data import same
from sktune.model_selection._fusion import (
    _activation_bytes,
    cache_chunk,
    chunk_sizes,
    copy_bytes,
    fusion_signature,
    memory_budget,
    plan_key,
)
from sktune.model_selection._wrappers import (
    commit,
    fit_path,
    fit_preprocessing,
    prepare_input,
    use_preprocessing,
)

_HAS_CALLBACKS = "callback_ctx" in signature(_fit_and_score).parameters


@dataclass
class Pair:
    """One (candidate, split) fit of a search; ``position`` is its index in
    scikit-learn's order (candidates outer, splits inner)."""

    position: int
    candidate: int
    params: dict
    split: int
    train: object
    test: object
    context: object = None


@dataclass
class Settings:
    """What every fit of one search shares (``_fit_and_score``'s keyword arguments)."""

    scorer: object
    fit_params: dict
    score_params: dict
    return_train_score: bool
    error_score: object
    verbose: int
    n_splits: int
    n_candidates: int
    caller: object = None
    max_memory: int = None
    keep_estimators: bool = False  # return each fitted model (``average_folds``)


@dataclass
class Record:
    """A finished pair: scikit-learn's result dict, whether its fit warned that it
    did not converge (summarised once per search instead of once per fit), and the
    epoch its network's weights come from (:func:`best_epoch`; NaN when unknown), and
    the fitted model where the search keeps them (``Settings.keep_estimators``)."""

    position: int
    result: dict
    not_converged: bool = False
    best_epoch: float = float("nan")
    estimator: object = None


def best_epoch(network):
    """The epoch whose weights a fitted sktune network kept: with early stopping and
    best-weight restore, the epoch of its best validation score (the first, on ties);
    otherwise its last epoch. NaN for anything else (a failed fit, another estimator)."""
    scores = getattr(network, "validation_scores_", None)
    n_iter = getattr(network, "n_iter_", None)
    if scores and getattr(network, "restore_best_weights", False):
        return float(max(range(len(scores)), key=scores.__getitem__) + 1)
    return float(n_iter) if isinstance(n_iter, int) and n_iter > 0 else float("nan")


def _fitted_network(estimator):
    """The fitted sktune network inside a fitted Pipeline / TransformedTargetRegressor."""
    node = estimator
    while node is not None and fit_path(node) is not None:
        if fit_path(node).prefix == "":
            return node
        node = node.steps[-1][1] if hasattr(node, "steps") else getattr(node, "regressor_", None)
    return None


def fit_and_score_single(base_estimator, X, y, pair, settings):
    """scikit-learn's own ``_fit_and_score`` for one pair, its convergence warning
    counted instead of shown."""
    kwargs = {"caller": settings.caller, "callback_ctx": pair.context} if _HAS_CALLBACKS else {}
    with _ConvergenceCounter() as counter:
        result = _fit_and_score(
            clone(base_estimator), X, y, scorer=settings.scorer, train=pair.train,
            test=pair.test, verbose=settings.verbose, parameters=pair.params,
            fit_params=settings.fit_params, score_params=settings.score_params,
            return_train_score=settings.return_train_score, return_n_test_samples=True,
            return_times=True, error_score=settings.error_score,
            split_progress=(pair.split, settings.n_splits),
            candidate_progress=(pair.candidate, settings.n_candidates),
            return_estimator=True, **kwargs)
    fitted = result.pop("estimator", None)  # its best epoch travels back, and it if kept
    failed = result.get("fit_error") is not None
    epoch = np.nan if failed else best_epoch(_fitted_network(fitted))
    kept = fitted if settings.keep_estimators and not failed else None
    return [Record(pair.position, result, counter.count > 0, epoch, kept)]


class _ConvergenceCounter(warnings.catch_warnings):
    """Count ConvergenceWarnings raised in the block; re-issue every other warning."""

    def __init__(self):
        super().__init__(record=True)
        self.count = 0

    def __enter__(self):
        self._caught = super().__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        super().__exit__(*exc)
        for w in self._caught:
            if issubclass(w.category, ConvergenceWarning):
                self.count += 1
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return False


@dataclass(eq=False)
class _Item:
    """A pair being evaluated in a fused chunk."""

    pair: Pair
    estimator: object = None
    final: object = None
    run: object = None
    error: BaseException = None
    seconds: float = 0.0
    prep_key: object = None
    data: dict = field(default_factory=dict)


def fit_and_score_fused(base_estimator, X, y, pairs, settings, progress=None):
    """Evaluate ``pairs`` with their fits trained together where they can be.

    Returns
    -------
    records : list of Record
        One per pair (in no particular order).
    """
    chunk = _Chunk(base_estimator, X, y, settings, progress)
    groups = defaultdict(list)  # pairs whose parameters may fuse, in order
    for pair in pairs:
        est = clone(base_estimator).set_params(**clone(pair.params, safe=False))
        groups[plan_key(est, settings.fit_params)].append(pair)
    for group in groups.values():
        chunk.evaluate_group(group)
    return list(chunk.records.values())


class _Chunk:
    def __init__(self, base_estimator, X, y, settings, progress):
        self.base, self.X, self.y, self.settings = base_estimator, X, y, settings
        self.progress = progress
        self.records = {}
        self.preprocessed = {}   # (split, setting) -> (fitted steps, Xt, seconds, users)
        self.splits = {}         # split -> its data and parameters
        self.datasets = defaultdict(list)

    # ---- preparation ------------------------------------------------------------------
    def prepare(self, pair):
        s = self.settings
        item = _Item(pair)
        if s.verbose > 9:
            print(_start_message(pair, s))
        start = time.time()
        est = item.estimator = clone(self.base).set_params(**clone(pair.params, safe=False))
        item.data = self._split(est, pair)
        fit_params = item.data["fit_params"]
        X_train, y_train = item.data["X_train"], item.data["y_train"]
        path = fit_path(est)
        _task_begin(pair, s, X_train, y_train, fit_params)
        try:
            preprocess = partial(self._preprocess, item, path.prefix)
            item.final, Xt, yt = prepare_input(est, X_train, y_train, preprocess)
            item.run = item.final._begin_fit(Xt, yt, fit_params.get(path.weight_key))
            self._share_dataset(item)
        except Exception as exc:
            self._failed(item, exc)
        item.seconds += time.time() - start
        return item

    def _split(self, est, pair):
        """The pair's train and test data and parameters, computed once per split: the
        pairs of one split share them (one copy of the data per split, not per pair)."""
        if pair.split not in self.splits:
            s, X, y = self.settings, self.X, self.y
            X_train, y_train = _safe_split(est, X, y, pair.train)
            X_test, y_test = _safe_split(est, X, y, pair.test, pair.train)
            self.splits[pair.split] = dict(
                X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test,
                fit_params=_check_method_params(X, params=s.fit_params, indices=pair.train),
                score_train=_check_method_params(X, params=s.score_params, indices=pair.train),
                score_test=_check_method_params(X, params=s.score_params, indices=pair.test))
        return self.splits[pair.split]

    def _preprocess(self, item, final_prefix, pipeline, depth, X, y):
        """A pipeline's preprocessing, fitted once per split and setting: pairs whose
        parameters outside the network (``final_prefix``) are equal share it."""
        if len(pipeline.steps) == 1:  # nothing before the network to fit
            return X
        setting = {k: v for k, v in item.pair.params.items()
                   if k != final_prefix[:-2] and not k.startswith(final_prefix)}
        item.prep_key = (item.pair.split, depth, _hash_or_own(setting, item))
        cached = self.preprocessed.get(item.prep_key)
        if cached is None:
            start = time.time()
            steps, Xt = fit_preprocessing(pipeline, X, y)
            cached = self.preprocessed[item.prep_key] = [steps, Xt, time.time() - start, 0]
        cached[3] += 1
        use_preprocessing(pipeline, cached[0])
        return cached[1]

    def _share_dataset(self, item):
        """Fits of the same split (and preprocessing) hold one copy of their data."""
        dataset = item.run.dataset
        known = self.datasets[item.prep_key or item.pair.split]
        for other in known:
            if same(other.X, dataset.X) and same(other.y, dataset.y) and \
                    same(other.sample_weight, dataset.sample_weight):
                item.run.dataset = other
                return
        known.append(dataset)

    # ---- training ---------------------------------------------------------------------
    def evaluate_group(self, pairs):
        """Prepare, train, commit and score ``pairs`` one memory chunk at a time: a chunk
        is trained as soon as it is prepared and its copies are released as they are
        committed, so that memory holds one chunk, whatever the number of candidates.
        Fits that cannot stack with the others train on their own; prepared fits of
        another stacking signature (other shapes after preprocessing) wait for the end."""
        sizes, key, ready, others = [], None, [], defaultdict(list)
        for position, pair in enumerate(pairs):
            item = self.prepare(pair)
            if item.error is not None:  # failed before training
                self.finish(item)
                continue
            signature = fusion_signature(item.run)
            if signature is None:
                self.train_single(item)
                continue
            if key is None:
                key, sizes = signature, self._chunk_sizes(item.run, len(pairs) - position)
            if signature != key:
                others[signature].append(item)
                continue
            ready.append(item)
            if len(ready) >= sizes[0]:
                self._train_chunk(ready)
                ready = []
                sizes = sizes[1:] or [len(pairs)]
        if ready:
            self._train_chunk(ready)
        for members in others.values():
            self.train_group(members)

    def _chunk_sizes(self, run, n):
        """Chunk sizes for ``n`` copies like ``run``: within the memory budget and, on the
        CPU, the cache bound (:mod:`~sktune.model_selection._fusion`)."""
        budget = memory_budget(run.net.device, self.settings.max_memory)
        activations = _activation_bytes(run)  # one forward pass serves both bounds
        return chunk_sizes(n, copy_bytes(run, activations), budget,
                           cache_chunk(run, activations))

    def _train_chunk(self, members):
        if len(members) == 1:
            self.train_single(members[0])
            return
        runs = [item.run for item in members]

        def done(i, outcome):
            item = members[i]
            item.seconds += outcome.seconds
            if outcome.error is not None:
                self._failed(item, outcome.error)
            self.finish(item)

        train_stacked(runs, on_done=done)

    def train_single(self, item):
        start = time.time()
        try:
            _training.train(item.run)
        except Exception as exc:
            item.seconds += time.time() - start
            self._failed(item, exc)
            self.finish(item)
            return
        item.seconds += time.time() - start
        self.finish(item)

    def train_group(self, members):
        """Prepared fits of one stacking signature, in chunks of :meth:`_chunk_sizes`."""
        sizes = self._chunk_sizes(members[0].run, len(members))
        for size in sizes:
            part, members = members[:size], members[size:]
            self._train_chunk(part)

    def _failed(self, item, exc):
        if self.settings.error_score == "raise":
            raise exc
        item.error = exc

    # ---- commit, score, record ----------------------------------------------------------
    def finish(self, item):
        """Commit a trained pair, score it and record it (scikit-learn's record)."""
        s, pair, d = self.settings, item.pair, item.data
        not_converged = False
        if item.error is None:
            start = time.time()
            try:
                with _ConvergenceCounter() as counter:
                    item.final._end_fit(item.run)
                commit(item.estimator)
                not_converged = counter.count > 0
            except Exception as exc:
                self._failed(item, exc)
            item.seconds += time.time() - start
        if item.prep_key is not None and item.prep_key in self.preprocessed:
            cached = self.preprocessed[item.prep_key]
            item.seconds += cached[2] / cached[3]
        item.run = None
        result = {}
        if item.error is not None:
            result["fit_error"] = "".join(traceback.format_exception(item.error))
            test_scores = train_scores = _error_scores(s)
            score_time = 0.0
        else:
            result["fit_error"] = None
            start = time.time()
            test_scores = _score(item.estimator, d["X_test"], d["y_test"], s.scorer,
                                 d["score_test"], s.error_score)
            score_time = time.time() - start
            if s.return_train_score:
                train_scores = _score(item.estimator, d["X_train"], d["y_train"], s.scorer,
                                      d["score_train"], s.error_score)
        _task_end(pair, s, d["X_train"], d["y_train"])
        if s.verbose > 1:
            print(_end_message(pair, s, test_scores,
                               train_scores if s.return_train_score else None,
                               item.seconds + score_time))
        result["test_scores"] = test_scores
        if s.return_train_score:
            result["train_scores"] = train_scores
        result["n_test_samples"] = _num_samples(d["X_test"])
        result["fit_time"] = item.seconds
        result["score_time"] = score_time
        epoch = best_epoch(item.final) if item.error is None else np.nan
        kept = item.estimator if s.keep_estimators and item.error is None else None
        record = self.records[pair.position] = Record(pair.position, result, not_converged,
                                                      epoch, kept)
        item.estimator = item.final = None
        item.data = {}
        if self.progress is not None:
            self.progress(record)


def _hash_or_own(setting, item):
    """A key shared by pairs with equal ``setting``; a setting joblib cannot hash (a
    lambda) gets a key of its own pair: its preprocessing is fitted for it alone."""
    try:
        return joblib_hash(setting)
    except Exception:  # noqa: BLE001 - unpicklable values: no sharing, never a failure
        return ("unhashable", id(item))


def _error_scores(settings):
    if isinstance(settings.scorer, _MultimetricScorer):
        return {name: settings.error_score for name in settings.scorer._scorers}
    return settings.error_score


def _task_begin(pair, settings, X, y, fit_params):
    if pair.context is not None:
        weight = fit_params.get("sample_weight")
        pair.context.call_on_fit_task_begin(
            estimator=settings.caller, X=X, y=y,
            metadata=None if weight is None else {"sample_weight": weight})


def _task_end(pair, settings, X, y):
    if pair.context is not None:
        pair.context.call_on_fit_task_end(estimator=settings.caller, X=X, y=y)


# ---- scikit-learn's verbose messages ---------------------------------------------------
def _progress_message(pair, settings):
    msg = ""
    if settings.verbose > 2:
        msg = f" {pair.split + 1}/{settings.n_splits}"
        if settings.verbose > 9:
            msg += f"; {pair.candidate + 1}/{settings.n_candidates}"
    return msg


def _params_message(pair):
    return ", ".join(f"{k}={pair.params[k]}" for k in sorted(pair.params))


def _start_message(pair, settings):
    msg = f"[CV{_progress_message(pair, settings)}] START {_params_message(pair)}"
    return msg + (80 - len(msg)) * "."


def _end_message(pair, settings, test_scores, train_scores, total_time):
    end_msg = f"[CV{_progress_message(pair, settings)}] END "
    params = _params_message(pair)
    result_msg = params + (";" if params else "")
    if settings.verbose > 2:
        if isinstance(test_scores, dict):
            for name in sorted(test_scores):
                result_msg += f" {name}: ("
                if train_scores is not None:
                    result_msg += f"train={train_scores[name]:.3f}, "
                result_msg += f"test={test_scores[name]:.3f})"
        else:
            result_msg += ", score="
            if train_scores is not None:
                result_msg += f"(train={train_scores:.3f}, test={test_scores:.3f})"
            else:
                result_msg += f"{test_scores:.3f}"
    result_msg += f" total time={logger.short_format_time(total_time)}"
    return end_msg + "." * (80 - len(end_msg) - len(result_msg)) + result_msg
