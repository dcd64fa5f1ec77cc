"""The product (``app/``) and the developer tools (``devtools/``, their own distribution) stay apart: ``app`` never
imports ``devtools``, nothing imports the command line module, the product's wheel holds no developer tool, and
``barraiser`` finds ``fake-llm`` and ``bench`` through the ``barraiser.commands`` entry points."""

from __future__ import annotations

import argparse
import ast
import fnmatch
import importlib.metadata
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from app import cli
from app.config import PROJECT_ROOT

IMPORTERS = {"import_module", "__import__"}  # importlib.import_module("x"), __import__("x")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports, anywhere in it (function bodies too), with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if name in IMPORTERS and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return found


def imports_of(package: str, folders: list[str]) -> list[str]:
    hits = []
    for folder in folders:
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py")):
            for line, module in imported_modules(path):
                if module == package or module.startswith(package + "."):
                    hits.append(f"{path.relative_to(PROJECT_ROOT)}:{line}: imports {module}")
    return hits


def test_the_product_never_imports_the_developer_tools() -> None:
    assert len(list((PROJECT_ROOT / "app").rglob("*.py"))) > 40
    assert imports_of("devtools", ["app"]) == []


def test_the_boundary_check_sees_every_kind_of_import(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import devtools.bench\n"
        "def later():\n"
        "    from devtools.fake_llm import harness\n"
        "    importlib.import_module('devtools.processes')\n"
        "    __import__('devtools')\n"
        "from app import devtools_like\n"
    )
    modules = [m for _line, m in imported_modules(probe)]
    assert {"devtools.bench", "devtools.fake_llm", "devtools.processes", "devtools"} <= set(modules)
    assert "app.devtools_like" in modules


def test_only_the_console_script_imports_the_command_line() -> None:
    """No import circle through ``app.cli``: it reaches the rest, nothing in app/ or devtools/ reaches it."""
    assert imports_of("app.cli", ["app", "devtools"]) == []


def test_the_product_wheel_holds_only_app() -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    assert include == ["app*"]
    packages = [p.parent.name for p in PROJECT_ROOT.glob("*/__init__.py")]
    assert {"app", "devtools", "tests"} <= set(packages)
    assert [p for p in packages if any(fnmatch.fnmatch(p, pattern) for pattern in include)] == ["app"]
    assert not [d for d in project["project"]["dependencies"] if d.startswith("websockets")]
    tools = tomllib.loads((PROJECT_ROOT / "devtools" / "pyproject.toml").read_text())
    assert any(d.startswith("websockets") for d in tools["project"]["dependencies"])
    assert set(tools["project"]["entry-points"][cli.COMMANDS_GROUP]) == {"fake-llm", "bench"}


def test_barraiser_help_lists_the_developer_tools_when_they_are_installed() -> None:
    try:
        importlib.metadata.distribution("barraiser-devtools")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("barraiser-devtools is not installed (python3 app/bootstrap.py test installs it)")
    barraiser = Path(sys.executable).with_name("barraiser")
    proc = subprocess.run([str(barraiser), "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "fake-llm" in proc.stdout and "bench" in proc.stdout
    assert proc.stderr == ""  # every entry point loaded


def test_a_broken_command_entry_point_is_reported_and_skipped(monkeypatch, capsys) -> None:
    def good(subparsers) -> None:
        subparsers.add_parser("good")

    class EntryPoint:
        def __init__(self, name: str, target):
            self.name, self.value, self.target = name, f"plugin:{name}", target

        def load(self):
            if isinstance(self.target, Exception):
                raise self.target
            return self.target

    plugins = [EntryPoint("broken", ImportError("no module named plugin")), EntryPoint("good", good)]
    monkeypatch.setattr(cli, "entry_points", lambda group: plugins if group == cli.COMMANDS_GROUP else [])
    parser = argparse.ArgumentParser()
    cli.add_plugin_commands(parser.add_subparsers(dest="command"))
    assert parser.parse_args(["good"]).command == "good"
    err = capsys.readouterr().err
    assert "skipping the 'broken' command (plugin:broken): ImportError: no module named plugin" in err
