"""Docstring sections shared by every estimator, so each parameter is described once."""

TRAINING_PARAMETERS = """\
    solver : {"adam", "adamw", "sgd", "rmsprop", "lbfgs"}, default="adam"
        Optimizer. ``"lbfgs"`` is scikit-learn's full-batch quasi-Newton solver (scipy's
        L-BFGS-B on the whole training set, gradients from torch): ``max_iter`` then
        counts its iterations and ``max_fun`` its loss evaluations; it needs a
        deterministic network (no dropout, batch norm or augmentation), ignores the
        mini-batch settings and ``early_stopping``, and has no ``partial_fit``.
    alpha : float, default=1e-4
        L2 penalty on weight matrices, as in scikit-learn: ``alpha / (2 * batch) * ||W||^2``
        is added to the mean loss (coupled weight decay ``alpha / batch``; with
        ``"lbfgs"``, ``batch`` is the summed sample weight of the whole set). With
        ``solver="adamw"`` it is AdamW's decoupled ``weight_decay`` coefficient instead.
        Biases and normalisation parameters are never penalised.
    l1 : float, default=0.0
        L1 penalty on weight matrices, ``l1 * ||W||_1 / batch`` added to the loss.
    batch_size : int or "auto", default="auto"
        Mini-batch size; ``"auto"`` is ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive", "step", "exponential", \
"cosine", "plateau"}, default="constant"
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
    learning_rate_init : float, default=1e-3
        Initial learning rate.
    power_t : float, default=0.5
        Exponent of ``"invscaling"``.
    lr_step_size : int, default=10
        Epochs between decays of ``"step"``.
    lr_decay : float or None, default=None
        Decay factor in (0, 1); None uses 0.1 for ``"step"``, 0.95 for ``"exponential"``
        and 0.2 for ``"plateau"``.
    lr_patience : int, default=5
        Epochs without improvement before a ``"plateau"`` decay.
    min_learning_rate : float, default=0.0
        Floor of the ``"cosine"`` and ``"plateau"`` schedules.
    warmup_epochs : int, default=0
        Linear warm-up: epoch ``e < warmup_epochs`` uses ``(e + 1) / (warmup_epochs + 1)``
        of the rate; the schedule starts after it.
    max_iter : int, default=200
        Maximum number of epochs.
    shuffle : bool, default=True
        Reshuffle the training rows at every epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout, shuffling and the validation split. An
        int gives identical results on every run (on the same hardware and thread
        count); None stays random. torch's global random state is left untouched.
    tol : float, default=1e-4
        Minimum improvement of the monitored metric (validation score with
        ``early_stopping``, else training loss) that resets the patience counter.
    verbose : bool or int, default=False
        1 prints scikit-learn's ``Iteration N, loss = ...`` line per epoch (and the
        validation score with ``early_stopping``); 2 or more shows a progress bar over
        the epochs instead when standard error is a terminal and tqdm is installed
        (plain lines otherwise, e.g. in a log file).
    warm_start : bool, default=False
        ``fit`` continues from the current weights instead of re-initialising them.
        After a change of a parameter the network is built from (``activation``,
        ``dropout``...), the network is rebuilt as the parameters describe it and holds
        the fitted weights; a change the weights cannot follow (other layer sizes,
        ``batch_norm`` added) raises ``ValueError``. ``partial_fit`` does the same.
    momentum : float, default=0.9
        Momentum of ``"sgd"``.
    nesterovs_momentum : bool, default=True
        Nesterov momentum for ``"sgd"``.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified for classifiers) and
        stop when its score (accuracy or R², weighted by ``sample_weight``) has not
        improved by ``tol`` for more than ``n_iter_no_change`` epochs. Without it,
        training stops when the training loss stops improving in the same way.
    validation_fraction : float, default=0.1
        Share of the training data held out with ``early_stopping``.
    n_iter_no_change : int, default=10
        Patience, in epochs, of the stopping rule above.
    restore_best_weights : bool, default=True
        With ``early_stopping``, end with the weights of the best validation epoch.
    beta_1 : float, default=0.9
        First-moment decay of ``"adam"`` / ``"adamw"``.
    beta_2 : float, default=0.999
        Second-moment decay of ``"adam"`` / ``"adamw"``.
    epsilon : float, default=1e-8
        Numerical stability term of ``"adam"``, ``"adamw"`` and ``"rmsprop"``.
    max_grad_norm : float or None, default=None
        Clip the global L2 norm of the gradients to this value.
    device : str, default="auto"
        ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or
        ``"mps"``. A model trained on a GPU unpickles on a CPU-only machine.
    max_fun : int, default=15000
        Maximum number of loss evaluations of ``solver="lbfgs"`` (unused otherwise).
    dtype : {"auto", "float32", "float64"}, default="auto"
        Floating-point precision of the network, its training and its outputs.
        ``"auto"`` follows scikit-learn for the MLPs on the CPU (float32 input trains in
        float32, anything else in float64) and is float32 for the other families and on
        GPUs; ``"float32"`` is about twice as fast as float64 on a CPU.
    precision : {"full", "bf16-mixed", "16-mixed"}, default="full"
        Arithmetic of the training steps. ``"full"`` computes in ``dtype``.
        ``"bf16-mixed"`` runs each step's forward and backward pass under autocast to
        bfloat16 (matrix products and convolutions on a CPU's AVX512-BF16/AMX units or
        a GPU's tensor cores) while the weights, gradients, optimizer state and loss stay
        float32; validation and predictions use the float32 weights. ``"16-mixed"``
        (CUDA only) does the same in float16 with loss scaling. Lightning's names for
        these recipes; mini-batch solvers only; a device without native bfloat16 gets a
        warning.
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Extra :mod:`skorch.callbacks` run by the training loop: checkpoints, loggers
        (TensorBoard, MLflow...), custom stopping rules (call
        ``net.request_stop(reason)`` rather than raising). Each fit uses copies, so the
        parameter itself is never modified.
    divergence_threshold : float or None, default=1e4
        Raise :class:`~sktune.TrainingDivergedError` when an epoch's training loss is
        more than this many times its value at the start of the fit (or the loss of a
        trivial model, whichever is larger). NaN or infinite losses always raise; None
        disables the ratio check. The estimator then keeps its previous state.
    keep_optimizer_state : bool, default=False
        Keep the optimizer's state (Adam moments, momentum) in pickles, so that a loaded
        model's ``partial_fit`` / ``warm_start`` continue exactly. Off, a pickle holds
        the weights once and training after loading starts a fresh optimizer state.
"""

CLASS_WEIGHT = """\
    class_weight : dict, "balanced" or None, default=None
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


# CNNs and RNNs train as the FCN reference does: reduce-on-plateau (halve the rate after
# 20 epochs without improvement) and a long patience (50 epochs) before stopping. With
# the small batches of signals the epoch loss is noisy and can sit near chance for
# dozens of epochs before it falls; sklearn's constant rate and 10-epoch patience
# stopped the CNN on ArrowHead after 17 epochs at 53-60% accuracy, and the RNN (issue
# #20) after 24 epochs at 20% (seed 2; GunPoint seed 2: 75.3% -> 92.7% with this recipe).
FCN_TRAINING = (TRAINING_PARAMETERS
                .replace('"plateau"}, default="constant"', '"plateau"}, default="plateau"')
                .replace("lr_decay : float or None, default=None",
                         "lr_decay : float or None, default=0.5")
                .replace("lr_patience : int, default=5", "lr_patience : int, default=20")
                .replace("n_iter_no_change : int, default=10",
                         "n_iter_no_change : int, default=50"))
