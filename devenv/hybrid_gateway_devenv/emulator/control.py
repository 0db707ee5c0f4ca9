"""A small client for the emulator's control API (stdlib only, usable from tests and the sandbox)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any


class EmulatorControlError(RuntimeError):
    """The control API answered with an error status."""


class EmulatorControl:
    """Drives one emulator through ``<endpoint_url>/_emulator/...``."""

    def __init__(self, endpoint_url: str, timeout: float = 30.0) -> None:
        self.endpoint_url = endpoint_url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(payload).encode("utf-8") if payload is not None else None
        request = urllib.request.Request(
            f"{self.endpoint_url}/_emulator{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data is not None else {},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as err:
            detail = err.read().decode("utf-8", "replace")
            raise EmulatorControlError(f"{method} /_emulator{path}: HTTP {err.code}: {detail}") from None
        result = json.loads(body) if body else {}
        if not isinstance(result, dict):
            raise EmulatorControlError(f"{method} /_emulator{path}: unexpected answer {result!r}")
        return result

    # -- state -------------------------------------------------------------------------------
    def health(self) -> bool:
        return bool(self._call("GET", "/health").get("ok"))

    def reset(self) -> None:
        """Forget all emulated AWS resources and all emulator settings."""
        self._call("POST", "/reset")

    # -- request log -------------------------------------------------------------------------
    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        """Log entries with ``seq > since``, oldest first."""
        entries = self._call("GET", f"/requests?since={int(since)}").get("requests", [])
        return list(entries)

    def clear_requests(self) -> None:
        self._call("DELETE", "/requests")

    def last_seq(self) -> int:
        return int(self._call("GET", f"/requests?since={2**62}").get("lastSeq", 0))

    def write_calls(self, since: int = 0) -> list[dict[str, Any]]:
        return [entry for entry in self.requests(since) if entry.get("write")]

    def count(
        self,
        operation: str | None = None,
        service: str | None = None,
        write: bool | None = None,
        since: int = 0,
    ) -> int:
        return sum(
            1
            for entry in self.requests(since)
            if (operation is None or entry.get("operation") == operation)
            and (service is None or entry.get("service") == service)
            and (write is None or bool(entry.get("write")) == write)
        )

    # -- faults ------------------------------------------------------------------------------
    def set_faults(
        self,
        rate: float = 0.0,
        kinds: Sequence[str] = ("throttle", "5xx"),
        latency_ms: int = 0,
        services: list[str] | None = None,
        operations: list[str] | None = None,
        seed: int | None = None,
    ) -> dict[str, Any]:
        payload = {
            "rate": rate,
            "kinds": list(kinds),
            "latencyMs": latency_ms,
            "services": services,
            "operations": operations,
            "seed": seed,
        }
        return dict(self._call("PUT", "/faults", payload)["faults"])

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    # -- provisioning delays ------------------------------------------------------------------
    def set_provisioning_delay(self, seconds: float) -> None:
        self._call("PUT", "/delays", {"provisioningSeconds": seconds})

    # -- TestInvokeMethod answers -------------------------------------------------------------
    def set_test_invoke_response(
        self,
        status: int,
        body: str = "",
        headers: dict[str, str] | None = None,
        client_certificate_id: str | None = None,
    ) -> None:
        """What TestInvokeMethod answers; with a certificate id, only for calls made with it."""
        self._call(
            "PUT",
            "/test-invoke",
            {
                "status": status,
                "body": body,
                "headers": headers or {},
                "clientCertificateId": client_certificate_id,
            },
        )

    def clear_test_invoke_responses(self) -> None:
        self._call("DELETE", "/test-invoke")

    # -- client certificates ------------------------------------------------------------------
    def set_client_certificate_validity(self, seconds: float | None) -> None:
        """Lifetime of client certificates generated from now on (None: AWS's 365 days)."""
        if seconds is None:
            self._call("DELETE", "/client-certificates")
        else:
            self._call("PUT", "/client-certificates", {"validitySeconds": seconds})
