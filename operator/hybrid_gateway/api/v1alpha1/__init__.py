"""hybridgateway.io/v1alpha1: one module per kind (spec, status, condition types, CRD names and columns)."""

from __future__ import annotations

from hybrid_gateway.api.v1alpha1.clientcertrotation import CLIENT_CERT_ROTATION, ClientCertRotationSpec
from hybrid_gateway.api.v1alpha1.common import Kind
from hybrid_gateway.api.v1alpha1.hybridapi import HYBRID_API, HybridApiSpec
from hybrid_gateway.api.v1alpha1.mtlsdomain import MTLS_DOMAIN, MtlsDomainSpec
from hybrid_gateway.api.v1alpha1.tenancypolicy import TENANCY_POLICY, TenancyPolicySpec

# The kinds the operator reconciles (namespaced, with a status).
RECONCILED_KINDS: tuple[Kind, ...] = (HYBRID_API, MTLS_DOMAIN, CLIENT_CERT_ROTATION)
# Every kind of the API, one CRD each.
KINDS: tuple[Kind, ...] = (*RECONCILED_KINDS, TENANCY_POLICY)

__all__ = [
    "CLIENT_CERT_ROTATION",
    "HYBRID_API",
    "KINDS",
    "MTLS_DOMAIN",
    "RECONCILED_KINDS",
    "TENANCY_POLICY",
    "ClientCertRotationSpec",
    "HybridApiSpec",
    "Kind",
    "MtlsDomainSpec",
    "TenancyPolicySpec",
]
