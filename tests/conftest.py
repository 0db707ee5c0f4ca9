"""Session fixtures: a real kube-apiserver + etcd, the AWS emulator, and the operator as a process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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


class PytestAwsCalls:
    """Every HTTP attempt this pytest process sends to one endpoint, by (service, operation).

    The emulator's request log holds the calls of the operator processes *and* of test setup (seeding,
    inventories, injected drift), and records nothing that tells them apart; counting what this process
    sent lets tests/e2e/test_zz_iam_policy.py subtract it. Counted per attempt (botocore's
    ``before-send``), as the emulator logs each attempt, retries included. Requests that carry the
    operator's user agent are not counted: that is operator code, even when run in-process.
    """

    OPERATOR_USER_AGENT = "hybrid-gateway-operator/"

    def __init__(self, endpoint_url: str) -> None:
        self.netloc = urlsplit(endpoint_url).netloc
        self.calls: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self._original: Any = None

    def install(self) -> None:
        import botocore.session

        original = botocore.session.Session.create_client
        recorder = self

        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            service = client.meta.service_model.service_name
            client.meta.events.register(
                "before-send", lambda request, event_name, **_: recorder._sent(service, event_name, request)
            )
            return client

        self._original = original
        botocore.session.Session.create_client = create_client  # type: ignore[method-assign]

    def uninstall(self) -> None:
        import botocore.session

        if self._original is not None:
            botocore.session.Session.create_client = self._original  # type: ignore[method-assign]
            self._original = None

    def _sent(self, service: str, event_name: str, request: Any) -> None:
        if urlsplit(request.url).netloc != self.netloc:
            return
        agent = request.headers.get("User-Agent", b"")
        if self.OPERATOR_USER_AGENT in (agent.decode() if isinstance(agent, bytes) else str(agent)):
            return
        with self._lock:
            self.calls[(service, event_name.rsplit(".", 1)[-1])] += 1

    def counts(self) -> Counter[tuple[str, str]]:
        with self._lock:
            return Counter(self.calls)


# One emulated account serves the whole e2e session, and its tests leave their objects behind (for a
# failing test's inspection): more of them than AWS's default resource-count quotas allow in one Region
# (20 VPC links, 50 load balancers of a kind, 60 client certificates). The session account has them
# raised, as a quota increase through Service Quotas would; the quotas themselves are pinned by
# tests/aws_behaviour and tests/emulator at their defaults.
SESSION_RESOURCE_COUNTS = [arg for name, count in {
    "apigateway.vpcLinks": 500, "apigateway.clientCertificates": 1000,
    "elbv2.applicationLoadBalancers": 500, "elbv2.networkLoadBalancers": 500,
    "apigatewayv2.vpcLinks": 500,  # VPC links V2: 10 per Region on AWS
}.items() for arg in ("--resource-count", f"{name}={count}")]


class EmulatorProcess:
    """The emulator as its own process (`python -m hybrid_gateway_devenv.emulator`), as the operator
    would meet AWS: its moto state is not shared with in-process emulators of other test modules."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hybrid_gateway_devenv.emulator", "--port", "0", *SESSION_RESOURCE_COUNTS],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            raise RuntimeError(f"emulator did not start: {line!r}")
        self.endpoint_url = line.rsplit(" ", 1)[-1].strip()
        self.pytest_calls = PytestAwsCalls(self.endpoint_url)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="session")
def emulator(aws_env: None) -> Iterator[EmulatorProcess]:
    server = EmulatorProcess()
    server.pytest_calls.install()  # before anything in this process can reach it
    try:
        yield server
    finally:
        server.pytest_calls.uninstall()
        server.stop()


@pytest.fixture(scope="session")
def setup_aws_calls(emulator: EmulatorProcess) -> PytestAwsCalls:
    """What this pytest process itself sent to the session emulator (see PytestAwsCalls)."""
    return emulator.pytest_calls


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
