"""Issue 12: a converged MtlsDomain's drift check reads exactly EXPECTED_READS_PER_CHECK (at most 8), by
operation, and writes nothing, so that a read added anywhere fails here. The domain is the heaviest
common shape: a certificate imported from a TLS Secret (so API Gateway also needs a requested
ownership-verification certificate and its validation CNAME), a truststore in a bucket the operator
created, one mapping to a HybridApi whose own drift check is hourly (its reads stay out of the window)."""

from __future__ import annotations

import pytest

from tests.e2e.helpers import (
    apply,
    assert_steady_reads,
    mtls_domain,
    secret,
)
from tests.e2e.test_mtlsdomain import configmap, orders_api, wait_ready
from tests.mtls_certs import make_ca, server_certificate

pytestmark = pytest.mark.e2e

CHECKS = 10
# One GetDomainName per pass: it marks pass boundaries.
MARKER = "GetDomainName"
# What one check reads (issue 12: at most 8). Both certificates are described (no tag read: their ARNs
# are recorded) and the imported one's body is not read while DescribeCertificate shows the Secret's
# serial number and validity; one record listing answers the alias, its ownership TXT and the
# ownership certificate's validation CNAME; the recorded bucket is one GetBucketVersioning while it
# keeps versioning; one mapping listing serves the pass and the "who was mapped before" check; the
# mapped REST API is read for its default endpoint (DefaultEndpointsDisabled).
EXPECTED_READS_PER_CHECK = {
    "acm:DescribeCertificate": 2,
    "apigateway:GetBasePathMappings": 1,
    "apigateway:GetDomainName": 1,
    "apigateway:GetRestApi": 1,
    "route53:ListResourceRecordSets": 1,
    "s3:GetBucketVersioning": 1,
    "s3:HeadObject": 1,
}
MAX_READS_PER_CHECK = 8


def test_drift_checks_of_a_converged_mtls_domain_read_at_most_8_and_write_nothing(
    cluster, namespace, account, control, start_operator
) -> None:
    domain = f"{namespace}.{account.zone_name}"
    tls_crt, tls_key = server_certificate(domain)
    start_operator(namespace)
    apply(cluster, namespace,
          secret("orders-gw", {"token": "steady-gateway-secret"}), orders_api(namespace, account),
          secret("api-tls", {"tls.crt": tls_crt, "tls.key": tls_key}, "kubernetes.io/tls"),
          secret("partner-a-ca", {"ca.crt": make_ca("Partner A Client CA").pem}),
          configmap("partner-b-ca", {"ca.pem": make_ca("Partner B Client CA").pem}),
          mtls_domain("steady", namespace, account, {"secretRef": {"name": "api-tls"}}, driftCheckInterval="1s"))
    wait_ready(cluster, namespace, "mtlsdomain", "steady")
    wait_ready(cluster, namespace, "hybridapi", "orders")
    assert_steady_reads(control, CHECKS, EXPECTED_READS_PER_CHECK, MAX_READS_PER_CHECK, marker=MARKER)
