"""The part contract, walked by every part of the API Gateway and mutual-TLS families.

create -> ensure again with 0 writes -> adopt with 0 writes -> an out-of-band change -> one update ->
0 writes again -> remove -> remove again (tests/parts/contract.py). What each part needs around it
(an NLB, a REST API, an issued certificate, a truststore) is made with raw boto3 clients, so that
only the part under test goes through the operator's code.
"""

from __future__ import annotations

import hashlib
import inspect
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from tests.mtls_certs import make_ca
from tests.parts.contract import ContractCase, Recorder, walk_contract

from hybrid_gateway.aws import AwsClients
from hybrid_gateway.aws.tags import Owner
from hybrid_gateway.parts import (
    base_path_mapping,
    domain_name,
    rest_api,
    stage,
    trust_bundle,
    truststore_object,
    vpc_link,
)
from hybrid_gateway.parts.base import Observed, Part, PartContext
from hybrid_gateway.parts.base_path_mapping import BasePathMappings, MappingsDesired, MappingTarget
from hybrid_gateway.parts.domain_name import DomainNameDesired, DomainNamePart
from hybrid_gateway.parts.rest_api import RestApiDesired, RestApiPart, Route
from hybrid_gateway.parts.stage import StageDesired, StagePart
from hybrid_gateway.parts.trust_bundle import TrustBundleDesired, TrustBundleObject
from hybrid_gateway.parts.truststore_object import (
    BucketDesired,
    TruststoreBucket,
    TruststoreObject,
    TruststoreObjectDesired,
)
from hybrid_gateway.parts.vpc_link import VpcLinkDesired, VpcLinkPart

REGION = "ap-northeast-1"
ZONE = "contract.example.com"
SERVICES = ("apigateway", "s3", "acm", "route53", "elbv2", "ec2")


@dataclass
class World:
    """Raw clients and what every case may build on (made once per module)."""

    raw: dict[str, Any]
    nlb_arn: str
    zone_id: str

    def unique(self, prefix: str) -> str:
        return f"{prefix}{uuid.uuid4().hex[:8]}"

    def api_with_stage_target(self) -> str:
        """A REST API with one MOCK method (deployable), made without the parts."""
        apigw = self.raw["apigateway"]
        api = apigw.create_rest_api(name=self.unique("contract-"))["id"]
        root = apigw.get_resources(restApiId=api)["items"][0]["id"]
        apigw.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
        apigw.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
        return str(api)

    def issued_certificate(self, domain: str) -> str:
        """A public ACM certificate for `domain`, validated through a CNAME in the module's zone."""
        acm, r53 = self.raw["acm"], self.raw["route53"]
        arn = str(acm.request_certificate(DomainName=domain, ValidationMethod="DNS")["CertificateArn"])
        options = acm.describe_certificate(CertificateArn=arn)["Certificate"]["DomainValidationOptions"]
        record = options[0]["ResourceRecord"]
        r53.change_resource_record_sets(HostedZoneId=self.zone_id, ChangeBatch={"Changes": [{
            "Action": "UPSERT",
            "ResourceRecordSet": {"Name": record["Name"], "Type": "CNAME", "TTL": 300,
                                  "ResourceRecords": [{"Value": record["Value"]}]},
        }]})
        assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"] == "ISSUED"
        return arn

    def bucket(self, versioned: bool) -> str:
        name = self.unique("contract-")
        s3 = self.raw["s3"]
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        if versioned:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return name

    def truststore(self) -> tuple[str, str]:
        """(URI, version) of a one-CA truststore in a versioned bucket."""
        bucket = self.bucket(versioned=True)
        put = self.raw["s3"].put_object(Bucket=bucket, Key="truststore.pem", Body=make_ca("Contract CA").pem.encode())
        return f"s3://{bucket}/truststore.pem", str(put["VersionId"])


@pytest.fixture(scope="module")
def world(emulator_endpoint: str) -> World:
    raw = {s: boto3.client(s, region_name=REGION, endpoint_url=emulator_endpoint) for s in SERVICES}
    vpc = raw["ec2"].create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        raw["ec2"].create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=az)["Subnet"]["SubnetId"]
        for cidr, az in (("10.30.1.0/24", f"{REGION}a"), ("10.30.2.0/24", f"{REGION}c"))
    ]
    nlb = raw["elbv2"].create_load_balancer(Name="contract-nlb", Subnets=subnets, Scheme="internal",
                                            Type="network")["LoadBalancers"][0]["LoadBalancerArn"]
    zone = raw["route53"].create_hosted_zone(Name=ZONE, CallerReference=str(uuid.uuid4()))["HostedZone"]["Id"]
    return World(raw, str(nlb), str(zone).rsplit("/", 1)[-1])


@pytest.fixture()
def ctx(world: World) -> PartContext:
    owner = Owner("HybridApi", "team-a", "contract", str(uuid.uuid4()))
    limits = {s: 1000.0 for s in SERVICES}
    return PartContext(aws=AwsClients(max_attempts=2, rate_limits=limits), region=REGION, owner=owner)


@pytest.fixture()
def rec(ctx: PartContext) -> Recorder:
    return Recorder().attach(ctx, "apigateway", "s3")


# --- one case per part --------------------------------------------------------------------------------


def vpc_link_case(world: World) -> ContractCase:
    # Only name and description can change in place, and the emulator has no UpdateVpcLink: the
    # out-of-band change is a deleted link, which the part makes again.
    def delete(link: Observed[Any]) -> None:
        world.raw["apigateway"].delete_vpc_link(vpcLinkId=link.id)

    desired = VpcLinkDesired(world.unique("contract-"), world.nlb_arn)
    return ContractCase("vpc link", VpcLinkPart(), desired, delete, repair="Created")


