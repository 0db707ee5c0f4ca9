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
import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.parse
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
                         ready.get("message") or hops))
    return rows


def format_table(rows: list[tuple[str, ...]], width: int = 0) -> str:
    """The rows under a header, columns aligned. With a `width` (a terminal's), a long message wraps onto
    continuation lines at word boundaries, under its column; it is never cut."""
    header = ("KIND", "NAME", "READY", "REASON", "MESSAGE")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    indent = sum(widths) + 2 * len(widths)
    room = width - indent if width else 0
    lines = []
    for row in [header, *rows]:
        lead = "  ".join(c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)) + "  "
        message = row[-1]
        # Too narrow a terminal to wrap usefully: let the terminal fold the line instead of cutting it.
        parts = textwrap.wrap(message, room, break_long_words=False) if room >= 20 and message else [message]
        lines.append((lead + parts[0]).rstrip())
        lines.extend(" " * indent + part for part in parts[1:])
    return "\n".join(lines)


def changed_rows(rows: list[tuple[str, ...]], shown: dict[tuple[str, str], tuple[str, ...]]) -> list[str]:
    """Plain progress lines (output piped to a file or another program): one per object whose row changed
    since the last call, whole messages, no terminal control codes. Updates `shown`."""
    lines = []
    for row in rows:
        key = (row[0], row[1])
        if shown.get(key) != row:
            shown[key] = row
            lines.append(f"{row[0]} {row[1]} ready={row[2]} reason={row[3]}" + (f": {row[4]}" if row[4] else ""))
    return lines


class LiveTable:
    """The table redrawn in place on a terminal: the cursor goes back up over the last drawing and clears
    it, so the lines printed before it (kubeconfig, endpoints) stay on screen."""

    def __init__(self) -> None:
        self._drawn_lines = 0

    def draw(self, text: str) -> None:
        if self._drawn_lines:
            sys.stdout.write(f"\x1b[{self._drawn_lines}F\x1b[J")  # up to the table's first line, clear below
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
        self._drawn_lines = text.count("\n") + 1

    def forget(self) -> None:
        """Something else was printed below the table: the next drawing starts under it."""
        self._drawn_lines = 0


def curl_command(url: str, endpoint: dict[str, Any], ca_file: Path, *tls_client: str) -> list[str]:
    """The curl a user runs to call `url` through the emulator's data plane: the URL's host name resolves
    to the emulator's loopback listener (`endpoint`, for the execute-api names or the custom domains), and
    the server certificate is checked against `ca_file`; `tls_client` adds e.g. --cert/--key."""
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "", int(endpoint["port"])
    local = f"https://{host}:{port}{parts.path}"
    return ["curl", "--silent", "--show-error", "--cacert", str(ca_file), *tls_client, "--resolve",
            f"{host}:{port}:{endpoint['host']}", local]


