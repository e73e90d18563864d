"""Exceptions raised by sktune estimators."""


class TrainingDivergedError(ValueError, ArithmeticError):
    """The training or validation loss became NaN or infinite.

    Subclasses ``ValueError`` so that scikit-learn's searches treat it like any other
    failed fit: with ``error_score=np.nan`` the candidate scores NaN and the search
    goes on.

    Examples
    --------
    >>> import numpy as np
    >>> from sktune import MLPRegressor, TrainingDivergedError
    >>> X = np.random.RandomState(0).normal(size=(40, 3))
    >>> try:
    ...     MLPRegressor(solver="sgd", learning_rate_init=1e12, random_state=0).fit(X, X[:, 0])
    ... except TrainingDivergedError as error:
    ...     print("diverged:", isinstance(error, ValueError))
    diverged: True
    """


class InputLayoutWarning(UserWarning):
    """X's shape can be read in two ways and ``"auto"`` chose one; the message names the
    parameter (``channels_last``, ``conv_dim``) that makes the choice explicit."""
