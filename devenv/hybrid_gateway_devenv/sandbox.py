"""`hybrid-gateway-dev sandbox` (`make sandbox`): the whole product on loopback, with nothing to set up.

Starts a real kube-apiserver + etcd, the AWS emulator, seeds the emulated account with what
examples/ refers to, installs the CRDs, runs the operator (as the user bound to the shipped
ClusterRole), applies examples/ and shows each object's conditions until they are Ready. A small on-prem HTTPS
backend on loopback answers for the examples' backend targets (the emulator's on-prem network map
points them at it) and checks the gateway's secret header, so requests through the emulated data
plane (a rotation's verification, health checks) really reach it.
Ctrl-C stops every process it started and removes its temp dir.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from hybrid_gateway import GROUP
from hybrid_gateway_devenv.cluster import LocalCluster
from hybrid_gateway_devenv.onprem_backend import OnPremBackend
from hybrid_gateway_devenv.operator_process import OperatorProcess
from hybrid_gateway_devenv.seed import SeededAccount, seed_account

# Placeholders that examples/ uses for ids only the seeded account knows.
PLACEHOLDERS = {
    "vpc": "vpc-0123456789abcdef0",
    "subnet_a": "subnet-0123456789abcdef0",
    "subnet_c": "subnet-0fedcba9876543210",
    "zone": "Z0123456789ABCDEFGHIJ",
}
KINDS = ("hybridapis", "mtlsdomains", "clientcertrotations")
DESCRIPTION = "Run a local API server, etcd, the AWS emulator and the operator, and apply examples/."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--examples", default="examples", help="folder of manifests to apply")
    parser.add_argument("--no-table", action="store_true", help="print plain progress lines instead of a live table")
    parser.add_argument("--exit-when-ready", action="store_true", help="stop once every object is Ready")
    parser.add_argument("--timeout", type=float, default=0, help="give up after this many seconds (0: never)")


def project_root() -> Path:
    """The repository this package is installed from (editable, as `make deps` does), else the current folder.

    The CRDs come from the repository's crds/ and the operator's ClusterRole from deploy/.
    """
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "crds").is_dir() and (parent / "deploy").is_dir():
            return parent
    return Path.cwd()


def render_examples(folder: Path, account: SeededAccount) -> str:
    values = {
        "vpc": account.vpc_id,
        "subnet_a": account.subnet_ids[0],
        "subnet_c": account.subnet_ids[1],
        "zone": account.hosted_zone_id,
    }
    docs = []
    for path in sorted(folder.glob("*.yaml")):
        text = path.read_text()
        for key, placeholder in PLACEHOLDERS.items():
            text = text.replace(placeholder, values[key])
        docs.append(text)
    return "\n---\n".join(docs)


def backend_plan(manifests: str) -> tuple[list[str], tuple[str, str] | None]:
    """From the rendered examples: the HybridApis' targets (``ip:port``) and the gateway secret header
    (name, value) the on-prem backend requires (the first HybridApi's, from its Secret)."""
    docs = [d for d in yaml.safe_load_all(manifests) if isinstance(d, dict)]
    secrets = {d["metadata"]["name"]: d for d in docs if d.get("kind") == "Secret"}
    targets: list[str] = []
    header: tuple[str, str] | None = None
    for doc in docs:
        if doc.get("kind") != "HybridApi":
            continue
        spec = doc.get("spec") or {}
        targets += [f"{t['ip']}:{t['port']}" for t in (spec.get("backend") or {}).get("targets") or []]
        secret_header = (spec.get("api") or {}).get("gatewaySecretHeader")
        found = secrets.get(((secret_header or {}).get("secretRef") or {}).get("name", ""))
        if header is None and secret_header and found:
            key = secret_header["secretRef"]["key"]
            value = (found.get("stringData") or {}).get(key)
            if value is None and key in (found.get("data") or {}):
                value = base64.b64decode(found["data"][key]).decode()
            if value is not None:
                header = (str(secret_header["name"]), str(value))
    return targets, header


def _reconciled_kinds() -> set[str]:
    from hybrid_gateway.reconcilers.registry import RECONCILERS

    return {cls.plural for cls in RECONCILERS}


def table_rows(cluster: LocalCluster, reconciled: set[str]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for plural in KINDS:
        out = cluster.kubectl("get", f"{plural}.{GROUP}", "-A", "-o", "json", check=False)
        if out.returncode != 0:
            continue
        for item in json.loads(out.stdout).get("items", []):
            name = f"{item['metadata']['namespace']}/{item['metadata']['name']}"
            conds = {c["type"]: c for c in (item.get("status") or {}).get("conditions") or []}
            ready = conds.get("Ready", {})
            if plural not in reconciled:
                rows.append((item["kind"], name, "-", "NoReconciler",
                             f"no reconciler for {item['kind']} in this version yet"))
                continue
            hops = " ".join(
                f"{t}={'✓' if c['status'] == 'True' else '…'}"
                for t, c in conds.items() if t not in ("Ready", "Reconciling", "Stalled", "Synced")
            )
            rows.append((item["kind"], name, ready.get("status", "Unknown"), ready.get("reason", "Pending"),
                         (ready.get("message") or hops)[:90]))
    return rows


def format_table(rows: list[tuple[str, ...]]) -> str:
    header = ("KIND", "NAME", "READY", "REASON", "MESSAGE")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in [header, *rows])


def all_settled(rows: list[tuple[str, ...]]) -> bool:
    return bool(rows) and all(r[2] == "True" or r[3] == "NoReconciler" for r in rows)


def run(args: argparse.Namespace) -> int:
    root = project_root()
    if not (root / "crds").is_dir() or not (root / "deploy" / "cluster-role.yaml").is_file():
        say(f"no crds/ and deploy/cluster-role.yaml in {root}: run from the repository (make sandbox)")
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="hybrid-gateway-sandbox-"))
    stop = {"now": False}

    def on_signal(signum: int, _frame: Any) -> None:
        stop["now"] = True

    # The sandbox only ever talks to its own emulator: never sign with a user's real credentials.
    os.environ.update(AWS_ACCESS_KEY_ID="sandbox", AWS_SECRET_ACCESS_KEY="sandbox",
                      AWS_DEFAULT_REGION="ap-northeast-1")
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    from hybrid_gateway_devenv.emulator import EmulatorControl, EmulatorServer

    cluster = LocalCluster(workdir=workdir / "cluster")
    emulator = EmulatorServer(port=0)
    backend = OnPremBackend()
    operator: OperatorProcess | None = None
    started = time.monotonic()
    try:
        say("starting kube-apiserver + etcd ...")
        cluster.start()
        say("starting the AWS emulator ...")
        emulator.start()
        account = seed_account(emulator.endpoint_url)
        cluster.install_crds(root / "crds")
        cluster.bind_operator_role(root / "deploy" / "cluster-role.yaml")
        say(f"kubeconfig:   {cluster.admin_kubeconfig}")
        say(f"AWS endpoint: {emulator.endpoint_url}  (aws --endpoint-url {emulator.endpoint_url} ...)")
        say(f"try:          KUBECONFIG={cluster.admin_kubeconfig} kubectl get hybridgateway -A -w")
        operator = OperatorProcess(
            kubeconfig=cluster.operator_kubeconfig, aws_endpoint_url=emulator.endpoint_url,
            log_path=workdir / "operator.log",
        ).start()
        say(f"operator log: {operator.log_path}")
        manifests = render_examples(Path(args.examples).resolve() if args.examples else root / "examples", account)
        targets, backend.required_header = backend_plan(manifests)
        backend.start()
        EmulatorControl(emulator.endpoint_url).set_onprem_routes({t: backend.address for t in targets})
        say(f"on-prem backend: https://{backend.address} (answers for {', '.join(targets) or 'no target'})")
        cluster.kubectl("apply", "-f", "-", input=manifests)
        say(f"applied examples/ ({time.monotonic() - started:.1f}s since start)")
        reconciled = _reconciled_kinds()
        shown = ""
        tty = sys.stdout.isatty() and not args.no_table
        ready_reported = False
        while not stop["now"]:
            rows = table_rows(cluster, reconciled)
            text = format_table(rows)
            if text != shown:
                if tty:
                    sys.stdout.write("\x1b[H\x1b[J")
                print(text, flush=True)
                print(flush=True)
                shown = text
            if all_settled(rows) and not ready_reported:
                say(f"all objects settled in {time.monotonic() - started:.1f}s; Ctrl-C to stop")
                ready_reported = True
                if args.exit_when_ready:
                    break
            if args.timeout and time.monotonic() - started > args.timeout:
                say("timed out waiting for Ready")
                return 1
            time.sleep(1.0)
        return 0
    finally:
        say("stopping ...")
        if operator:
            operator.stop()
        backend.stop()
        emulator.stop()
        cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        say("stopped")


def say(text: str) -> None:
    print(f"[sandbox] {text}", flush=True)