def call_through_the_chain(command: list[str]) -> str:
    """What that curl answers, run as the user would run it: `HTTP <status>: <body>` (body shortened)."""
    try:
        done = subprocess.run([*command, "--write-out", "\n%{http_code}"], capture_output=True, text=True,
                              timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"curl failed: {exc}"
    if done.returncode != 0:
        return f"curl failed ({done.returncode}): {done.stderr.strip()}"
    body, _, status = done.stdout.rpartition("\n")
    return f"HTTP {status}: {textwrap.shorten(body, 300, placeholder=' ...') or '(empty body)'}"


def _items(cluster: LocalCluster, plural: str) -> list[dict[str, Any]]:
    out = cluster.kubectl("get", f"{plural}.{GROUP}", "-A", "-o", "json", check=False)
    return list(json.loads(out.stdout).get("items", [])) if out.returncode == 0 else []


def _first_plain_path(hybridapi: dict[str, Any]) -> str:
    routes = ((hybridapi.get("spec") or {}).get("api") or {}).get("routes") or []
    return next((r["path"] for r in routes if "{" not in r.get("path", "")), "/")


def show_traffic(cluster: LocalCluster, control: Any, workdir: Path, examples: Path) -> None:
    """Print curls through the whole chain (API Gateway -> VPC link V2 -> ALB -> on-prem backend) and
    the answers they got: through each MtlsDomain's custom domain with the example partner's client
    certificate (examples/clients/), and through the default endpoint of each API that no MtlsDomain
    closed (disableDefaultEndpoints)."""
    apis = {(a["metadata"]["namespace"], a["metadata"]["name"]): a for a in _items(cluster, "hybridapis")}
    public_ca = workdir / "public-ca.pem"
    public_ca.write_text(control.public_ca()["certificate"])
    closed: set[tuple[str, str]] = set()
    client = [examples / "clients" / f"partner-a-client.{ext}" for ext in ("crt", "key")]
    for domain in _items(cluster, "mtlsdomains"):
        spec, namespace = domain.get("spec") or {}, domain["metadata"]["namespace"]
        mapped = [(m, apis.get((namespace, m["hybridApiRef"]["name"]))) for m in spec.get("mappings") or []]
        if spec.get("disableDefaultEndpoints"):
            closed.update((namespace, m["hybridApiRef"]["name"]) for m, _ in mapped)
        if not all(path.is_file() for path in client):
            continue
        server_ca = workdir / f"{domain['metadata']['name']}-server-ca.pem"
        server_ca.write_text(_secret_certificate(cluster, namespace, spec.get("certificate") or {}) or
                             public_ca.read_text())
        for mapping, api in mapped[:1]:
            base = f"/{mapping['basePath']}" if mapping.get("basePath") else ""
            url = f"https://{spec['domainName']}{base}{_first_plain_path(api or {})}"
            command = curl_command(url, control.domain_endpoint(), server_ca,
                                   "--cert", str(client[0]), "--key", str(client[1]))
            say(f"through the custom domain, with partner A's client certificate ({namespace}/"
                f"{domain['metadata']['name']}):")
            say("  " + shlex.join(command))
            say("  -> " + call_through_the_chain(command))
    for key, api in apis.items():
        invoke_url = (api.get("status") or {}).get("invokeUrl")
        if not invoke_url or key in closed:
            continue
        command = curl_command(invoke_url.rstrip("/") + _first_plain_path(api), control.invoke_endpoint(),
                               public_ca)
        say(f"through the default endpoint ({key[0]}/{key[1]}):")
        say("  " + shlex.join(command))
        say("  -> " + call_through_the_chain(command))


def _secret_certificate(cluster: LocalCluster, namespace: str, certificate: dict[str, Any]) -> str | None:
    """The certificate chain of a `certificate.secretRef` (a kubernetes.io/tls Secret): its CA is what a
    client trusts for the custom domain (an imported certificate from a private CA, as in examples/)."""
    name = (certificate.get("secretRef") or {}).get("name")
    if not name:
        return None
    out = cluster.kubectl("get", "secret", "-n", namespace, name, "-o", "jsonpath={.data.tls\\.crt}", check=False)
    return base64.b64decode(out.stdout).decode() if out.returncode == 0 and out.stdout else None


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
        examples = Path(args.examples).resolve() if args.examples else root / "examples"
        manifests = render_examples(examples, account)
        targets, backend.required_header = backend_plan(manifests)
        backend.start()
        EmulatorControl(emulator.endpoint_url).set_onprem_routes({t: backend.address for t in targets})
        say(f"on-prem backend: https://{backend.address} (answers for {', '.join(targets) or 'no target'})")
        cluster.kubectl("apply", "-f", "-", input=manifests)
        say(f"applied examples/ ({time.monotonic() - started:.1f}s since start)")
        reconciled = _reconciled_kinds()
        tty = sys.stdout.isatty() and not args.no_table
        table, shown_text = LiveTable(), ""
        shown_rows: dict[tuple[str, str], tuple[str, ...]] = {}
        ready_reported = False
        while not stop["now"]:
            rows = table_rows(cluster, reconciled)
            if tty:
                text = format_table(rows, shutil.get_terminal_size().columns)
                if text != shown_text:
                    table.draw(text)
                    shown_text = text
            else:
                for line in changed_rows(rows, shown_rows):
                    say(line)
            if all_settled(rows) and not ready_reported:
                if not tty:
                    print(format_table(rows), flush=True)
                table.forget()
                show_traffic(cluster, EmulatorControl(emulator.endpoint_url), workdir, examples)
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
        # Each step even if an earlier one failed: nothing the sandbox started may outlive it.
        for step in ([operator.stop] if operator else []) + [backend.stop, emulator.stop, cluster.stop]:
            try:
                step()
            except Exception as exc:  # reported, and the other steps still run
                say(f"cleanup step failed: {exc!r}")
        shutil.rmtree(workdir, ignore_errors=True)
        say("stopped")


def say(text: str) -> None:
    """A progress line. Never raises: when the program reading our output is gone (`make sandbox | tee log`
    and Ctrl-C stops tee too), the rest of the output goes nowhere, and the cleanup still runs."""
    try:
        print(f"[sandbox] {text}", flush=True)
    except (BrokenPipeError, OSError, ValueError):
        _stdout_gone()


def _stdout_gone() -> None:
    # Point fd 1 and sys.stdout at /dev/null: later prints (ours, and Python's final flush) cannot fail.
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the rest of the process
