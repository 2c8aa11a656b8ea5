"""Independent references for the metrics (docs/metrics.md), for tests that check
`asnet_keras.metrics` and what calls it (evaluation) without asking the code under test
for the expected value.

- The fixation metrics written out as the MIT saliency benchmark's loops, one threshold or
  one split at a time, in plain numpy: `auc_judd_loop`, `sauc_loop`, `nss_direct`,
  `cc_direct`, `sim_direct` (§A.1–A.5), and `imresize_loop`, MATLAB's `imresize` one
  output sample at a time over every tap where its kernel is not zero (§A.0).
- The salient-object metrics as PySODMetrics itself gives them for uint8 pairs
  (`pysod_reference`, §B), plus maxF_PR computed here from its mean curves.

The random parts follow the conventions the package documents: AUC-Judd's jitter is
``default_rng(seed).random(shape) · 1e-7`` added to the map (§A.1), and a sAUC split takes
the pool pixels of the ``k`` smallest of ``default_rng(seed).random((n_splits, L))`` in
its row (a uniform draw without replacement, §A.2).
"""

import math
import warnings

import numpy as np
import py_sod_metrics

JITTER = 1e-7  # docs/metrics.md §A.1
SAUC_STEP = 0.1  # docs/metrics.md §A.2
BETA2 = 0.3  # docs/metrics.md §B.1


def minmax(s):
    s = np.asarray(s, dtype=np.float64)
    return (s - s.min()) / (s.max() - s.min())


def auc_judd_loop(s, fixated, jitter_seed=None):
    """AUC-Judd of float map `s` against boolean `fixated` (same shape): the ROC point of
    the i-th highest fixated value t_i is (#(S >= t_i) − i) / (N − K), i / K."""
    s = np.asarray(s, dtype=np.float64)
    if jitter_seed is not None:
        s = s + np.random.default_rng(jitter_seed).random(s.shape) * JITTER
    s = minmax(s)
    thresholds = sorted(s[fixated], reverse=True)
    k, n = len(thresholds), s.size
    tp, fp = [0.0], [0.0]
    for i, t in enumerate(thresholds, start=1):
        tp.append(i / k)
        fp.append((np.count_nonzero(s >= t) - i) / (n - k))
    return float(np.trapezoid(tp + [1.0], fp + [1.0]))


def _split_area(positives, negatives):
    """One split's ROC area at the thresholds m · 0.1, m = floor(max / 0.1) … 0."""
    top = max(positives.max(), negatives.max())
    tp, fp = [0.0], [0.0]
    for m in range(int(math.floor(top / SAUC_STEP + 1e-10)), -1, -1):
        tp.append(np.mean(positives >= m * SAUC_STEP))
        fp.append(np.mean(negatives >= m * SAUC_STEP))
    return float(np.trapezoid(tp + [1.0], fp + [1.0]))


def sauc_loop(s, fixated, pool, n_splits, seed):
    """Shuffled AUC of float map `s`: the mean over splits of `_split_area`, each split's
    negatives drawn from the pool pixels (boolean `pool`) as the module docstring says."""
    s = minmax(s)
    positives, candidates = s[fixated], s[pool]
    k = min(positives.size, candidates.size)
    if candidates.size <= positives.size:
        return _split_area(positives, candidates)  # every split takes the whole pool
    order = np.argsort(np.random.default_rng(seed).random((n_splits, candidates.size)), axis=1)
    return float(np.mean([_split_area(positives, candidates[order[i, :k]])
                          for i in range(n_splits)]))


def nss_direct(s, fixated):
    s = np.asarray(s, dtype=np.float64)
    return float(((s - s.mean()) / s.std(ddof=1))[fixated].mean())


def cc_direct(s, g):
    return float(np.corrcoef(np.ravel(s).astype(np.float64), np.ravel(g).astype(np.float64))[0, 1])


def sim_direct(s, g):
    """Σ min of the two maps, each min-max normalised and divided by its sum (an all-zero
    map stays zero)."""
    def normalise(x):
        x = np.asarray(x, dtype=np.float64)
        if not x.any():
            return x
        x = minmax(x)
        return x / x.sum()
    return float(np.minimum(normalise(s), normalise(g)).sum())


def keys_cubic(t):
    """Keys' cubic, a = −0.5, at one distance `t`."""
    t = abs(t)
    if t <= 1:
        return 1.5 * t**3 - 2.5 * t**2 + 1
    if t <= 2:
        return -0.5 * t**3 + 2.5 * t**2 - 4 * t + 2
    return 0.0


def _imresize_vector(v, n_out):
    n_in = len(v)
    scale = n_out / n_in
    widen = min(scale, 1.0)  # the antialiasing kernel s · k(s · d) when shrinking
    out = []
    for x in range(1, n_out + 1):
        u = x / scale + 0.5 * (1 - 1 / scale)
        total = weights = 0.0
        for j in range(math.floor(u - 2 / widen), math.ceil(u + 2 / widen) + 1):
            w = widen * keys_cubic(widen * (u - j))
            m = (j - 1) % (2 * n_in)  # symmetric padding: 1..n, n..1, 1..n, …
            total += w * v[m if m < n_in else 2 * n_in - 1 - m]
            weights += w
        out.append(total / weights)
    return out


def imresize_loop(a, shape):
    """MATLAB `imresize` (bicubic, antialiased when shrinking, taps normalised, symmetric
    padding) of 2-D `a` to `shape`, one output sample at a time: rows, then columns (the
    order MATLAB picks changes the result only by round-off)."""
    a = np.asarray(a, dtype=np.float64)
    rows = np.array([_imresize_vector(a[:, c], shape[0]) for c in range(a.shape[1])]).T
    return np.array([_imresize_vector(rows[r], shape[1]) for r in range(shape[0])])


def pysod_reference(pairs):
    """Every dataset score of docs/metrics.md §B for uint8 (prediction, mask) pairs, as
    PySODMetrics gives them (its own input preparation, normalize=True); the curves
    ordered by threshold 0…255; ``maxF_PR`` the max of F(mean precision, mean recall)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fm = py_sod_metrics.Fmeasure()
        mae, sm, em = py_sod_metrics.MAE(), py_sod_metrics.Smeasure(), py_sod_metrics.Emeasure()
        wfm = py_sod_metrics.WeightedFmeasure()
        for pred, gt in pairs:
            for metric in (fm, mae, sm, em, wfm):
                metric.step(pred, gt)
        f = fm.get_results()
        e = em.get_results()["em"]
    precision, recall = f["pr"]["p"][::-1], f["pr"]["r"][::-1]  # library: threshold 255 first
    numerator = (1 + BETA2) * precision * recall
    f_pr = numerator / np.where(numerator == 0, 1.0, BETA2 * precision + recall)
    return {
        "maxF": f["fm"]["curve"].max(),
        "meanF": f["fm"]["curve"].mean(),
        "adpF": f["fm"]["adp"],
        "maxF_PR": f_pr.max(),
        "MAE": mae.get_results()["mae"],
        "S": sm.get_results()["sm"],
        "maxE": e["curve"].max(),
        "meanE": e["curve"].mean(),
        "adpE": e["adp"],
        "wF": wfm.get_results()["wfm"],
        "precision": precision,
        "recall": recall,
        "E": e["curve"][::-1],
    }
