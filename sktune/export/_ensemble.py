"""ONNX for seed ensembles: each member through its own converter, averaged as skl2onnx
averages a soft ``VotingClassifier`` (probabilities) or a ``VotingRegressor``."""

from skl2onnx.operator_converters.voting_classifier import convert_voting_classifier
from skl2onnx.operator_converters.voting_regressor import convert_voting_regressor
from sklearn.pipeline import Pipeline

from sktune.export._module import NotExportableError, check_exportable


def check_members(ensemble):
    """Raise :class:`NotExportableError` unless ``ensemble`` is fitted and each member
    is an exportable sktune estimator (a member that is a Pipeline is refused, naming
    the way out)."""
    name = type(ensemble).__name__
    if not hasattr(ensemble, "estimators_"):
        raise NotExportableError(f"This {name} is not fitted yet; fit it before exporting.")
    if isinstance(ensemble.estimators_[0], Pipeline):
        raise NotExportableError(
            f"{name}'s members are Pipelines; the ONNX export averages sktune estimators. "
            "Put the preprocessing before the ensemble instead: make_pipeline(steps..., "
            f"{name}(network)).")
    for member in ensemble.estimators_:
        check_exportable(member)


def _as_vote(ensemble):
    """The fitted equal-weight soft vote of the members that skl2onnx's voting
    converters read (scikit-learn's own VotingClassifier / VotingRegressor)."""
    from sklearn.ensemble import VotingClassifier, VotingRegressor
    from sklearn.preprocessing import LabelEncoder

    named = [(f"member{i}", m) for i, m in enumerate(ensemble.estimators_)]
    if hasattr(ensemble, "classes_"):
        vote = VotingClassifier(named, voting="soft", flatten_transform=False)
        vote.le_ = LabelEncoder().fit(ensemble.classes_)
        vote.classes_ = vote.le_.classes_
    else:
        vote = VotingRegressor(named)
    vote.estimators_ = list(ensemble.estimators_)
    return vote


def _converter(convert_vote):
    def convert(scope, operator, container):
        ensemble = operator.raw_operator
        operator.raw_operator = _as_vote(ensemble)
        try:
            convert_vote(scope, operator, container)
        finally:
            operator.raw_operator = ensemble
    return convert


convert_ensemble_classifier = _converter(convert_voting_classifier)
convert_ensemble_regressor = _converter(convert_voting_regressor)
