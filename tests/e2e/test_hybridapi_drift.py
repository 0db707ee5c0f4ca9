"""Issue 3, "Done when" 2: drift injected with boto3 straight into AWS is put back by the next drift
check, with a `DriftCorrected` Event naming the resource and `status.drift.corrections` increased.
Issue 13: every case runs for both link versions where it applies (`Case.versions`); the V2 object has
subnets of its own, so its shared VPC link V2 is used by it alone.

One object is converged once (module fixture) and each case injects its drift in turn, waiting for
the repair, so the cases stay cheap. Cases run in the order listed; each one starts from a converged
object and leaves one behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from hybrid_gateway_devenv.cluster import LocalCluster
from hybrid_gateway_devenv.operator_process import OperatorProcess
from hybrid_gateway_devenv.seed import SeededAccount, seed_account
from tests.e2e.helpers import (
    ONE_OF_EACH,
    ONE_OF_EACH_V2,
    alias_records,
    apply,
    aws,
    counts,
    events,
    get,
    hybridapi,
    import_certificate,
    inventory,
    own_subnets,
    passes_since,
    secret,
    wait_ready,
    wait_until,
)

pytestmark = pytest.mark.e2e

NAME = "drifty"
HEADER = "X-Gateway-Secret"
REGION = "ap-northeast-1"


@dataclass
class Converged:
    cluster: LocalCluster
    namespace: str
    account: SeededAccount
    endpoint_url: str
    operator: OperatorProcess
    control: Any
    uid: str
    hostname: str
    version: str

    def obj(self) -> dict[str, Any]:
        return get(self.cluster, self.namespace, "hybridapi", NAME)

    def resources(self) -> dict[str, Any]:
        return dict(self.obj()["status"]["resources"])

    def client(self, service: str) -> Any:
        return aws(self.endpoint_url, service, REGION)


@pytest.fixture(scope="module", params=["V1", "V2"])
def converged(request: pytest.FixtureRequest, cluster: LocalCluster, emulator: Any, control: Any,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Converged]:
    version = str(request.param)
    namespace = f"t-{uuid.uuid4().hex[:8]}"
    cluster.kubectl("create", "namespace", namespace)
    account = seed_account(emulator.endpoint_url, REGION)
    operator = OperatorProcess(
        kubeconfig=cluster.operator_kubeconfig, aws_endpoint_url=emulator.endpoint_url,
        log_path=tmp_path_factory.mktemp("drift") / "operator.log", namespaces=[namespace],
    ).start()
    try:
        obj = hybridapi(NAME, account, link_version=version)
        if version == "V2":
            obj["spec"]["network"]["subnetIds"] = own_subnets(emulator.endpoint_url, account)
        obj["spec"]["api"]["disableExecuteApiEndpoint"] = True
        obj["spec"]["driftCheckInterval"] = "2s"
        apply(cluster, namespace, secret(f"{NAME}-gw", {"token": "drift-secret-value"}), obj)
        wait_ready(cluster, namespace, NAME)
        body = get(cluster, namespace, "hybridapi", NAME)
        yield Converged(cluster, namespace, account, emulator.endpoint_url, operator, control,
                        body["metadata"]["uid"], body["spec"]["frontDoor"]["hostname"], version)
    finally:
        operator.stop()


# --- injections: each is what someone with console access might do -----------------------------------

def _method_ids(c: Converged) -> list[tuple[str, str]]:
    apigw = c.client("apigateway")
    api_id = c.resources()["restApiId"]
    return [
        (res["id"], verb)
        for res in apigw.get_resources(restApiId=api_id, embed=["methods"], limit=500)["items"]
        for verb in res.get("resourceMethods") or {}
    ]


def _resource_id(c: Converged, path: str) -> str:
    apigw = c.client("apigateway")
    items = apigw.get_resources(restApiId=c.resources()["restApiId"], limit=500)["items"]
    return next(r["id"] for r in items if r["path"] == path)


def delete_alias_record(c: Converged) -> None:
    r53 = c.client("route53")
    zone = c.account.hosted_zone_id
    (rrset,) = alias_records(c.endpoint_url, zone, c.hostname)
    r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={
        "Changes": [{"Action": "DELETE", "ResourceRecordSet": rrset}]})


def change_listener_certificate(c: Converged) -> None:
    other = import_certificate(c.endpoint_url, "someone-else.example.com")
    c.client("elbv2").modify_listener(ListenerArn=c.resources()["albListenerArn"],
                                      Certificates=[{"CertificateArn": other}])


def change_ssl_policy(c: Converged) -> None:
    c.client("elbv2").modify_listener(ListenerArn=c.resources()["albListenerArn"],
                                      SslPolicy="ELBSecurityPolicy-2016-08")


def deregister_target(c: Converged) -> None:
    c.client("elbv2").deregister_targets(TargetGroupArn=c.resources()["backendTargetGroupArn"],
                                         Targets=[{"Id": "192.168.10.6", "Port": 443}])


def integration_uri_to_http(c: Converged) -> None:
    c.client("apigateway").update_integration(
        restApiId=c.resources()["restApiId"], resourceId=_resource_id(c, "/orders"), httpMethod="GET",
        patchOperations=[{"op": "replace", "path": "/uri", "value": f"http://{c.hostname}/api/orders"}])


def remove_secret_header(c: Converged) -> None:
    c.client("apigateway").update_integration(
        restApiId=c.resources()["restApiId"], resourceId=_resource_id(c, "/{proxy+}"), httpMethod="ANY",
        patchOperations=[{"op": "remove", "path": f"/requestParameters/integration.request.header.{HEADER}"}])


def enable_execute_api_endpoint(c: Converged) -> None:
    c.client("apigateway").update_rest_api(
        restApiId=c.resources()["restApiId"],
        patchOperations=[{"op": "replace", "path": "/disableExecuteApiEndpoint", "value": "false"}])


def change_stage_throttling(c: Converged) -> None:
    c.client("apigateway").update_stage(
        restApiId=c.resources()["restApiId"], stageName="prod",
        patchOperations=[{"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "5"},
                         {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "10"}])


def delete_vpc_link(c: Converged) -> None:
    """AWS refuses to delete a VPC link that integrations use: point them elsewhere first."""
    apigw = c.client("apigateway")
    api_id, link_id = c.resources()["restApiId"], c.resources()["vpcLinkId"]
    for resource_id, verb in _method_ids(c):
        apigw.update_integration(restApiId=api_id, resourceId=resource_id, httpMethod=verb, patchOperations=[
            {"op": "replace", "path": "/connectionType", "value": "INTERNET"},
            {"op": "remove", "path": "/connectionId"}])
    apigw.delete_vpc_link(vpcLinkId=link_id)


def delete_vpc_link_v2(c: Converged) -> None:
    """The same for the (here unshared) V2 link: integrations off it first, and their integrationTarget."""
    apigw = c.client("apigateway")
    api_id = c.resources()["restApiId"]
    for resource_id, verb in _method_ids(c):
        apigw.update_integration(restApiId=api_id, resourceId=resource_id, httpMethod=verb, patchOperations=[
            {"op": "replace", "path": "/connectionType", "value": "INTERNET"},
            {"op": "remove", "path": "/connectionId"}, {"op": "remove", "path": "/integrationTarget"}])
    c.client("apigatewayv2").delete_vpc_link(VpcLinkId=c.resources()["vpcLinkV2Id"])


def _link_rule() -> dict[str, Any]:
    return {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443}


def revoke_link_rule(c: Converged) -> None:
    res = c.resources()
    c.client("ec2").revoke_security_group_ingress(GroupId=res["albSecurityGroupId"], IpPermissions=[
        {**_link_rule(), "UserIdGroupPairs": [{"GroupId": res["vpcLinkSecurityGroupId"]}]}])


def retarget_integration(c: Converged) -> None:
    """integrationTarget to another (valid-looking) ALB of the account."""
    res = c.resources()
    other = res["albArn"].rsplit("/", 2)[0] + "/someone-else/0123456789abcdef"
    c.client("apigateway").update_integration(
        restApiId=res["restApiId"], resourceId=_resource_id(c, "/orders"), httpMethod="GET",
        patchOperations=[{"op": "replace", "path": "/integrationTarget", "value": other}])


def retarget_alias(c: Converged) -> None:
    """The front-door alias to some other name in the load balancer's zone."""
    r53 = c.client("route53")
    zone = c.account.hosted_zone_id
    (rrset,) = alias_records(c.endpoint_url, zone, c.hostname)
    moved = {**rrset, "AliasTarget": {**rrset["AliasTarget"], "DNSName": "elsewhere.example.com."}}
    r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={
        "Changes": [{"Action": "UPSERT", "ResourceRecordSet": moved}]})


