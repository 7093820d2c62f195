"""The floors of DESIGN.md: a package imports only from its own floor or below, and the
run time needs NumPy alone."""

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "glassnet"
FLOORS = {"errors": 0, "backend": 1, "data": 1, "autodiff": 2, "ops": 3, "nn": 4, "optim": 4,
          "train": 5, "io": 5, "models": 6, "viz": 6, "cli": 7, "__main__": 7}  # fmt: skip


def _imported_subpackages(path):
    package = path.relative_to(SRC).parts
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this file's package
                here = list(package[:-1])  # the file's own package
                base = here[: len(package) - node.level] if node.level > 1 else here
                target = base + (node.module.split(".") if node.module else [])
                if not target:  # "from .. import x" at the top: x is the subpackage
                    yield from (alias.name for alias in node.names)
                    continue
                yield target[0]
            elif node.module and node.module.split(".")[0] == "glassnet":
                parts = node.module.split(".")
                yield parts[1] if len(parts) > 1 else None
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "glassnet" and len(parts) > 1:
                    yield parts[1]


def test_no_module_imports_from_a_higher_floor():
    violations = []
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC).parts
        if len(parts) == 1 and parts[0] == "__init__.py":
            continue  # the package's index page imports everything
        own = parts[0].removesuffix(".py")
        floor = FLOORS.get(own)
        assert floor is not None, f"{path}: add its package to FLOORS"
        for target in _imported_subpackages(path):
            if target in FLOORS and FLOORS[target] > floor:
                violations.append(f"{path.relative_to(SRC)} (floor {floor}) imports {target} "
                                  f"(floor {FLOORS[target]})")
    assert not violations, "\n".join(violations)


def test_import_needs_numpy_only():
    code = ("import sys, glassnet, glassnet.nn, glassnet.train, glassnet.io, glassnet.data, "
            "glassnet.models, glassnet.viz, glassnet.cli.main; "
            "print(sorted({m.split('.')[0] for m in sys.modules} "
            "& {'torch', 'sklearn', 'scipy', 'matplotlib'}))")  # fmt: skip
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    out = run.stdout
    assert out.strip() == "[]", f"optional packages imported at import time: {out}"


PRIVATE_GRAPH_FIELDS = {"_op", "parents", "_logits", "_hooks", "_guard", "_FREED"}


def test_no_module_above_autodiff_reads_the_graphs_private_fields():
    """Upper floors use the public graph (``tensor.op``, ``op.inputs``, ``autodiff.walk``)."""
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.relative_to(SRC).parts[0] == "autodiff":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in PRIVATE_GRAPH_FIELDS:
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno} reads .{node.attr}")
    assert not offenders, "\n".join(offenders)


def _module_name(path):
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(path, modules):
    """glassnet modules that ``path`` imports at module level (not inside functions)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:  # "from . import ops": the submodule itself
                sub = f"{target}.{alias.name}"
                yield sub if sub in modules else target
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name


def test_there_are_no_import_cycles():
    paths = {_module_name(p): p for p in SRC.rglob("*.py")}
    edges = {name: {t for t in _top_level_imports(p, paths) if t in paths and t != name}
             for name, p in paths.items()}  # fmt: skip
    cycles, state = [], {}

    def visit(name, trail):
        state[name] = "open"
        for target in sorted(edges[name]):
            if state.get(target) == "open":
                cycles.append(" -> ".join(trail[trail.index(target):] + [target]))
            elif target not in state:
                visit(target, trail + [target])
        state[name] = "done"

    for name in sorted(paths):
        if name not in state:
            visit(name, [name])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)
