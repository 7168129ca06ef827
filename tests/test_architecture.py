"""The package graph points one way: a package imports only packages of a lower layer.

docs/architecture.md draws the same graph; this test is what keeps it true. Every
``import`` and ``from ... import`` is read from the source (also those inside
functions), so a lazy import that reaches upward fails here as well.
"""

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Layer of each package; a package may import its own layer's packages only where
#: ALLOWED_SIDEWAYS says so, and any lower layer.
LAYERS = {
    "ibeat_core": 0,      # the pure engine: keypoints in, beats and hits out
    "ibeat_models": 1,    # the shipped networks on onnxruntime
    "ibeat_io": 2,        # files, datasets, plots, synthesised kit
    "ibeat_metrics": 2,   # metric functions
    "ibeat_train": 3,     # training and export (torch)
    "ibeat_video": 3,     # camera and video front-end
    "ibeat_grpc": 4,      # transports: may use the video front-end as the server's own source
    "ibeat_cli": 5,       # composition: the commands, evaluation, benchmarks
}


def _package_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return {n.split(".")[0] for n in names if n.split(".")[0] in LAYERS}


def _sources():
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield package, path


def test_every_package_is_listed():
    found = {p.name for p in ROOT.glob("ibeat_*") if (p / "__init__.py").is_file()}
    assert found == set(LAYERS)


@pytest.mark.parametrize("package", list(LAYERS))
def test_no_package_imports_a_higher_or_same_layer_package(package):
    bad = []
    for pkg, path in _sources():
        if pkg != package:
            continue
        for imported in _package_imports(path):
            if imported != pkg and LAYERS[imported] >= LAYERS[pkg]:
                bad.append(f"{path.relative_to(ROOT)} imports {imported} "
                           f"(layer {LAYERS[imported]} >= {LAYERS[pkg]})")
    assert not bad, "\n".join(bad)


def test_the_checker_sees_lazy_imports(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("def f():\n    from ibeat_cli.main import main\n    import ibeat_grpc.server\n")
    assert _package_imports(src) == {"ibeat_cli", "ibeat_grpc"}


def test_the_core_needs_only_the_standard_library_numpy_and_scipy():
    allowed = set(sys.stdlib_module_names) | {"numpy", "scipy", "ibeat_core"}
    bad = []
    for path in sorted((ROOT / "ibeat_core").rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            bad += [f"{path.name}: {n}" for n in names if n.split(".")[0] not in allowed]
    assert not bad, bad
