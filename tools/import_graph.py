"""Print the import graph between the sub-packages of asnet_keras and report its cycles.

Every import counts: at module level, inside a function or class (a lazy import still
makes the importing module depend on the imported one), and a module named as a string
literal (`importlib.import_module("asnet_keras.x")`, a lazy-name table). A sub-package is
the first name under `asnet_keras` (`asnet_keras/model/builder.py` → `model`,
`asnet_keras/names.py` → `names`); the package's own `__init__.py`, the lazy public API
that names every layer, is left out.

    python tools/import_graph.py                   # the graph, then its cycles
    python tools/import_graph.py --sites           # also every import line behind each edge
    python tools/import_graph.py --order "names,io metrics model data training,inference \
        export evaluation reporting serving,reproduction commands"

`--order` lists the layers bottom to top, separated by spaces; sub-packages in one layer
are separated by commas and may not import each other. Every edge that points upwards
(or sideways within a layer) is then reported too. Exit status: 0 no cycle (and, with
`--order`, no edge against it), 1 otherwise, 2 a usage error.
"""

import argparse
import ast
import os
import sys
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def module_names(package_dir, package):
    """{dotted module name: file path} for every .py file under `package_dir`."""
    names = {}
    for folder, _, files in os.walk(package_dir):
        for file in files:
            if not file.endswith(".py"):
                continue
            path = os.path.join(folder, file)
            parts = os.path.relpath(path, os.path.dirname(package_dir))[:-3].split(os.sep)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            names[".".join(parts)] = path
    # A folder without __init__.py still imports (a namespace package).
    for name in list(names):
        parts = name.split(".")
        for i in range(2, len(parts)):
            names.setdefault(".".join(parts[:i]), None)
    assert package in names, package
    return names


def _targets(node, module, modules, is_package):
    """Dotted modules an import node (or string literal) refers to."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            parts = module.split(".")
            keep = len(parts) - node.level + (1 if is_package else 0)
            base = ".".join(parts[:keep] + ([base] if base else []))
        # `from pkg import sub` imports the sub-module `pkg.sub` when there is one.
        found = [f"{base}.{alias.name}" for alias in node.names
                 if f"{base}.{alias.name}" in modules]
        return found if len(found) == len(node.names) else found + [base]
    return [node.value]


def imports_of(module, path, modules):
    """[(target module, line, kind)] for `module`; kind is top, function or string."""
    with open(path, encoding="utf-8") as file:
        tree = ast.parse(file.read(), path)
    is_package = path.endswith("__init__.py")
    docstrings = {id(body[0].value) for body in _bodies(tree)
                  if body and isinstance(body[0], ast.Expr)
                  and isinstance(body[0].value, ast.Constant)}
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                kind = "function" if in_function else "top"
                for target in _targets(child, module, modules, is_package):
                    found.append((target, child.lineno, kind))
            elif (isinstance(child, ast.Constant) and isinstance(child.value, str)
                  and id(child) not in docstrings and child.value in modules):
                found.append((child.value, child.lineno, "string"))
            visit(child, inside)

    visit(tree, False)
    return found


def _bodies(tree):
    yield tree.body
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield node.body


def subpackage(module, package):
    """`asnet_keras.model.builder` → `model`; None for the package itself or outside it."""
    parts = module.split(".")
    if parts[0] != package or len(parts) < 2:
        return None
    return parts[1]


def build_graph(package_dir, package):
    """{(importer sub-package, imported sub-package): [(file, line, kind, target)]}."""
    modules = module_names(package_dir, package)
    edges = defaultdict(list)
    for module, path in sorted(modules.items()):
        if path is None:
            continue
        source = subpackage(module, package)
        if source is None:
            continue
        for target, line, kind in imports_of(module, path, modules):
            imported = subpackage(target, package)
            if imported is not None and imported != source:
                edges[(source, imported)].append(
                    (os.path.relpath(path, ROOT), line, kind, target))
    return edges


def cycles(edges):
    """The strongly connected components with more than one sub-package (Tarjan)."""
    graph = defaultdict(set)
    for source, target in edges:
        graph[source].add(target)
        graph.setdefault(target, set())
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def connect(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return components


def parse_order(text):
    """"a,b c d" → {sub-package: layer index}; a usage error for a name given twice."""
    rank = {}
    for level, layer in enumerate(text.split()):
        for name in layer.split(","):
            if name in rank:
                raise ValueError(f"--order names {name!r} twice.")
            rank[name] = level
    return rank


def against_order(edges, rank):
    """Edges whose importer is not above the imported layer, and sub-packages not placed."""
    wrong = [(s, t) for (s, t) in edges if s in rank and t in rank and rank[s] <= rank[t]]
    unplaced = sorted({name for edge in edges for name in edge if name not in rank})
    return sorted(wrong), unplaced


def build_parser():
    parser = argparse.ArgumentParser(
        description="Print the import graph between asnet_keras's sub-packages (imports "
        "inside functions and modules named in strings included) and report its cycles.",
    )
    parser.add_argument("--package", default="asnet_keras",
                        help="the package folder under the repository root (default asnet_keras)")
    parser.add_argument("--sites", action="store_true",
                        help="list the import lines behind every edge")
    parser.add_argument("--order", default=None, metavar="LAYERS",
                        help="layers bottom to top separated by spaces, peers by commas; "
                        "report every edge that does not point downwards")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    package_dir = os.path.join(ROOT, args.package)
    if not os.path.isfile(os.path.join(package_dir, "__init__.py")):
        print(f"error: {package_dir} is not a package folder.", file=sys.stderr)
        return 2
    try:
        rank = parse_order(args.order) if args.order else None
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    edges = build_graph(package_dir, args.package)
    importers = defaultdict(list)
    for (source, target), sites in sorted(edges.items()):
        kinds = sorted({kind for _, _, kind, _ in sites})
        importers[source].append(f"{target} ({len(sites)}: {', '.join(kinds)})")
    print(f"{args.package}: sub-package → what it imports (import lines: kinds)")
    for source in sorted(importers):
        print(f"  {source} → " + "; ".join(importers[source]))
        if args.sites:
            for (s, target), sites in sorted(edges.items()):
                if s == source:
                    for file, line, kind, module in sites:
                        print(f"      {file}:{line} {kind} {module}")
    failed = False
    found = cycles(edges)
    for component in found:
        failed = True
        print(f"CYCLE between {', '.join(component)}:")
        for (source, target), sites in sorted(edges.items()):
            if source in component and target in component:
                where = ", ".join(f"{file}:{line} ({kind})" for file, line, kind, _ in sites)
                print(f"  {source} → {target}: {where}")
    if not found:
        print("no cycles")
    if rank is not None:
        wrong, unplaced = against_order(edges, rank)
        for source, target in wrong:
            failed = True
            where = ", ".join(f"{file}:{line}" for file, line, _, _ in edges[(source, target)])
            print(f"AGAINST ORDER {source} → {target}: {where}")
        if unplaced:
            print("not in --order: " + ", ".join(unplaced))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
