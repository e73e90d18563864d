"""Docstring sections shared by every estimator, so each parameter is described once.

Defaults are not written in these texts: :func:`with_defaults` writes each documented
parameter's ``default=`` from the estimator's ``__init__`` signature, the one table of
defaults (scikit-learn's rule keeps every default there, explicitly), so a docstring
cannot state a default the estimator does not have. What differs between families
beyond defaults is replaced entry by entry, by name (:func:`replace_entries`); both
raise when the text they target is missing.
"""

import inspect
import re

TRAINING_PARAMETERS = """\
    solver : {"adam", "adamw", "sgd", "rmsprop", "lbfgs"}
        Optimizer. ``"lbfgs"`` is scikit-learn's full-batch quasi-Newton solver (scipy's
        L-BFGS-B on the whole training set, gradients from torch): ``max_iter`` then
        counts its iterations and ``max_fun`` its loss evaluations; it needs a
        deterministic network (no dropout, batch norm or augmentation), ignores the
        mini-batch settings and ``early_stopping``, and has no ``partial_fit``.
    alpha : float
        L2 penalty on weight matrices, as in scikit-learn: ``alpha / (2 * batch) * ||W||^2``
        is added to the mean loss (coupled weight decay ``alpha / batch``; with
        ``"lbfgs"``, ``batch`` is the summed sample weight of the whole set). With
        ``solver="adamw"`` it is AdamW's decoupled ``weight_decay`` coefficient instead.
        Biases and normalisation parameters are never penalised.
    l1 : float
        L1 penalty on weight matrices, ``l1 * ||W||_1 / batch`` added to the loss.
    batch_size : int or "auto"
        Mini-batch size; ``"auto"`` is ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive", "step", "exponential", \
"cosine", "plateau"}
        Learning-rate schedule, applied per epoch to every solver:

        - ``"constant"``: ``learning_rate_init`` throughout.
        - ``"invscaling"``: ``learning_rate_init / (t + 1) ** power_t``, ``t`` the number
          of samples seen (scikit-learn's definition).
        - ``"adaptive"``: divide by 5 whenever the monitored metric fails to improve by
          ``tol`` for more than ``n_iter_no_change`` epochs; stop below 1e-6 (scikit-learn).
        - ``"step"``: multiply by ``lr_decay`` every ``lr_step_size`` epochs.
        - ``"exponential"``: multiply by ``lr_decay`` every epoch.
        - ``"cosine"``: cosine annealing to ``min_learning_rate`` over ``max_iter`` epochs.
        - ``"plateau"``: multiply by ``lr_decay`` after ``lr_patience`` epochs without
          improvement of the monitored metric (validation score with ``early_stopping``,
          else training loss).
    learning_rate_init : float
        Initial learning rate.
    power_t : float
        Exponent of ``"invscaling"``.
    lr_step_size : int
        Epochs between decays of ``"step"``.
    lr_decay : float or None
        Decay factor in (0, 1); None uses 0.1 for ``"step"``, 0.95 for ``"exponential"``
        and 0.2 for ``"plateau"``.
    lr_patience : int
        Epochs without improvement before a ``"plateau"`` decay.
    min_learning_rate : float
        Floor of the ``"cosine"`` and ``"plateau"`` schedules.
    warmup_epochs : int
        Linear warm-up: epoch ``e < warmup_epochs`` uses ``(e + 1) / (warmup_epochs + 1)``
        of the rate; the schedule starts after it.
    max_iter : int
        Maximum number of epochs.
    shuffle : bool
        Reshuffle the training rows at every epoch.
    random_state : int, RandomState instance or None
        Seeds weight initialisation, dropout, shuffling and the validation split. An
        int gives identical results on every run (on the same hardware and thread
        count); None stays random. torch's global random state is left untouched.
    tol : float
        Minimum improvement of the monitored metric (validation score with
        ``early_stopping``, else training loss) that resets the patience counter.
    verbose : bool or int
        1 prints scikit-learn's ``Iteration N, loss = ...`` line per epoch (and the
        validation score with ``early_stopping``); 2 or more shows a progress bar over
        the epochs instead when standard error is a terminal and tqdm is installed
        (plain lines otherwise, e.g. in a log file).
    warm_start : bool
        ``fit`` continues from the current weights instead of re-initialising them.
        After a change of a parameter the network is built from (``activation``,
        ``dropout``...), the network is rebuilt as the parameters describe it and holds
        the fitted weights; a change the weights cannot follow (other layer sizes,
        ``batch_norm`` added) raises ``ValueError``. ``partial_fit`` does the same.
    momentum : float
        Momentum of ``"sgd"``.
    nesterovs_momentum : bool
        Nesterov momentum for ``"sgd"``.
    early_stopping : bool
        Hold out ``validation_fraction`` of the data (stratified for classifiers) and
        stop when its score (accuracy or R², weighted by ``sample_weight``) has not
        improved by ``tol`` for more than ``n_iter_no_change`` epochs. Without it,
        training stops when the training loss stops improving in the same way.
    validation_fraction : float
        Share of the training data held out with ``early_stopping``.
    n_iter_no_change : int
        Patience, in epochs, of the stopping rule above.
    restore_best_weights : bool
        With ``early_stopping``, end with the weights of the best validation epoch.
    beta_1 : float
        First-moment decay of ``"adam"`` / ``"adamw"``.
    beta_2 : float
        Second-moment decay of ``"adam"`` / ``"adamw"``.
    epsilon : float
        Numerical stability term of ``"adam"``, ``"adamw"`` and ``"rmsprop"``.
    max_grad_norm : float or None
        Clip the global L2 norm of the gradients to this value.
    device : str
        ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or
        ``"mps"``. A model trained on a GPU unpickles on a CPU-only machine.
    max_fun : int
        Maximum number of loss evaluations of ``solver="lbfgs"`` (unused otherwise).
    dtype : {"auto", "float32", "float64"}
        Floating-point precision of the network, its training and its outputs.
        ``"auto"`` follows scikit-learn for the MLPs on the CPU (float32 input trains in
        float32, anything else in float64) and is float32 for the other families and on
        GPUs; ``"float32"`` is about twice as fast as float64 on a CPU.
    precision : {"full", "bf16-mixed", "16-mixed"}
        Arithmetic of the training steps. ``"full"`` computes in ``dtype``.
        ``"bf16-mixed"`` runs each step's forward and backward pass under autocast to
        bfloat16 (matrix products and convolutions on a CPU's AVX512-BF16/AMX units or
        a GPU's tensor cores) while the weights, gradients, optimizer state and loss stay
        float32; validation and predictions use the float32 weights. ``"16-mixed"``
        (CUDA only) does the same in float16 with loss scaling. Lightning's names for
        these recipes; mini-batch solvers only; a device without native bfloat16 gets a
        warning.
    callbacks : list of skorch callbacks or (name, callback) tuples
        Extra :mod:`skorch.callbacks` run by the training loop: checkpoints, loggers
        (TensorBoard, MLflow...), custom stopping rules (call
        ``net.request_stop(reason)`` rather than raising). Each fit uses copies, so the
        parameter itself is never modified.
    divergence_threshold : float or None
        Raise :class:`~sktune.TrainingDivergedError` when an epoch's training loss is
        more than this many times its value at the start of the fit (or the loss of a
        trivial model, whichever is larger). NaN or infinite losses always raise; None
        disables the ratio check. The estimator then keeps its previous state.
    keep_optimizer_state : bool
        Keep the optimizer's state (Adam moments, momentum) in pickles, so that a loaded
        model's ``partial_fit`` / ``warm_start`` continue exactly. Off, a pickle holds
        the weights once and training after loading starts a fresh optimizer state.
"""

