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
AWS_THROTTLES = Counter(
    "hybrid_gateway_aws_throttles_total",
    "Throttling answers from AWS, by service and by each bucket the call drew from", ["service", "bucket"],
)
AWS_BUCKET_RATE = Gauge(
    "hybrid_gateway_aws_bucket_rate", "Current requests per second of a client-side bucket (after throttles)",
    ["service", "bucket", "region"],
)
DRIFT_BUDGET_USE = Gauge(
    "hybrid_gateway_drift_budget_use_ratio",
    "The fleet's drift checks' reads per second on a bucket, over the budget (--drift-budget-share x the "
    "bucket's rate), after stretching intervals: at most 1",
    ["bucket", "region"],
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
