"""Every citation of the design notes resolves, and nothing cites notes outside the repository.

A citation is `docs/<path>.md`, optionally followed by one or more section ids:
`docs/metrics.md §A.6`, `` `docs/metrics.md` §B.1 ``, `docs/released_model.md §1.2, §3`,
`docs/released_model.md §1–§2`, `docs/model.md §2–3`. The note must exist, and every id
must be the start of a Markdown heading of that note: `## §<id> <title>` (see
docs/README.md). The section may follow the path on the next line (wrapped docstrings).

Besides, no tracked file may point at the old design notes that lived next to the
repository (their upper-case names, or a path through the parent folder's shared
directory), nor at tracker numbers (the word for a tracker ticket followed by a number):
an explanation worth citing belongs in docs/.

Files scanned: `git ls-files` when the tree is a git checkout, otherwise every file under
the root except virtual environments, caches and VCS folders. Files that are not UTF-8
text are skipped.

Also, every repository path (`asnet_keras/…`, `tests/…`, `benchmarks/…`, …) and every
dotted name `asnet_keras.…` written in the README, the other READMEs and `docs/` exists:
the path as a file or folder, the name as a module, a name that module defines (a
function, class, constant, import, or a name of its lazy table) or a member of a class it
defines, or a string the package itself uses (a metadata key). Paths with placeholders
(`<dataset>`, `*`, `…`) and files users make under `weights/` are not checked. The names
are read from the source (`ast`), so the check imports nothing.
"""

import ast
import os
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_ID = r"(?:[A-Z](?:\.\d+)*|\d+(?:\.\d+)*)(?![\w])"
# `docs/<path>.md`, an optional closing backtick, then optionally "§id" after blanks or one
# line break, then more ids: ", §id", "–id" / "-§id" (ranges) or " and §id".
CITATION = re.compile(
    r"(?<![\w.-])docs/(?P<path>[\w./-]*?\w\.md)(?![\w])`?"
    r"(?:(?:[ \t]+|[ \t]*\n[ \t]*)§(?P<ids>" + _ID
    + r"(?:[ \t]*,[ \t]*§" + _ID + r"|[ \t]*[–-][ \t]*§?" + _ID + r"|[ \t]+and[ \t]+§" + _ID + r")*))?"
)
ONE_ID = re.compile(_ID)
HEADING = re.compile(r"^#{1,6}[ \t]+§(?P<id>" + _ID + r")[ \t]+\S")
FENCE = re.compile(r"^[ \t]*(```|~~~)")

# The old note names, assembled so that this file does not mention them itself.
OLD_NOTES = ("ASNET", "METRICS", "DATASETS", "RELEASED_MODEL", "KERAS_NOTES", "STYLE")
FORBIDDEN = (
    ("a design note outside the repository",
     re.compile(r"\.\./shared|(?<![\w/.-])(?:" + "|".join(OLD_NOTES) + r")\.md")),
    ("a tracker number instead of a docs/ citation",
     re.compile(r"\bissue[ \t]*#?[ \t]*\d+", re.IGNORECASE)),
)
SKIP_DIRS = {".git", ".venv", "venv", "env", "__pycache__", ".pytest_cache", ".mypy_cache",
             ".ruff_cache", ".ipynb_checkpoints", "node_modules", "build", "dist"}


def repo_files(root):
    """Paths (relative to `root`) of the files to scan."""
    root = Path(root)
    if (root / ".git").exists():
        try:
            out = subprocess.run(["git", "-C", str(root), "ls-files", "-z"], check=True,
                                 capture_output=True).stdout
            return sorted(p for p in out.decode().split("\0") if p and (root / p).is_file())
        except (OSError, subprocess.CalledProcessError):
            pass  # no usable git: walk the tree instead
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and not d.endswith(".egg-info")]
        found += [os.path.relpath(os.path.join(dirpath, f), root) for f in filenames]
    return sorted(found)


