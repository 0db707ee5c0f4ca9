"""Prometheus metrics (prefix `hybrid_gateway_`), served by `hybrid-gateway run --metrics-port`."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

RECONCILES = Counter(
    "hybrid_gateway_reconciles_total", "Reconcile passes by kind and result", ["kind", "result"]
)
RECONCILE_SECONDS = Histogram(
    "hybrid_gateway_reconcile_duration_seconds", "Reconcile pass duration", ["kind", "result"]
)
AWS_CALLS = Counter(
    "hybrid_gateway_aws_calls_total", "AWS API calls by service, operation and outcome",
    ["service", "operation", "outcome"],
)
DRIFT_CORRECTIONS = Counter(
    "hybrid_gateway_drift_corrections_total", "Drift corrections by kind and resource", ["kind", "resource"]
)
CERTIFICATE_EXPIRY_TIMESTAMP = Gauge(
    "hybrid_gateway_certificate_expiry_timestamp_seconds",
    "Certificate notAfter as a Unix timestamp",
    ["kind", "namespace", "name", "certificate", "role"],
)
CERTIFICATE_EXPIRY_DAYS = Gauge(
    "hybrid_gateway_certificate_days_to_expiry",
    "Days until the certificate expires",
    ["kind", "namespace", "name", "certificate", "role"],
)


def serve(port: int) -> None:
    if port > 0:
        start_http_server(port)
