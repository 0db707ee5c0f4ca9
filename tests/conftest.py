"""Session fixtures: a real kube-apiserver + etcd, the AWS emulator, and the operator as a process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hybrid_gateway_devenv.cluster import LocalCluster
from hybrid_gateway_devenv.operator_process import OperatorProcess

ROOT = Path(__file__).resolve().parents[1]
REGION = "ap-northeast-1"


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A real API server with the CRDs installed and the operator's user bound to deploy/'s ClusterRole."""
    local = LocalCluster(workdir=tmp_path_factory.mktemp("cluster"))
    try:
        local.start()  # a failed start (a port taken meanwhile) must not leave etcd running
        local.install_crds(ROOT / "crds")
        role = ROOT / "deploy" / "cluster-role.yaml"
        if role.exists():
            local.bind_operator_role(role)
        yield local
    finally:
        local.stop()


@pytest.fixture()
def namespace(cluster: LocalCluster) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:8]}"
    cluster.kubectl("create", "namespace", name)
    yield name
    # Objects with finalizers are left to the operator; namespaces are not deleted so a test's
    # finalizers cannot hang the session.


@pytest.fixture(scope="session")
def aws_env() -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


class EmulatorProcess:
    """The emulator as its own process (`python -m hybrid_gateway_devenv.emulator`), as the operator
    would meet AWS: its moto state is not shared with in-process emulators of other test modules."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hybrid_gateway_devenv.emulator", "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            raise RuntimeError(f"emulator did not start: {line!r}")
        self.endpoint_url = line.rsplit(" ", 1)[-1].strip()

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="session")
def emulator(aws_env: None) -> Iterator[EmulatorProcess]:
    server = EmulatorProcess()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def control(emulator):  # type: ignore[no-untyped-def]
    from hybrid_gateway_devenv.emulator import EmulatorControl

    return EmulatorControl(emulator.endpoint_url)


@pytest.fixture()
def account(emulator):  # type: ignore[no-untyped-def]
    # Function-scoped: seeding finds what exists, and survives an emulator reset between tests.
    from hybrid_gateway_devenv.seed import seed_account

    return seed_account(emulator.endpoint_url, REGION)


@pytest.fixture()
def start_operator(cluster: LocalCluster, emulator, tmp_path: Path) -> Iterator:  # type: ignore[no-untyped-def]
    """Start `hybrid-gateway run` as the shipped-RBAC user; every process started is stopped after the test."""
    started: list[OperatorProcess] = []

    def start(*namespaces: str, **kwargs: object) -> OperatorProcess:
        proc = OperatorProcess(
            kubeconfig=cluster.operator_kubeconfig,
            aws_endpoint_url=emulator.endpoint_url,
            log_path=tmp_path / f"operator-{len(started)}.log",
            namespaces=list(namespaces),
            **kwargs,  # type: ignore[arg-type]
        ).start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()
