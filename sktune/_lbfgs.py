"""``solver="lbfgs"``: scikit-learn's full-batch L-BFGS, with torch computing the gradients.

The objective is scikit-learn's, term for term: the (sample-weighted) mean loss over the
whole training set plus ``alpha / 2 * ||W||^2 / sum(sample_weight)`` on the weight
matrices, minimised by scipy's L-BFGS-B with ``maxiter=max_iter``, ``maxfun=max_fun`` and
``gtol=tol``. Because the loss is a weighted mean and the penalty is divided by the
summed weight, a weight of 2 is exactly a repeated row. The forward/backward pass runs
in memory-bounded chunks whose gradients add up, so large training sets fit in memory.
"""

import time

import numpy as np
import scipy.optimize
import torch
from threadpoolctl import threadpool_limits
from torch import nn
from torch.nn.utils import parameters_to_vector, vector_to_parameters

from sktune._compat import check_optimize_result
from sktune.engine._losses import norm
from sktune.engine._threads import torch_threads
from sktune.exceptions import TrainingDivergedError
from sktune.nn import Augment


def _check_deterministic(module, l1):
    """L-BFGS needs the same loss for the same weights: no dropout, batch statistics
    or random augmentation, and a differentiable penalty."""
    for name, layer in module.named_modules():
        if isinstance(layer, (nn.Dropout, nn.RNNBase)) and getattr(
                layer, "p", getattr(layer, "dropout", 0)) > 0 or \
                isinstance(layer, nn.modules.batchnorm._BatchNorm) or \
                isinstance(layer, Augment) and layer.active:
            hint = (" (an RNN's convolutional front-end: frontend='strided')"
                    if name.startswith("frontend.") else "")
            raise ValueError(
                f"solver='lbfgs' needs a deterministic full-batch loss, but the network has "
                f"{type(layer).__name__} at {name!r}{hint}: set dropout=0, batch_norm=False "
                "and no augmentation, or use a mini-batch solver ('adam', 'sgd'...).")
    if l1:
        raise ValueError("solver='lbfgs' does not support l1 > 0 (the L1 penalty is not "
                         "differentiable at 0); use a mini-batch solver or l1=0.")


class FullBatchObjective:
    """scikit-learn's L-BFGS objective for a run's network.

    ``objective(theta) -> (loss, gradient)`` at the flat parameter vector ``theta``
    (the trainable parameters in ``module.parameters()`` order, float64): the
    sample-weighted mean loss over the whole training set plus
    ``alpha / 2 * sum ||W||^2 / sum(sample_weight)`` over the weight matrices.
    """

    def __init__(self, run):
        self.net, self.alpha = run.net, run.estimator.alpha
        self.params = [p for p in run.net.module_.parameters() if p.requires_grad]
        self.batches = run.net.get_iterator(run.dataset, training=False)
        data = run.dataset
        self.sw_sum = float(len(data)) if data.sample_weight is None else \
            float(data.sample_weight.sum())

    def flat_parameters(self):
        return parameters_to_vector(self.params).detach().cpu().double().numpy()

    def set_parameters(self, theta):
        first = self.params[0]
        vector_to_parameters(torch.as_tensor(theta, dtype=first.dtype, device=first.device),
                             self.params)

    def __call__(self, theta):
        self.set_parameters(theta)
        for p in self.params:
            p.grad = None
        criterion, total = self.net.criterion_, 0.0
        for Xb, (yb, wb) in self.batches:
            per_sample = criterion.per_sample(self.net.infer(Xb), yb)
            part = (per_sample.sum() if wb is None else (per_sample * wb).sum()) / self.sw_sum
            part.backward()
            total += float(part.detach())
        squares = norm(self.params, 2)
        if self.alpha and isinstance(squares, torch.Tensor):
            penalty = 0.5 * self.alpha * squares / self.sw_sum
            penalty.backward()
            total += float(penalty.detach())
        grad = parameters_to_vector([p.grad if p.grad is not None else torch.zeros_like(p)
                                     for p in self.params])
        return total, grad.detach().cpu().double().numpy()


def train_lbfgs(run):
    """Minimise ``run``'s objective with L-BFGS-B; the run's net ends as a trained one
    (weights, one history row per iteration, ``epochs_done_``)."""
    est, net = run.estimator, run.net
    if est.precision != "full":
        raise ValueError(f"solver='lbfgs' minimises the full-batch loss in the network's own "
                         f"precision; precision={est.precision!r} applies to the mini-batch "
                         "solvers ('adam', 'sgd'...).")
    _check_deterministic(net.module_, est.l1)
    net.module_.train()
    objective = FullBatchObjective(run)
    start = time.perf_counter()

    def record(intermediate_result):
        nonlocal start
        net.history.new_epoch()
        net.history.record("epoch", len(net.history))
        net.history.record("train_loss", float(intermediate_result.fun))
        net.history.record("dur", time.perf_counter() - start)
        net.epochs_done_ += 1
        if est.verbose:
            print(f"Iteration {net.epochs_done_}, loss = {intermediate_result.fun:.8f}")
        start = time.perf_counter()

    net.epochs_done_, net.stop_reason_ = 0, None
    threads = net.step_threads(run.dataset)
    # scipy's L-BFGS-B runs its own BLAS: small problems keep that to one thread too
    with torch_threads(threads), threadpool_limits(threads, user_api="blas"):
        result = scipy.optimize.minimize(
            objective, objective.flat_parameters(), method="L-BFGS-B", jac=True,
            callback=record,
            options={"maxfun": est.max_fun, "maxiter": est.max_iter, "gtol": est.tol})
    if not np.isfinite(result.x).all() or not np.isfinite(result.fun):
        raise TrainingDivergedError(
            "Solver produced non-finite parameter weights. The input data may contain "
            "large values and need to be preprocessed.")
    check_optimize_result("lbfgs", result, est.max_iter)
    objective.set_parameters(result.x)
    if not net.epochs_done_:  # converged at the start: still one row for the loss
        record(result)
        net.epochs_done_ = 0
