"""The layout shows the flow (DESIGN.md, "Layout shows the flow"; issue 24 item 6).

Every `import` of the package is read with `ast` (module level, inside functions and under `if TYPE_CHECKING:`)
and checked against the intended direction: the engine (`teacher`) knows no stage or evaluation, dataset schemas
and loading (`data`) sit below the curation stages, and the leaderboard reads results, not eval code. A runtime
import cycle is refused wherever it is, a function-local import (the usual way to hide one) included.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

import star1_hub

PACKAGE_DIR = Path(star1_hub.__file__).parent

ABOVE_THE_ENGINE = ("evaluate", "curate", "collect", "train", "data", "leaderboard", "space", "demo")
ABOVE_THE_DATA = ("curate", "collect", "evaluate", "train", "teacher", "leaderboard", "space", "demo")

FORBIDDEN = [  # (importer, imported, why): a name matches itself and everything below it
    *[
        ("star1_hub.teacher", f"star1_hub.{area}", "the engine must not know stages or eval recipes")
        for area in ABOVE_THE_ENGINE
    ],
    *[("star1_hub.data", f"star1_hub.{area}", "schemas and loading sit below the stages") for area in ABOVE_THE_DATA],
    ("star1_hub.leaderboard", "star1_hub.evaluate", "the leaderboard reads results, not eval code"),
    ("star1_hub.hub", "star1_hub.hubserver", "the Hub client's write path works against any Hub"),
    ("star1_hub.hubserver", "star1_hub.hub", "the local Hub server is a separate package from the client"),
]

CLIENT_LIBRARIES = ("huggingface_hub", "datasets")  # read their environment (HF_ENDPOINT, …) at import time

KNOWN_CYCLES: dict[
    tuple[str, str], str
] = {}  # cycles left in place, each with its reason; fixing one fails this list until it is removed

NO_LOCAL_IMPORTS_BETWEEN = [  # pairs whose cycle used to hide behind a function-local import
    ("star1_hub.hub.commit", "star1_hub.hub.card_push"),
    ("star1_hub.teacher.endpoint", "star1_hub.teacher.records"),
]


@dataclass(frozen=True)
class Edge:
    importer: str
    imported: str
    line: int
    local: bool  # inside a function body
    typing_only: bool  # under `if TYPE_CHECKING:` (never runs)
    implied: bool = False  # the package `__init__` an import of one of its modules runs first

    def __str__(self) -> str:
        where = " (function-local)" if self.local else " (TYPE_CHECKING)" if self.typing_only else ""
        how = "runs the __init__ of" if self.implied else "imports"
        return f"{self.importer}:{self.line} {how} {self.imported}{where}"


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets(node: ast.AST, package: str, modules: set[str]) -> list[str]:
    """The modules an import statement names (`from a.b import c`: `a.b.c` when that is a module, else `a.b`)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:  # relative: `from ..x import y` inside package a.b is a.x.y
        parts = package.split(".")
        base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
    return list(dict.fromkeys(f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names))


