"""Print line counts against the budgets of STYLE.md B10 (a signal, not a gate).

Budgets: autodiff/ about 600 lines, an ops/*.py file about 400, a class about 150, a function
about 60. Run:  python tools/loc.py
"""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "glassnet"
BUDGETS = {"autodiff": 600, "ops_file": 400, "class": 150, "function": 60}


def main():
    autodiff = sum(len(p.read_text().splitlines()) for p in (SRC / "autodiff").glob("*.py"))
    print(f"loc: autodiff/ {autodiff} lines (budget ~{BUDGETS['autodiff']})")
    over = []
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text()
        rel = path.relative_to(SRC)
        if rel.parts[0] == "ops" and len(text.splitlines()) > BUDGETS["ops_file"]:
            over.append(f"{rel}: {len(text.splitlines())} lines (ops file budget {BUDGETS['ops_file']})")
        for node in ast.walk(ast.parse(text)):
            kind = "class" if isinstance(node, ast.ClassDef) else "function" if isinstance(node, ast.FunctionDef) else None
            if kind and node.end_lineno - node.lineno + 1 > BUDGETS[kind]:
                over.append(f"{rel}:{node.lineno} {kind} {node.name}: {node.end_lineno - node.lineno + 1} lines (budget {BUDGETS[kind]})")
    total = sum(len(p.read_text().splitlines()) for p in SRC.rglob("*.py"))
    print(f"loc: package {total} lines; over budget: {len(over)}")
    for line in over:
        print("  " + line)


if __name__ == "__main__":
    main()
