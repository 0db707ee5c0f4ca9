"""Run `hybrid-gateway run` as a child process, the way a Deployment runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class OperatorProcess:
    kubeconfig: Path
    aws_endpoint_url: str
    log_path: Path
    namespaces: list[str] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)
    extra_args: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "KUBECONFIG": str(self.kubeconfig),
            "AWS_ENDPOINT_URL": self.aws_endpoint_url,
            "AWS_ACCESS_KEY_ID": env.get("AWS_ACCESS_KEY_ID", "testing"),
            "AWS_SECRET_ACCESS_KEY": env.get("AWS_SECRET_ACCESS_KEY", "testing"),
            "AWS_DEFAULT_REGION": env.get("AWS_DEFAULT_REGION", "ap-northeast-1"),
            "PYTHONUNBUFFERED": "1",
        })
        env.update(self.extra_env)
        return env

    def public_ca_args(self) -> list[str]:
        """`--public-ca-bundle` with the emulator's public CA: in the emulated world it is a public CA,
        as the real ones are on AWS (empty when the endpoint is not the emulator)."""
        from hybrid_gateway_devenv.emulator import EmulatorControl, EmulatorControlError

        try:
            root = EmulatorControl(self.aws_endpoint_url, timeout=5).public_ca()["certificate"]
        except (EmulatorControlError, OSError):
            return []
        bundle = self.log_path.with_suffix(".public-ca.pem")
        bundle.write_text(root)
        return ["--public-ca-bundle", str(bundle)]

    def quota_scale_args(self) -> list[str]:
        """`--aws-quota-scale` with the emulator's quota time scale: its quotas refill that many times
        faster than AWS's, so the operator's share of them is the same as on AWS (empty when the endpoint
        is not the emulator, its quotas are off, or the caller chose)."""
        from hybrid_gateway_devenv.emulator import EmulatorControl, EmulatorControlError

        if "--aws-quota-scale" in self.extra_args:
            return []
        try:
            quotas = EmulatorControl(self.aws_endpoint_url, timeout=5).quotas()
        except (EmulatorControlError, OSError):
            return []
        return ["--aws-quota-scale", f"{quotas['timeScale']:g}"] if quotas.get("enabled") else []

    def start(self) -> OperatorProcess:
        scope = [a for ns in self.namespaces for a in ("--namespace", ns)] or ["--all-namespaces"]
        # Tests and benches check drift every second or two against the emulator: below the floor that
        # protects AWS's shared rate limits (--min-drift-interval, by default 30s), and with no drift budget,
        # which would stretch such intervals to fit AWS's rates (a test of the budget passes its own share).
        budget = [] if "--drift-budget-share" in self.extra_args else ["--drift-budget-share", "0"]
        argv = [sys.executable, "-m", "hybrid_gateway", "run", *scope, "--metrics-port", "0", "--health-port", "0",
                "--min-drift-interval", "1", *budget, "--verbose", *self.public_ca_args(), *self.quota_scale_args(),
                *self.extra_args]
        log_file = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(argv, env=self.env(), stdout=log_file, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        return self

    def wait_log(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.logs():
                return
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"operator exited with {self.proc.returncode}:\n{self.logs()[-3000:]}")
            time.sleep(0.2)
        raise TimeoutError(f"{text!r} not in operator log after {timeout}s")

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no cleanup, as in a node crash."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
