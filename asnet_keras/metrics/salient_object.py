"""Salient-object-detection metrics (docs/metrics.md §B), through PySODMetrics.

PySODMetrics (``pysodmetrics`` 1.6.x, import name ``py_sod_metrics``) defines these
numbers for the field; this module calls it rather than re-implementing it:

- :func:`prepare_sod_inputs` does the input preparation of §B.0 once per image
  (channel, float-to-uint8 rule, bilinear resize, ``GT > 128``, min-max of the prediction);
- :class:`SalientObjectEvaluator` feeds the prepared pair to PySODMetrics' ``Fmeasure``
  (β² = 0.3, §B.1–B.2), ``MAE`` (§B.3), ``Smeasure`` (§B.4), ``Emeasure`` (§B.5) and
  ``WeightedFmeasure`` (§B.6), keeps running sums of the per-threshold curves, and adds
  the one number PySODMetrics lacks: ``maxF_PR``, the older convention of F computed
  from the *mean* precision and *mean* recall curves (§B.1, "Conventions").

Curves returned here are indexed by threshold: entry ``t`` belongs to ``B_t = (q >= t)``
for ``t = 0..255`` (PySODMetrics stores them in the reverse order, threshold 255 first).

``py_sod_metrics`` is imported on first use: its package import pulls in scikit-learn
and takes about 2 s, which fixation-only evaluation should not pay.
"""

import warnings

import cv2
import numpy as np

from asnet_keras.metrics.common import nan_summary, to_uint8

BETA2 = 0.3  # §B.1, F-measure weight β²
GT_THRESHOLD = 128  # §B.0 step 3: M = GT > 128 (strict)
N_THRESHOLDS = 256  # §B.0: t = 0..255

CONVENTIONS = {
    "maxF": "max over thresholds of the mean-over-images F curve (PySODMetrics, docs/metrics.md §B.1)",
    "meanF": "mean over the 256 thresholds of the mean-over-images F curve (docs/metrics.md §B.1)",
    "maxF_PR": (
        "max over thresholds of F(mean precision, mean recall): the older toolbox "
        "convention (e.g. sal_eval_toolbox), usually higher than maxF; not the same number"
    ),
    "adpF": "mean over images of F at threshold min(2 mean p, 1) (docs/metrics.md §B.2)",
    "MAE": "mean over images of mean |p - M|, p min-max normalised (docs/metrics.md §B.3)",
    "S": "S-measure, alpha = 0.5, mean over images skipping NaN (docs/metrics.md §B.4)",
    "maxE": "max over thresholds of the mean-over-images E curve (docs/metrics.md §B.5)",
    "meanE": "mean over thresholds of the mean-over-images E curve (docs/metrics.md §B.5)",
    "adpE": "mean over images of E at threshold min(2 mean p, 1) (docs/metrics.md §B.5)",
    "wF": "weighted F-measure, beta^2 = 1, mean over images (docs/metrics.md §B.6)",
    "gt": "M = GT > 128 on the uint8 mask (docs/metrics.md §B.0)",
    "resize": "prediction resized to the GT size, cv2 INTER_LINEAR on uint8 (docs/metrics.md §B.0)",
}


def _first_channel(a, what):
    a = np.asarray(a)
    if a.ndim == 3:
        a = a[..., 0]
    if a.ndim != 2:
        raise ValueError(f"{what} must be H×W or H×W×C, got shape {a.shape}")
    return a


def prepare_sod_inputs(pred, gt):
    """Input preparation shared by every SOD metric, docs/metrics.md §B.0.

    Args:
        pred: prediction, H'×W' or H'×W'×C (first channel used). ``uint8`` is used as
            read from disk; a float map in [0, 1] is first turned into uint8 with
            ``round(255 * clip(p, 0, 1))``; ``bool`` becomes 0/255.
        gt: ground-truth mask, H×W or H×W×C (first channel used), ``uint8`` (``bool``
            becomes 0/255; floats are read as [0, 1] like ``pred``).

    Returns:
        ``(p, m)``: ``p`` H×W float64 in [0, 1] (``P / 255``, min-max normalised unless
        constant, so all-zero stays 0 and all-``c`` stays ``c / 255``), ``m`` H×W bool
        (``GT > 128``). The prediction is resized to the GT size with bilinear
        interpolation on the uint8 image (``cv2.INTER_LINEAR``) if the sizes differ.
    """
    p8 = to_uint8(_first_channel(pred, "pred"))
    g8 = to_uint8(_first_channel(gt, "gt"))
    if p8.shape != g8.shape:
        p8 = cv2.resize(p8, (g8.shape[1], g8.shape[0]), interpolation=cv2.INTER_LINEAR)
    m = g8 > GT_THRESHOLD
    p = p8 / 255.0
    lo, hi = p.min(), p.max()
    if hi != lo:
        p = (p - lo) / (hi - lo)
    return p, m


def f_measure(precision, recall, beta2=BETA2):
    """``(1 + β²) P R / (β² P + R)``, 0 where the numerator is 0 (§B.1); element-wise."""
    precision = np.asarray(precision, dtype=np.float64)
    recall = np.asarray(recall, dtype=np.float64)
    numerator = (1.0 + beta2) * precision * recall
    denominator = np.where(numerator == 0, 1.0, beta2 * precision + recall)
    return numerator / denominator


