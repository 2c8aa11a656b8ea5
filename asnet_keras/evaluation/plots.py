"""Figures of the evaluation: PR curves (paper Fig. 5) and a qualitative grid (Fig. 6).

Figures are built on ``matplotlib.figure.Figure`` with the Agg canvas directly, so this
module never touches pyplot's global state or the process-wide backend, and works
headless. Every function writes a PNG of exactly ``figsize × dpi`` pixels (no tight bbox)
and returns the ``Figure`` for inspection.
"""

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from asnet_keras.metrics.salient_object import f_measure

GRID_COLUMNS = ("Image", "Fixation map", "Saliency map", "Ground truth")
_GRID_KEYS = ("image", "fixation", "saliency", "gt")


def _new_figure(figsize, dpi):
    fig = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, out_png):
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=fig.dpi, format="png")
    return fig


def _curve_and_label(label, entry):
    """``(recall, precision, legend label)`` from one entry of ``curves``.

    ``entry`` is a :class:`~asnet_keras.metrics.SalientObjectEvaluator` result dict (uses
    its mean PR curve and ``maxF``), a ``(recall, precision, maxF)`` tuple, or a
    ``(recall, precision)`` pair (the legend then shows the max over thresholds of
    F(precision, recall), labelled ``maxF_PR``, as that is all the curve determines).
    """
    if isinstance(entry, dict):
        recall = np.asarray(entry["curves"]["recall"], dtype=np.float64)
        precision = np.asarray(entry["curves"]["precision"], dtype=np.float64)
        return recall, precision, f"{label} (maxF={entry['maxF']:.3f})"
    if len(entry) == 3:
        recall, precision, max_f = entry
        return np.asarray(recall, float), np.asarray(precision, float), f"{label} (maxF={max_f:.3f})"
    if len(entry) == 2:
        recall, precision = (np.asarray(v, dtype=np.float64) for v in entry)
        best = float(f_measure(precision, recall).max())
        return recall, precision, f"{label} (maxF_PR={best:.3f})"
    raise ValueError(
        f"PR entry {label!r} must be an evaluator result dict, (recall, precision) or "
        f"(recall, precision, maxF); got {type(entry).__name__} of length {len(entry)}"
    )


def _draw_pr(ax, curves, title):
    if not curves:
        raise ValueError("no PR curves to plot: pass a non-empty dict label -> curve")
    for label, entry in curves.items():
        recall, precision, legend = _curve_and_label(label, entry)
        ax.plot(recall, precision, linewidth=1.5, label=legend)
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("Recall")
    ax.set_ylabel("Precision")
    ax.grid(True, linewidth=0.5, alpha=0.5)
    ax.legend(loc="lower left", fontsize="small")
    if title:
        ax.set_title(title)


def plot_pr_curves(
    curves, out_png, title="Precision-recall", figsize=(5.0, 5.0), dpi=100, label="prediction"
):
    """Precision-recall curves of several result sets on one axes (paper Fig. 5).

    Args:
        curves: dict label -> an evaluator result dict, ``(recall, precision)`` or
            ``(recall, precision, maxF)``; arrays of 256 values (one per threshold).
            One line per entry, in dict order. A single evaluator result dict may also
            be passed directly; it is drawn with the legend ``label``.
        out_png: output path (parent folders are created).
        title: axes title (``None`` for none).
        figsize, dpi: the PNG is ``figsize[0]*dpi × figsize[1]*dpi`` pixels.

    Returns:
        the ``matplotlib.figure.Figure`` (one axes).

    Example:
        >>> plot_pr_curves({"ASNet": results_ecssd, "BASNet": (rec, prec)}, "pr.png")
    """
    if isinstance(curves, dict) and "curves" in curves and "maxF" in curves:
        curves = {label: curves}  # a single evaluator result
    fig = _new_figure(figsize, dpi)
    _draw_pr(fig.add_subplot(1, 1, 1), curves, title)
    fig.tight_layout()
    return _save(fig, out_png)


