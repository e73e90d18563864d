"""Real tables for the command line: what each CSV column is, how it is prepared, data checks.

``python -m sktune --csv data.csv --target y`` reads the table with pandas, decides per
column whether it is a number, a category, a date, an identifier or free text, and
builds a :class:`~sklearn.compose.ColumnTransformer` that becomes the first step of the
saved model: ``best_model.joblib`` then predicts on raw rows of the same CSV (missing
values and categories never seen in training included). Every problem with the data
that would make the search fail is found here, before any fit runs, and reported as
one :class:`DataError` naming the column or rows and the fix.
"""

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, RobustScaler

#: a share of values at least this large must parse for a text column to be read as
#: numbers or dates (the rest become missing values)
PARSE_SHARE = 0.95
#: an integer target with at most this many distinct values is read as class labels
MAX_CLASSES = 20
#: one-hot columns kept per categorical column (rarer categories are grouped)
MAX_CATEGORIES = 30
#: free text: this many words per value on average
TEXT_WORDS = 4
#: names that mark a column of row identifiers
ID_NAMES = ("id", "uuid", "guid", "key", "index")


class DataError(ValueError):
    """The data cannot be searched as given; the message says why and how to fix it."""


@dataclass
class Column:
    """How one feature column is used: ``kind`` in numeric, categorical, date, dropped."""

    name: str
    kind: str
    note: str = ""  # printed for the user when not empty (why it was dropped, how it is read)


# ---- reading -----------------------------------------------------------------------
def read_csv(path, target, *, drop_missing_target=False):
    """Return ``(features, y, notes)`` from a CSV file and the name of its target column."""
    import pandas as pd

    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise DataError(f"no such file: {path}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is not a readable CSV file: {exc}") from None
    if target not in frame.columns:
        shown = ", ".join(map(str, frame.columns[:20])) + (", ..." if frame.shape[1] > 20 else "")
        raise DataError(f"--target {target!r} is not a column of {path}; its columns are: "
                        f"{shown}")
    y = frame.pop(target)
    notes = []
    missing = y.isna().to_numpy()
    if missing.all():
        raise DataError(f"the target column {target!r} has no values (every row is empty)")
    if missing.any():
        lines = ", ".join(str(i + 2) for i in np.flatnonzero(missing)[:5])  # +2: header, 1-based
        more = ", ..." if missing.sum() > 5 else ""
        if not drop_missing_target:
            raise DataError(
                f"{missing.sum()} rows have no value in the target column {target!r} (CSV "
                f"lines {lines}{more}); remove them or pass --drop-missing-target")
        notes.append(f"{missing.sum()} rows without a target value dropped (CSV lines "
                     f"{lines}{more})")
        frame, y = frame[~missing].reset_index(drop=True), y[~missing].reset_index(drop=True)
    if frame.shape[1] == 0:
        raise DataError(f"{path} has no column besides the target {target!r}")
    return frame, y, notes


def infer_task(y, name):
    """``(task, note)``: class labels or numbers to regress, as the target's values say."""
    values = y.to_numpy() if hasattr(y, "to_numpy") else np.asarray(y)
    if values.dtype.kind not in "iuf":
        return "classification", f"classification: the target {name!r} holds labels"
    n_unique = len(np.unique(values))
    integral = np.all(np.mod(values, 1) == 0)
    if integral and n_unique <= MAX_CLASSES:
        return "classification", (f"classification: the target {name!r} has {n_unique} "
                                   "integer values (pass --task regression to override)")
    return "regression", (f"regression: the target {name!r} has {n_unique} numeric values "
                          "(pass --task classification to override)")


# ---- checks ------------------------------------------------------------------------
def min_rows_per_class(cv, test_size):
    """Rows a class needs so that the test split and every CV training fold contain it."""
    return int(np.ceil(cv / (1 - test_size))) + 1


