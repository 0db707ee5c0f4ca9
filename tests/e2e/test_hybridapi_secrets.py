"""Issue 3, "Done when" 9: the gateway secret value and the imported private key appear nowhere in
the operator's logs (run with --verbose), in Events or in the object (status included).

The object imports its front-door certificate from a TLS Secret (so a private key goes to ACM), and
the test walks the paths that send secrets to AWS: create, a drift repair of the secret header, a
rotation of the gateway secret, and a rotation of the TLS Secret (re-import into the same ARN).
"""

from __future__ import annotations

import json

import pytest

from tests.e2e.helpers import (
    apply,
    aws,
    events,
    front_door_hostname,
    get,
    hybridapi,
    public_certificate,
    ready_for_generation,
    secret,
    wait_ready,
    wait_until,
)

pytestmark = pytest.mark.e2e

FIRST_TOKEN = "gw-token-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
SECOND_TOKEN = "gw-token-rotated-0a1b2c3d4e5f60718293a4b5c6d7e8f9"


def _key_fragments(key_pem: str) -> list[str]:
    """The whole key and each of its base64 lines: a log that wraps or re-encodes it still shows one."""
    lines = [line for line in key_pem.splitlines() if line and not line.startswith("-----")]
    return [key_pem, "".join(lines), *lines]


def test_secrets_never_reach_logs_events_or_status(
    cluster, namespace, account, emulator, control, start_operator
) -> None:
    operator = start_operator(namespace)  # OperatorProcess runs `hybrid-gateway run --verbose`
    name = "secretive"
    hostname = front_door_hostname(name, account)
    cert_pem, chain_pem, key_pem = public_certificate(control, hostname)
    obj = hybridapi(name, account)
    obj["spec"]["frontDoor"]["certificate"] = {"secretRef": {"name": f"{name}-tls"}}
    apply(cluster, namespace, secret(f"{name}-gw", {"token": FIRST_TOKEN}),
          secret(f"{name}-tls", {"tls.crt": cert_pem + chain_pem, "tls.key": key_pem}, "kubernetes.io/tls"), obj)
    wait_ready(cluster, namespace, name)
    resources = get(cluster, namespace, "hybridapi", name)["status"]["resources"]
    apigw = aws(emulator.endpoint_url, "apigateway")
    api_id = resources["restApiId"]

    def integrations() -> list[dict]:  # type: ignore[type-arg]
        return [apigw.get_integration(restApiId=api_id, resourceId=r["id"], httpMethod=verb)
                for r in apigw.get_resources(restApiId=api_id, embed=["methods"], limit=500)["items"]
                for verb in r.get("resourceMethods") or {}]

    def header_is(token: str) -> bool:
        return all((i.get("requestParameters") or {}).get("integration.request.header.X-Gateway-Secret") == f"'{token}'"
                   for i in integrations())

    assert header_is(FIRST_TOKEN)

    # Drift: the secret header removed from one integration; the repair sends the value again.
    some = next(r for r in apigw.get_resources(restApiId=api_id, limit=500)["items"] if r["path"] == "/orders")
    apigw.update_integration(restApiId=api_id, resourceId=some["id"], httpMethod="GET", patchOperations=[
        {"op": "remove", "path": "/requestParameters/integration.request.header.X-Gateway-Secret"}])
    wait_until(lambda: header_is(FIRST_TOKEN), timeout=60, what="secret header repaired")

    # Rotation of the gateway secret: the next drift check sends the new value and redeploys the stage
    # (a stage serves the deployment's snapshot of the integrations, not their current state).
    deployed = apigw.get_stage(restApiId=api_id, stageName="prod")["deploymentId"]
    apply(cluster, namespace, secret(f"{name}-gw", {"token": SECOND_TOKEN}))
    wait_until(lambda: header_is(SECOND_TOKEN), timeout=60, what="secret header rotated")
    wait_until(lambda: apigw.get_stage(restApiId=api_id, stageName="prod")["deploymentId"] != deployed,
               timeout=30, what="the stage redeployed with the new secret")

    # Rotation of the TLS Secret (cert-manager renewing): re-imported into the same ARN.
    new_cert, new_chain, new_key = public_certificate(control, hostname)
    acm = aws(emulator.endpoint_url, "acm")
    apply(cluster, namespace, secret(f"{name}-tls", {"tls.crt": new_cert + new_chain, "tls.key": new_key},
                                     "kubernetes.io/tls"))
    wait_until(lambda: acm.get_certificate(CertificateArn=resources["certificateArn"])["Certificate"].strip()
               == new_cert.strip(), timeout=60, what="certificate re-imported")
    wait_until(lambda: ready_for_generation(cluster, namespace, name), timeout=60, what="Ready")

    secrets = [FIRST_TOKEN, SECOND_TOKEN, *_key_fragments(key_pem), *_key_fragments(new_key)]
    logs = operator.logs()
    assert "Handler 'create' is invoked" in logs, "the operator must run with --verbose (kopf DEBUG) here"
    # --verbose must not turn on the HTTP-level loggers (request lines, and for botocore, bodies).
    assert '"POST / HTTP/1.1"' not in logs and "Resetting dropped connection" not in logs
    assert "Making request for OperationModel" not in logs and "Response body:" not in logs
    the_object = json.dumps(get(cluster, namespace, "hybridapi", name))
    all_events = cluster.kubectl("get", "events", "-n", namespace, "-o", "json").stdout
    assert events(cluster, namespace, name), "Events were posted"
    for where, text in (("operator log", logs), ("object and status", the_object), ("events", all_events)):
        leaked = [s[:24] + "..." for s in secrets if s in text]
        assert leaked == [], f"{where} holds secret material: {leaked}"
