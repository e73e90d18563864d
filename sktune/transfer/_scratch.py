"""FineTuneClassifier's hedge against negative transfer: a network from scratch beside it.

Features pretrained on other classes can miss what tells the new ones apart. On few-shot
draws where the source's own estimator, trained from scratch on the target rows, beats the
fine-tuned network (benchmarks/bench_transfer.py: digits 5-9 -> 0-4, 2 images per class,
draw 3), averaging the two networks' probabilities keeps the better one's accuracy, and on
the draws where transfer wins it keeps most of the gain. The member is the backbone
estimator itself, cloned: its recipe is the one its user chose for this kind of data.
"""

import copy
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from sktune._training import new_seed

#: ``ensemble_scratch="auto"`` trains the member up to this many training rows, where the
#: extra fit costs seconds and where a few images decide between transfer and scratch.
AUTO_MAX_ROWS = 1000

ENSEMBLE_SCRATCH_DOC = f"""\
    ensemble_scratch : "auto" or bool
        A hedge against negative transfer: also train the backbone's own estimator from
        scratch on the same rows (``clone(backbone)``: its recipe without early stopping,
        a seed drawn from ``random_state``, this estimator's ``class_weight``) and average
        its ``predict_proba`` with the fine-tuned network's. Pretrained features can miss
        what tells the new classes apart; in the few-shot benchmark
        (``benchmarks/bench_transfer.py``) the average stays level with a network from
        scratch on the draws where that one beats the fine-tuned network, and keeps the
        gain where transfer wins. Only a fitted ``CNNClassifier``, ``RNNClassifier`` or
        ``MLPClassifier`` backbone has such a clone. ``"auto"`` trains one in a ``fit``
        of at most {AUTO_MAX_ROWS} rows, where the extra fit is cheap (``partial_fit`` cannot
        tell how long a stream is), and continues one that exists; ``True`` always does
        (and needs such a backbone); ``False`` drops it. An interrupted fine-tuning
        starts no member; an interrupted member is dropped, with a warning. An L-BFGS
        member has no ``partial_fit``: kept as it is, with a warning (refused under
        ``True``).
        ``transform`` returns the fine-tuned network's embeddings either way. The member
        is ``scratch_``.
"""

SCRATCH_ATTRIBUTE_DOC = """\
    scratch_ : estimator or None
        The member trained from scratch (a fitted clone of the backbone estimator), or
        None when ``ensemble_scratch`` is off for this fit.
"""


def _mode(setting):
    """``"auto"``, True or False (numpy booleans read as booleans)."""
    return "auto" if isinstance(setting, str) else bool(setting)


def from_scratch(source):
    """Whether ``clone(source)`` is a classifier that trains from random weights: each
    sktune family declares it (``_clone_trains_from_scratch``; a fine-tuner's or a text
    transformer's clone would start from pretrained weights again)."""
    from sklearn.base import is_classifier

    from sktune._base import BaseNeuralEstimator

    return isinstance(source, BaseNeuralEstimator) and is_classifier(source) and \
        type(source)._clone_trains_from_scratch


def check_member_backbone(setting, source):
    """``ensemble_scratch=True`` needs a backbone whose clone trains from scratch."""
    if _mode(setting) is True and not from_scratch(source):
        raise ValueError(
            "ensemble_scratch=True needs a fitted sktune CNNClassifier, RNNClassifier or "
            "MLPClassifier as the backbone (its clone is the network trained from "
            "scratch); got "
            f"{type(source).__name__ if source is not None else 'a module or model name'}."
            " Use ensemble_scratch='auto' or False.")