def check_target(y, task, name, *, cv, test_size):
    """Raise :class:`DataError` if ``y`` cannot be split and cross-validated for ``task``."""
    values = np.asarray(y)
    if task == "classification":
        labels, counts = np.unique(values.astype(str) if values.dtype == object else values,
                                   return_counts=True)
        labels = np.array(labels.tolist(), dtype=object)  # plain str/int in messages
        if len(labels) < 2:
            raise DataError(f"the target {name!r} has a single class ({labels[0]!r}): there is "
                            "nothing to classify")
        need = min_rows_per_class(cv, test_size)
        rare = counts < need
        if rare.any():
            listed = ", ".join(f"{lab!r} ({c} rows)" for lab, c in
                               zip(labels[rare][:5], counts[rare][:5]))
            raise DataError(
                f"with a {test_size:.0%} test split and --cv {cv}, every class of {name!r} needs "
                f"at least {need} rows; too few: {listed}. Merge or drop rare classes, or "
                "lower --cv")
        return
    if values.dtype.kind not in "iufb":
        raise DataError(f"the target {name!r} is not numeric (e.g. {values[0]!r}); pass "
                        "--task classification to predict it as a label")
    if np.unique(values).size < 2:
        raise DataError(f"the target {name!r} has a single value ({values[0]!r}): there is "
                        "nothing to predict")
    need = 4 * cv
    if len(values) < need:
        raise DataError(f"{len(values)} rows are too few for a {test_size:.0%} test split and "
                        f"--cv {cv} (at least {need} needed)")


# ---- columns -----------------------------------------------------------------------
def plan_columns(frame):
    """One :class:`Column` per column of ``frame``: its kind and, where useful, a note.

    Raises :class:`DataError` when no column is left to learn from.
    """
    plan = [_classify(frame[name], str(name)) for name in frame.columns]
    if not any(c.kind != "dropped" for c in plan):
        why = "; ".join(f"{c.name}: {c.note}" for c in plan[:10])
        raise DataError(f"no usable feature column ({why})")
    return plan


def _classify(column, name):
    values = column.dropna()
    n, n_unique = len(values), values.nunique()
    if n == 0:
        return Column(name, "dropped", "dropped: every value is missing")
    if n_unique == 1:
        return Column(name, "dropped", f"dropped: a single value ({values.iloc[0]!r})")
    if column.dtype.kind == "b":
        return Column(name, "numeric")
    if column.dtype.kind in "iuf":
        if _looks_like_id(values, name):
            return Column(name, "dropped", "dropped: a distinct integer per row (an identifier)")
        return Column(name, "numeric")
    text = values.astype(str)
    numbers = _to_numbers(text)
    parsed = numbers.notna().mean()
    if parsed >= PARSE_SHARE:
        bad = int(numbers.isna().sum())
        note = f"numeric; {bad} values that are not numbers are read as missing" if bad else ""
        return Column(name, "numeric", note)
    if parsed < 0.5 and _to_dates(text).notna().mean() >= PARSE_SHARE:
        return Column(name, "date", "date: used as year, month, day, weekday and a day count")
    words = text.str.split().str.len().mean()
    if words >= TEXT_WORDS:
        return Column(name, "dropped",
                      f"dropped: free text (about {words:.0f} words per value); to use it, "
                      "build a TextSequencer or TfidfVectorizer pipeline in Python")
    if n_unique == n or (n >= 20 and n_unique > 0.9 * n):
        return Column(name, "dropped",
                      f"dropped: {n_unique} distinct values in {n} rows (an identifier, or too "
                      "many categories to learn from)")
    if n_unique > MAX_CATEGORIES:
        return Column(name, "categorical",
                      f"categorical, {n_unique} values: one-hot, the {MAX_CATEGORIES - 1} most "
                      "frequent kept and the rest grouped")
    return Column(name, "categorical")


def _looks_like_id(values, name):
    if values.dtype.kind == "f" and not np.all(np.mod(values, 1) == 0):
        return False
    if values.nunique() != len(values) or len(values) < 10:
        return False
    lowered = name.lower()
    named = lowered in ID_NAMES or lowered.endswith(("_id", " id", "id_")) or \
        lowered.startswith(("id_", "id "))
    consecutive = values.max() - values.min() == len(values) - 1
    return named or consecutive


def _to_numbers(text):
    import pandas as pd

    return pd.to_numeric(text.str.strip(), errors="coerce")


