"""What the notebooks display: `Message` (what is missing and the command that makes it),
`RawTable` (a table as Markdown and text) and `show`."""


class Message:
    """A note for the reader (e.g. which command produces missing results).

    Shown as Markdown in Jupyter and as plain text elsewhere; never raises.
    """

    def __init__(self, title, lines=(), commands=(), level="info"):
        self.title = title
        self.lines = list(lines)
        self.commands = list(commands)
        self.level = level

    def text(self):
        out = [self.title, *("  " + line for line in self.lines)]
        if self.commands:
            out.append("Produce them with:")
            out += ["    " + line for c in self.commands for line in c.splitlines()]
        return "\n".join(out)

    def markdown(self):
        icon = {"missing": "⚠️ ", "ok": "✅ "}.get(self.level, "")
        out = [f"**{icon}{self.title}**", ""]
        out += [f"- {line}" for line in self.lines]
        if self.commands:
            out += ["", "Produce them with:", "", "```bash", *self.commands, "```"]
        return "\n".join(out)

    def _repr_markdown_(self):
        return self.markdown()

    def __repr__(self):
        return self.text()

    __str__ = __repr__


class RawTable:
    def __init__(self, md, text):
        self._md, self._text = md, text

    def _repr_markdown_(self):
        return self._md

    def __repr__(self):
        return self._text


def show(*objs):
    """Display each object (Markdown in Jupyter, text otherwise)."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython ships with the notebook tools
        get_ipython = None
    for obj in objs:
        if get_ipython is not None and get_ipython() is not None:
            display(obj)
        else:
            print(obj)
