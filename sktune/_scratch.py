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
from sklearn.base import clone, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

#: ``ensemble_scratch="auto"`` trains the member up to this many training rows, where the
#: extra fit costs seconds and where a few images decide between transfer and scratch.
AUTO_MAX_ROWS = 1000

ENSEMBLE_SCRATCH_DOC = """\
    ensemble_scratch : "auto" or bool, default="auto"
        A hedge against negative transfer: also train the backbone's own estimator from
        scratch on the same rows (``clone(backbone)``: its recipe, a seed drawn from
        ``random_state``, this estimator's ``class_weight``) and average its
        ``predict_proba`` with the fine-tuned network's. Pretrained features can miss
        what tells the new classes apart; in the few-shot benchmark
        (``benchmarks/bench_transfer.py``) the average stays level with a network from
        scratch on the draws where that one beats the fine-tuned network, and keeps the
        gain where transfer wins. ``"auto"`` is on when the backbone is a fitted sktune
        classifier and ``fit`` gets at most {max_rows} rows, where the extra fit is
        cheap, and off otherwise; ``partial_fit`` never starts one (one batch does not
        tell how long a stream is). ``True`` requires such a backbone. A member is
        continued by ``partial_fit`` and ``warm_start``; ``transform`` returns the
        fine-tuned network's embeddings either way. The member is ``scratch_``.
""".replace("{max_rows}", str(AUTO_MAX_ROWS))

SCRATCH_ATTRIBUTE_DOC = """\
    scratch_ : estimator or None
        The member trained from scratch (a fitted clone of the backbone estimator), or
        None when ``ensemble_scratch`` is off for this fit.
"""


def check_member_backbone(setting, source):
    """``ensemble_scratch=True`` needs a fitted sktune classifier as the backbone."""
    if setting is True and (source is None or not is_classifier(source)):
        raise ValueError(
            "ensemble_scratch=True needs a fitted sktune classifier as the backbone (its "
            "clone is the network trained from scratch); got "
            f"{type(source).__name__ if source is not None else 'a module or model name'}."
            " Use ensemble_scratch='auto' or False.")


def plan_member(est, source, y, *, continuing, incremental=False):
    """The member this fit trains: a fresh clone of ``source``, a copy of the fitted one
    to continue (never the fitted one itself, so that a failure changes nothing), or
    None. ``"auto"`` never starts one in ``partial_fit``: one batch of a stream does not
    tell how many rows will come."""
    if continuing:
        member = getattr(est, "scratch_", None)
        return None if member is None else copy.deepcopy(member)
    n_rows = y.shape[0] if hasattr(y, "shape") else len(np.asarray(y))
    wanted = est.ensemble_scratch is True or (
        est.ensemble_scratch == "auto" and source is not None and is_classifier(source)
        and not incremental and n_rows <= AUTO_MAX_ROWS)
    if not wanted:
        return None
    member = clone(source)
    params = {"random_state": _member_seed(est.random_state)}
    if "class_weight" in member.get_params():
        params["class_weight"] = est.class_weight
    return member.set_params(**params)


def fit_member(member, X, y, sample_weight, *, incremental, warm_start, classes=None):
    """Train (or continue) the member on the rows the fine-tuned network saw.

    Its ``ConvergenceWarning`` is not passed on: its epoch budget is the backbone's, not
    a parameter of this estimator, and a few-shot fit from scratch runs to that budget
    by design. Its other warnings (e.g. an interrupted fit) are.
    """
    if member is None:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if incremental:
            if hasattr(member, "partial_fit"):  # not with an L-BFGS member: left as it is
                member.partial_fit(X, y, sample_weight=sample_weight, classes=classes)
            return member
        if warm_start:
            member.set_params(warm_start=True)
        return member.fit(X, y, sample_weight=sample_weight)


def _member_seed(random_state):
    """An int seed for the member, drawn from ``random_state`` (None stays None), so that
    it differs from the seed a user gives a scratch network of their own."""
    if random_state is None:
        return None
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
