"""Every family accepts, validates and documents the shared training parameters alike.

scikit-learn's rule is explicit ``__init__`` signatures, so the ~35 training parameters
are repeated in every estimator; this test keeps the copies identical.
"""

import inspect
import re

import numpy as np
import pytest

from sktune import (
    CNNClassifier,
    CNNRegressor,
    FineTuneClassifier,
    FineTuneRegressor,
    MLPClassifier,
    MLPRegressor,
    RNNClassifier,
    RNNRegressor,
    TransformerClassifier,
    TransformerRegressor,
)
from sktune._base import BaseNeuralEstimator

FAMILIES = [MLPClassifier, MLPRegressor, CNNClassifier, CNNRegressor, RNNClassifier,
            RNNRegressor, FineTuneClassifier, FineTuneRegressor, TransformerClassifier,
            TransformerRegressor]
SHARED = sorted(BaseNeuralEstimator._parameter_constraints)
#: defaults a family changes on purpose (fine-tuning a transformer is not training an MLP)
DELIBERATE = {
    "Transformer": {"solver": "adamw", "alpha": 1e-2, "batch_size": 16, "max_iter": 10,
                    "max_grad_norm": 1.0},
    # the FCN recipe for signals (docs/cnn_rnn.md): reduce-on-plateau, long patience
    "CNN": {"learning_rate": "plateau", "lr_decay": 0.5, "lr_patience": 20,
            "n_iter_no_change": 50},
    # the same recipe for sequences (issue #20: small noisy batches stopped it early)
    "RNN": {"learning_rate": "plateau", "lr_decay": 0.5, "lr_patience": 20,
            "n_iter_no_change": 50},
    # the few-shot recipe (docs/finetune.md, benchmarks/bench_transfer.py): a whole
    # cosine schedule at one rate for backbone and head
    "FineTuneClassifier": {"learning_rate": "cosine", "learning_rate_init": 3e-3,
                           "n_iter_no_change": np.inf},
}


def _defaults(cls):
    return {name: p.default for name, p in inspect.signature(cls).parameters.items()}


@pytest.mark.parametrize("cls", FAMILIES, ids=lambda c: c.__name__)
def test_shared_parameters_have_the_same_defaults_constraints_and_docs(cls):
    reference, defaults = _defaults(MLPClassifier), _defaults(cls)
    special = next((v for k, v in DELIBERATE.items() if cls.__name__.startswith(k)), {})
    missing = [name for name in SHARED if name not in defaults]
    assert not missing, f"{cls.__name__} lacks {missing}"
    for name in SHARED:
        expected = special.get(name, reference[name])
        assert defaults[name] == expected, f"{cls.__name__}.{name}"
        assert cls._parameter_constraints[name] == BaseNeuralEstimator._parameter_constraints[
            name], f"{cls.__name__}.{name} constraint"
        assert re.search(rf"^\s+{name} :", cls.__doc__, re.M), f"{cls.__name__}.{name} doc"


@pytest.mark.parametrize("cls", FAMILIES, ids=lambda c: c.__name__)
def test_every_parameter_has_a_constraint_and_a_doc_line(cls):
    for name in inspect.signature(cls).parameters:
        assert name in cls._parameter_constraints, f"{cls.__name__}.{name} unconstrained"
        # a numpydoc entry of its own ("name : type"), or in a shared one ("a, name : type")
        assert re.search(rf"^\s+(?:\w+, )*{name}(?:, \w+)* :", cls.__doc__, re.M), \
            f"{cls.__name__}.{name} has no numpydoc entry"
