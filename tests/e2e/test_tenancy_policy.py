"""Issue 11, item 4: a TenancyPolicy (cluster-scoped) says what each namespace's HybridApis and MtlsDomains
may name in AWS; an object outside its namespace's policy is Stalled (NotAllowedByTenancyPolicy) with a
message naming the policy and the rule, before any AWS write (the emulator's request log shows none).

One operator watches three namespaces for the module: `tenant` (selected by name), `labelled` (selected by
a label) and `outsider` (selected by no policy). The policies exist only while this module runs, and are
deleted at its end: a TenancyPolicy applies to every namespace of the session's cluster.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from hybrid_gateway_devenv.cluster import LocalCluster
from hybrid_gateway_devenv.operator_process import OperatorProcess
from hybrid_gateway_devenv.seed import SeededAccount, seed_account
from tests.e2e.helpers import (
    NOTHING,
    ONE_OF_EACH,
    apply,
    condition,
    counts,
    events,
    get,
    hybridapi,
    inventory,
    manifests,
    mtls_domain,
    secret,
    wait_ready,
    wait_until,
    wait_until_nothing_left,
)

pytestmark = pytest.mark.e2e
REGION = "ap-northeast-1"
REASON = "NotAllowedByTenancyPolicy"
TARGETS = "192.168.10.0/24"  # hybridapi() targets 192.168.10.5 and .6
LABEL = "hybridgateway.io/tenant"


@dataclass
class Env:
    cluster: LocalCluster
    tenant: str
    labelled: str
    outsider: str
    account: SeededAccount
    endpoint_url: str
    control: Any
    policy: str  # selects `tenant` by name
    label_policy: str  # selects `labelled` by label, allows nothing
    suffix: str  # the host name suffix `policy` allows

    def allowed(self, **changes: Any) -> dict[str, Any]:
        """`policy`'s allowed: the seeded VPC, its subnets, the zone, `suffix` and TARGETS."""
        return {
            "vpcIds": [self.account.vpc_id],
            "subnetIds": list(self.account.subnet_ids),
            "targetCidrs": [TARGETS],
            "hostedZoneIds": [self.account.hosted_zone_id],
            "hostnameSuffixes": [self.suffix],
            **changes,
        }

    def hostname(self, name: str) -> str:
        return f"{name}.{self.suffix}"

    def put_policy(self, **changes: Any) -> None:
        """(Re)write `policy`: `tenant` by name, allowed() with `changes`."""
        put_policy(self.cluster, tenancy_policy(self.policy, {"names": [self.tenant]}, self.allowed(**changes)))


def tenancy_policy(name: str, namespaces: dict[str, Any], allowed: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "hybridgateway.io/v1alpha1", "kind": "TenancyPolicy", "metadata": {"name": name},
            "spec": {"namespaces": namespaces, "allowed": allowed}}


def put_policy(cluster: LocalCluster, policy: dict[str, Any]) -> None:
    # Cluster-scoped: applied without a namespace, by the platform team (the admin user here).
    cluster.kubectl("apply", "-f", "-", input=manifests(policy))


