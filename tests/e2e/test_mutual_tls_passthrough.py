"""Issue 10, item 1, `passthrough`: the ALB forwards the stage's client certificate to the on-prem backend
in `X-Amzn-Mtls-Clientcert`, and the backend checks it against the bundle the ClientCertRotation publishes.

The backend here behaves like a real one that mounts the published Secret: it reloads the bundle every half
second. Through a whole rotation a client sends at least 20 requests a second through the emulated data
plane and none may fail. The negative control switches the stage by hand to a certificate the bundle lacks,
under the same load, and sees the backend refuse requests, so the load test can fail.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from hybrid_gateway_devenv.onprem_backend import OnPremBackend
from tests.e2e.helpers import apply, get, hybridapi, secret, wait_ready, wait_until
from tests.e2e.test_clientcertrotation import Sampler, World, request_rotation, rotation
from tests.e2e.test_clientcertrotation import wait_ready as wait_rotation_ready
from tests.e2e.test_mutual_tls_verify import Load, load_while_the_stage_presents_a_stray_certificate

pytestmark = pytest.mark.e2e


class BundleReloader(threading.Thread):
    """The backend's trust: the published bundle (the rotation's Secret), read again every `every` seconds."""

    def __init__(self, world: World, backend: OnPremBackend, every: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.world, self.backend, self.every = world, backend, every
        self.stop_event = threading.Event()

    def reload(self) -> None:
        self.backend.trusted_bundle = self.world.bundle()

    def run(self) -> None:
        while not self.stop_event.wait(self.every):
            self.reload()

    def __enter__(self) -> BundleReloader:
        self.reload()
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self.join(timeout=10)


def passthrough_chain(cluster: Any, namespace: str, account: Any, emulator: Any, onprem: OnPremBackend,
                      start_operator: Any, *extra: dict[str, Any], world_type: type[World] = World,
                      **rotation_spec: Any) -> tuple[Any, World, str]:
    """A HybridApi in passthrough mode and a ClientCertRotation `cert` (spec extended by `rotation_spec`,
    `extra` objects applied with them), both Ready; returns the operator, the world and the first
    certificate the stage presents."""
    operator = start_operator(namespace)
    onprem.required_header = ("X-Gateway-Secret", "s3cr3t-value")
    api = hybridapi("orders", account, driftCheckInterval="1s")
    api["spec"]["frontDoor"]["mutualTls"] = {"mode": "passthrough"}
    apply(cluster, namespace, secret("orders-gw", {"token": "s3cr3t-value"}), *extra, api,
          rotation("cert", gracePeriod="2s", **rotation_spec))
    wait_ready(cluster, namespace, "orders", timeout=240)
    world = world_type(cluster, emulator.endpoint_url, namespace, "cert",
                       get(cluster, namespace, "hybridapi", "orders")["status"]["resources"]["restApiId"])
    first = wait_rotation_ready(cluster, world, operator)["status"]["current"]["clientCertificateId"]
    assert world.stage_cert() == first
    return operator, world, first


def test_passthrough_backend_trusts_every_certificate_the_stage_presents_under_load(
    cluster, namespace, account, emulator, control, onprem, start_operator
) -> None:
    operator, world, first = passthrough_chain(cluster, namespace, account, emulator, onprem, start_operator)
    with BundleReloader(world, onprem), Load(control, world.rest_api_id) as load, Sampler(world) as sampler:
        time.sleep(1.0)  # traffic flows, checked by the backend, before the rotation starts
        request_rotation(cluster, world.namespace)
        wait_until(lambda: len(world.status().get("history") or []) == 1, timeout=120, interval=0.3,
                   what="the rotation in status.history")
        wait_rotation_ready(cluster, world, operator)
    print(f"\nrotation under load (passthrough): {load.sent} requests sent at {load.rate:.1f}/s, "
          f"{len(load.failed)} failed")
    assert load.sent >= 100, (load.sent, load.rate)  # a count, not a rate: the rate depends on the machine
    assert load.failed == [], load.failed[:5]
    assert sampler.violations == [], sampler.violations[:5]
    second = world.status()["current"]["clientCertificateId"]
    assert second != first and world.stage_cert() == second
    # The backend really checked what the ALB forwarded: requests carried the certificates, both of them.
    forwarded = {r["headers"].get("x-amzn-mtls-clientcert", "")[:80] for r in onprem.traffic()}
    assert "" not in forwarded and len(forwarded) >= 2, len(forwarded)


def test_negative_control_passthrough_a_certificate_the_bundle_lacks_is_refused_by_the_backend(
    cluster, namespace, account, emulator, control, onprem, start_operator
) -> None:
    _, world, first = passthrough_chain(cluster, namespace, account, emulator, onprem, start_operator)
    with BundleReloader(world, onprem):
        load = load_while_the_stage_presents_a_stray_certificate(world, control, first)
    print(f"\nnegative control (passthrough): {load.sent} requests sent, {len(load.failed)} failed")
    assert load.failed, "a stage presenting a certificate the bundle lacks must fail requests"
    assert all(f.startswith("403 ") for f in load.failed), load.failed[:5]