REGRESSION_LOSS = """\
    loss : {"squared_error", "absolute_error", "huber", "poisson"}
        Training loss: ``"squared_error"`` (scikit-learn's MLP loss), ``"absolute_error"``,
        ``"huber"`` (quadratic up to ``huber_delta``, linear beyond) or ``"poisson"``
        (a log link: predictions are ``exp`` of the network output; non-negative
        targets).
    huber_delta : float
        Threshold between the quadratic and linear parts of ``loss="huber"``, in units of
        the target.
"""

CLASS_WEIGHT = """\
    class_weight : dict, "balanced" or None
        Weights of each class in the loss, multiplied with ``sample_weight``.
"""

FITTED_ATTRIBUTES = """\
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X was a DataFrame with string column names.
    n_outputs_ : int
        Number of output units.
    out_activation_ : str
        The output function: ``"softmax"``, ``"logistic"``, ``"identity"`` or ``"exp"``.
    n_iter_ : int
        Epochs run by the last ``fit`` call (1 after ``partial_fit``; L-BFGS iterations
        with ``solver="lbfgs"``), as in scikit-learn.
    t_ : int
        Training samples seen, over all calls.
    loss_ : float
        Training loss of the last epoch (with the L2/L1 penalty, as scikit-learn).
    loss_curve_ : list of float
        Training loss of each epoch, over all ``warm_start`` / ``partial_fit`` calls.
    validation_scores_ : list of float or None
        Held-out score of each epoch with ``early_stopping``.
    best_validation_score_ : float or None
        Best held-out score with ``early_stopping``.
    best_loss_ : float or None
        Lowest training loss without ``early_stopping``.
    history_ : list of dict
        One row per epoch: ``epoch``, ``train_loss``, ``valid_loss``, ``valid_score``,
        ``lr`` and ``dur`` (seconds); ``pandas.DataFrame(est.history_)`` tabulates it.
    stop_reason_ : str or None
        Why training stopped before ``max_iter`` epochs, if it did (``"interrupted"``
        after Ctrl-C).
    net_ : sktune.engine.Engine
        The skorch net that trained the model; ``net_.module_`` is the torch module.
"""