@pytest.fixture(scope="module")
def env(cluster: LocalCluster, emulator: Any, control: Any,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    run = uuid.uuid4().hex[:8]
    tenant, labelled, outsider = f"t-{run}-a", f"t-{run}-l", f"t-{run}-o"
    for namespace in (tenant, labelled, outsider):
        cluster.kubectl("create", "namespace", namespace)
    cluster.kubectl("label", "namespace", labelled, f"{LABEL}={run}")
    account = seed_account(emulator.endpoint_url, REGION)
    env = Env(cluster, tenant, labelled, outsider, account, emulator.endpoint_url, control,
              policy=f"tenancy-{run}", label_policy=f"tenancy-{run}-by-label", suffix=f"{tenant}.{account.zone_name}")
    env.put_policy()
    put_policy(cluster, tenancy_policy(env.label_policy, {"selector": {"matchLabels": {LABEL: run}}}, {}))
    operator = OperatorProcess(
        kubeconfig=cluster.operator_kubeconfig, aws_endpoint_url=emulator.endpoint_url,
        log_path=tmp_path_factory.mktemp("tenancy") / "operator.log", namespaces=[tenant, labelled, outsider],
    ).start()
    try:
        yield env
    finally:
        operator.stop()
        for name in (env.policy, env.label_policy):
            cluster.kubectl("delete", "tenancypolicy", name, "--ignore-not-found", "--wait=true")


def wait_stalled(env: Env, namespace: str, kind: str, name: str) -> dict[str, Any]:
    waited = env.cluster.kubectl("wait", "-n", namespace, f"{kind}/{name}", "--for=condition=Stalled",
                                 "--timeout=60s", check=False)
    obj = get(env.cluster, namespace, kind, name)
    assert waited.returncode == 0, f"{waited.stderr}\n{json.dumps(obj.get('status'), indent=1)}"
    return obj


def drift_checks(env: Env, namespace: str, kind: str, name: str, count: int = 2) -> None:
    """Wait until `count` more passes (drift checks, 2 s apart) have run on the object."""
    seen: list[str] = []

    def check() -> bool:
        stamp = ((get(env.cluster, namespace, kind, name).get("status") or {}).get("drift") or {}).get("lastCheckTime")
        if stamp and stamp not in seen:
            seen.append(stamp)
        return len(seen) > count

    wait_until(check, timeout=30, interval=0.3, what=f"{count} drift checks of {kind}/{name}")


def assert_refused(env: Env, namespace: str, kind: str, name: str, since: int, message: str) -> None:
    """Stalled with REASON and exactly `message`; one Stalled Event; no AWS write, also on later drift checks."""
    obj = wait_stalled(env, namespace, kind, name)
    stalled = condition(obj, "Stalled")
    assert (stalled["reason"], stalled["message"]) == (REASON, message)
    assert condition(obj, "Ready")["status"] == "False"
    assert condition(obj, "Ready")["reason"] == REASON
    drift_checks(env, namespace, kind, name)
    assert env.control.write_calls(since) == []
    assert [e["message"] for e in events(env.cluster, namespace, name) if e["reason"] == "Stalled"] == [message]


def test_require_tenancy_policy_denies_while_no_policy_exists(cluster: LocalCluster, namespace: str, account: Any,
                                                              control: Any, start_operator: Any) -> None:
    """With --require-tenancy-policy and no TenancyPolicy at all, nothing is allowed. First in the module: it
    takes no `env`, so it runs before the module's policies exist. Without the flag the same cluster allows
    everything: every other e2e test runs that way."""
    existing = cluster.kubectl("get", "tenancypolicies", "-o", "name").stdout.split()
    if existing:
        pytest.skip(f"TenancyPolicies exist ({existing}): this case needs a cluster without any")
    start_operator(namespace, extra_args=["--require-tenancy-policy"])
    name = "required"
    since = control.last_seq()
    apply(cluster, namespace, secret(f"{name}-gw", {"token": "t"}), hybridapi(name, account))
    done = cluster.kubectl("wait", "-n", namespace, f"hybridapi/{name}", "--for=condition=Stalled", "--timeout=60s",
                           check=False)
    assert done.returncode == 0, done.stderr
    stalled = condition(get(cluster, namespace, "hybridapi", name), "Stalled")
    assert stalled["reason"] == REASON
    assert stalled["message"] == (f"no TenancyPolicy exists and the operator runs with --require-tenancy-policy: "
                                  f"a platform team must write one that selects namespace {namespace}")
    assert control.write_calls(since) == []


def test_a_target_outside_the_allowed_cidrs_is_stalled_naming_the_rule(env: Env) -> None:
    name = "outside-cidr"
    obj = hybridapi(name, env.account)
    obj["spec"]["frontDoor"]["hostname"] = env.hostname(name)
    obj["spec"]["backend"]["targets"][1]["ip"] = "10.9.9.9"
    since = env.control.last_seq()
    apply(env.cluster, env.tenant, secret(f"{name}-gw", {"token": "t"}), obj)
    assert_refused(env, env.tenant, "hybridapi", name, since, (
        f"spec.backend.targets[1].ip 10.9.9.9 is not allowed by TenancyPolicy {env.policy} "
        f"(allowed.targetCidrs: {TARGETS})"))


def test_a_namespace_no_policy_selects_is_stalled_once_policies_exist(env: Env) -> None:
    name = "unselected"
    since = env.control.last_seq()
    apply(env.cluster, env.outsider, secret(f"{name}-gw", {"token": "t"}), hybridapi(name, env.account))
    obj = wait_stalled(env, env.outsider, "hybridapi", name)
    message = condition(obj, "Stalled")["message"]
    assert message.startswith(f"no TenancyPolicy selects namespace {env.outsider} (TenancyPolicies ")
    assert env.policy in message and env.label_policy in message
    assert message.endswith("a platform team must add the namespace to a policy's spec.namespaces")
    assert_refused(env, env.outsider, "hybridapi", name, since, message)


def test_a_namespace_selected_by_label_gets_only_what_its_policy_allows(env: Env) -> None:
    """The label policy allows nothing: every value the spec names is reported, the VPC first."""
    name = "by-label"
    since = env.control.last_seq()
    apply(env.cluster, env.labelled, secret(f"{name}-gw", {"token": "t"}), hybridapi(name, env.account))
    obj = wait_stalled(env, env.labelled, "hybridapi", name)
    message = condition(obj, "Stalled")["message"]
    assert message.startswith(f"spec.network.vpcId {env.account.vpc_id} is not allowed by TenancyPolicy "
                              f"{env.label_policy} (allowed.vpcIds: none); ")
    assert f"spec.frontDoor.hostedZoneId {env.account.hosted_zone_id} is not allowed" in message
    assert_refused(env, env.labelled, "hybridapi", name, since, message)


def test_an_mtls_domain_outside_the_suffixes_is_stalled(env: Env) -> None:
    """`evil-<suffix>` ends with the suffix's text but not on a label boundary."""
    name = "partner-api"
    domain = f"evil-{env.suffix}"
    since = env.control.last_seq()
    apply(env.cluster, env.tenant, mtls_domain(name, env.tenant, env.account, {"request": {}}, domainName=domain))
    assert_refused(env, env.tenant, "mtlsdomain", name, since, (
        f"spec.domainName {domain} is not allowed by TenancyPolicy {env.policy} "
        f"(allowed.hostnameSuffixes: {env.suffix})"))


def test_inside_the_policy_is_ready_and_a_policy_change_stalls_it_without_deleting_anything(env: Env) -> None:
    """Ready inside the policy; a tightened policy stalls it on the next drift check and AWS keeps everything;
    the policy put back makes it Ready again with no write; a refused object can still be deleted."""
    name = "inside"
    obj = hybridapi(name, env.account)
    obj["spec"]["frontDoor"]["hostname"] = env.hostname(name)
    apply(env.cluster, env.tenant, secret(f"{name}-gw", {"token": "t"}), obj)
    wait_ready(env.cluster, env.tenant, name)
    body = get(env.cluster, env.tenant, "hybridapi", name)
    uid, hostname = body["metadata"]["uid"], env.hostname(name)
    assert counts(inventory(env.endpoint_url, uid, env.account.hosted_zone_id, hostname)) == ONE_OF_EACH

    since = env.control.last_seq()
    env.put_policy(targetCidrs=["10.0.0.0/8"])
    message = (f"spec.backend.targets[0].ip 192.168.10.5 is not allowed by TenancyPolicy {env.policy} "
               "(allowed.targetCidrs: 10.0.0.0/8); "
               f"spec.backend.targets[1].ip 192.168.10.6 is not allowed by TenancyPolicy {env.policy} "
               "(allowed.targetCidrs: 10.0.0.0/8)")
    assert_refused(env, env.tenant, "hybridapi", name, since, message)
    assert counts(inventory(env.endpoint_url, uid, env.account.hosted_zone_id, hostname)) == ONE_OF_EACH

    env.put_policy()
    wait_until(lambda: condition(get(env.cluster, env.tenant, "hybridapi", name), "Ready").get("status") == "True",
               timeout=60, what="Ready again once the policy allows it")
    assert condition(get(env.cluster, env.tenant, "hybridapi", name), "Stalled")["status"] == "False"
    assert env.control.write_calls(since) == []  # nothing to repair: nothing was touched

    # Deletion is not a use of anything: a refused object still removes what it made.
    env.put_policy(targetCidrs=[])
    wait_stalled(env, env.tenant, "hybridapi", name)
    env.cluster.kubectl("delete", "-n", env.tenant, f"hybridapi/{name}", "--timeout=120s", timeout=150)
    assert wait_until_nothing_left(env.endpoint_url, uid, env.account.hosted_zone_id, hostname) == NOTHING
    env.put_policy()