def _pop_last(metric, *names):
    """Take this image's entries out of a PySODMetrics object's per-image lists.

    The evaluator keeps its own running sums, so the library's lists are drained after
    every step to keep memory flat.
    """
    values = []
    for name in names:
        stored = getattr(metric, name)
        values.append(stored.pop())
        if stored:
            raise RuntimeError(f"unexpected state in {type(metric).__name__}.{name}")
    return values


class SalientObjectEvaluator:
    """Streaming dataset evaluator for the SOD metrics (docs/metrics.md §B).

    Call :meth:`step` once per image and :meth:`get_results` at the end. Memory is flat
    in the number of images apart from the per-image scalars: the per-threshold curves
    (precision, recall, F, E; 256 values each) are kept as running sums.

    Dataset scores follow §B.1/B.5: the curve-based scores (PR curve, maxF, meanF, maxE,
    meanE, maxF_PR) come from the mean-over-images curves; the others are means over
    images, skipping NaN (only the S-measure can be NaN, §B.4) and counting it.

    Example:
        >>> ev = SalientObjectEvaluator()
        >>> for pred, mask in pairs:  # uint8 H×W arrays
        ...     ev.step(pred, mask)
        >>> r = ev.get_results(); r["maxF"], r["MAE"]
    """

    SCALARS = ("MAE", "S", "adpF", "adpE", "wF")

    def __init__(self):
        import py_sod_metrics  # deferred, see the module docstring

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Fmeasure's "use FmeasureV2" notice
            self._fm = py_sod_metrics.Fmeasure(beta=BETA2)
        self._mae = py_sod_metrics.MAE()
        self._sm = py_sod_metrics.Smeasure(alpha=0.5)
        self._em = py_sod_metrics.Emeasure()
        self._wfm = py_sod_metrics.WeightedFmeasure(beta=1)
        self.n_images = 0
        self._sums = {name: np.zeros(N_THRESHOLDS) for name in ("precision", "recall", "F", "E")}
        self.values = {name: [] for name in self.SCALARS}

    def step(self, pred, gt):
        """Score one image pair (see :func:`prepare_sod_inputs` for accepted inputs).

        Returns:
            dict of this image's scalars: ``MAE``, ``S`` (NaN in the zero-area-block case
            of §B.4), ``adpF``, ``adpE``, ``wF``.
        """
        p, m = prepare_sod_inputs(pred, gt)
        self._fm.step(p, m, normalize=False)
        precision, recall, f_curve, adp_f = _pop_last(
            self._fm, "precisions", "recalls", "changeable_fms", "adaptive_fms"
        )
        self._mae.step(p, m, normalize=False)
        (mae,) = _pop_last(self._mae, "maes")
        with warnings.catch_warnings():
            # §B.4 edge case: the mean of an empty block is NaN (kept, counted).
            warnings.simplefilter("ignore", RuntimeWarning)
            with np.errstate(invalid="ignore", divide="ignore"):
                self._sm.step(p, m, normalize=False)
        (s_measure,) = _pop_last(self._sm, "sms")
        self._em.step(p, m, normalize=False)
        e_curve, adp_e = _pop_last(self._em, "changeable_ems", "adaptive_ems")
        self._wfm.step(p, m, normalize=False)
        (wf,) = _pop_last(self._wfm, "weighted_fms")

        # PySODMetrics orders curves from threshold 255 down to 0; store by threshold.
        self._sums["precision"] += precision[::-1]
        self._sums["recall"] += recall[::-1]
        self._sums["F"] += f_curve[::-1]
        self._sums["E"] += e_curve[::-1]
        self.n_images += 1
        result = {
            "MAE": float(mae),
            "S": float(s_measure),
            "adpF": float(adp_f),
            "adpE": float(adp_e),
            "wF": float(wf),
        }
        for name in self.SCALARS:
            self.values[name].append(result[name])
        return result

    def get_results(self):
        """Dataset scores, JSON-serialisable (plain floats and lists; NaN allowed).

        Returns:
            dict with ``maxF``, ``meanF``, ``adpF``, ``maxF_PR`` (the mean-P/mean-R
            convention, see ``conventions``), ``MAE``, ``S``, ``maxE``, ``meanE``,
            ``adpE``, ``wF``; ``curves`` (``threshold`` 0..255 and, per threshold, the
            mean-over-images ``precision``, ``recall``, ``F`` and ``E``, plus ``F_PR`` =
            F(mean precision, mean recall)); ``per_image`` (lists of the step scalars);
            ``nan_count``; ``n_images``; ``conventions`` (what each number is).
        """
        if self.n_images == 0:
            raise ValueError("SalientObjectEvaluator.get_results() called before any step()")
        mean = {name: total / self.n_images for name, total in self._sums.items()}
        f_pr = f_measure(mean["precision"], mean["recall"])
        results = {
            "n_images": self.n_images,
            "maxF": float(mean["F"].max()),
            "meanF": float(mean["F"].mean()),
            "maxF_PR": float(f_pr.max()),
            "maxE": float(mean["E"].max()),
            "meanE": float(mean["E"].mean()),
            "nan_count": {},
            "per_image": {},
        }
        for name in self.SCALARS:
            value, n_nan = nan_summary(self.values[name])
            results[name] = value
            results["nan_count"][name] = n_nan
            results["per_image"][name] = list(self.values[name])
        results["curves"] = {
            "threshold": list(range(N_THRESHOLDS)),
            "precision": mean["precision"].tolist(),
            "recall": mean["recall"].tolist(),
            "F": mean["F"].tolist(),
            "F_PR": f_pr.tolist(),
            "E": mean["E"].tolist(),
        }
        results["conventions"] = dict(CONVENTIONS)
        return results