def import_edges(root: Path = PACKAGE_DIR) -> list[Edge]:
    """Every import between the package's own modules, relative imports resolved."""
    files = {_module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    modules = set(files)
    edges = []
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        pending = [(ast.parse(path.read_text(encoding="utf-8"), str(path)), False, False)]
        while pending:  # (node, inside a function, under `if TYPE_CHECKING:`)
            node, local, typing_only = pending.pop()
            for target in _targets(node, package, modules):
                if not _under(target, root.name) or target == name:
                    continue
                edges.append(Edge(name, target, node.lineno, local, typing_only))
                parts = target.split(".")  # importing a.b.c runs a/b/__init__ first: an import of a.b too
                for parent in (".".join(parts[:i]) for i in range(2, len(parts))):
                    if not _under(name, parent):
                        edges.append(Edge(name, parent, node.lineno, local, typing_only, implied=True))
            in_function = local or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            guarded = node.body if isinstance(node, ast.If) and _is_type_checking(node.test) else []
            pending.extend(
                (child, in_function, typing_only or child in guarded) for child in ast.iter_child_nodes(node)
            )
    return sorted(edges, key=lambda e: (e.importer, e.line, e.imported))


def _under(module: str, area: str) -> bool:
    return module == area or module.startswith(area + ".")


def forbidden_edges(edges: list[Edge]) -> list[str]:
    return [
        f"{edge}: {why}"
        for edge in edges
        if not edge.implied  # the import that names the module is reported already
        for importer, imported, why in FORBIDDEN
        if _under(edge.importer, importer) and _under(edge.imported, imported)
    ]


def runtime_cycles(edges: list[Edge]) -> list[list[str]]:
    """Strongly connected groups of modules over the imports that run (function-local ones included).

    A package's `__init__` that re-exports its own modules is not a cycle with them (the language resolves
    `from pkg import submodule` without running into the half-made package), so edges from a module to the
    `__init__` of a package that contains it are left out."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        if edge.typing_only or _under(edge.importer, edge.imported):
            continue
        graph.setdefault(edge.importer, set()).add(edge.imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups = []

    def connect(node: str) -> None:  # Tarjan; the package has a few hundred modules, recursion depth is fine
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return groups


@pytest.fixture(scope="module")
def edges() -> list[Edge]:
    return import_edges()


def test_the_walker_sees_module_level_local_and_typing_imports(edges):
    # known edges of the real package, one of each kind (if the walker lost one, every rule below would pass)
    by_pair = {(e.importer, e.imported): e for e in edges}
    assert not by_pair["star1_hub.curate.versioning", "star1_hub.data.load"].local
    assert by_pair["star1_hub.evaluate.publish", "star1_hub.leaderboard"].local
    assert by_pair["star1_hub.hub.card_push", "star1_hub.hub.commit"].local is False
    assert any(e.typing_only for e in edges)


def test_no_import_runs_against_the_flow(edges):
    assert forbidden_edges(edges) == []


def test_no_function_local_import_hides_a_cycle_between_these_modules(edges):
    hidden = [
        str(e) for e in edges if e.local for pair in NO_LOCAL_IMPORTS_BETWEEN if {e.importer, e.imported} == set(pair)
    ]
    assert hidden == []


def test_test_doubles_are_never_imported_by_the_package(edges):
    assert [
        str(e)
        for e in edges
        if _under(e.imported, "star1_hub.testing") and not _under(e.importer, "star1_hub.testing")
    ] == []


def test_the_local_hub_server_imports_no_hub_client():
    # the server is importable (and started) before the clients read their environment at import time
    clients = []
    for path in sorted((PACKAGE_DIR / "hubserver").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            clients += [f"{path.name}:{node.lineno} {n}" for n in names if n.split(".")[0] in CLIENT_LIBRARIES]
    assert clients == []


def test_no_runtime_import_cycle_but_the_known_ones(edges):
    assert sorted(tuple(group) for group in runtime_cycles(edges)) == sorted(KNOWN_CYCLES)


def _write_package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "star1_hub"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_each_rule_fails_on_the_edge_it_names(tmp_path):
    root = _write_package(
        tmp_path,
        {
            "__init__.py": "",
            "teacher/__init__.py": "",
            "teacher/cli.py": "def serve():\n    from star1_hub.evaluate.recipe import load_recipe\n",
            "data/__init__.py": "",
            "data/load.py": "from ..curate import versioning\n",
            "curate/__init__.py": "",
            "curate/versioning.py": "",
            "evaluate/__init__.py": "",
            "evaluate/recipe.py": "",
            "leaderboard.py": "from star1_hub.evaluate import registry\n",
            "evaluate/registry.py": "",
            "hub/__init__.py": "",
            "hub/commit.py": "def commit():\n    from star1_hub.hub.card_push import validate_card\n",
            "hub/card_push.py": "from typing import TYPE_CHECKING\nfrom star1_hub.hub.commit import commit\n"
            "if TYPE_CHECKING:\n    from star1_hub.teacher import cli\n",
        },
    )
    edges = import_edges(root)
    found = forbidden_edges(edges)
    assert [line.split(":")[0] for line in found] == [
        "star1_hub.data.load",
        "star1_hub.leaderboard",
        "star1_hub.teacher.cli",
    ]
    assert "star1_hub.teacher.cli:2 imports star1_hub.evaluate.recipe (function-local)" in found[2]
    assert runtime_cycles(edges) == [["star1_hub.hub.card_push", "star1_hub.hub.commit"]]
    typing_edge = next(e for e in edges if e.importer == "star1_hub.hub.card_push" and e.typing_only and not e.implied)
    assert typing_edge.imported == "star1_hub.teacher.cli"


def test_a_cycle_through_a_package_init_is_found(tmp_path):
    # a imports pkg.mod at module level; pkg/__init__ imports a inside a function: importing pkg.mod runs
    # pkg/__init__ first, so a -> pkg -> a is a cycle even though neither module names the other's module
    root = _write_package(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from star1_hub.pkg.mod import helper\n",
            "pkg/__init__.py": "def build():\n    from star1_hub.a import thing\n",
            "pkg/mod.py": "",
        },
    )
    edges = import_edges(root)
    assert "star1_hub.a:1 runs the __init__ of star1_hub.pkg" in [str(e) for e in edges]
    assert runtime_cycles(edges) == [["star1_hub.a", "star1_hub.pkg"]]
