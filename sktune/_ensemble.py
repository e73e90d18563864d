"""Seed ensembles: copies of one estimator that differ only in their seed, trained as one
stacked network where they stack, their predictions averaged."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from sktune._base import inherit_input_features
from sktune._compat import HasMethods, Interval, _fit_context
from sktune._mlp import MLPClassifier, MLPRegressor
from sktune.model_selection._together import fit_together
from sktune.model_selection._wrappers import fit_path

_SEED_DOC = """\
    Parameters
    ----------
    estimator : estimator, default=None
        What each member is: an sktune estimator, or a Pipeline /
        TransformedTargetRegressor ending with one (any estimator with a
        ``random_state`` parameter works; those that do not stack fit one by one).
        None: ``{default}()``.
    n_estimators : int, default=5
        Members.
    random_state : int, RandomState instance or None, default=None
        Draws the members' seeds: every ``random_state`` parameter of a member (its
        network's, and those of the steps before it) is set to its own draw.
"""

_SEED_ATTRIBUTES = """\
    estimators_ : list of estimators
        The fitted members.
    seeds_ : ndarray of shape (n_estimators,)
        The seed each member was given.
    n_features_in_ : int
        Features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen in fit, when X had string column names.
"""


class _SeedEnsemble(BaseEstimator):
    """The members, their seeds, and their fit together (one path: ``fit_together``)."""

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator=None, n_estimators=5, *, random_state=None):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.random_state = random_state

    def _estimator(self):
        return self._default() if self.estimator is None else self.estimator

    def __sklearn_tags__(self):
        from sklearn.utils import get_tags

        tags = super().__sklearn_tags__()
        inner = get_tags(self._estimator())
        tags.input_tags, tags.target_tags = inner.input_tags, inner.target_tags
        tags.classifier_tags, tags.regressor_tags = inner.classifier_tags, inner.regressor_tags
        tags.non_deterministic = inner.non_deterministic
        return tags

    def _members(self):
        seeds = check_random_state(self.random_state).randint(
            np.iinfo(np.int32).max, size=self.n_estimators)
        members = []
        for seed in seeds:
            member = clone(self._estimator())
            names = [name for name in member.get_params(deep=True)
                     if name == "random_state" or name.endswith("__random_state")]
            if not names:
                raise ValueError(
                    f"{type(self).__name__} varies its members' seeds, but "
                    f"{type(self._estimator()).__name__} has no random_state parameter.")
            member.set_params(**dict.fromkeys(names, int(seed)))
            members.append(member)
        return members, seeds

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Fit every member on ``X, y``; those whose networks stack train as one.

        Parameters
        ----------
        X : array-like
            Training input, as ``estimator`` takes it.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to each member's network (through a Pipeline to its last step).

        Returns
        -------
        self : object
            The fitted ensemble.
        """
        members, seeds = self._members()
        params = {}
        if sample_weight is not None:
            path = fit_path(members[0])
            params = {path.weight_key if path is not None else "sample_weight": sample_weight}
        fit_together(members, X, y, params)  # the first failure raises: nothing is kept
        self.estimators_, self.seeds_ = members, seeds
        inherit_input_features(self, members[0])
        return self


class SeedEnsembleClassifier(ClassifierMixin, _SeedEnsemble):
    __doc__ = f"""Soft vote of ``n_estimators`` copies of a classifier that differ only in
    their seed (initial weights, batch order, dropout), trained as one stacked network.

    Small training sets make a network's accuracy depend on its seed (three seeds of one
    CNN on ArrowHead's 36 series: 81.1 / 61.7 / 79.4%); averaging the probabilities of
    a few copies trades that variance for their cost (about ``n_estimators`` fits on a
    CPU: benchmarks/bench_ensemble_cost.py). A CNN on a small signal set already
    averages copies by default (``n_ensemble``); this wrapper does it for any
    estimator (pass ``n_ensemble=1`` to a CNN member, or the copies multiply). Members
    whose networks stack train together in one fused fit (as a fused
    search trains its candidates), each as its own ``fit`` would train it (equal to
    1e-9 in float64; float32 rounding differs between the fused and the single
    convolutions, and a long training can amplify it); the others fit one by one.

{_SEED_DOC.format(default="MLPClassifier")}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
{_SEED_ATTRIBUTES}
    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sktune import MLPClassifier, SeedEnsembleClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> ens = SeedEnsembleClassifier(MLPClassifier((16,), max_iter=50), n_estimators=3,
    ...                              random_state=0).fit(X, y)
    >>> len(ens.estimators_), ens.predict_proba(X[:2]).shape
    (3, (2, 3))
    """

    _default = MLPClassifier

    def fit(self, X, y, sample_weight=None):  # noqa: D102 - the base's docstring
        super().fit(X, y, sample_weight)
        self.classes_ = self.estimators_[0].classes_
        return self

    fit.__doc__ = _SeedEnsemble.fit.__doc__

    def predict_proba(self, X):
        """The members' mean class probabilities.

        Parameters
        ----------
        X : array-like
            Input, as ``estimator`` takes it.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Mean of the members' ``predict_proba``.
        """
        check_is_fitted(self)
        return np.mean([m.predict_proba(X) for m in self.estimators_], axis=0)

    def predict(self, X):
        """The class of highest mean probability.

        Parameters
        ----------
        X : array-like
            Input, as ``estimator`` takes it.

        Returns
        -------
        ndarray of shape (n_samples,)
            Predicted labels.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class SeedEnsembleRegressor(RegressorMixin, _SeedEnsemble):
    __doc__ = f"""Mean of ``n_estimators`` copies of a regressor that differ only in their
    seed, trained as one stacked network where their networks stack.

{_SEED_DOC.format(default="MLPRegressor")}
    Attributes
    ----------
{_SEED_ATTRIBUTES}
    Examples
    --------
    >>> import numpy as np
    >>> from sktune import MLPRegressor, SeedEnsembleRegressor
    >>> X = np.linspace(0, 1, 40).reshape(-1, 1)
    >>> ens = SeedEnsembleRegressor(MLPRegressor(hidden_layer_sizes=(8,), max_iter=20),
    ...                             n_estimators=2,
    ...                             random_state=0).fit(X, X.ravel())
    >>> ens.predict(X[:3]).shape
    (3,)
    """

    _default = MLPRegressor

    def predict(self, X):
        """The members' mean prediction.

        Parameters
        ----------
        X : array-like
            Input, as ``estimator`` takes it.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Mean of the members' ``predict``.
        """
        check_is_fitted(self)
        return np.mean([m.predict(X) for m in self.estimators_], axis=0)
