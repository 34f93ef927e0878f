"""mkdocs hook: the API reference pages list every module they find on disk.

A page under ``docs/api/`` holds a marker line ``<!-- modules: PACKAGE -->``; at
build time the hook replaces it with a table of the package's modules and one
``::: module`` block per module (sub-packages included, private ``_name``
modules left out). The list is read from the source tree, so moving, adding or
splitting a module needs no edit here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"^<!-- modules: ([A-Za-z_][A-Za-z0-9_]*) -->$", re.MULTILINE)


def modules(package: str) -> list[str]:
    """Dotted names of the package's public modules and sub-packages, in path order."""
    root = ROOT / package
    if not (root / "__init__.py").is_file():
        raise FileNotFoundError(f"docs/api: {package} is not a package under {ROOT}")
    names = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(p.startswith("_") for p in parts):
            continue
        if not all((ROOT.joinpath(*parts[:i]) / "__init__.py").is_file() for i in range(1, len(parts))):
            continue  # a stray script in a folder that is not a package
        names.append(".".join(parts))
    return names


def summary(module: str) -> str:
    """First line of the module's docstring, read without importing it."""
    path = ROOT.joinpath(*module.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return doc.strip().splitlines()[0].replace("|", "\\|") if doc.strip() else ""


def render(package: str) -> str:
    names = modules(package)
    rows = ["| module | what it holds |", "|---|---|"]
    rows += [f"| [`{n}`](#{n}) | {summary(n)} |" for n in names]
    blocks = [f"::: {n}\n    options:\n      heading_level: 2\n      members_order: source\n" for n in names]
    return "\n".join(rows) + "\n\n" + "\n".join(blocks)


def on_page_markdown(markdown: str, page, config, files) -> str:
    return MARKER.sub(lambda m: render(m.group(1)), markdown)
