"""Entry points stay small and linear (issue 24 item 7): no function of the package runs over `MAX_LINES` lines of
code, so a long one cannot regrow unnoticed.

A function's length is counted in lines of code as a reader meets them: its `def` signature and docstring are
left out (a typer command's option list is declaration, not logic), and so are those of the functions nested in
it; its nested functions' bodies count, since a reader of the outer function reads them too. The few functions
over the limit are listed in `ALLOWED` with the most lines each may have and why; an entry that no longer names
a function, or names one back under the limit, fails too, so the list only shrinks.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import star1_hub

PACKAGE_DIR = Path(star1_hub.__file__).parent
MAX_LINES = 80

ALLOWED = {  # "path/inside/star1_hub.py::qualified.name": (most lines, why it may be longer)
    "collect/decontaminate.py::run_pipeline": (140, "owned by the dedup work (issue 24 item 7 leaves it there)"),
}


def _is_function(node: ast.AST) -> bool:
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)


def code_lines(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines from the `def` to the end, less the signatures and docstrings of it and its nested functions."""
    total = function.end_lineno - function.lineno + 1
    for node in ast.walk(function):
        if not _is_function(node):
            continue
        total -= node.body[0].lineno - node.lineno  # the `def` line(s) up to the first statement
        first = node.body[0]
        if len(node.body) > 1 and isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            if isinstance(first.value.value, str):
                total -= first.end_lineno - first.lineno + 1
    return total


def function_lengths(source: str, path: str) -> dict[str, int]:
    """`path::qualified.name` -> code lines, for every function and method of a module (nested ones too)."""
    lengths: dict[str, int] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if _is_function(child) or isinstance(child, ast.ClassDef):
                name = f"{prefix}{child.name}"
                if _is_function(child):
                    lengths[f"{path}::{name}"] = code_lines(child)
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(ast.parse(source, path), "")
    return lengths


def package_function_lengths() -> dict[str, int]:
    lengths: dict[str, int] = {}
    for file in sorted(PACKAGE_DIR.rglob("*.py")):
        relative = file.relative_to(PACKAGE_DIR).as_posix()
        lengths.update(function_lengths(file.read_text(encoding="utf-8"), relative))
    return lengths


def test_no_function_is_longer_than_the_limit():
    too_long = {
        name: lines
        for name, lines in package_function_lengths().items()
        if lines > ALLOWED.get(name, (MAX_LINES, ""))[0]
    }
    assert too_long == {}, f"split these (limit {MAX_LINES} code lines; ALLOWED lists the exceptions): {too_long}"


def test_the_allow_list_only_names_long_functions():
    lengths = package_function_lengths()
    stale = {name: lengths.get(name, "gone") for name in ALLOWED if lengths.get(name, 0) <= MAX_LINES}
    assert stale == {}, "remove these from ALLOWED (gone, or back under the limit)"


def test_signatures_and_docstrings_do_not_count_but_nested_bodies_do():
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES - 3))
    source = textwrap.dedent(
        '''
        def long(
            a: int = 1,
            b: int = 2,
        ) -> None:
            """A docstring
            over three lines.
            """
        '''
    )
    source += body + "\n" + "    def inner(\n        c,\n    ):\n        '''Doc.'''\n        return c\n"
    lengths = function_lengths(source, "m.py")
    # the body's assignments and the nested function's return; no signature or docstring line of either
    assert lengths == {"m.py::long": MAX_LINES - 3 + 1, "m.py::long.inner": 1}


def test_methods_are_named_by_class_and_a_long_one_is_over_the_limit():
    source = "class C:\n    def f(self):\n" + "\n".join(f"        x{i} = {i}" for i in range(MAX_LINES + 1)) + "\n"
    assert function_lengths(source, "m.py") == {"m.py::C.f": MAX_LINES + 1}
