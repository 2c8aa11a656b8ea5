"""Scoring maps on prepared test sets (paper §4).

- `api`: `evaluate_model` and `evaluate_pred_dir`, what they score and write.
- `scoring`: `DatasetScorer`, every metric of one dataset as maps stream in.
- `pred_dir`: reading a folder of any method's maps.
- `caveats`: warnings for scores that are not a held-out test.
- `rendering`: results.json / results.md / summary.md / pr_curves.png.
- `quantized`: `export_int8`, the INT8 OpenVINO export and the accuracy check on held-out
  images that decides whether it is written (docs/deployment.md §6).
- `plots`: the matplotlib drawing of PR curves (Fig. 5) and of a qualitative grid
  (Fig. 6), shared by `rendering`, the demo and the notebooks.

The command line is `asnet evaluate`.
"""
