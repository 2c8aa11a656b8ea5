"""The one Markdown/text table and number formatter of the package.

Used by evaluation (results.md, summary.md), the notebooks' tables
(`asnet_keras.reporting`), the ablation summary and the demo report, so every table the
project writes looks the same. Pure Python.
"""

import math

MISSING = "—"  # a value that does not exist (no such output, no result)


def format_number(value, decimals=3, *, nan_count=0, missing=MISSING):
    """A metric value as text: `decimals` places, "nan" for NaN/inf, `missing` for None,
    and " (k NaN)" appended when `nan_count` images gave NaN.

    >>> format_number(0.12345, 4), format_number(float("nan")), format_number(None)
    ('0.1235', 'nan', '—')
    """
    if value is None:
        return missing
    value = float(value)
    text = f"{value:.{decimals}f}" if math.isfinite(value) else "nan"
    return f"{text} ({nan_count} NaN)" if nan_count else text


def format_difference(value, decimals=3):
    """A signed difference with a typographic minus ("+0.012", "−0.004"); "" for None."""
    if value is None:
        return ""
    value = float(value)
    if not math.isfinite(value):
        return "nan"
    return f"{value:+.{decimals}f}".replace("-", "−")


def escape_cell(cell):
    """A Markdown table cell with '|' escaped."""
    return str(cell).replace("|", "\\|")


def markdown_table(header, rows, *, align_numbers=True):
    """A GitHub Markdown table; the first column left-aligned, the others right-aligned
    (numbers) unless `align_numbers` is False. Cells are str()-ed, '|' escaped."""
    rule = [":---"] + (["---:"] if align_numbers else ["---"]) * (len(header) - 1)
    lines = ["| " + " | ".join(escape_cell(h) for h in header) + " |", "|" + "|".join(rule) + "|"]
    lines += ["| " + " | ".join(escape_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def text_table(header, rows):
    """A plain-text table for terminals: columns padded, the first left-aligned."""
    cells = [[str(c) for c in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(row, widths)))

    return "\n".join([line(cells[0]), "  ".join("-" * w for w in widths),
                      *(line(row) for row in cells[1:])])


def format_duration(seconds):
    """A duration for people: "45 s", "12 min 5 s", "3 h 07 min"; "—" for None.

    >>> format_duration(45.2), format_duration(725), format_duration(11230)
    ('45 s', '12 min 5 s', '3 h 07 min')
    """
    if seconds is None:
        return MISSING
    seconds = float(seconds)
    if not math.isfinite(seconds) or seconds < 0:
        return "nan"
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