def plan_member(est, source, y, *, continuing, incremental=False):
    """The member this fit trains: a copy of the fitted one to continue (never the fitted
    one itself, so that a failure changes nothing), a fresh clone of ``source``, or
    None. ``"auto"`` starts one only in a fresh ``fit`` of at most ``AUTO_MAX_ROWS``
    rows (``partial_fit`` cannot tell how long a stream is); ``False`` drops one."""
    mode = _mode(est.ensemble_scratch)
    if mode is False:
        return None
    previous = getattr(est, "scratch_", None) if continuing else None
    if previous is not None:
        return copy.deepcopy(previous)
    n_rows = y.shape[0] if hasattr(y, "shape") else len(np.asarray(y))
    if mode == "auto" and (continuing or incremental or not from_scratch(source)
                           or n_rows > AUTO_MAX_ROWS):
        return None
    member = clone(source)
    params = {"random_state": _member_seed(est.random_state), "early_stopping": False}
    if "class_weight" in member.get_params():
        params["class_weight"] = est.class_weight
    return member.set_params(**params)


def kept_after_interrupt(est, previous, *, continuing):
    """The member after the fine-tuning was interrupted: no second training run starts;
    a continued fit keeps the member it had (unless ``ensemble_scratch=False``), with a
    warning that it did not see this call's rows."""
    if continuing and previous is not None and _mode(est.ensemble_scratch) is not False:
        warnings.warn("The fine-tuning was interrupted, so the member from scratch "
                      "(ensemble_scratch) was not trained on these rows; it is kept as it "
                      "was.", RuntimeWarning, stacklevel=6)
        return previous
    return None


def fit_member(est, member, X, y, sample_weight, *, incremental, continuing, classes=None):
    """Train (or continue) the member on the rows the fine-tuned network saw; None if
    that training was interrupted, at any point (the model is then the fine-tuned
    network alone, and a warning says so).

    Its ``ConvergenceWarning`` is not passed on: its epoch budget is the backbone's, not
    a parameter of this estimator, and a few-shot fit from scratch runs to that budget
    by design. Its other warnings are (after it has finished).
    """
    if member is None:
        return None
    if incremental and not hasattr(member, "partial_fit"):
        return _no_partial_fit(est, member)
    interrupted = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if incremental:
                member.partial_fit(X, y, sample_weight=sample_weight, classes=classes)
            else:
                if continuing:  # a fresh clone (ensemble_scratch=True) fits from scratch
                    member.set_params(warm_start=True)
                member.fit(X, y, sample_weight=sample_weight)
            interrupted = member.stop_reason_ == "interrupted"
        except KeyboardInterrupt:  # before its first epoch ended, or inside L-BFGS
            interrupted = True
    for w in caught:  # the member's own interrupt warning is replaced by the one below
        if not issubclass(w.category, ConvergenceWarning) and not (
                interrupted and "interrupted" in str(w.message)):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if interrupted:
        warnings.warn("Training of the member from scratch (ensemble_scratch) was "
                      "interrupted: it is dropped, and the model is the fine-tuned network "
                      "alone (scratch_ is None).", RuntimeWarning, stacklevel=6)
        return None
    return member


def _no_partial_fit(est, member):
    """An L-BFGS member in ``partial_fit``: refused when ``ensemble_scratch=True`` asks
    for a member trained on every row; kept as it is, with a warning, under "auto"."""
    if _mode(est.ensemble_scratch) is True or not hasattr(member, "net_"):
        raise ValueError(
            f"ensemble_scratch=True: the member, a clone of "
            f"{type(member).__name__}(solver={member.solver!r}), cannot be trained by "
            "partial_fit; call fit, or set ensemble_scratch to 'auto' or False.")
    warnings.warn(f"The member from scratch, a {type(member).__name__} with "
                  f"solver={member.solver!r}, has no partial_fit: it keeps what fit taught "
                  "it and does not see these rows (ensemble_scratch=False drops it).",
                  UserWarning, stacklevel=7)
    return member


def _member_seed(random_state):
    """An int seed for the member, drawn from ``random_state`` (None stays None), so that
    it differs from the seed a user gives a scratch network of their own."""
    return None if random_state is None else new_seed(random_state)
