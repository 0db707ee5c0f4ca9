"""Issue 3, "Done when" 1 and 5: an example-like HybridApi becomes Ready with exactly one of each
chain resource, wired hop by hop as the spec says; edits to targets, routes and throttling are made
in place (same load balancers), visible in AWS, and Ready again for the new generation."""

from __future__ import annotations

import copy
import time

import pytest

from tests.e2e.helpers import (
    ONE_OF_EACH,
    apply,
    aws,
    condition,
    counts,
    events,
    get,
    hybridapi,
    inventory,
    ready_for_generation,
    secret,
    wait_ready,
    wait_until,
)

pytestmark = pytest.mark.e2e

SECRET_VALUE = "chain-test-gateway-secret-0f1e2d3c"


def example(name: str, account) -> dict:  # type: ignore[no-untyped-def]
    """examples/hybridapi.yaml, for the seeded account (requested certificate, three routes)."""
    obj = hybridapi(name, account)
    spec = obj["spec"]
    spec["backend"]["healthCheck"] = {"path": "/healthz", "matcher": "200-399", "intervalSeconds": 30,
                                      "timeoutSeconds": 5, "healthyThreshold": 3, "unhealthyThreshold": 3}
    spec["frontDoor"]["sslPolicy"] = "ELBSecurityPolicy-TLS13-1-2-2021-06"
    spec["api"]["name"] = name
    spec["api"]["routes"] = [
        {"path": "/orders", "methods": ["GET", "POST"], "backendPath": "/api/orders"},
        {"path": "/orders/{id}", "methods": ["GET", "PUT", "DELETE"], "backendPath": "/api/orders/{id}"},
        {"path": "/{proxy+}", "methods": ["ANY"]},
    ]
    spec["api"]["disableExecuteApiEndpoint"] = False
    spec["deletionPolicy"] = "Delete"
    spec["driftCheckInterval"] = "30s"
    return obj


