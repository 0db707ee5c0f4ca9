"""Issue 12: one GetBasePathMappings listing per MtlsDomain pass answers both of its reads of a domain's
mappings (which HybridApis were mapped before the pass, and the chain's step); any write to the mappings
or to the domain drops it, so a later read in the pass goes to AWS again."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hybrid_gateway.aws.tags import Owner
from hybrid_gateway.parts.base import PartContext
from hybrid_gateway.parts.base_path_mapping import BasePathMappings, MappingsDesired, MappingTarget

DOMAIN = "api.example.com"


@dataclass
class FakeApiGateway:
    """The mapping calls of API Gateway over a dict base path -> (REST API, stage); counts the listings."""

    mappings: dict[str, tuple[str, str]] = field(default_factory=dict)
    listings: int = 0

    def get_base_path_mappings(self, domainName: str, limit: int, position: str | None = None
                               ) -> dict[str, Any]:
        self.listings += 1
        return {"items": [{"basePath": bp, "restApiId": api, "stage": stage}
                          for bp, (api, stage) in self.mappings.items()]}

    def create_base_path_mapping(self, domainName: str, restApiId: str, stage: str,
                                 basePath: str = "(none)") -> None:
        self.mappings[basePath] = (restApiId, stage)


@dataclass
class FakeAws:
    apigateway: FakeApiGateway

    def client(self, service: str, region: str) -> Any:
        assert service == "apigateway"
        return self.apigateway


def context(api: FakeApiGateway) -> PartContext:
    return PartContext(FakeAws(api), "ap-northeast-1", Owner("MtlsDomain", "ns", "n", "uid"), reads={})  # type: ignore[arg-type]


def test_one_listing_answers_a_pass_and_a_write_drops_it() -> None:
    api = FakeApiGateway({"orders": ("api1", "prod")})
    ctx, part = context(api), BasePathMappings()
    wanted = MappingsDesired(DOMAIN, {"orders": MappingTarget("api1", "prod"), "pay": MappingTarget("api2", "prod")})
    before = part.find(ctx, None, DOMAIN)
    outcome = part.ensure(ctx, wanted, DOMAIN)
    assert api.listings == 1
    assert before is not None and set(before.state.mappings) == {"orders"}
    assert outcome.action == "Updated" and set(api.mappings) == {"orders", "pay"}
    after = part.find(ctx, wanted, DOMAIN)
    assert api.listings == 2 and after is not None and set(after.state.mappings) == {"orders", "pay"}


def test_without_a_read_cache_every_find_lists() -> None:
    api = FakeApiGateway({"orders": ("api1", "prod")})
    ctx = PartContext(FakeAws(api), "ap-northeast-1", Owner("MtlsDomain", "ns", "n", "uid"))  # type: ignore[arg-type]
    BasePathMappings().find(ctx, None, DOMAIN)
    BasePathMappings().find(ctx, None, DOMAIN)
    assert api.listings == 2
