"""The contract with skorch: the methods the engine overrides are the ones it was written for.

The engine (:mod:`sktune.engine._net`) overrides or relies on these ``skorch.NeuralNet``
methods. When a skorch release changes one, this test fails and names it, so the
override is re-read against the new code before the pinned range in pyproject.toml
(``sktune._compat.SKORCH_TESTED``) is widened. To accept a change after that review,
update the digest printed in the failure message.
"""

import hashlib
import inspect
import re
from pathlib import Path

import pytest
import skorch

from sktune._compat import SKLEARN_REPLICATED, SKORCH_OVERRIDDEN, SKORCH_TESTED

#: sha256 (first 16 hex digits) of each method's source in skorch 1.4.0
DIGESTS = {
    "partial_fit": "0197dfa48daeafc8",
    "fit_loop": "7fb96aa97bb91bea",
    "run_single_epoch": "f20ccfd4d8a09fc7",
    "train_step": "599ae7a8d41ece01",
    "validation_step": "3e31c064b1c67151",
    "evaluation_step": "5b0a301496583cf5",
    "infer": "fe6b3271c415652e",
    "get_loss": "dd5992047d561348",
    "get_iterator": "5d6453e5664ecf91",
    "get_params_for_optimizer": "1685092e09876546",
    "initialize": "569f56454b29d74e",
    "initialize_callbacks": "e8e93b0d6b69c626",
    "notify": "0978c15227fec2fb",
    "__getstate__": "9d204c0cd36c4181",
    "__setstate__": "c2e42c6714707cc5",
    "on_epoch_begin": "c6f604d445737641",
    "predict": "d493c2349a940a17",
    "predict_proba": "873fae1abd923da7",
}
#: the same, for scikit-learn 1.9's methods whose steps the fused searches repeat
SKLEARN_DIGESTS = {
    "TransformedTargetRegressor.fit": "25308e9409265721",
    "TransformedTargetRegressor._fit_transformer": "f81a3a09f637c5bf",
}


@pytest.mark.parametrize("name", SKORCH_OVERRIDDEN)
def test_overridden_skorch_method_is_unchanged(name):
    source = inspect.getsource(getattr(skorch.NeuralNet, name))
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    assert digest == DIGESTS[name], (
        f"skorch {skorch.__version__} changed NeuralNet.{name} (digest {digest}); re-read "
        f"sktune.engine.Engine's use of it before accepting the new digest.")


@pytest.mark.parametrize("name", SKLEARN_REPLICATED)
def test_replicated_scikit_learn_method_is_unchanged(name):
    import sklearn.compose

    from sktune._compat import replicated_steps_apply

    if not replicated_steps_apply():  # another release: those steps are not repeated
        from sklearn.compose import TransformedTargetRegressor

        from sktune import MLPRegressor
        from sktune.model_selection._wrappers import fit_path

        assert fit_path(TransformedTargetRegressor(MLPRegressor())) is None
        return
    cls, method = name.split(".")
    source = inspect.getsource(getattr(getattr(sklearn.compose, cls), method))
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    assert digest == SKLEARN_DIGESTS[name], (
        f"scikit-learn changed {name} (digest {digest}); re-read "
        "sktune/model_selection/_wrappers.py, which repeats its steps, before accepting it.")


def test_pyproject_pins_the_tested_skorch_range():
    pyproject = (Path(__file__).parent.parent / "pyproject.toml").read_text()
    assert re.search(rf'"skorch{re.escape(SKORCH_TESTED)}"', pyproject)


def test_private_imports_live_in_the_compat_module():
    package = Path(__file__).parent.parent / "sktune"
    private = re.compile(r"^\s*from (sklearn|joblib|skorch)\S*\._\w+ import|"
                         r"^\s*from (sklearn|joblib|skorch)\S* import _\w+", re.M)
    offenders = [str(p.relative_to(package)) for p in package.rglob("*.py")
                 if p.name != "_compat.py" and private.search(p.read_text())]
    assert not offenders, f"private imports outside sktune/_compat.py: {offenders}"
