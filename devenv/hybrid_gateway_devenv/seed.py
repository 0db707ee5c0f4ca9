"""Seed an emulated AWS account with what examples/ refers to: a VPC, subnets in two AZs, a hosted zone."""

from __future__ import annotations

from dataclasses import dataclass

import boto3

ZONE_NAME = "example.com"


@dataclass(frozen=True)
class SeededAccount:
    region: str
    vpc_id: str
    subnet_ids: tuple[str, str]
    hosted_zone_id: str
    zone_name: str


def seed_account(endpoint_url: str, region: str = "ap-northeast-1", zone_name: str = ZONE_NAME) -> SeededAccount:
    """Create (or find, when already seeded) the network and zone the examples use."""
    ec2 = boto3.client("ec2", region_name=region, endpoint_url=endpoint_url)
    route53 = boto3.client("route53", region_name=region, endpoint_url=endpoint_url)
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["hybrid-gateway-sandbox"]}])["Vpcs"]
    if vpcs:
        vpc_id = vpcs[0]["VpcId"]
        # Only the two subnets seeded here (tests may add more to the VPC, e.g. a same-AZ third one).
        subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                                                {"Name": "tag:Name", "Values": ["hybrid-gateway-sandbox"]}])["Subnets"]
        subnet_ids = tuple(s["SubnetId"] for s in sorted(subnets, key=lambda s: s["AvailabilityZone"]))[:2]
    else:
        vpc_id = ec2.create_vpc(
            CidrBlock="10.20.0.0/16",
            TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "hybrid-gateway-sandbox"}]}],
        )["Vpc"]["VpcId"]
        subnet_ids = tuple(
            ec2.create_subnet(
                VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=f"{region}{az}",
                TagSpecifications=[{"ResourceType": "subnet",
                                    "Tags": [{"Key": "Name", "Value": "hybrid-gateway-sandbox"}]}],
            )["Subnet"]["SubnetId"]
            for cidr, az in (("10.20.1.0/24", "a"), ("10.20.2.0/24", "c"))
        )
    zones = [z for z in route53.list_hosted_zones()["HostedZones"] if z["Name"].rstrip(".") == zone_name]
    if zones:
        zone_id = zones[0]["Id"]
    else:
        zone_id = route53.create_hosted_zone(Name=zone_name, CallerReference=f"sandbox-{zone_name}")["HostedZone"]["Id"]
    return SeededAccount(region, vpc_id, (subnet_ids[0], subnet_ids[1]), zone_id.split("/")[-1], zone_name)
