"""The paper's tables beside ours: what the notebooks show (Tables 2–5, Figures 5–6).

Reads the paper's numbers from the package file ``paper_results.json`` (Tables 2–5,
typed once from the paper) and the ``results.json`` files that evaluation writes
(``<folder>/<dataset>/results.json``, one folder per evaluated model; the ablation runner
puts one such folder per variant at ``<ablation>/<variant>/eval``), and builds plain
Markdown / text tables: every row of the paper's table, and under each ASNet row ours and
the difference. Nothing here raises on missing results: a table then shows the paper's
rows, and a `Message` names the command that produces what is missing.

- `paper`: the paper's tables; `results`: ours (`EvalResults`, `AblationResults`);
- `comparison`: `compare`, `results_status` and the overviews;
- `display`: `Message`, `RawTable`, `show`; `figures`: Figures 5 and 6 (drawn with
  `asnet_keras.evaluation.plots`);
- `notebooks`: executing the notebooks (`asnet notebooks`, `asnet reproduce`; nbclient,
  imported only there).

Pure Python + numpy (+ matplotlib/OpenCV for the figures); no TensorFlow, no pandas.

Example:
    >>> from asnet_keras import reporting
    >>> ours = reporting.EvalResults("results/eval")
    >>> reporting.compare("table4", ours)        # displays as a Markdown table in Jupyter
    >>> print(reporting.compare("table4", ours).text())
"""

from asnet_keras.reporting.paper import (  # noqa: F401
    Column,
    PAPER_FILE,
    PaperRow,
    PaperTable,
    load_paper,
    paper_notes,
    paper_table,
    parse_cell,
)
from asnet_keras.reporting.results import (  # noqa: F401
    AblationResults,
    EvalResults,
    RESULTS_FILE,
    TASKS,
    parse_dataset_map,
)
from asnet_keras.reporting.display import (  # noqa: F401
    Message,
    RawTable,
    show,
)
from asnet_keras.reporting.comparison import (  # noqa: F401
    ABLATION_COMMAND,
    ABLATION_SUBSET_COMMAND,
    Comparison,
    EVAL_COMMAND,
    FIXATION_28_HINT,
    TableRow,
    ablation_overview,
    compare,
    nan_summary,
    our_metrics,
    paper_only,
    results_status,
)
from asnet_keras.reporting.figures import (  # noqa: F401
    FIG6_ROWS,
    pr_curves,
    qualitative_examples,
    qualitative_figure,
    show_figure,
)
