"""The four rooms and who may import whom:

    nalu  ←  nalu_lab  ←  nalu_bench        nalu, nalu_lab  ←  nalu_book

The library (``nalu``) imports none of the others; the experiments (``nalu_lab``) only the library;
the benchmark (``nalu_bench``) the library and the experiments; the book's helpers (``nalu_book``)
the library and the experiments. No package imports another in a cycle."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ROOMS = ("nalu", "nalu_lab", "nalu_bench", "nalu_book")
MAY_IMPORT = {"nalu": set(), "nalu_lab": {"nalu"}, "nalu_bench": {"nalu", "nalu_lab"},
              "nalu_book": {"nalu", "nalu_lab"}}


def imports_of(path: Path) -> set[str]:
    """The rooms a module imports (absolute imports; relative ones stay inside its own room)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(ROOMS)


@pytest.mark.parametrize("room", ROOMS)
def test_each_room_imports_only_what_the_rule_allows(room):
    for path in sorted((ROOT / room).glob("*.py")):
        extra = imports_of(path) - MAY_IMPORT[room] - {room}
        assert not extra, f"{path.relative_to(ROOT)} imports {sorted(extra)}; the rule: {room} may import {sorted(MAY_IMPORT[room])}"


def private_uses(source: str) -> list[str]:
    """Private attributes reached from outside their object: ``torch._x`` (a private function) and
    ``obj._x`` for any object but ``self``/``cls`` (e.g. a tensor's ``_version``, a module's
    ``_modules``); dunder names are public."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") \
                and not (node.attr.startswith("__") and node.attr.endswith("__")) \
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
            found.append(f"line {node.lineno}: .{node.attr}")
    return found


def test_the_library_uses_public_pytorch_and_no_process_state():
    for path in sorted((ROOT / "nalu").glob("*.py")):
        text = path.read_text()
        assert not private_uses(text), f"{path.name} reaches private attributes: {private_uses(text)}"
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                assert "ctypes" not in names, f"{path.name}:{node.lineno} imports ctypes"
                assert "threading" not in names, f"{path.name}:{node.lineno} imports threading (thread-local state)"


def test_the_private_rule_would_catch_private_torch_and_object_attributes():
    bad = "import torch\nx = torch._fused_adam_\nv = t._version\nm._modules = {}\nself._ok = 1\ny = t.__class__\n"
    assert private_uses(bad) == ["line 2: ._fused_adam_", "line 3: ._version", "line 4: ._modules"]


def test_the_rule_would_catch_a_forbidden_import(tmp_path):
    bad = tmp_path / "m.py"
    bad.write_text("import nalu_book.results\nfrom nalu_lab import scale\nfrom . import units\n")
    assert imports_of(bad) == {"nalu_book", "nalu_lab"}
