"""The packages import one way only: each layer uses the layers below it, never one above."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Bottom to top: a package may import itself and the packages before it in this list.
LAYERS = ("photonics", "circuits", "mvm", "calibration", "training", "system", "mirage")


def imported_packages(path: Path) -> set[str]:
    """The project packages a module imports anywhere in it (function bodies and TYPE_CHECKING blocks included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.update(name.split(".")[0] for name in names if name.split(".")[0] in LAYERS)
    return found


def test_the_checker_sees_every_form_of_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import mvm.gemm\nfrom training import run\ndef f():\n    from system.workloads import Gemm\n")
    assert imported_packages(module) == {"mvm", "training", "system"}


@pytest.mark.parametrize("package", LAYERS)
def test_no_import_goes_up(package):
    allowed = set(LAYERS[: LAYERS.index(package) + 1])
    upward = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) - allowed)
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    assert {path: names for path, names in upward.items() if names} == {}


def imported_modules(path: Path) -> set[str]:
    """The project modules a module imports anywhere in it, by full name (``from pkg import mod`` as ``pkg.mod``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in LAYERS}


def test_the_gemms_stages_never_call_back_into_the_driver():
    """Within mvm, a GEMM's data flows one way: the driver (mvm.gemm) calls its stages, and no module it reaches
    (the engine, the receiver map, the digital stages, ...) imports the driver, directly or through another."""
    modules = {path.stem: path for path in (ROOT / "mvm").glob("*.py") if path.stem != "__init__"}
    reaches = {}

    def reach(name: str) -> set[str]:
        if name not in reaches:
            reaches[name] = set()
            direct = {m.split(".")[1] for m in imported_modules(modules[name]) if m.startswith("mvm.")}
            reaches[name] = set().union(direct, *(reach(m) for m in direct if m in modules))
        return reaches[name]

    stages = {m.split(".")[1] for m in imported_modules(modules["gemm"]) if m.startswith("mvm.")} & set(modules)
    assert {"engine", "digital", "bfp"} <= stages
    assert {stage: "gemm" for stage in sorted(stages) if "gemm" in reach(stage)} == {}
