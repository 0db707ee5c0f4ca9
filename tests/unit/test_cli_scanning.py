"""When kopf watches CustomResourceDefinitions and namespaces (cluster-wide RBAC) and when not (Roles only)."""

from __future__ import annotations

import pytest

from hybrid_gateway.cli import build_parser, needs_cluster_scan


@pytest.mark.parametrize(("argv", "scan"), [
    (["run"], True),
    (["run", "--all-namespaces"], True),
    (["run", "--namespace", "team-a", "--namespace", "team-b"], False),
    (["run", "--namespace", "team-*"], True),
    (["run", "--namespace", "!kube-system"], True),
])
def test_exact_namespaces_only_need_no_cluster_scan(argv: list[str], scan: bool) -> None:
    assert needs_cluster_scan(build_parser().parse_args(argv)) is scan
