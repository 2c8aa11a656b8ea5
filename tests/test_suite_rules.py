"""Rules that keep the tests from checking nothing (docs/testing.md §2), read off the test
files themselves:

- every `zip` in a test is `strict=True`, so a stream that yields fewer items than its
  partner fails instead of ending the loop early;
- every parametrised table of cases that is not written out in the decorator (a constant,
  a dict or a tuple of the package) has a module-level `assert len(TABLE) == N`, so a
  table that shrinks or empties (pytest then skips the test) is noticed;
- no test calls the built-in `hash()`, whose value for a string changes with
  PYTHONHASHSEED: a seed made from it would not reproduce a failure.
"""

import ast
import pathlib

TESTS = pathlib.Path(__file__).resolve().parent
FILES = sorted(TESTS.rglob("*.py"))
assert len(FILES) > 50


def _tree(path):
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _where(path, node):
    return f"{path.relative_to(TESTS.parent)}:{node.lineno}"


def unchecked_zips(tree):
    """The `zip(...)` calls of a module without `strict=True`."""
    return [node for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "zip"
            and not any(k.arg == "strict" and isinstance(k.value, ast.Constant)
                        and k.value.value is True for k in node.keywords)]


def hash_calls(tree):
    """The calls of the built-in `hash()` in a module."""
    return [node for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "hash"]


def _table(node):
    """The expression a case table is read from (`list(X)` and `tuple(X)` are X)."""
    while (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
           and node.func.id in ("list", "tuple", "sorted") and len(node.args) == 1):
        node = node.args[0]
    return node


def _case_tables(tree):
    """(node, table expression) of every `pytest.mark.parametrize` and `pytest.fixture(
    params=...)` whose cases are not written out where they are used."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = ast.unparse(node.func)
        values = None
        if name.endswith("mark.parametrize") and len(node.args) >= 2:
            values = node.args[1]
        elif name.endswith("fixture"):
            values = next((k.value for k in node.keywords if k.arg == "params"), None)
        if values is None:
            continue
        table = _table(values)
        if not isinstance(table, (ast.List, ast.Tuple)):
            yield node, ast.unparse(table)


def _counted(tree):
    """The expressions X of the module-level `assert`s that contain `len(X)`."""
    counted = set()
    for statement in tree.body:
        if isinstance(statement, ast.Assert):
            for node in ast.walk(statement.test):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                        and node.func.id == "len" and len(node.args) == 1):
                    counted.add(ast.unparse(_table(node.args[0])))
    return counted


def uncounted_tables(tree):
    counted = _counted(tree)
    return [(node, table) for node, table in _case_tables(tree) if table not in counted]


def test_every_zip_in_the_tests_is_strict():
    found = [_where(path, node) for path in FILES for node in unchecked_zips(_tree(path))]
    assert found == [], "zip without strict=True (docs/testing.md §2): " + ", ".join(found)


def test_every_table_of_cases_asserts_its_count():
    found = [f"{_where(path, node)} ({table})" for path in FILES
             for node, table in uncounted_tables(_tree(path))]
    assert found == [], ("cases without a module-level `assert len(...) == N` "
                         "(docs/testing.md §2): " + ", ".join(found))


def test_no_test_seeds_from_the_builtin_hash():
    found = [_where(path, node) for path in FILES for node in hash_calls(_tree(path))]
    assert found == [], "hash() changes with PYTHONHASHSEED (docs/testing.md §2): " + ", ".join(
        found)


def test_the_rules_see_what_they_check():
    """Each rule flags the mistake it is for, and passes the fix."""
    bad = ast.parse(
        "import pytest\nCASES = {'a': 1}\n"
        "@pytest.mark.parametrize('x', list(CASES))\ndef test_a(x):\n"
        "    for a, b in zip([1], [2]):\n        rng = seeded(hash(x))\n")
    assert [node.lineno for node in unchecked_zips(bad)] == [5]
    assert [node.lineno for node in hash_calls(bad)] == [6]
    assert [table for _, table in uncounted_tables(bad)] == ["CASES"]
    good = ast.parse(
        "import pytest\nCASES = {'a': 1}\nassert len(CASES) == 1\n"
        "@pytest.mark.parametrize('x', list(CASES))\ndef test_a(x):\n"
        "    for a, b in zip([1], [2], strict=True):\n        pass\n"
        "@pytest.mark.parametrize('y', [1, 2])\ndef test_b(y):\n    pass\n")
    assert unchecked_zips(good) == [] and uncounted_tables(good) == [] and hash_calls(good) == []
