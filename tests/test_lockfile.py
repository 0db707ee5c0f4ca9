"""requirements.lock: the image's runtime dependencies pinned with their hashes (`make lock`)."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s\\]+)")


def pins() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes), from the pip-compile format (a pin line, then its --hash lines)."""
    found: dict[str, tuple[str, list[str]]] = {}
    current = ""
    for line in LOCK.read_text().splitlines():
        if match := PIN.match(line):
            current = canonicalize_name(match.group(1))
            found[current] = (match.group(2), [])
        elif "--hash=sha256:" in line and current:
            found[current][1].append(line.split("--hash=sha256:")[1].strip(" \\"))
    return found


def test_every_runtime_dependency_is_pinned_within_its_range_and_hashed() -> None:
    locked = pins()
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for text in dependencies:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in requirements.lock: run make lock"
        assert requirement.specifier.contains(locked[name][0]), (name, locked[name][0], str(requirement.specifier))
    for name, (_, hashes) in locked.items():
        assert hashes and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), name


def test_the_lock_is_complete_and_its_hashes_hold() -> None:
    """pip refuses, under --require-hashes, any package that is not pinned and hashed in the file: a dry run
    resolves the whole tree and checks every download against its hash."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--require-hashes",
         "--disable-pip-version-check", "-q", "-r", str(LOCK)],
        capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_the_image_installs_from_the_lock_with_hashes() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--require-hashes" in dockerfile and "-r requirements.lock" in dockerfile
    assert "COPY requirements.lock" in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert "requirements.lock" not in ignored and "*.lock" not in ignored
