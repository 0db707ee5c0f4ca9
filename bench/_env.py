"""What the benchmarks share: a local API server, the AWS emulator and the operator, all on loopback.

Nothing here asserts anything: the scripts print figures. Run from the repository root, e.g.
`.venv/bin/python bench/steady_state.py`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `tests.e2e.helpers` builds the manifests and reads the request log
    sys.path.insert(0, str(ROOT))

from hybrid_gateway_devenv.cluster import LocalCluster  # noqa: E402
from hybrid_gateway_devenv.emulator import EmulatorControl  # noqa: E402
from hybrid_gateway_devenv.operator_process import OperatorProcess  # noqa: E402
from hybrid_gateway_devenv.seed import SeededAccount, seed_account  # noqa: E402

REGION = "ap-northeast-1"


@dataclass
class Env:
    cluster: LocalCluster
    endpoint_url: str
    control: EmulatorControl
    account: SeededAccount
    workdir: Path

    def operator(self, namespace: str, *extra_args: str) -> OperatorProcess:
        return OperatorProcess(
            kubeconfig=self.cluster.operator_kubeconfig, aws_endpoint_url=self.endpoint_url,
            log_path=self.workdir / f"operator-{namespace}.log", namespaces=[namespace],
            extra_args=list(extra_args),
        ).start()

    def namespace(self, name: str) -> str:
        self.cluster.kubectl("create", "namespace", name)
        return name


# Starts the emulator with some resource-count quotas raised (as after a quota increase), the request-rate
# quotas untouched: `python -c EMULATOR_WITH_COUNTS '{"apigateway.vpcLinks": 100}' --port 0`.
EMULATOR_WITH_COUNTS = (
    "import json, sys\n"
    "from hybrid_gateway_devenv.emulator import quotas\n"
    "from hybrid_gateway_devenv.emulator.cli import main\n"
    "quotas.RESOURCE_COUNTS.update(json.loads(sys.argv.pop(1)))\n"
    "sys.exit(main())\n"
)


@contextlib.contextmanager
def environment(resource_counts: dict[str, int] | None = None) -> Iterator[Env]:
    """The cluster, the emulator and a seeded account; `resource_counts` raises the emulator's
    resource-count quotas (names as in `emulator.quotas.RESOURCE_COUNTS`)."""
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION=REGION)
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    workdir = Path(tempfile.mkdtemp(prefix="hybrid-gateway-bench-"))
    command = ([sys.executable, "-c", EMULATOR_WITH_COUNTS, json.dumps(resource_counts)] if resource_counts
               else [sys.executable, "-m", "hybrid_gateway_devenv.emulator"])
    emulator = subprocess.Popen(
        [*command, "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True,
    )
    cluster = LocalCluster(workdir=workdir / "cluster")
    try:
        assert emulator.stdout is not None
        line = emulator.stdout.readline()
        if "listening on" not in line:
            raise RuntimeError(f"emulator did not start: {line!r}")
        endpoint_url = line.rsplit(" ", 1)[-1].strip()
        cluster.start()
        cluster.install_crds(ROOT / "crds")
        cluster.bind_operator_role(ROOT / "deploy" / "cluster-role.yaml")
        yield Env(cluster, endpoint_url, EmulatorControl(endpoint_url), seed_account(endpoint_url, REGION), workdir)
    finally:
        cluster.stop()
        emulator.send_signal(signal.SIGINT)
        try:
            emulator.wait(timeout=15)
        except subprocess.TimeoutExpired:
            emulator.kill()
        shutil.rmtree(workdir, ignore_errors=True)


def resident_mib(pid: int) -> tuple[float, float]:
    """(resident memory now, its peak) of process `pid` in MiB (Linux /proc)."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def by_service(calls: list[dict[str, Any]]) -> dict[str, int]:
    result: dict[str, int] = {}
    for call in calls:
        result[call["service"]] = result.get(call["service"], 0) + 1
    return dict(sorted(result.items(), key=lambda kv: -kv[1]))