def read_text(path):
    """The file's text, or None for a file that is not UTF-8 text."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None


def section_ids(note_text):
    """Ids of the `§<id> <title>` headings of a note (fenced code blocks excluded)."""
    ids, fenced = set(), False
    for line in note_text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced and (match := HEADING.match(line)):
            ids.add(match.group("id"))
    return ids


def find_problems(root):
    """Every broken citation and forbidden mention under `root`, as "path:line: message"."""
    root = Path(root)
    problems, notes = [], {}
    for rel in repo_files(root):
        text = read_text(root / rel)
        if text is None:
            continue
        for match in CITATION.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            path = "docs/" + match.group("path")
            if path not in notes:
                note = read_text(root / path) if (root / path).is_file() else None
                notes[path] = None if note is None else section_ids(note)
            if notes[path] is None:
                problems.append(f"{rel}:{line}: {path} does not exist")
                continue
            for ident in ONE_ID.findall(match.group("ids") or ""):
                if ident not in notes[path]:
                    problems.append(f"{rel}:{line}: {path} has no heading '§{ident} …'")
        for number, line in enumerate(text.splitlines(), 1):
            for what, pattern in FORBIDDEN:
                for hit in pattern.finditer(line):
                    problems.append(f"{rel}:{number}: {hit.group(0)!r} is {what}")
    return problems


# ------------------------------------------------------- paths and dotted names in prose

TOP_FOLDERS = ("asnet_keras", "data_prep", "tests", "benchmarks", "tools", "notebooks", "docs",
               "weights", "requirements", ".ci")
REPO_PATH = re.compile(r"(?<![\w./-])(?:" + "|".join(map(re.escape, TOP_FOLDERS))
                       + r")/[\w./*{}<>…-]*")
DOTTED = re.compile(r"(?<![\w./-])asnet_keras(?:\.\w+)+")
PLACEHOLDER = re.compile(r"[*{}<>…]")
USER_FILES = "weights/"  # git-ignored: what users put there (weights/README.md)
PROSE = ("README.md", "data_prep/README.md", "notebooks/README.md", "weights/README.md")


def _module_path(root, parts):
    """The file (or namespace folder) of the module `parts`, or None."""
    base = Path(root).joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return base if base.is_dir() else None


def _names(target):
    return {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}


def defined_names(path):
    """(names a module defines, {class: its members}), read from its source."""
    if path.is_dir():
        return {p.stem for p in path.iterdir() if p.suffix == ".py" or p.is_dir()}, {}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lazy = any(isinstance(n, ast.FunctionDef) and n.name == "__getattr__" for n in tree.body)
    names, classes = set(), {}
    for node in tree.body:
        for inner in ast.walk(node):
            if isinstance(inner, (ast.Import, ast.ImportFrom)):
                names |= {(a.asname or a.name).split(".")[0] for a in inner.names}
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        if isinstance(node, ast.ClassDef):
            members = {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
                       and isinstance(n.value, ast.Name) and n.value.id == "self"}
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    members.add(item.name)
                elif isinstance(item, (ast.Assign, ast.AnnAssign)):
                    for target in getattr(item, "targets", [getattr(item, "target", None)]):
                        members |= _names(target)
            classes[node.name] = members
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in getattr(node, "targets", [getattr(node, "target", None)]):
                names |= _names(target)
            if lazy and node.value is not None:  # the names a lazy `__getattr__` serves
                names |= {n.value for n in ast.walk(node.value)
                          if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            for inner in ast.walk(node):
                if isinstance(inner, (ast.FunctionDef, ast.ClassDef)):
                    names.add(inner.name)
                elif isinstance(inner, ast.Assign):
                    for target in inner.targets:
                        names |= _names(target)
    return names, classes


def package_strings(root):
    """Dotted `asnet_keras.…` strings the package's code uses (metadata keys, …)."""
    found = set()
    for path in Path(root, "asnet_keras").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and DOTTED.fullmatch(node.value):
                found.add(node.value)
    return found


def dotted_name_exists(root, name, known_strings=frozenset()):
    """Whether `asnet_keras.x.y` names a module, something a module defines, or a member
    of a class a module defines (module docstring)."""
    if name in known_strings:
        return True
    parts = name.split(".")
    for k in range(len(parts), 0, -1):
        module = _module_path(root, parts[:k])
        if module is None:
            continue
        rest = parts[k:]
        if not rest:
            return True
        names, classes = defined_names(module)
        if rest[0] not in names:
            return False
        return len(rest) == 1 or rest[0] not in classes or rest[1] in classes[rest[0]]
    return False


def missing_references(root, files=None):
    """Every repository path and `asnet_keras.…` name in the prose files that does not
    exist, as "path:line: name does not exist"."""
    root = Path(root)
    files = files or [*PROSE, *(f"docs/{p.name}" for p in sorted((root / "docs").glob("*.md")))]
    strings, problems = package_strings(root), []
    for rel in files:
        text = read_text(root / rel)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            for match in REPO_PATH.finditer(line):
                path = match.group(0).rstrip(".,;:")
                if PLACEHOLDER.search(path) or path.startswith(USER_FILES) and path != USER_FILES:
                    continue
                if not (root / path).exists():
                    problems.append(f"{rel}:{number}: {path} does not exist")
            for match in DOTTED.finditer(line):
                if not dotted_name_exists(root, match.group(0), strings):
                    problems.append(f"{rel}:{number}: {match.group(0)} does not exist")
    return problems


# ------------------------------------------------------------------ the checker itself


def _write(root, rel, text):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


# The folder prefix written apart, so that the repository scan does not read the sample
# citations below (some of them deliberately broken) as citations of this file.
D = "docs" + "/"