def _to_dates(text):
    import pandas as pd

    with warnings.catch_warnings():  # "could not infer format": each value parsed alone
        warnings.simplefilter("ignore", UserWarning)
        return pd.to_datetime(text, errors="coerce", format="mixed")


# ---- preprocessing (module-level functions: the saved model must pickle) -------------------
def as_numbers(X):
    """Each column as float; values that are not numbers become NaN (then imputed)."""
    import pandas as pd

    frame = pd.DataFrame(X)
    return frame.apply(lambda c: pd.to_numeric(c.astype(object).where(c.notna()),
                                               errors="coerce")).astype(float).to_numpy()


def date_parts(X):
    """Each date column as year, month, day, weekday and days since 1970 (NaN if unparsed)."""
    import pandas as pd

    parts = []
    for _, column in pd.DataFrame(X).items():
        dates = _to_dates(column.astype(object).where(column.notna()).astype(str))
        days = (dates - pd.Timestamp("1970-01-01")).dt.days
        parts += [dates.dt.year, dates.dt.month, dates.dt.day, dates.dt.day_of_week, days]
    return np.column_stack([p.to_numpy(dtype=float) for p in parts])


def _date_names(transformer, names):
    return np.array([f"{n}_{p}" for n in names for p in ("year", "month", "day", "weekday",
                                                          "days")], dtype=object)


def as_strings(X):
    """Categorical columns as strings, missing values as the category ``"missing"``."""
    import pandas as pd

    return pd.DataFrame(X).astype(object).where(pd.DataFrame(X).notna(), "missing") \
        .astype(str).to_numpy()


#: robust-scaled values are squashed smoothly into about (-CLIP, CLIP)
CLIP = 3.0


def smooth_clip(X):
    """``x / sqrt(1 + (x / CLIP)**2)``: the identity near 0, bounded by ``CLIP``
    (RealMLP's smooth clipping, Holzmüller et al., 2024): an outlier or a value far
    outside the training range cannot dominate the network's input."""
    X = np.asarray(X, dtype=float)
    return X / np.sqrt(1.0 + np.square(X / CLIP))


def robust_scaling():
    """Centre on the median, scale by the interquartile range (as a standard deviation
    of normal data: ``unit_variance``), then :func:`smooth_clip`: heavy tails and
    outliers neither set the scale, as with a standard deviation, nor reach the network
    unbounded."""
    return make_pipeline(RobustScaler(unit_variance=True),
                         FunctionTransformer(smooth_clip, feature_names_out="one-to-one"))


def make_preprocessor(plan):
    """The ColumnTransformer of a column plan: numbers imputed (median, with missingness
    indicators) and robustly scaled with smooth clipping (:func:`robust_scaling`),
    categories one-hot (unknown ones ignored), dates split into numeric parts; dropped
    columns are dropped."""
    numeric = make_pipeline(
        FunctionTransformer(as_numbers, feature_names_out="one-to-one"),
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        robust_scaling())
    categorical = make_pipeline(
        FunctionTransformer(as_strings, feature_names_out="one-to-one"),
        OneHotEncoder(handle_unknown="ignore", max_categories=MAX_CATEGORIES,
                      sparse_output=False))
    dates = make_pipeline(
        FunctionTransformer(date_parts, feature_names_out=_date_names),
        SimpleImputer(strategy="median", keep_empty_features=True), robust_scaling())
    groups = {"numeric": numeric, "categorical": categorical, "date": dates}
    transformers = [(kind, step, [c.name for c in plan if c.kind == kind])
                    for kind, step in groups.items() if any(c.kind == kind for c in plan)]
    return ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)


def describe(plan):
    """Printed lines: a count per kind, then one line per column with a note."""
    counts = {k: sum(c.kind == k for c in plan) for k in ("numeric", "categorical", "date",
                                                         "dropped")}
    words = {"numeric": "numeric (imputed, robustly scaled)",
             "categorical": "categorical (one-hot)",
             "date": "date", "dropped": "dropped"}
    lines = ["columns: " + ", ".join(f"{n} {words[k]}" for k, n in counts.items() if n)]
    lines += [f"  {c.name}: {c.note}" for c in plan if c.note]
    return lines
