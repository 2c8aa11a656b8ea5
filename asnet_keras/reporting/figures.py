"""Figures 5 and 6 from our results: PR curves and qualitative examples."""

import os
from pathlib import Path

from asnet_keras.evaluation.pred_dir import PRED_DIR_KEY as PRED_DIR_OUTPUT
from asnet_keras.inference.images import read_grey
from asnet_keras.io import ImageReadError, read_image
from asnet_keras.names import FINAL_OUTPUT as PR_OUTPUT
from asnet_keras.names import FIXATION_OUTPUT
from asnet_keras.reporting.paper import load_paper


def pr_curves(sources, datasets=None, output=PR_OUTPUT):
    """Curves for :func:`asnet_keras.evaluation.plots.plot_pr_curves_by_dataset`.

    Args:
        sources: {legend label: EvalResults}; the first is usually ours.
        datasets: paper dataset names (default Figure 5's: ECSSD, HKU-IS, PASCAL-S).

    Returns:
        ``({panel title: {label: result dict}}, [missing descriptions])``; datasets with no
        curve at all are left out.
    """
    paper = load_paper()
    datasets = datasets or paper["figures"]["fig5"]["datasets"]
    per_dataset, missing = {}, []
    for dataset in datasets:
        curves = {}
        for label, src in sources.items():
            entry = src.entry(dataset, "salient_object", output)
            if entry is not None and "curves" in entry:
                curves[label] = entry
            else:
                missing.append(f"{label}: no PR curve for {dataset} ({src.path(dataset)})")
        if curves:
            title = paper["datasets"].get(dataset, {}).get("label", dataset)
            ours = next(iter(sources.values())).our_dataset(dataset)
            if ours != dataset:
                title += f" (our {ours})"
            per_dataset[title] = curves
    return per_dataset, missing


def _cell(read, path):
    """`read(path)` (the package's readers), or None when the file is absent or
    unreadable, so a figure shows a blank cell instead of failing."""
    if path is None or not os.path.isfile(path):
        return None
    try:
        return read(path)
    except ImageReadError:
        return None


def qualitative_examples(source, dataset, data_root=None, n=6, ids=None,
                         fixation_output=FIXATION_OUTPUT, saliency_output=PR_OUTPUT):
    """Examples for Figure 6 from maps saved by evaluation (``--save-maps``).

    Args:
        source: :class:`EvalResults` whose ``<dataset>/maps/<output>/<id>.png`` exist.
        dataset: paper dataset name (mapped as ``source`` maps it).
        data_root: the prepared data root (images and GT masks); None leaves them blank.
        n: number of examples (the first ``n`` ids with a saved saliency map, sorted).
        ids: explicit ids instead.

    Returns:
        a list of dicts with keys id, image, fixation, saliency, gt (arrays or None).
    """
    ours = source.our_dataset(dataset)
    maps = source.folder / ours / "maps"
    sal_dir = maps / saliency_output
    if ids is None:
        if not sal_dir.is_dir() and (maps / PRED_DIR_OUTPUT).is_dir():
            sal_dir = maps / PRED_DIR_OUTPUT
        ids = sorted(p.stem for p in sal_dir.glob("*.png"))[:n] if sal_dir.is_dir() else []
    data = source.get(dataset) or {}
    split = data.get("split", "test")
    base = Path(data_root) / ours / split if data_root else None
    out = []
    for sample_id in ids:
        out.append({
            "id": sample_id,
            "image": _cell(read_image, base / "images" / f"{sample_id}.jpg") if base else None,
            "fixation": _cell(read_grey, maps / fixation_output / f"{sample_id}.png"),
            "saliency": _cell(read_grey, sal_dir / f"{sample_id}.png"),
            "gt": _cell(read_grey, base / "masks" / f"{sample_id}.png") if base else None,
        })
    return out


FIG6_ROWS = (("image", "Image"), ("fixation", "Fixation map"),
             ("saliency", "Saliency map"), ("gt", "Ground truth"))


def qualitative_figure(examples, with_gt=True, cell=(1.8, 1.5), dpi=100):
    """Figure 6 as the paper lays it out: one column per example, rows from top to bottom
    image, fixation map, saliency map (and, if ``with_gt``, the ground-truth mask).

    Returns a ``matplotlib.figure.Figure`` (Agg canvas; pyplot is not touched).
    """
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not examples:
        raise ValueError("no examples to draw: evaluate with --save-maps first")
    kinds = FIG6_ROWS if with_gt else FIG6_ROWS[:3]
    fig = Figure(figsize=(cell[0] * len(examples), cell[1] * len(kinds)), dpi=dpi)
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(kinds), len(examples), squeeze=False)
    for c, example in enumerate(examples):
        for r, (key, title) in enumerate(kinds):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            a = example.get(key)
            if a is None:
                ax.text(0.5, 0.5, "n/a", ha="center", va="center", transform=ax.transAxes)
            elif np.ndim(a) == 3:
                ax.imshow(a)
            else:
                ax.imshow(a, cmap="gray" if key != "fixation" else "jet", vmin=0, vmax=255)
            if c == 0:
                ax.set_ylabel(title, fontsize="small")
            if r == 0:
                ax.set_title(str(example.get("id", "")), fontsize="x-small")
    fig.subplots_adjust(left=0.06, right=0.99, top=0.94, bottom=0.01, wspace=0.04, hspace=0.04)
    return fig


def show_figure(fig, path=None):
    """Display a matplotlib ``Figure`` inline (as PNG) and, with ``path``, save it there."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(buf.getvalue())
    try:
        from IPython import get_ipython
        from IPython.display import Image, display
    except ImportError:  # pragma: no cover
        return fig
    if get_ipython() is not None:
        display(Image(data=buf.getvalue(), format="png"))
    elif path is not None:
        print(f"figure written to {path}")
    return fig
