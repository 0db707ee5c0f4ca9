"""The request log: real AWS operation names per service, the write flag, since/clear/count."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from hybrid_gateway_devenv.emulator import EmulatorControl
from hybrid_gateway_devenv.emulator.routing import AwsCall, OperationResolver, is_write

from .helpers import network, public_zone

# the request log counts calls: instant AWS, no quotas (no throttled retries).
pytestmark = pytest.mark.usefixtures("instant_aws")


def ops(entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["service"], e["operation"]) for e in entries]


def test_operation_names_across_services(
    ctl: EmulatorControl, apigw: Any, ec2: Any, elbv2: Any, acm: Any, route53: Any, s3: Any
) -> None:
    start = ctl.last_seq()
    api_id = apigw.create_rest_api(name="a")["id"]
    apigw.get_rest_api(restApiId=api_id)
    apigw.get_stages(restApiId=api_id)
    _, subnets = network(ec2)
    ec2.describe_vpcs()
    arn = elbv2.create_load_balancer(Name="lb", Subnets=subnets, Type="network", Scheme="internal")["LoadBalancers"][0][
        "LoadBalancerArn"
    ]
    elbv2.describe_load_balancers(LoadBalancerArns=[arn])
    cert = acm.request_certificate(DomainName="api.example.com", ValidationMethod="DNS")["CertificateArn"]
    acm.describe_certificate(CertificateArn=cert)
    zone = public_zone(route53)
    route53.change_resource_record_sets(
        HostedZoneId=zone,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": "x.example.com",
                        "Type": "A",
                        "TTL": 60,
                        "ResourceRecords": [{"Value": "10.0.0.1"}],
                    },
                }
            ]
        },
    )
    route53.list_resource_record_sets(HostedZoneId=zone)
    s3.create_bucket(Bucket="bkt", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    s3.put_bucket_versioning(Bucket="bkt", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket="bkt", Key="a/b.pem", Body=b"x")
    s3.head_object(Bucket="bkt", Key="a/b.pem")
    s3.get_object(Bucket="bkt", Key="a/b.pem")
    s3.list_objects_v2(Bucket="bkt")
    ctl.count()  # control calls are not logged

    entries = ctl.requests(since=start)
    assert ops(entries) == [
        ("apigateway", "CreateRestApi"),
        ("apigateway", "GetRestApi"),
        ("apigateway", "GetStages"),
        ("ec2", "CreateVpc"),
        ("ec2", "CreateSubnet"),
        ("ec2", "CreateSubnet"),
        ("ec2", "DescribeVpcs"),
        ("elbv2", "CreateLoadBalancer"),
        ("elbv2", "DescribeLoadBalancers"),
        ("acm", "RequestCertificate"),
        ("acm", "DescribeCertificate"),
        ("route53", "CreateHostedZone"),
        ("route53", "ChangeResourceRecordSets"),
        ("route53", "ListResourceRecordSets"),
        ("s3", "CreateBucket"),
        ("s3", "PutBucketVersioning"),
        ("s3", "PutObject"),
        ("s3", "HeadObject"),
        ("s3", "GetObject"),
        ("s3", "ListObjectsV2"),
    ]
    assert all(e["region"] == "ap-northeast-1" for e in entries if e["service"] != "route53")
    assert all(e["fault"] is None and 200 <= e["status"] < 300 for e in entries)
    writes = {e["operation"] for e in entries if e["write"]}
    assert writes == {
        "CreateRestApi",
        "CreateVpc",
        "CreateSubnet",
        "CreateLoadBalancer",
        "RequestCertificate",
        "CreateHostedZone",
        "ChangeResourceRecordSets",
        "CreateBucket",
        "PutBucketVersioning",
        "PutObject",
    }
    assert [e["seq"] for e in entries] == list(range(start + 1, start + 1 + len(entries)))
    assert ctl.last_seq() == entries[-1]["seq"]


def test_since_count_write_calls_and_clear(ctl: EmulatorControl, apigw: Any) -> None:
    apigw.create_rest_api(name="one")
    middle = ctl.last_seq()
    api_id = apigw.create_rest_api(name="two")["id"]
    apigw.get_rest_api(restApiId=api_id)
    with pytest.raises(apigw.exceptions.NotFoundException):
        apigw.get_rest_api(restApiId="missing")

    assert ops(ctl.requests(since=middle)) == [("apigateway", "CreateRestApi")] + [("apigateway", "GetRestApi")] * 2
    assert [e["status"] for e in ctl.requests(since=middle)] == [200, 200, 404]
    assert ctl.count(operation="CreateRestApi") == 2
    assert ctl.count(operation="CreateRestApi", since=middle) == 1
    assert ctl.count(service="apigateway", write=False) == 2
    assert ctl.count(service="ec2") == 0
    assert [e["operation"] for e in ctl.write_calls(since=middle)] == ["CreateRestApi"]

    last = ctl.last_seq()
    ctl.clear_requests()
    assert ctl.requests() == []
    assert ctl.last_seq() == last  # the sequence keeps counting
    apigw.get_rest_apis()
    assert [e["seq"] for e in ctl.requests()] == [last + 1]


def test_control_api_over_plain_http(emulator_server: Any, ctl: EmulatorControl, apigw: Any) -> None:
    apigw.get_rest_apis()
    with urllib.request.urlopen(f"{emulator_server.endpoint_url}/_emulator/requests?since=0") as answer:
        body = json.loads(answer.read())
    assert [e["operation"] for e in body["requests"]] == ["GetRestApis"]
    assert set(body["requests"][0]) == {"seq", "time", "service", "operation", "region", "status", "write", "fault",
                                        "userAgent"}
    assert body["requests"][0]["userAgent"].startswith("Boto3/")  # who called (CloudTrail's userAgent on AWS)
    assert body["lastSeq"] == body["requests"][0]["seq"]


def test_resolver_tells_operations_sharing_a_path_apart() -> None:
    resolver = OperationResolver()

    def resolve(
        method: str, path: str, query: dict[str, list[str]] | None = None, headers: dict[str, str] | None = None
    ) -> str:
        call = AwsCall(method=method, raw_path=path, path=path, query=query or {}, headers=headers or {}, body=b"")
        call.signing_name = "s3"
        resolver.resolve(call)
        return call.operation

    assert resolve("PUT", "/bkt/k") == "PutObject"
    assert resolve("PUT", "/bkt/k", {"partNumber": ["1"], "uploadId": ["u"]}) == "UploadPart"
    assert resolve("PUT", "/bkt/k", headers={"x-amz-copy-source": "/bkt/j"}) == "CopyObject"
    assert resolve("PUT", "/bkt", {"versioning": [""]}) == "PutBucketVersioning"
    assert resolve("GET", "/bkt", {"list-type": ["2"]}) == "ListObjectsV2"
    assert resolve("GET", "/bkt") == "ListObjects"
    assert resolve("DELETE", "/bkt/a/b/c") == "DeleteObject"

    call = AwsCall(
        method="POST",
        raw_path="/restapis/abc/resources/def/methods/GET",
        path="",
        query={},
        headers={},
        body=b"",
        signing_name="apigateway",
    )
    resolver.resolve(call)
    assert (call.service, call.operation, call.path_params["restapi_id"]) == ("apigateway", "TestInvokeMethod", "abc")
    call = AwsCall(
        method="POST",
        raw_path="/",
        path="/",
        query={},
        headers={},
        body=b"",
        signing_name="elasticloadbalancing",
        form={"Action": ["DescribeLoadBalancers"], "Version": ["2012-06-01"]},
    )
    resolver.resolve(call)
    assert (call.service, call.operation) == ("elb", "DescribeLoadBalancers")


def test_write_flag_rule() -> None:
    assert not is_write("GetStage")
    assert not is_write("ListCertificates")
    assert not is_write("DescribeLoadBalancers")
    assert not is_write("HeadObject")
    assert not is_write("TestInvokeMethod")
    assert is_write("UpdateStage")
    assert is_write("ChangeResourceRecordSets")
    assert is_write("GenerateClientCertificate")


def test_log_is_consistent_under_concurrent_calls(ctl: EmulatorControl, client: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    start = ctl.last_seq()

    def work(i: int) -> None:
        apigw = client("apigateway")
        for _ in range(5):
            apigw.get_rest_apis()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(work, range(8)))
    entries = ctl.requests(since=start)
    assert len(entries) == 40
    assert sorted(e["seq"] for e in entries) == list(range(start + 1, start + 41))
    assert ctl.count(operation="GetRestApis", since=start) == 40
