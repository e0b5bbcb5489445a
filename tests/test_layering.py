"""The package's layers hold: the core is a leaf, display does not reach into lessons, no private names cross modules.

The core is every top-level module of ``lateint`` except the upper layers listed in ``UPPER``:
encoding, pooling, MaxSim, indexes, BM25, metrics, data, caches. It may import only itself; the
upper layers build on it. Imports are read from the source (``ast``), so an import hidden inside a
function counts as much as one at the top of the file.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lateint"

#: The upper layers: each may import the core; the core imports none of them.
UPPER = ("lateint.train", "lateint.trained", "lateint.lessons", "lateint.display", "lateint.checks",
         "lateint.engines", "lateint.grade", "lateint.audit")
#: What the display layer (plots, tables, widgets) must not import: it draws what others compute.
NOT_FOR_DISPLAY = ("lateint.lessons", "lateint.checks", "lateint.train", "lateint.trained", "lateint.engines",
                   "lateint.grade", "lateint.audit")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, name: str | None = None) -> list[tuple[str, list[str], int]]:
    """Every ``lateint`` import in ``path`` (module ``name``): (module imported, names taken from it, line)."""
    name = name or module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names if a.name.split(".")[0] == "lateint"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] == "lateint":
                found.append((target, [a.name for a in node.names], node.lineno))
    return found


def within(module: str, layers: tuple[str, ...]) -> bool:
    return any(module == layer or module.startswith(layer + ".") for layer in layers)


MODULES = sorted(PACKAGE.rglob("*.py"))


def is_core(module: str) -> bool:
    return module.startswith("lateint") and not within(module, UPPER)


def test_the_package_has_both_layers():
    names = [module_name(p) for p in MODULES]
    assert {"lateint.encoders", "lateint.similarity", "lateint.index", "lateint.tolerance"} <= {n for n in names if is_core(n)}
    assert any(within(n, ("lateint.lessons",)) for n in names) and not is_core("lateint.lessons.hybrid")


@pytest.mark.parametrize("path", [p for p in MODULES if is_core(module_name(p))], ids=module_name)
def test_the_core_imports_only_the_core(path):
    upward = [f"line {line}: {target}" for target, names, line in imports(path)
              if within(target, UPPER) or (target == "lateint" and set(names) & {u.split(".")[1] for u in UPPER})]
    assert not upward, f"{module_name(path)} is core but imports an upper layer: {upward}"


@pytest.mark.parametrize("path", sorted((PACKAGE / "display").glob("*.py")), ids=module_name)
def test_display_does_not_import_lessons_checks_or_training(path):
    bad = [f"line {line}: {target}" for target, _, line in imports(path) if within(target, NOT_FOR_DISPLAY)]
    assert not bad, f"{module_name(path)} draws; it must not import {bad}"


def test_no_module_imports_another_modules_private_names():
    private = [f"{module_name(p)} line {line}: {target}.{n}" for p in MODULES for target, names, line in imports(p)
               for n in names if n.startswith("_") and not n.startswith("__") and target != module_name(p)]
    assert not private, f"private names imported across modules: {private}"


def test_importing_lateint_loads_only_the_core():
    code = "import sys, lateint; print('\\n'.join(sorted(m for m in sys.modules if m.startswith('lateint'))))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=PACKAGE.parent).stdout.split()
    assert "lateint.similarity" in loaded
    assert [m for m in loaded if not is_core(m)] == []


def test_the_checker_sees_an_upward_import(tmp_path):
    """The rule can fail: a core module that imports a lesson helper inside a function is caught."""
    fake = tmp_path / "fake.py"
    fake.write_text("import lateint.display.plots\ndef f():\n    from .lessons.hybrid import rrf\n    return rrf\n")
    found = imports(fake, "lateint.fake")
    assert found[0] == ("lateint.display.plots", [], 1)
    found = found[1:]
    assert found == [("lateint.lessons.hybrid", ["rrf"], 3)] and within(found[0][0], UPPER)


def test_a_module_name_never_names_a_function():
    """``lateint.X`` is module X for every core module: no function of the top-level API hides one
    (``import lateint.maxsim as M`` once gave the function ``maxsim``)."""
    import importlib

    import lateint

    for path in MODULES:
        name = module_name(path)
        if name.count(".") == 1 and is_core(name):
            module = importlib.import_module(name)
            assert getattr(lateint, name.split(".")[1]) is module, f"lateint.{name.split('.')[1]} is not the module {name}"
    assert callable(lateint.maxsim) and callable(lateint.evaluate) and callable(lateint.compare)
