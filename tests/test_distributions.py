"""Two distributions: the operator's wheel holds only the operator; the development environment
(emulator, local cluster, sandbox) is hybrid-gateway-devenv, from devenv/.

The operator's wheel is built the way the issue states it, `pip wheel . --no-deps`, from a copy of the
work tree without build output (a `build/` left by an earlier build would leak stale modules into the
wheel, and building in place would leave one behind). A few seconds, up to ~20 s when pip must fetch
the build backend (setuptools) from the index.
"""

from __future__ import annotations

import argparse
import configparser
import csv
import email.parser
import importlib.metadata
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from email.message import Message
from pathlib import Path, PurePosixPath

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from hybrid_gateway import cli

ROOT = Path(__file__).resolve().parents[1]
BUILD_OUTPUT = (".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__",
                ".pytest_cache", ".mypy_cache", ".ruff_cache")
# Module and package names of the development environment (devenv/hybrid_gateway_devenv/).
DEVENV_NAMES = {"devenv", "hybrid_gateway_devenv", "emulator", "cluster", "sandbox", "seed", "operator_process"}
IMPORTS_DEVENV = re.compile(r"^\s*(?:from|import)\s+(?:moto|hybrid_gateway_devenv|hybrid_gateway\.devenv)\b", re.M)


def requirement_name(requirement: str) -> str:
    return canonicalize_name(Requirement(requirement).name)


@dataclass
class Wheel:
    files: list[str]
    metadata: Message
    console_scripts: dict[str, str]
    sources: dict[str, str]


def build_wheel(source: Path, tmp_path: Path) -> Wheel:
    tree = tmp_path / "src"
    shutil.copytree(source, tree, ignore=shutil.ignore_patterns(*BUILD_OUTPUT))
    out = tmp_path / "wheels"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-w", str(out), "-q", "--disable-pip-version-check"],
        cwd=tree, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel_path,) = out.glob("hybrid_gateway_operator-*.whl")
    with zipfile.ZipFile(wheel_path) as zf:
        names = zf.namelist()
        (record_name,) = [n for n in names if re.fullmatch(r"[^/]+\.dist-info/RECORD", n)]
        dist_info = record_name.split("/")[0]
        files = [row[0] for row in csv.reader(zf.read(record_name).decode().splitlines()) if row]
        assert sorted(files) == sorted(names), "RECORD and the archive disagree"
        metadata = email.parser.Parser().parsestr(zf.read(f"{dist_info}/METADATA").decode())
        entry_points = configparser.ConfigParser()
        if f"{dist_info}/entry_points.txt" in names:
            entry_points.read_string(zf.read(f"{dist_info}/entry_points.txt").decode())
        scripts = dict(entry_points["console_scripts"]) if entry_points.has_section("console_scripts") else {}
        sources = {n: zf.read(n).decode() for n in names if n.endswith(".py")}
    return Wheel(files=files, metadata=metadata, console_scripts=scripts, sources=sources)


def devenv_modules_in(wheel: Wheel) -> list[str]:
    found = []
    for name in wheel.files:
        path = PurePosixPath(name)
        if path.parts[0].endswith(".dist-info"):
            continue
        if name.startswith("hybrid_gateway/devenv/") or {PurePosixPath(p).stem for p in path.parts} & DEVENV_NAMES:
            found.append(name)
    return found


@pytest.fixture(scope="module")
def operator_wheel(tmp_path_factory: pytest.TempPathFactory) -> Wheel:
    return build_wheel(ROOT, tmp_path_factory.mktemp("operator-wheel"))


def test_operator_wheel_holds_the_operator(operator_wheel: Wheel) -> None:
    assert operator_wheel.metadata["Name"] == "hybrid-gateway-operator"
    assert {"hybrid_gateway/__init__.py", "hybrid_gateway/cli.py", "hybrid_gateway/py.typed"} <= set(
        operator_wheel.files)
    top_level = {PurePosixPath(n).parts[0] for n in operator_wheel.files if ".dist-info/" not in n}
    assert top_level == {"hybrid_gateway"}
    assert operator_wheel.console_scripts == {"hybrid-gateway": "hybrid_gateway.cli:main"}


def test_operator_wheel_has_no_emulator_cluster_or_sandbox_module(operator_wheel: Wheel) -> None:
    assert devenv_modules_in(operator_wheel) == []
    importing = sorted(n for n, text in operator_wheel.sources.items() if IMPORTS_DEVENV.search(text))
    assert importing == [], "the operator must not import moto or the development environment"


def test_operator_wheel_does_not_depend_on_moto(operator_wheel: Wheel) -> None:
    requires = operator_wheel.metadata.get_all("Requires-Dist") or []
    assert requires, "expected the operator's runtime dependencies"
    names = {requirement_name(r) for r in requires}
    assert "kopf" in names
    assert not [r for r in requires if "moto" in r.lower() or requirement_name(r) == "hybrid-gateway-devenv"]
    assert "sandbox" not in (operator_wheel.metadata.get_all("Provides-Extra") or [])


def subcommands(parser: argparse.ArgumentParser) -> set[str]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(action.choices)


def test_operator_cli_has_no_sandbox_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert subcommands(cli.build_parser()) == {"run"}
    with pytest.raises(SystemExit) as exited:
        cli.main(["sandbox"])
    assert exited.value.code == 2
    assert "invalid choice: 'sandbox'" in capsys.readouterr().err


def test_devenv_distribution_provides_the_development_environment() -> None:
    dist = importlib.metadata.distribution("hybrid-gateway-devenv")
    requires = {requirement_name(r): Requirement(r) for r in dist.requires or []}
    assert "hybrid-gateway-operator" in requires
    moto = requires["moto"]
    assert moto.extras == {"server"} and moto.marker is None
    assert moto.specifier == SpecifierSet(">=5.2.1,<5.3")
    scripts = {ep.name: ep.value for ep in dist.entry_points if ep.group == "console_scripts"}
    assert scripts == {"hybrid-gateway-dev": "hybrid_gateway_devenv.cli:main"}

    from hybrid_gateway_devenv import cli as dev_cli

    parser = dev_cli.build_parser()
    assert subcommands(parser) == {"sandbox", "emulator"}
    args = parser.parse_args(["sandbox", "--examples", "x", "--no-table", "--exit-when-ready", "--timeout", "5"])
    assert (args.examples, args.no_table, args.exit_when_ready, args.timeout) == ("x", True, True, 5.0)
    args = parser.parse_args(["emulator", "--host", "0.0.0.0", "--port", "0", "--provisioning-seconds", "2"])
    assert (args.host, args.port, args.provisioning_seconds) == ("0.0.0.0", 0, 2.0)
