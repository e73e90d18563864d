"""Raw text -> padded token-id sequences, as a scikit-learn transformer."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.utils.validation import check_is_fitted

from sktune._compat import Interval
from sktune._docs import with_defaults

PAD, OOV = 0, 1


class TokenIds(np.ndarray):
    """An integer array of token ids, marked as such (what :class:`TextSequencer` returns).

    A plain ``numpy.ndarray`` subclass: it slices, indexes and pickles like any array,
    and scikit-learn's splitters keep its type. RNN and CNN estimators with the default
    ``embedding_dim="auto"`` check for this type before validating X: token ids are then
    embedded (a learned table of vectors) instead of being read as numbers. Any other
    array is numeric data, whatever its values; to declare a plain integer array as
    token ids, wrap it (``TokenIds(ids)``) or set ``embedding_dim`` to an int.

    Parameters
    ----------
    ids : array-like of int
        Non-negative token ids; 0 is padding.

    Examples
    --------
    >>> import numpy as np
    >>> from sktune import TokenIds
    >>> ids = TokenIds([[2, 3, 0], [4, 0, 0]])
    >>> ids[:1]
    TokenIds([[2, 3, 0]])
    >>> type(np.asarray(ids)).__name__
    'ndarray'
    """

    def __new__(cls, ids):
        return np.asarray(ids, dtype=np.int64).view(cls)



@with_defaults
class TextSequencer(TransformerMixin, BaseEstimator):
    """Turn documents into padded sequences of token ids for an RNN or a text CNN.

    Tokenisation and vocabulary selection are
    :class:`~sklearn.feature_extraction.text.CountVectorizer`'s (lowercasing,
    ``token_pattern``, ``min_df``, ``max_features``); the kept words get ids 2, 3, ... by
    decreasing frequency, 1 stands for any other word and 0 pads the end of short
    documents. The result is a :class:`TokenIds` array, so
    ``make_pipeline(TextSequencer(), RNNClassifier())`` (or ``CNNClassifier()``) embeds
    the ids with its defaults and learns from raw strings; a search can tune both steps
    together.

    Parameters
    ----------
    max_features : int or None
        Keep only the most frequent words.
    min_df : int or float
        Ignore words in fewer documents than this (a count, or a share if float).
    max_len : int or None
        Length of the output rows; None uses the longest document seen in fit. Longer
        documents keep their first ``max_len`` tokens.
    lowercase : bool
        Lowercase before tokenising.
    token_pattern : str
        Regular expression of a token.

    Attributes
    ----------
    vocabulary_ : dict
        Word -> id (ids from 2).
    max_len_ : int
        Length of the output rows.

    Examples
    --------
    >>> from sktune import TextSequencer
    >>> seq = TextSequencer().fit(["the cat sat", "the dog"])
    >>> seq.transform(["the cat", "a bird sat"])
    TokenIds([[2, 3, 0],
              [1, 1, 5]])
    """

    _parameter_constraints: dict = {
        "max_features": [Interval(Integral, 1, None, closed="left"), None],
        "min_df": [Interval(Integral, 1, None, closed="left"),
                   Interval(Real, 0, 1, closed="both")],
        "max_len": [Interval(Integral, 1, None, closed="left"), None],
        "lowercase": ["boolean"],
        "token_pattern": [str],
    }

    def __init__(self, *, max_features=None, min_df=1, max_len=None, lowercase=True,
                 token_pattern=r"(?u)\b\w+\b"):
        self.max_features = max_features
        self.min_df = min_df
        self.max_len = max_len
        self.lowercase = lowercase
        self.token_pattern = token_pattern

    def fit(self, X, y=None):
        """Learn the vocabulary and the output length from documents ``X``.

        Parameters
        ----------
        X : iterable of str
            Documents.
        y : None
            Ignored.

        Returns
        -------
        self : TextSequencer
            The fitted transformer.
        """
        self._validate_params()
        X = _documents(X)
        counter = CountVectorizer(lowercase=self.lowercase, token_pattern=self.token_pattern,
                                  max_features=self.max_features, min_df=self.min_df)
        counts = counter.fit_transform(X)
        words = counter.get_feature_names_out()
        order = np.lexsort((words, -np.asarray(counts.sum(axis=0)).ravel()))
        self.vocabulary_ = {str(words[i]): rank + 2 for rank, i in enumerate(order)}
        self._analyzer = counter.build_analyzer()
        longest = max((len(self._analyzer(doc)) for doc in X), default=1)
        self.max_len_ = self.max_len or max(longest, 1)
        return self

    def transform(self, X):
        """Token ids of each document.

        Parameters
        ----------
        X : iterable of str
            Documents.

        Returns
        -------
        ids : TokenIds of shape (n_documents, max_len_)
            Ids of the first ``max_len_`` tokens, 0-padded at the end.
        """
        check_is_fitted(self)
        rows = np.zeros((len(X := _documents(X)), self.max_len_), dtype=np.int64)
        for i, doc in enumerate(X):
            ids = [self.vocabulary_.get(tok, OOV) for tok in self._analyzer(doc)][:self.max_len_]
            rows[i, :len(ids)] = ids
        return rows.view(TokenIds)

    def get_feature_names_out(self, input_features=None):
        """Get the names of the output columns.

        Parameters
        ----------
        input_features : None
            Ignored (the output columns are token positions).

        Returns
        -------
        names : ndarray of str, shape (max_len_,)
            ``token0`` ... ``token{max_len_ - 1}``.
        """
        check_is_fitted(self)
        return np.array([f"token{i}" for i in range(self.max_len_)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags


def _documents(X):
    if isinstance(X, str):
        raise ValueError("Iterable over raw text documents expected, string object received.")
    columns = getattr(X, "columns", None)
    if columns is not None and len(columns) != 1:  # iterating would give the column names
        raise ValueError(
            f"Got a DataFrame with columns {list(columns)[:5]}; pass one text column (a "
            "Series such as df['text']), or put the text column through a "
            "ColumnTransformer([('text', TextSequencer(), 'text')]) — a single column "
            "name, not a list, selects it as a Series; the transformer's output is a plain "
            "array, so give the network embedding_dim=32 to read it as token ids.")
    if columns is not None:
        X = X.iloc[:, 0]
    elif getattr(X, "ndim", 1) == 2:
        if X.shape[1] != 1:
            raise ValueError(f"Got a 2-D array of shape {X.shape}; pass one text per sample "
                             "(a 1-D array, a list or a Series of strings).")
        X = X[:, 0]
    docs = list(X)
    bad = next((i for i, d in enumerate(docs) if not isinstance(d, str)), None)
    if bad is not None:
        raise ValueError(f"document {bad} is a {type(docs[bad]).__name__}, not a string.")
    return docs
