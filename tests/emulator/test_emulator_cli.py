"""``hybrid-gateway-dev emulator`` and ``python -m hybrid_gateway_devenv.emulator``: ready line, serves AWS
calls, exits 0 on SIGINT."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from collections.abc import Callable

import boto3
import pytest

from hybrid_gateway_devenv.emulator import EmulatorControl
from tests.console_scripts import console_script

COMMANDS: dict[str, Callable[[], list[str]]] = {
    "hybrid-gateway-dev emulator": lambda: [console_script("hybrid-gateway-dev"), "emulator"],
    "python -m hybrid_gateway_devenv.emulator": lambda: [sys.executable, "-m", "hybrid_gateway_devenv.emulator"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_cli_runs_until_sigint(command: str) -> None:
    argv = COMMANDS[command]()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [*argv, "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "no ready line within 60 s"
        line = proc.stdout.readline().strip()
        assert line.startswith("emulator listening on http://127.0.0.1:"), line
        endpoint = line.rsplit(" ", 1)[1]
        assert int(endpoint.rsplit(":", 1)[1]) > 0
        apigw = boto3.client(
            "apigateway",
            endpoint_url=endpoint,
            region_name="ap-northeast-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        assert apigw.create_rest_api(name="cli")["name"] == "cli"
        assert [e["operation"] for e in EmulatorControl(endpoint).requests()] == ["CreateRestApi"]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_flags_set_delays_and_quotas() -> None:
    """Defaults follow AWS (delays and quotas on); --instant, --quota-time-scale and --no-quotas say
    otherwise for the whole run."""
    from hybrid_gateway_devenv.emulator.delays import DEFAULTS

    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "PYTHONUNBUFFERED": "1"}
    runs = {
        (): (DEFAULTS, True, 10.0),
        ("--instant", "--quota-time-scale", "1"): (dict.fromkeys(DEFAULTS, 0.0), True, 1.0),
        ("--provisioning-seconds", "7", "--no-quotas"): ({**DEFAULTS, "provisioningSeconds": 7.0}, False, 10.0),
    }
    for flags, (delays, enabled, scale) in runs.items():
        proc = subprocess.Popen(
            [sys.executable, "-m", "hybrid_gateway_devenv.emulator", "--port", "0", *flags],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        try:
            assert proc.stdout is not None
            ready, _, _ = select.select([proc.stdout], [], [], 60)
            assert ready, "no ready line within 60 s"
            control = EmulatorControl(proc.stdout.readline().strip().rsplit(" ", 1)[1])
            assert control.delays() == delays, flags
            quotas = control.quotas()
            assert (quotas["enabled"], quotas["timeScale"]) == (enabled, scale), flags
            control.set_delays(deletion=9)
            control.set_quotas(time_scale=3)
            control.reset()  # back to what the command line said, not to the built-in defaults
            assert control.delays() == delays, flags
            assert control.quotas()["timeScale"] == scale, flags
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=20)


def test_resource_count_flag_raises_one_quota_and_refuses_unknown_names() -> None:
    """--resource-count NAME=N: a quota increase for the whole run (the e2e session's long-lived account);
    the other counts keep AWS's defaults, and a name the emulator does not model is refused."""
    from hybrid_gateway_devenv.emulator.quotas import RESOURCE_COUNTS

    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hybrid_gateway_devenv.emulator", "--port", "0",
         "--resource-count", "apigateway.vpcLinks=200"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "no ready line within 60 s"
        counts = EmulatorControl(proc.stdout.readline().strip().rsplit(" ", 1)[1]).quotas()["resourceCounts"]
        assert counts == {**RESOURCE_COUNTS, "apigateway.vpcLinks": 200}
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    refused = subprocess.run([sys.executable, "-m", "hybrid_gateway_devenv.emulator", "--resource-count", "vpcs=3"],
                             capture_output=True, text=True, env=env, timeout=60)
    assert refused.returncode == 2 and "expected NAME=N" in refused.stderr