def delete_nlb_listener(c: Converged) -> None:
    c.client("elbv2").delete_listener(ListenerArn=c.resources()["nlbListenerArn"])


def change_health_check_path(c: Converged) -> None:
    c.client("elbv2").modify_target_group(TargetGroupArn=c.resources()["backendTargetGroupArn"],
                                          HealthCheckPath="/not-the-spec")


# --- checks that the repair put AWS back as the spec says ----------------------------------------------

def alias_points_at_load_balancer(c: Converged) -> bool:
    """At the NLB (V1) or the ALB (V2)."""
    found = inventory(c.endpoint_url, c.uid, c.account.hosted_zone_id, c.hostname)
    target = found["nlbs" if c.version == "V1" else "albs"][0]
    return (len(found["alias_records"]) == 1 and
            found["alias_records"][0]["AliasTarget"]["DNSName"].rstrip(".").lower() == target["DNSName"].lower())


def listener_has_our_certificate(c: Converged) -> bool:
    res = c.resources()
    (listener,) = c.client("elbv2").describe_listeners(ListenerArns=[res["albListenerArn"]])["Listeners"]
    return [x["CertificateArn"] for x in listener["Certificates"]] == [res["certificateArn"]]


def listener_has_spec_policy(c: Converged) -> bool:
    res = c.resources()
    (listener,) = c.client("elbv2").describe_listeners(ListenerArns=[res["albListenerArn"]])["Listeners"]
    return bool(listener["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06")


def both_targets_registered(c: Converged) -> bool:
    health = c.client("elbv2").describe_target_health(TargetGroupArn=c.resources()["backendTargetGroupArn"])
    live = {d["Target"]["Id"] for d in health["TargetHealthDescriptions"]
            if d["TargetHealth"]["State"] != "draining"}
    return live == {"192.168.10.5", "192.168.10.6"}


def _integrations(c: Converged) -> list[dict[str, Any]]:
    apigw = c.client("apigateway")
    api_id = c.resources()["restApiId"]
    return [apigw.get_integration(restApiId=api_id, resourceId=rid, httpMethod=verb) for rid, verb in _method_ids(c)]


def integrations_as_spec(c: Converged) -> bool:
    res = c.resources()
    link_id, target = (res["vpcLinkId"], None) if c.version == "V1" else (res["vpcLinkV2Id"], res["albArn"])
    return all(
        i["uri"].startswith(f"https://{c.hostname}/")
        and i["connectionType"] == "VPC_LINK"
        and i["connectionId"] == link_id
        and i.get("integrationTarget") == target
        and (i.get("requestParameters") or {}).get(f"integration.request.header.{HEADER}") == "'drift-secret-value'"
        for i in _integrations(c)
    )


def execute_api_disabled(c: Converged) -> bool:
    api = c.client("apigateway").get_rest_api(restApiId=c.resources()["restApiId"])
    return api.get("disableExecuteApiEndpoint") is True


def stage_throttling_as_spec(c: Converged) -> bool:
    stage = c.client("apigateway").get_stage(restApiId=c.resources()["restApiId"], stageName="prod")
    settings = stage["methodSettings"]["*/*"]
    return bool(settings["throttlingRateLimit"] == 100 and settings["throttlingBurstLimit"] == 200)


def new_vpc_link_in_use(c: Converged) -> bool:
    found = inventory(c.endpoint_url, c.uid, c.account.hosted_zone_id, c.hostname)
    return (len(found["vpc_links"]) == 1 and found["vpc_links"][0]["id"] == c.resources()["vpcLinkId"]
            and found["vpc_links"][0]["targetArns"] == [c.resources()["nlbArn"]]
            and integrations_as_spec(c))


def new_vpc_link_v2_in_use(c: Converged) -> bool:
    found = inventory(c.endpoint_url, c.uid, c.account.hosted_zone_id, c.hostname)
    return (len(found["vpc_links_v2"]) == 1 and found["vpc_links_v2"][0]["VpcLinkId"] == c.resources()["vpcLinkV2Id"]
            and integrations_as_spec(c))


def alb_admits_the_link(c: Converged) -> bool:
    res = c.resources()
    (group,) = c.client("ec2").describe_security_groups(GroupIds=[res["albSecurityGroupId"]])["SecurityGroups"]
    return any(p.get("FromPort") == 443 and any(g["GroupId"] == res["vpcLinkSecurityGroupId"]
                                                for g in p.get("UserIdGroupPairs", []))
               for p in group["IpPermissions"])


def nlb_listener_back(c: Converged) -> bool:
    res = c.resources()
    listeners = c.client("elbv2").describe_listeners(LoadBalancerArn=res["nlbArn"])["Listeners"]
    return (len(listeners) == 1 and listeners[0]["ListenerArn"] == res["nlbListenerArn"]
            and (listeners[0]["Protocol"], listeners[0]["Port"]) == ("TCP", 443)
            and listeners[0]["DefaultActions"][0]["TargetGroupArn"] == res["albTargetGroupArn"])


def health_check_path_as_spec(c: Converged) -> bool:
    (tg,) = c.client("elbv2").describe_target_groups(
        TargetGroupArns=[c.resources()["backendTargetGroupArn"]])["TargetGroups"]
    return bool(tg["HealthCheckPath"] == "/healthz")


@dataclass(frozen=True)
class Case:
    name: str
    inject: Callable[[Converged], None]
    part: str  # the resource the DriftCorrected Event must name
    repaired: Callable[[Converged], bool]
    replaced: tuple[str, ...] = ()  # status.resources keys that get a new id (deploymentId: redeployed)
    # The repair must wait for AWS between its writes (a new VPC link is PENDING until AWS provisioned it,
    # and only an AVAILABLE link takes integrations: docs/aws-behaviour.md), so it takes the passes AWS
    # needs instead of one.
    waits_for_aws: bool = False
    versions: tuple[str, ...] = ("V1", "V2")  # the link versions the drift can happen to


CASES = [
    Case("alias-record-deleted", delete_alias_record, "dns-record", alias_points_at_load_balancer),
    Case("alias-retargeted", retarget_alias, "dns-record", alias_points_at_load_balancer),
    Case("alb-listener-certificate-changed", change_listener_certificate, "alb-listener",
         listener_has_our_certificate),
    Case("alb-listener-ssl-policy-changed", change_ssl_policy, "alb-listener", listener_has_spec_policy),
    Case("on-prem-target-deregistered", deregister_target, "backend-target-group", both_targets_registered),
    Case("integration-uri-http", integration_uri_to_http, "rest-api", integrations_as_spec),
    Case("secret-header-removed", remove_secret_header, "rest-api", integrations_as_spec),
    Case("execute-api-endpoint-re-enabled", enable_execute_api_endpoint, "rest-api", execute_api_disabled),
    Case("stage-throttling-changed", change_stage_throttling, "stage", stage_throttling_as_spec),
    Case("vpc-link-deleted", delete_vpc_link, "vpc-link", new_vpc_link_in_use,
         # The stage's deployment snapshots the integrations: it must be redeployed onto the new link.
         replaced=("vpcLinkId", "deploymentId"), waits_for_aws=True, versions=("V1",)),
    Case("vpc-link-v2-deleted", delete_vpc_link_v2, "vpc-link-v2", new_vpc_link_v2_in_use,
         replaced=("vpcLinkV2Id", "deploymentId"), waits_for_aws=True, versions=("V2",)),
    Case("link-security-group-rule-revoked", revoke_link_rule, "alb-security-group", alb_admits_the_link,
         versions=("V2",)),
    Case("integration-target-changed", retarget_integration, "rest-api", integrations_as_spec, versions=("V2",)),
    Case("nlb-listener-deleted", delete_nlb_listener, "nlb-listener", nlb_listener_back,
         replaced=("nlbListenerArn",), versions=("V1",)),
    Case("health-check-path-changed", change_health_check_path, "backend-target-group", health_check_path_as_spec),
]


def _just_after_a_check(c: Converged) -> None:
    """Wait for a drift check to start and finish, so that the injection is not split by the next one."""
    started = c.control.last_seq()
    wait_until(lambda: passes_since(c.control, started), timeout=30, interval=0.1, what="a drift check")
    first = c.obj()["status"]["drift"]["lastCheckTime"]
    wait_until(lambda: c.obj()["status"]["drift"]["lastCheckTime"] != first, timeout=30, interval=0.1,
               what="the end of a drift check")


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_drift_is_corrected_by_the_next_check(converged: Converged, case: Case) -> None:
    c = converged
    if c.version not in case.versions:
        pytest.skip(f"{case.name} does not apply to a VPC link {c.version} chain")
    wait_ready(c.cluster, c.namespace, NAME)
    assert case.repaired(c), "the object must start converged"
    before = c.obj()
    corrections_before = int(before["status"]["drift"].get("corrections", 0))
    seen = {e["metadata"]["uid"] for e in events(c.cluster, c.namespace, NAME)}
    resources_before = dict(before["status"]["resources"])

    _just_after_a_check(c)
    case.inject(c)
    injected = c.control.last_seq()
    assert not case.repaired(c), "the injection must make a difference AWS shows"

    def corrected() -> list[dict[str, Any]]:
        return [e for e in events(c.cluster, c.namespace, NAME)
                if e["metadata"]["uid"] not in seen and e["reason"] == "DriftCorrected"
                and f" {case.part} " in e["message"]]

    new_events = wait_until(corrected, timeout=60, interval=0.5, what=f"a DriftCorrected event on {case.part}")
    wait_until(lambda: case.repaired(c), timeout=30, what=f"{case.name} repaired in AWS")
    after = c.obj()
    assert int(after["status"]["drift"]["corrections"]) > corrections_before
    assert after["status"]["drift"]["lastCorrected"], after["status"]["drift"]
    assert any(entry.startswith(case.part) for entry in after["status"]["drift"]["lastCorrected"])
    assert new_events[0]["type"] == "Warning"
    wait_ready(c.cluster, c.namespace, NAME)

    repairs = [w["seq"] for w in c.control.write_calls(injected)]
    assert repairs, "the repair wrote to AWS"
    if case.waits_for_aws:
        # Repaired over the passes AWS needs, and then settled: once Ready, two more checks write nothing.
        settled = c.control.last_seq()
        wait_until(lambda: len(passes_since(c.control, settled)) >= 2, timeout=60,
                   what="two drift checks after the repair")
        assert c.control.write_calls(settled) == [], "a settled object is written again"
        assert c.control.count(operation="CreateVpcLink", since=injected) == 1, "one new link, no twins"
    else:
        # Repaired by the next drift check, in one pass: every write after the injection falls either in the
        # pass that was under way (and read the resource after the injection) or in the first one after it.
        markers = wait_until(lambda: (m := passes_since(c.control, injected)) and len(m) >= 2 and m, timeout=30,
                             what="two drift checks after the injection")
        assert max(repairs) < markers[0] or markers[0] < min(repairs) <= max(repairs) < markers[1], (
            markers, repairs)

    # Repaired, not duplicated: still exactly one of each resource; ids change only where replaced.
    assert counts(inventory(c.endpoint_url, c.uid, c.account.hosted_zone_id, c.hostname)) == (
        ONE_OF_EACH if c.version == "V1" else ONE_OF_EACH_V2)
    resources_after = c.resources()
    for key in ("albArn", "nlbArn", "restApiId", "backendTargetGroupArn", "albTargetGroupArn", "certificateArn",
                "vpcLinkId", "nlbListenerArn", "albListenerArn", "deploymentId", "vpcLinkV2Id",
                "vpcLinkSecurityGroupId", "albSecurityGroupId"):
        if key in case.replaced:
            assert resources_after[key] != resources_before[key], key
        else:
            assert resources_after.get(key) == resources_before.get(key), key
    print(f"\n{case.name}: {[e['message'] for e in new_events]}")

