"""The reconcilers this build ships; the kopf layer registers handlers for exactly these."""

from __future__ import annotations

from hybrid_gateway.reconcilers.base import Reconciler
from hybrid_gateway.reconcilers.clientcertrotation import ClientCertRotationReconciler
from hybrid_gateway.reconcilers.hybridapi import HybridApiReconciler
from hybrid_gateway.reconcilers.mtlsdomain import MtlsDomainReconciler

RECONCILERS: list[type[Reconciler]] = [HybridApiReconciler, MtlsDomainReconciler, ClientCertRotationReconciler]