def test_example_becomes_ready_with_one_of_each_resource_wired_as_specified(
    cluster, namespace, account, emulator, start_operator
) -> None:
    start_operator(namespace)
    started = time.monotonic()
    apply(cluster, namespace, secret("orders-gw", {"token": SECRET_VALUE}), example("orders", account))
    wait_ready(cluster, namespace, "orders")
    print(f"\ntime to Ready for one HybridApi (no provisioning delay): {time.monotonic() - started:.1f}s")

    obj = get(cluster, namespace, "hybridapi", "orders")
    status, spec = obj["status"], obj["spec"]
    hostname = spec["frontDoor"]["hostname"]
    found = inventory(emulator.endpoint_url, obj["metadata"]["uid"], account.hosted_zone_id, hostname)
    assert counts(found) == ONE_OF_EACH

    elbv2 = aws(emulator.endpoint_url, "elbv2")
    apigw = aws(emulator.endpoint_url, "apigateway")
    (api,), (link,), (nlb,), (alb,) = found["rest_apis"], found["vpc_links"], found["nlbs"], found["albs"]
    (group,), (cert,), (alias,) = found["security_groups"], found["certificates"], found["alias_records"]
    tgs = {tg["TargetType"]: tg for tg in found["target_groups"]}
    assert set(tgs) == {"ip", "alb"}
    listeners = {lst["LoadBalancerArn"]: lst for lst in found["listeners"]}

    # status.resources names exactly what AWS holds.
    resources = status["resources"]
    assert resources["restApiId"] == api["id"]
    assert resources["vpcLinkId"] == link["id"]
    assert resources["nlbArn"] == nlb["LoadBalancerArn"]
    assert resources["albArn"] == alb["LoadBalancerArn"]
    assert resources["albSecurityGroupId"] == group["GroupId"]
    assert resources["certificateArn"] == cert["CertificateArn"]
    assert resources["backendTargetGroupArn"] == tgs["ip"]["TargetGroupArn"]
    assert resources["albTargetGroupArn"] == tgs["alb"]["TargetGroupArn"]
    assert resources["albListenerArn"] == listeners[alb["LoadBalancerArn"]]["ListenerArn"]
    assert resources["nlbListenerArn"] == listeners[nlb["LoadBalancerArn"]]["ListenerArn"]
    assert resources["dnsRecordName"] == hostname
    assert resources["stageName"] == "prod"

    # Both load balancers are internal, in the spec's subnets; the ALB has our security group.
    for lb in (alb, nlb):
        assert lb["Scheme"] == "internal"
        assert {az["SubnetId"] for az in lb["AvailabilityZones"]} == set(account.subnet_ids)
    assert alb["SecurityGroups"] == [group["GroupId"]]

    # REST API -> integrations: HTTP_PROXY over the VPC link to https://<frontDoor.hostname>/...,
    # each with the secret header as a static request parameter.
    assert api["endpointConfiguration"]["types"] == ["REGIONAL"]
    assert api.get("disableExecuteApiEndpoint", False) is False
    methods = {}
    for res in apigw.get_resources(restApiId=api["id"], embed=["methods"], limit=500)["items"]:
        for verb in res.get("resourceMethods") or {}:
            methods[f"{verb} {res['path']}"] = apigw.get_integration(
                restApiId=api["id"], resourceId=res["id"], httpMethod=verb)
    assert set(methods) == {"GET /orders", "POST /orders", "GET /orders/{id}", "PUT /orders/{id}",
                            "DELETE /orders/{id}", "ANY /{proxy+}"}
    for key, integration in methods.items():
        assert integration["type"] == "HTTP_PROXY", key
        assert integration["uri"].startswith(f"https://{hostname}/"), (key, integration["uri"])
        assert integration["connectionType"] == "VPC_LINK", key
        assert integration["connectionId"] == link["id"], key
        assert integration["requestParameters"]["integration.request.header.X-Gateway-Secret"] == f"'{SECRET_VALUE}'"
    assert methods["GET /orders"]["uri"] == f"https://{hostname}/api/orders"
    assert methods["GET /orders/{id}"]["uri"] == f"https://{hostname}/api/orders/{{id}}"
    assert methods["ANY /{proxy+}"]["uri"] == f"https://{hostname}/{{proxy}}"

    # VPC link -> NLB.
    assert link["targetArns"] == [nlb["LoadBalancerArn"]]
    assert link["status"] == "AVAILABLE"

    # NLB listener TCP 443 -> target group of type alb whose single target is the ALB.
    nlb_listener = listeners[nlb["LoadBalancerArn"]]
    assert (nlb_listener["Protocol"], nlb_listener["Port"]) == ("TCP", 443)
    assert nlb_listener["DefaultActions"][0]["TargetGroupArn"] == tgs["alb"]["TargetGroupArn"]
    assert (tgs["alb"]["Protocol"], tgs["alb"]["Port"]) == ("TCP", 443)
    alb_targets = elbv2.describe_target_health(TargetGroupArn=tgs["alb"]["TargetGroupArn"])
    assert [(d["Target"]["Id"], d["Target"]["Port"]) for d in alb_targets["TargetHealthDescriptions"]] == [
        (alb["LoadBalancerArn"], 443)]

    # ALB listener HTTPS 443 with the front-door certificate and the spec's TLS policy -> IP target group.
    alb_listener = listeners[alb["LoadBalancerArn"]]
    assert (alb_listener["Protocol"], alb_listener["Port"]) == ("HTTPS", 443)
    assert [c["CertificateArn"] for c in alb_listener["Certificates"]] == [cert["CertificateArn"]]
    assert alb_listener["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert alb_listener["DefaultActions"][0]["TargetGroupArn"] == tgs["ip"]["TargetGroupArn"]

    # IP target group: HTTPS to the on-prem targets, health check as specified, AZ "all".
    ip_tg = tgs["ip"]
    assert (ip_tg["Protocol"], ip_tg["Port"], ip_tg["VpcId"]) == ("HTTPS", 443, account.vpc_id)
    assert ip_tg["HealthCheckProtocol"] == "HTTPS"
    assert ip_tg["HealthCheckPath"] == "/healthz"
    assert ip_tg["Matcher"]["HttpCode"] == "200-399"
    assert ip_tg["HealthCheckIntervalSeconds"] == 30
    assert ip_tg["HealthCheckTimeoutSeconds"] == 5
    assert (ip_tg["HealthyThresholdCount"], ip_tg["UnhealthyThresholdCount"]) == (3, 3)
    backend = elbv2.describe_target_health(TargetGroupArn=ip_tg["TargetGroupArn"])["TargetHealthDescriptions"]
    assert sorted((d["Target"]["Id"], d["Target"]["Port"]) for d in backend) == [
        ("192.168.10.5", 443), ("192.168.10.6", 443)]
    assert {d["Target"].get("AvailabilityZone") for d in backend} == {"all"}

    # Certificate: for the front-door hostname, issued through the DNS validation record.
    acm = aws(emulator.endpoint_url, "acm")
    described = acm.describe_certificate(CertificateArn=cert["CertificateArn"])["Certificate"]
    assert described["DomainName"] == hostname
    assert described["Status"] == "ISSUED"

    # Route 53: the hostname is an alias A record to the NLB.
    assert alias["AliasTarget"]["DNSName"].rstrip(".").lower().removeprefix("dualstack.") == nlb["DNSName"].lower()
    assert alias["AliasTarget"]["HostedZoneId"] == nlb["CanonicalHostedZoneId"]

    # Stage: deployed, throttled as specified.
    stage = apigw.get_stage(restApiId=api["id"], stageName="prod")
    settings = stage["methodSettings"]["*/*"]
    assert settings["throttlingRateLimit"] == 100
    assert settings["throttlingBurstLimit"] == 200
    assert stage["deploymentId"] == resources["deploymentId"]

    # Status: invoke URL, front door URL, backend health, hop conditions.
    assert status["invokeUrl"] == f"https://{api['id']}.execute-api.{account.region}.amazonaws.com/prod"
    assert status["frontDoorUrl"] == f"https://{hostname}"
    assert status["backendHealth"] == {"healthy": 2, "total": 2}
    for hop in ("CertificateReady", "LoadBalancersReady", "BackendHealthy", "DnsReady", "VpcLinkReady",
                "ApiDeployed"):
        assert condition(obj, hop)["status"] == "True", hop
    assert condition(obj, "Reconciling")["status"] == "False"
    assert condition(obj, "Stalled")["status"] == "False"
    assert status["observedGeneration"] == obj["metadata"]["generation"]


def test_targets_routes_and_throttling_change_in_place(
    cluster, namespace, account, emulator, start_operator
) -> None:
    start_operator(namespace)
    original = example("edits", account)
    apply(cluster, namespace, secret("edits-gw", {"token": SECRET_VALUE}), original)
    wait_ready(cluster, namespace, "edits")
    before = get(cluster, namespace, "hybridapi", "edits")
    uid, hostname = before["metadata"]["uid"], before["spec"]["frontDoor"]["hostname"]
    resources = dict(before["status"]["resources"])

    changed = copy.deepcopy(original)
    spec = changed["spec"]
    spec["backend"]["targets"] = [{"ip": "192.168.10.6", "port": 443}, {"ip": "192.168.10.7", "port": 443}]
    spec["api"]["routes"] = [
        {"path": "/orders", "methods": ["GET", "POST"], "backendPath": "/api/orders"},
        {"path": "/invoices", "methods": ["GET"], "backendPath": "/api/invoices"},
        {"path": "/{proxy+}", "methods": ["ANY"]},
    ]
    spec["api"]["stage"]["throttling"] = {"rateLimit": 25, "burstLimit": 50}
    apply(cluster, namespace, changed)
    generation = get(cluster, namespace, "hybridapi", "edits")["metadata"]["generation"]
    assert generation > before["metadata"]["generation"]
    wait_until(lambda: ready_for_generation(cluster, namespace, "edits"), timeout=120,
               what="Ready for the new generation")

    after = get(cluster, namespace, "hybridapi", "edits")
    found = inventory(emulator.endpoint_url, uid, account.hosted_zone_id, hostname)
    assert counts(found) == ONE_OF_EACH
    # Same load balancers, listeners, target groups, VPC link and REST API: changed in place.
    for key in ("albArn", "nlbArn", "albListenerArn", "nlbListenerArn", "backendTargetGroupArn",
                "albTargetGroupArn", "vpcLinkId", "restApiId", "certificateArn"):
        assert after["status"]["resources"][key] == resources[key], key
    assert found["albs"][0]["LoadBalancerArn"] == resources["albArn"]
    assert found["nlbs"][0]["LoadBalancerArn"] == resources["nlbArn"]

    elbv2 = aws(emulator.endpoint_url, "elbv2")
    backend = elbv2.describe_target_health(TargetGroupArn=resources["backendTargetGroupArn"])
    live = [d for d in backend["TargetHealthDescriptions"] if d["TargetHealth"]["State"] != "draining"]
    assert sorted(d["Target"]["Id"] for d in live) == ["192.168.10.6", "192.168.10.7"]

    apigw = aws(emulator.endpoint_url, "apigateway")
    api_id = resources["restApiId"]
    methods = {
        f"{verb} {res['path']}"
        for res in apigw.get_resources(restApiId=api_id, embed=["methods"], limit=500)["items"]
        for verb in res.get("resourceMethods") or {}
    }
    assert methods == {"GET /orders", "POST /orders", "GET /invoices", "ANY /{proxy+}"}
    paths = {res["path"] for res in apigw.get_resources(restApiId=api_id, limit=500)["items"]}
    assert "/orders/{id}" not in paths

    stage = apigw.get_stage(restApiId=api_id, stageName="prod")
    assert stage["methodSettings"]["*/*"]["throttlingRateLimit"] == 25
    assert stage["methodSettings"]["*/*"]["throttlingBurstLimit"] == 50
    # The new routes are deployed: the stage points at a new deployment.
    assert stage["deploymentId"] != resources["deploymentId"]
    assert after["status"]["resources"]["deploymentId"] == stage["deploymentId"]
    assert after["status"]["backendHealth"]["total"] == 2
    updated = [e for e in events(cluster, namespace, "edits") if e["reason"] == "Updated"]
    assert any("backend-target-group" in e["message"] for e in updated), updated
    assert any("rest-api" in e["message"] for e in updated), updated
    assert any("stage" in e["message"] for e in updated), updated

