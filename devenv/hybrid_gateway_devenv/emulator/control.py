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
        answer_latency_ms: int = 0,
    ) -> dict[str, Any]:
        """``latency_ms`` delays a call before it takes effect; ``answer_latency_ms`` delays only its answer
        (the call has taken effect and is in the request log meanwhile)."""
        payload = {
            "rate": rate,
            "kinds": list(kinds),
            "latencyMs": latency_ms,
            "answerLatencyMs": answer_latency_ms,
            "services": services,
            "operations": operations,
            "seed": seed,
        }
        return dict(self._call("PUT", "/faults", payload)["faults"])

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    # -- delays ---------------------------------------------------------------------------------
    def delays(self) -> dict[str, float]:
        """The current delays: ``provisioningSeconds``, ``deletionSeconds``, ``domainNameSeconds``,
        ``healthCheckSeconds``, ``versioningSeconds``."""
        return {k: float(v) for k, v in self._call("GET", "/delays").items()}

    def set_provisioning_delay(self, seconds: float) -> None:
        """Load balancers, VPC links and certificates take ``seconds`` (the other delays stay)."""
        self._call("PUT", "/delays", {"provisioningSeconds": seconds})

    def set_delays(
        self,
        *,
        provisioning: float | None = None,
        deletion: float | None = None,
        domain_name: float | None = None,
        health_check: float | None = None,
        versioning: float | None = None,
    ) -> dict[str, float]:
        """Set some of the delays (seconds); the others keep their values."""
        values = {
            "provisioningSeconds": provisioning,
            "deletionSeconds": deletion,
            "domainNameSeconds": domain_name,
            "healthCheckSeconds": health_check,
            "versioningSeconds": versioning,
        }
        payload = {k: v for k, v in values.items() if v is not None}
        return {k: float(v) for k, v in self._call("PUT", "/delays", payload).items()}

    def set_instant_aws(self) -> None:
        """Every delay 0: for a test that says it needs instant AWS (nothing provisions, deletes,
        updates, health-checks or propagates over time)."""
        self._call("PUT", "/delays", {"instant": True})

    def restore_delays(self) -> None:
        """Back to the default (compressed, non-zero) delays."""
        self._call("DELETE", "/delays")

    # -- quotas -----------------------------------------------------------------------------------
    def quotas(self) -> dict[str, Any]:
        """``{"enabled": bool, "timeScale": float, "resourceCounts": {...}}``."""
        return self._call("GET", "/quotas")

    def set_quotas(self, *, enabled: bool | None = None, time_scale: float | None = None) -> dict[str, Any]:
        """Switch quotas on/off, or set the time-scale factor (10 by default; 1 = AWS's own rates).
        Buckets start full again."""
        payload: dict[str, Any] = {}
        if enabled is not None:
            payload["enabled"] = enabled
        if time_scale is not None:
            payload["timeScale"] = time_scale
        return self._call("PUT", "/quotas", payload)

    def disable_quotas(self) -> None:
        """No request-rate or resource-count quota at all: for a test that says it needs that."""
        self.set_quotas(enabled=False)

    def restore_quotas(self) -> None:
        self._call("DELETE", "/quotas")

    # -- target health ----------------------------------------------------------------------------
    def set_target_health(
        self,
        target_id: str,
        state: str,
        *,
        port: int | None = None,
        target_group_arn: str | None = None,
    ) -> None:
        """What the emulated health checks find for a target: ``"unhealthy"`` (checks fail:
        ``Target.FailedHealthChecks``) or ``"healthy"`` (checks pass, the default)."""
        self._call(
            "PUT",
            "/target-health",
            {"targetId": target_id, "state": state, "port": port, "targetGroupArn": target_group_arn},
        )

    def clear_target_health(self) -> None:
        self._call("DELETE", "/target-health")

    def target_health_rules(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/target-health")["rules"])

    # -- the emulated public CA ------------------------------------------------------------------
    def public_ca(self) -> dict[str, str]:
        """``{"certificate": root PEM, "intermediate": PEM}`` of the CA that signs ACM's issued
        certificates (the only CA the emulator treats as publicly trusted)."""
        return {k: str(v) for k, v in self._call("GET", "/public-ca").items()}

    def issue_public_certificate(
        self,
        domain_name: str,
        subject_alternative_names: Sequence[str] = (),
        *,
        key_algorithm: str = "RSA_2048",
        validity_days: float = 90,
    ) -> dict[str, str]:
        """A leaf certificate + key for ``domain_name`` signed by the public CA:
        ``{"certificate", "privateKey", "certificateChain"}`` (PEM), ready for ACM ImportCertificate."""
        answer = self._call(
            "POST",
            "/public-ca/certificates",
            {
                "domainName": domain_name,
                "subjectAlternativeNames": list(subject_alternative_names),
                "keyAlgorithm": key_algorithm,
                "validityDays": validity_days,
            },
        )
        return {k: str(v) for k, v in answer.items()}

    def publicly_trusted(
        self,
        certificate: str | None = None,
        certificate_chain: str | None = None,
        *,
        certificate_arn: str | None = None,
    ) -> dict[str, Any]:
        """Whether a certificate (PEM + chain, or an ACM certificate by ARN) chains to the public CA:
        ``{"trusted": bool, "reason": str | None}``."""
        payload: dict[str, Any] = (
            {"certificateArn": certificate_arn}
            if certificate_arn
            else {"certificate": certificate, "certificateChain": certificate_chain or ""}
        )
        return self._call("POST", "/public-ca/verify", payload)

    # -- TestInvokeMethod answers -------------------------------------------------------------
    def set_test_invoke_response(
        self,
        status: int,
        body: str = "",
        headers: dict[str, str] | None = None,
        client_certificate_id: str | None = None,
        log: str = "",
    ) -> None:
        """What TestInvokeMethod answers; with a certificate id, only for calls made with it. `log`: the
        execution-log lines of a failure after "Sending request to ..." (as API Gateway writes them)."""
        self._call(
            "PUT",
            "/test-invoke",
            {
                "status": status,
                "body": body,
                "headers": headers or {},
                "clientCertificateId": client_certificate_id,
                "log": log,
            },
        )

    def clear_test_invoke_responses(self) -> None:
        self._call("DELETE", "/test-invoke")

    # -- on-prem network map (data plane) --------------------------------------------------------
    def set_onprem_routes(self, routes: dict[str, str]) -> None:
        """Where on-prem targets answer: ``{"192.168.10.5:443": "127.0.0.1:8443"}`` (loopback only;
        a target not in the map is unreachable)."""
        self._call("PUT", "/onprem-routes", {"routes": routes})

    def onprem_routes(self) -> dict[str, str]:
        return dict(self._call("GET", "/onprem-routes")["routes"])

    def clear_onprem_routes(self) -> None:
        self._call("DELETE", "/onprem-routes")

    def invoke_endpoint(self) -> dict[str, Any]:
        """Where the stages' default endpoint answers on loopback: ``{"host": "127.0.0.1", "port": N}``
        (``curl --resolve <api-id>.execute-api.<region>.amazonaws.com:N:127.0.0.1
        https://<api-id>.execute-api.<region>.amazonaws.com:N/<stage>/...``, trusting ``public_ca()``)."""
        return dict(self._call("GET", "/invoke-endpoint"))

    def domain_endpoint(self) -> dict[str, Any]:
        """Where every custom domain name with mutual TLS answers on loopback: ``{"host": "127.0.0.1",
        "port": N}`` (one listener for all domains, routed by SNI: ``curl --resolve <domain>:N:127.0.0.1
        --cert client.pem --key client.key https://<domain>:N/<base path>/...``, trusting the CA of the
        domain's certificate)."""
        return dict(self._call("GET", "/domain-endpoint"))

    # -- client certificates ------------------------------------------------------------------
    def set_client_certificate_validity(self, seconds: float | None) -> None:
        """Lifetime of client certificates generated from now on (None: AWS's 365 days)."""
        if seconds is None:
            self._call("DELETE", "/client-certificates")
        else:
            self._call("PUT", "/client-certificates", {"validitySeconds": seconds})
