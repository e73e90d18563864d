"""What a fused search tells its user while and after it runs.

- A progress line (``verbose >= 1``): fits done out of the total, the best mean test
  score among the candidates finished so far, the time elapsed and an estimate of the
  time left. On a terminal it is one line rewritten in place (on standard error, at most
  five times a second); otherwise a plain line at every tenth of the fits, so that log
  files stay readable.
- One summary :class:`~sklearn.exceptions.ConvergenceWarning` per search for the fits
  that reached ``max_iter`` before their stopping rule fired, in place of one warning
  per fit.
"""

import math
import sys
import time
import warnings
from collections import defaultdict

import numpy as np
from sklearn.exceptions import ConvergenceWarning


class SearchProgress:
    """The progress line of one search (see the module docstring).

    Parameters
    ----------
    verbose : int
        The search's ``verbose``; 0 prints nothing.
    metric : str
        Name of the score that ranks candidates (``"score"`` for a single metric).
    stream : file, default=None
        Where to write; None picks standard error on a terminal, else standard output.
    """

    def __init__(self, verbose, metric="score", stream=None):
        self.enabled = bool(verbose)
        self.metric = metric
        if stream is None:
            tty = getattr(sys.stderr, "isatty", lambda: False)()
            stream = sys.stderr if tty else sys.stdout
        self.stream = stream
        self.live = getattr(stream, "isatty", lambda: False)()
        self.start = time.perf_counter()
        self.total = self.done = 0
        self.scores = defaultdict(list)
        self.splits = {}
        self.best = -math.inf
        self._seen = set()
        self._last = 0.0
        self._next_line = 0

    def expect(self, n_fits, candidates, n_splits):
        """Announce ``n_fits`` more fits, of ``candidates`` (global ids), ``n_splits`` each."""
        self.total += n_fits
        for c in candidates:
            self.splits[c] = n_splits

    def update(self, key, candidate, test_scores):
        """Count one finished fit (``key`` identifies it; repeats are ignored)."""
        if key in self._seen:
            return
        self._seen.add(key)
        self.done += 1
        if isinstance(test_scores, dict):
            if self.metric not in test_scores:  # several metrics, none ranking (refit=False,
                self.metric = next(iter(test_scores))  # a callable refit): show the first
            score = test_scores[self.metric]
        else:
            score = test_scores
        self.scores[candidate].append(score)
        if len(self.scores[candidate]) == self.splits.get(candidate, 0):
            mean = float(np.mean(self.scores[candidate]))
            if np.isfinite(mean):
                self.best = max(self.best, mean)
        self._show()

    def line(self):
        """The progress line's text."""
        elapsed = time.perf_counter() - self.start
        text = f"fits {self.done}/{self.total}"
        if np.isfinite(self.best):
            text += f" | best mean {self.metric} {self.best:.4f}"
        text += f" | elapsed {_seconds(elapsed)}"
        if 0 < self.done < self.total:
            text += f" | ETA {_seconds(elapsed / self.done * (self.total - self.done))}"
        return text

    def _show(self):
        if not self.enabled:
            return
        now = time.perf_counter()
        finished = self.done >= self.total
        if self.live:
            if finished or now - self._last >= 0.2:
                self._last = now
                self.stream.write("\r" + self.line().ljust(78) + ("\n" if finished else ""))
                self.stream.flush()
        elif finished or self.done >= self._next_line:
            self._next_line = self.done + max(1, math.ceil(self.total / 10))
            print(self.line(), file=self.stream, flush=True)


def _seconds(s):
    if s < 60:
        return f"{s:.1f} s"
    minutes, seconds = divmod(int(round(s)), 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def warn_not_converged(candidates, n_fits, refit=False, stacklevel=3):
    """One ConvergenceWarning for the fits of ``candidates`` (a list with one entry per
    fit that did not converge, its candidate index) out of ``n_fits``, and the refit."""
    if not candidates and not refit:
        return
    message = ""
    if candidates:
        ids = sorted(set(candidates))
        shown = ", ".join(map(str, ids[:10])) + (", ..." if len(ids) > 10 else "")
        message = (f"{len(candidates)} of {n_fits} fits reached max_iter before their "
                   f"stopping rule ended training (candidates {shown}, in cv_results_ "
                   "order)")
    if refit:
        message += (" and the refit of the best candidate on the whole data" if message
                    else "The refit of the best candidate on the whole data reached "
                    "max_iter before its stopping rule ended training")
    warnings.warn(message + "; their scores might improve with a larger max_iter. (One "
                  "warning per search in place of one per fit.)", ConvergenceWarning,
                  stacklevel=stacklevel)