def plot_pr_curves_by_dataset(per_dataset, out_png, panel_size=(4.0, 4.0), dpi=100):
    """One PR panel per dataset, side by side, like the paper's Fig. 5.

    Args:
        per_dataset: dict dataset name -> dict label -> curve entry (as in
            :func:`plot_pr_curves`).
        out_png: output path.
        panel_size: size of one panel in inches; the PNG is
            ``len(per_dataset)*panel_size[0]*dpi × panel_size[1]*dpi`` pixels.

    Returns:
        the ``Figure`` (one axes per dataset, titled with its name).
    """
    if not per_dataset:
        raise ValueError("no datasets to plot: pass a non-empty dict dataset -> curves")
    n = len(per_dataset)
    fig = _new_figure((panel_size[0] * n, panel_size[1]), dpi)
    for i, (name, curves) in enumerate(per_dataset.items()):
        _draw_pr(fig.add_subplot(1, n, i + 1), curves, name)
    fig.tight_layout()
    return _save(fig, out_png)


def _show(ax, array):
    """Draw one grid cell; ``None`` leaves it blank with an 'n/a' label."""
    ax.set_xticks([])
    ax.set_yticks([])
    if array is None:
        ax.text(0.5, 0.5, "n/a", ha="center", va="center", transform=ax.transAxes, color="0.4")
        return
    a = np.asarray(array)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim == 3:  # RGB image
        ax.imshow(a if a.dtype == np.uint8 else np.clip(a, 0.0, 1.0))
        return
    vmax = 255 if a.dtype == np.uint8 else max(float(a.max()), 1e-12)
    vmin = 0 if a.dtype == np.uint8 else min(float(a.min()), 0.0)
    ax.imshow(a, cmap="gray", vmin=vmin, vmax=vmax)


def plot_qualitative_grid(rows, out_png, row_labels=None, cell_size=(2.0, 1.6), dpi=100):
    """Grid of image / fixation map / saliency map / ground truth, one row per example (Fig. 6).

    Args:
        rows: sequence of rows; each row is a 4-sequence ``(image, fixation, saliency,
            gt)`` or a dict with those keys. ``image`` is H×W×3 (uint8 or float in
            [0, 1]); the maps are H×W (uint8 shown on 0–255, float on [min(0, min), max]).
            Any entry may be ``None`` (missing key too): the cell is left blank and
            labelled "n/a".
        out_png: output path.
        row_labels: optional sequence of one label per row (drawn at the left).
        cell_size: inches per cell; the PNG is ``4*cell_size[0]*dpi ×
            len(rows)*cell_size[1]*dpi`` pixels.

    Returns:
        the ``Figure`` (``len(rows) × 4`` axes, columns titled as in ``GRID_COLUMNS``).
    """
    rows = list(rows)
    if not rows:
        raise ValueError("no rows to plot: pass at least one (image, fixation, saliency, gt)")
    n = len(rows)
    fig = _new_figure((cell_size[0] * 4, cell_size[1] * n), dpi)
    axes = fig.subplots(n, 4, squeeze=False)
    for r, row in enumerate(rows):
        if isinstance(row, dict):
            cells = [row.get(key) for key in _GRID_KEYS]
        else:
            cells = list(row)
            if len(cells) != 4:
                raise ValueError(f"row {r} has {len(cells)} entries; expected 4 {GRID_COLUMNS}")
        for c, cell in enumerate(cells):
            _show(axes[r, c], cell)
            if r == 0:
                axes[r, c].set_title(GRID_COLUMNS[c], fontsize="small")
        if row_labels is not None:
            axes[r, 0].set_ylabel(str(row_labels[r]), fontsize="small")
    fig.subplots_adjust(left=0.05, right=0.99, top=0.93, bottom=0.01, wspace=0.05, hspace=0.05)
    return _save(fig, out_png)
