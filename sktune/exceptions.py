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
    """X's shape can be read in two ways and ``"auto"`` chose one.

    The message names the parameter (``channels_last``, ``conv_dim``) that makes the
    choice explicit; setting it silences the warning.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from sktune import InputLayoutWarning, RNNClassifier
    >>> X = np.random.RandomState(0).normal(size=(20, 6, 4))  # (n, C, T) with C >= T?
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = RNNClassifier(hidden_size=4, max_iter=1).fit(X, np.arange(20) % 2)
    >>> any(issubclass(w.category, InputLayoutWarning) for w in caught)
    True
    """
