"""`hybrid-gateway-dev sandbox` (what `make sandbox` runs) driven as a user would: start, watch the table,
use it, Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import threading
import time
from pathlib import Path
from queue import Empty, Queue

import boto3
import pytest

from tests.console_scripts import console_script

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def _processes_mentioning(text: str) -> list[int]:
    """Pids whose command line or environment mentions `text` (the sandbox's temp dir)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            blob = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        if text.encode() in blob:
            found.append(int(entry.name))
    return found


def test_sandbox_starts_applies_examples_shows_table_and_stops_on_ctrl_c() -> None:
    proc = subprocess.Popen(
        [console_script("hybrid-gateway-dev"), "sandbox", "--no-table"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    queue: Queue[str] = Queue()
    reader = threading.Thread(target=lambda: [queue.put(line) for line in proc.stdout], daemon=True)  # type: ignore[union-attr]
    reader.start()
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            try:
                line = queue.get(timeout=1.0)
            except Empty:
                assert proc.poll() is None, "sandbox exited early:\n" + "".join(lines)
                continue
            lines.append(line)
            if "all objects settled" in line:
                break
        else:
            pytest.fail("sandbox never settled:\n" + "".join(lines[-60:]))
        output = "".join(lines)
        kubeconfig = re.search(r"kubeconfig:\s+(\S+)", output).group(1)  # type: ignore[union-attr]
        endpoint = re.search(r"AWS endpoint:\s+(\S+)", output).group(1)  # type: ignore[union-attr]
        workdir = str(Path(kubeconfig).parents[1])

        # The table: one row per example object, the HybridApi Ready.
        assert re.search(r"^KIND\s+NAME\s+READY\s+REASON\s+MESSAGE", output, re.M)
        assert re.search(r"^HybridApi\s+default/orders\s+True\s+Converged", output, re.M), output[-3000:]
        for kind in ("MtlsDomain", "ClientCertRotation"):
            assert re.search(rf"^{kind}\s+default/", output, re.M)

        # It printed a curl through the custom domain (with the example partner's client certificate) and the
        # answer the on-prem backend gave: API Gateway -> VPC link -> NLB -> ALB -> backend and back. The same
        # curl, run again as the user would, works; without the client certificate nothing gets through.
        printed = re.search(r"^\[sandbox\]\s+(curl .+--cert .+)$", output, re.M)
        assert printed, output[-3000:]
        assert re.search(r"^\[sandbox\]\s+-> HTTP 200: .*\"ok\": true.*\"path\": \"/api/orders\"", output, re.M), (
            output[-3000:])
        command = shlex.split(printed.group(1))
        again = subprocess.run([*command, "--write-out", "\n%{http_code}"],
                               capture_output=True, text=True, timeout=30, check=True)
        body, _, status = again.stdout.rpartition("\n")
        assert status == "200" and json.loads(body)["path"] == "/api/orders", again.stdout
        cert = command.index("--cert")
        anonymous = subprocess.run([*command[:cert], *command[cert + 4:], "--write-out", "\n%{http_code}"],
                                   capture_output=True, text=True, timeout=30, check=False)
        assert anonymous.returncode != 0 or not anonymous.stdout.endswith("\n200"), anonymous

        # The user can use both endpoints from another shell while it runs.
        got = subprocess.run(["kubectl", f"--kubeconfig={kubeconfig}", "get", "hybridapis", "-A"],
                             capture_output=True, text=True, check=True).stdout
        assert "orders" in got
        apigw = boto3.client("apigateway", endpoint_url=endpoint, region_name="ap-northeast-1",
                             aws_access_key_id="x", aws_secret_access_key="x")
        assert [a["name"] for a in apigw.get_rest_apis()["items"]] == ["orders"]
        assert _processes_mentioning(workdir), "expected etcd/kube-apiserver/operator to be running"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        reader.join(timeout=10)
        while not queue.empty():
            lines.append(queue.get())
    assert proc.returncode == 0, "".join(lines[-40:])
    assert "[sandbox] stopped" in "".join(lines)
    assert not Path(workdir).exists(), "the sandbox left its temp dir behind"
    deadline = time.monotonic() + 10
    while _processes_mentioning(workdir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_mentioning(workdir) == [], "processes the sandbox started are still running"


def test_ctrl_c_cleans_up_when_the_program_reading_the_output_has_exited() -> None:
    """`make sandbox | tee log`, then Ctrl-C: the terminal's SIGINT stops tee too, so the sandbox's own
    "stopping ..." meets a closed pipe. Everything it started must still stop, and its temp dir go."""
    proc = subprocess.Popen(
        [console_script("hybrid-gateway-dev"), "sandbox", "--no-table"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    workdir = ""
    try:
        for line in proc.stdout:  # until the operator runs: every kind of process has been started
            lines.append(line)
            if match := re.search(r"kubeconfig:\s+(\S+)", line):
                workdir = str(Path(match.group(1)).parents[1])
            if "operator log:" in line:
                break
        assert workdir and _processes_mentioning(workdir), "".join(lines)
    finally:
        proc.stdout.close()  # the reader (tee) is gone ...
        proc.send_signal(signal.SIGINT)  # ... and Ctrl-C reaches the sandbox
        proc.wait(timeout=60)
    assert not Path(workdir).exists(), "the sandbox left its temp dir behind"
    deadline = time.monotonic() + 10
    while _processes_mentioning(workdir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_mentioning(workdir) == [], "processes the sandbox started are still running"
    assert proc.returncode == 0