def rest_api_case(world: World) -> ContractCase:
    link = world.raw["apigateway"].create_vpc_link(name=world.unique("contract-"), targetArns=[world.nlb_arn])["id"]
    desired = RestApiDesired(
        name=world.unique("contract-"), hostname="backend.contract.example.com", vpc_link_id=str(link),
        routes=(Route("/orders", ("GET", "POST")), Route("/{proxy+}", ("ANY",))),
        secret_header=("X-Gateway-Secret", "contract-s3cr3t"),
    )

    def drop_method(api: Observed[Any]) -> None:
        apigw = world.raw["apigateway"]
        orders = next(r for r in apigw.get_resources(restApiId=api.id)["items"] if r["path"] == "/orders")
        apigw.delete_method(restApiId=api.id, resourceId=orders["id"], httpMethod="POST")

    return ContractCase("rest api", RestApiPart(), desired, drop_method)


def stage_case(world: World) -> ContractCase:
    api = world.api_with_stage_target()
    desired = StageDesired(rest_api_id=api, stage_name="prod", api_definition_hash="h1",
                           variables={"env": "prod"}, rate_limit=100.0, burst_limit=200)

    def change_variable(st: Observed[Any]) -> None:
        world.raw["apigateway"].update_stage(restApiId=api, stageName=st.id, patchOperations=[
            {"op": "replace", "path": "/variables/env", "value": "changed"}])

    return ContractCase("stage", StagePart(api), desired, change_variable)


def domain_name_case(world: World) -> ContractCase:
    domain = f"{world.unique('d')}.{ZONE}"
    uri, version = world.truststore()
    desired = DomainNameDesired(domain, world.issued_certificate(domain), uri, version)

    def weaken_policy(found: Observed[Any]) -> None:
        world.raw["apigateway"].update_domain_name(domainName=found.id, patchOperations=[
            {"op": "replace", "path": "/securityPolicy", "value": "SecurityPolicy_TLS13_1_2_2021_06"}])

    # Found by the name the desired state gives, so adopting needs no id.
    return ContractCase("domain name", DomainNamePart(), desired, weaken_policy)


def base_path_mappings_case(world: World) -> ContractCase:
    domain = f"{world.unique('m')}.{ZONE}"
    uri, version = world.truststore()
    world.raw["apigateway"].create_domain_name(
        domainName=domain, regionalCertificateArn=world.issued_certificate(domain),
        endpointConfiguration={"types": ["REGIONAL"]}, securityPolicy="TLS_1_2",
        mutualTlsAuthentication={"truststoreUri": uri, "truststoreVersion": version})
    api = world.api_with_stage_target()
    world.raw["apigateway"].create_deployment(restApiId=api, stageName="prod")
    desired = MappingsDesired(domain, {"": MappingTarget(api, "prod"), "orders": MappingTarget(api, "prod")})

    def drop_mapping(found: Observed[Any]) -> None:
        world.raw["apigateway"].delete_base_path_mapping(domainName=found.id, basePath="orders")

    return ContractCase("base path mappings", BasePathMappings(), desired, drop_mapping)


def truststore_bucket_case(world: World) -> ContractCase:
    def suspend_versioning(found: Observed[Any]) -> None:
        world.raw["s3"].put_bucket_versioning(Bucket=found.id, VersioningConfiguration={"Status": "Suspended"})

    desired = BucketDesired(world.unique("contract-"), REGION, create=True)
    return ContractCase("truststore bucket", TruststoreBucket(), desired, suspend_versioning)


def truststore_object_case(world: World) -> ContractCase:
    pem = make_ca("Contract CA").pem
    desired = TruststoreObjectDesired(world.bucket(versioned=True), "api/truststore.pem", pem,
                                      hashlib.sha256(pem.encode()).hexdigest())

    def overwrite(found: Observed[Any]) -> None:
        world.raw["s3"].put_object(Bucket=desired.bucket, Key=desired.key, Body=make_ca("Other CA").pem.encode())

    return ContractCase("truststore object", TruststoreObject(), desired, overwrite)


def trust_bundle_case(world: World) -> ContractCase:
    desired = TrustBundleDesired(world.bucket(versioned=False), "orders/trust.pem", make_ca("Client").pem)

    def overwrite(found: Observed[Any]) -> None:
        world.raw["s3"].put_object(Bucket=desired.bucket, Key=desired.key, Body=b"not the bundle")

    return ContractCase("trust bundle object", TrustBundleObject(), desired, overwrite)


CASES: dict[type[Part[Any, Any]], Callable[[World], ContractCase]] = {
    VpcLinkPart: vpc_link_case,
    RestApiPart: rest_api_case,
    StagePart: stage_case,
    DomainNamePart: domain_name_case,
    BasePathMappings: base_path_mappings_case,
    TruststoreBucket: truststore_bucket_case,
    TruststoreObject: truststore_object_case,
    TrustBundleObject: trust_bundle_case,
}


@pytest.mark.parametrize("part", list(CASES), ids=[p.name for p in CASES])
def test_part_contract(part: type[Part[Any, Any]], world: World, ctx: PartContext, rec: Recorder) -> None:
    case = CASES[part](world)
    assert type(case.part) is part
    walk_contract(case, ctx, rec)


def test_every_part_of_these_modules_walks_the_contract() -> None:
    modules = (vpc_link, rest_api, stage, domain_name, base_path_mapping, truststore_object, trust_bundle)
    defined = {
        cls for module in modules for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, Part) and cls.__module__ == module.__name__
    }
    # The ownership-verification certificate is the requested certificate part under another tag:
    # it walks the contract with the certificate parts.
    defined.discard(domain_name.OwnershipCertificate)
    assert defined == set(CASES)
