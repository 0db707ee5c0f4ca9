"""Find a console script the way a user runs it: installed next to this interpreter (the venv's bin/)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def console_script(name: str) -> str:
    """The path of console script `name` beside `sys.executable`, else on PATH; fails the test if neither."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.is_file() else shutil.which(name)
    assert found, f"{name} is not installed (make deps installs it: pip install -e ./devenv)"
    return found