_SECTION = re.compile(r"^    (Parameters|Attributes|Returns|Yields|Raises|See Also|Notes|"
                      r"References|Examples)\n    -+\n", re.M)
#: a numpydoc entry's first line: ``    name : type[, default=...]`` (or ``a, b : type``)
_ENTRY = re.compile(r"^    (?P<names>\w+(?:, \w+)*) : (?P<type>.+?)(?:, default=.*)?$")


def format_default(value):
    """A default as numpydoc writes it: ``"adam"``, ``1e-4``, ``0.9``, ``None``, ``inf``."""
    if isinstance(value, str):
        return f'r"{value}"' if "\\" in value else f'"{value}"'
    if isinstance(value, float):
        if value == float("inf"):
            return "inf"
        mantissa, exponent = f"{value:.0e}".split("e")
        if value != 0 and not 1e-2 <= abs(value) < 1e4 and float(f"{mantissa}e{exponent}") == value:
            return f"{mantissa}e{int(exponent)}"
    return repr(value)


def _parameters_span(doc, owner):
    """Start and end of the entries of ``doc``'s Parameters section."""
    sections = list(_SECTION.finditer(doc))
    found = [i for i, m in enumerate(sections) if m.group(1) == "Parameters"]
    if not found:
        raise TypeError(f"{owner}: the docstring has no Parameters section to write "
                        "defaults into.")
    i = found[0]
    end = sections[i + 1].start() if i + 1 < len(sections) else len(doc)
    return sections[i].end(), end


def with_defaults(cls):
    """Class decorator: every entry of ``cls``'s Parameters section ends with the
    ``default=`` of ``cls.__init__``'s signature.

    Raises ``TypeError`` (when the class is defined, so at import) if the docstring has
    no Parameters section, documents a parameter the signature lacks, leaves one of its
    parameters undocumented, or documents parameters of different defaults in one entry.
    """
    doc, owner = cls.__doc__ or "", cls.__name__
    signature = {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()
                 if name != "self"}
    start, end = _parameters_span(doc, owner)
    lines, seen = doc[start:end].split("\n"), set()
    for i, line in enumerate(lines):
        entry = _ENTRY.match(line)
        if entry is None:
            continue
        names = entry.group("names").split(", ")
        unknown = [name for name in names if name not in signature]
        if unknown:
            raise TypeError(f"{owner}: the docstring documents {unknown}, which "
                            "__init__ does not take.")
        defaults = {format_default(signature[name]) for name in names}
        if len(defaults) > 1:
            raise TypeError(f"{owner}: one entry documents {names}, whose defaults differ.")
        lines[i] = f"    {entry.group('names')} : {entry.group('type')}, default={defaults.pop()}"
        seen.update(names)
    missing = [name for name in signature if name not in seen]
    if missing:
        raise TypeError(f"{owner}: __init__ takes {missing}, which the docstring's "
                        "Parameters section does not document.")
    cls.__doc__ = doc[:start] + "\n".join(lines) + doc[end:]
    return cls


def replace_entries(section, **entries):
    """``section`` (numpydoc entries) with the named entries' descriptions replaced.

    Each keyword names a parameter documented in ``section``; its value is the new
    description (indented as the section's are). A name with no entry raises
    ``KeyError``: the text to replace is gone, and the docstring would silently keep
    the old description.
    """
    lines = section.split("\n")
    for name, description in entries.items():
        heads = [i for i, line in enumerate(lines)
                 if (m := _ENTRY.match(line)) and name in m.group("names").split(", ")]
        if not heads:
            raise KeyError(f"no entry documents {name!r} in this section")
        head = heads[0]
        stop = next((j for j in range(head + 1, len(lines))
                     if not lines[j].startswith("        ") and lines[j].strip()), len(lines))
        lines[head + 1:stop] = description.rstrip("\n").split("\n")
    return "\n".join(lines)


#: the loss entries of regressors that train on standardised targets (CNN, RNN)
SCALED_REGRESSION_LOSS = replace_entries(REGRESSION_LOSS, huber_delta="""\
        Threshold between the quadratic and linear parts of ``loss="huber"``, in units
        of the standardised target when ``scale_target`` is on.""").rstrip("\n") + """
    scale_target : bool
        Train the network on targets standardised per output (mean 0, standard
        deviation 1 over the training set), so the units of y never decide whether it
        learns; ``predict`` answers in the original units. Not with ``loss="poisson"``
        (its log link needs the raw counts).
"""
