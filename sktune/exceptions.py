"""Exceptions raised by sktune estimators."""


class TrainingDivergedError(ValueError, ArithmeticError):
    """The training or validation loss became NaN or infinite.

    Subclasses ``ValueError`` so that scikit-learn's searches treat it like any other
    failed fit: with ``error_score=np.nan`` the candidate scores NaN and the search
    goes on.
    """


class InputLayoutWarning(UserWarning):
    """X's shape can be read in two ways and ``"auto"`` chose one; the message names the
    parameter (``channels_last``, ``conv_dim``) that makes the choice explicit."""