def test_checker_on_a_small_tree(tmp_path):
    _write(tmp_path, f"{D}model.md",
           "# Model\n\n## §1 Network\n\n### §1.1 Hidden widths\n\n## §2 Losses\n\n"
           "```\n## §9 inside a code block, not a heading\n```\n"
           "§3 not a heading\n##§4 no blank after the hashes\n## §5\n")
    _write(tmp_path, f"{D}metrics.md", "## §A Fixation\n\n### §A.6 Density maps\n")
    _write(tmp_path, "pkg/good.py",
           f'"""Widths: {D}model.md §1.1. Loss ({D}model.md §2).\n'
           f"Density `{D}metrics.md` §A.6, whole note {D}metrics.md,\n"
           f"ranges {D}model.md §1–§2 and {D}model.md §1-2, a list {D}model.md §1.1, §2,\n"
           f'wrapped {D}model.md\n§2."""\n')
    _write(tmp_path, "pkg/bad.py",
           f"# {D}missing.md §1\n"  # line 1: the note does not exist
           f"# {D}model.md §9, §4\n"  # line 2: heading inside a code block; no blank after ##
           f"x = 1  # {D}metrics.md §B.5.\n"  # line 3: no such section (trailing period)
           f"# {D}model.md §1–§5 and {D}metrics.md §A, §A.7\n")  # line 4: §5 has no title
    old_note, shared, tracker = "KERAS_NOTES" + ".md", ".." + "/shared/x", "Iss" + "ue #12"
    _write(tmp_path, "notes.md", f"see {old_note}\nsee {shared}\nsee {tracker}\n")
    _write(tmp_path, ".venv/lib/ignored.py", f"# {D}missing.md §1 {old_note}\n")
    (tmp_path / "image.png").write_bytes(bytes(range(256)))

    assert sorted(find_problems(tmp_path)) == sorted([
        f"pkg/bad.py:1: {D}missing.md does not exist",
        f"pkg/bad.py:2: {D}model.md has no heading '§9 …'",
        f"pkg/bad.py:2: {D}model.md has no heading '§4 …'",
        f"pkg/bad.py:3: {D}metrics.md has no heading '§B.5 …'",
        f"pkg/bad.py:4: {D}model.md has no heading '§5 …'",
        f"pkg/bad.py:4: {D}metrics.md has no heading '§A.7 …'",
        f"notes.md:1: {old_note!r} is a design note outside the repository",
        f"notes.md:2: {'..' + '/shared'!r} is a design note outside the repository",
        f"notes.md:3: {tracker!r} is a tracker number instead of a docs/ citation",
    ])


def test_section_ids_read_only_titled_headings():
    text = "## §1 A\n### §1.1 B\n#### §B.5 C\n## §T D\n# no id\n## §7\n```\n## §8 E\n```\n"
    assert section_ids(text) == {"1", "1.1", "B.5", "T"}


# ------------------------------------------------------------------ the repository


def test_every_docs_citation_resolves_and_nothing_cites_outside_notes():
    problems = find_problems(REPO)
    assert not problems, (
        f"{len(problems)} citation problem(s); cite `docs/<note>.md §<id>` where the note "
        "has a heading '§<id> <title>' (docs/README.md):\n" + "\n".join(problems)
    )


def test_reference_checker_on_a_small_tree(tmp_path):
    _write(tmp_path, "asnet_keras/__init__.py",
           "import importlib\n_LAZY = {'read_image': 'asnet_keras.io'}\n"
           "def __getattr__(name):\n    return name\n")
    _write(tmp_path, "asnet_keras/io/__init__.py", "")
    _write(tmp_path, "asnet_keras/io/files.py",
           "KEY = 'asnet_keras.options'\nclass Reader:\n    LIMIT = 1\n"
           "    def __init__(self):\n        self.path = 0\n    def read(self):\n"
           "        pass\ndef helper():\n    pass\n")
    _write(tmp_path, "tests/support/helpers.py", "")
    _write(tmp_path, "README.md",
           "`asnet_keras/io/files.py`, `tests/support/`, `asnet_keras/io/files.py:3`,\n"
           "`asnet_keras.io.files.helper`, `asnet_keras.io.files.Reader.read`,\n"
           "`asnet_keras.io.files.Reader.path`, `asnet_keras.read_image`, metadata\n"
           "`asnet_keras.options`, `weights/asnet.keras`, `tests/<name>.py`.\n"
           "Gone: `asnet_keras/model.py`, `tests/helpers.py`, `asnet_keras.io.files.nope`,\n"
           "`asnet_keras.io.files.Reader.nope`, `asnet_keras.io.gone`, `asnet_keras.train`.\n")
    assert missing_references(tmp_path, ["README.md"]) == [
        "README.md:5: asnet_keras/model.py does not exist",
        "README.md:5: tests/helpers.py does not exist",
        "README.md:5: asnet_keras.io.files.nope does not exist",
        "README.md:6: asnet_keras.io.files.Reader.nope does not exist",
        "README.md:6: asnet_keras.io.gone does not exist",
        "README.md:6: asnet_keras.train does not exist",
    ]


def test_every_path_and_dotted_name_in_the_readmes_and_docs_exists():
    problems = missing_references(REPO)
    assert not problems, (
        f"{len(problems)} reference(s) to something that does not exist; fix the text or "
        "the name:\n" + "\n".join(problems))
