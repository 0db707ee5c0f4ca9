#!/usr/bin/env python3
"""Generate the CustomResourceDefinitions of hybridgateway.io/v1alpha1 from the API models.

The models in operator/hybrid_gateway/api/v1alpha1/ are the single source of truth;
hybrid_gateway.api.crd renders them. This script writes the result to ``crds/`` and, identically, to
``deploy/crds/`` (kustomize refuses files outside its root, symlinks included).

Usage:
    python hack/gen_crds.py           # write the files
    python hack/gen_crds.py --check   # exit 1 when the files differ from what would be written
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "operator"))  # runs without installing the package

from hybrid_gateway.api.crd import rendered_files  # noqa: E402

OUTPUT_DIRS = (ROOT / "crds", ROOT / "deploy" / "crds")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if any generated file is missing or out of date")
    args = parser.parse_args(argv)

    files = rendered_files()
    stale: list[Path] = []
    for directory in OUTPUT_DIRS:
        for name, text in files.items():
            path = directory / name
            if path.exists() and path.read_text(encoding="utf-8") == text:
                continue
            if args.check:
                stale.append(path)
            else:
                directory.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
                print(f"wrote {path.relative_to(ROOT)}")
        for path in sorted(directory.glob("*.yaml")) if directory.exists() else []:
            if path.name in files:
                continue
            if args.check:
                stale.append(path)
            else:
                path.unlink()
                print(f"removed {path.relative_to(ROOT)}")
    for path in stale:
        print(f"out of date: {path.relative_to(ROOT)}", file=sys.stderr)
    if stale:
        print("run: python hack/gen_crds.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
