"""Static checks of what ships in deploy/, the Dockerfile and .dockerignore.

- `kubectl kustomize deploy/` renders exactly the expected objects, and they fit together (names,
  labels, ports, the peering name the args use, the ServiceAccount the binding names).
- The Deployment is hardened field by field; its probes hit the health port its args name.
- The ClusterRole has no wildcards and no delete.
- The IAM policy is valid IAM grammar, has no wildcards beyond read-only prefixes, and every mutating
  ELB/EC2/ACM action is scoped by the owner tag.
- The Dockerfile (no docker engine here, so parsed, not built) is multi-stage, pinned, non-root and
  starts the console script pyproject.toml declares.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import subprocess
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
NAMESPACE = "hybrid-gateway-system"
NAME = "hybrid-gateway-operator"
CRD_FILES = ("hybridapis", "mtlsdomains", "clientcertrotations", "tenancypolicies")
OUR_CRDS = {
    "hybridapis": ("HybridApi", "hybridapis"),
    "mtlsdomains": ("MtlsDomain", "mtlsdomains"),
    "clientcertrotations": ("ClientCertRotation", "clientcertrotations"),
    "tenancypolicies": ("TenancyPolicy", "tenancypolicies"),
}
# The cluster-scoped kinds of ours, without a status (nothing reconciles them).
CLUSTER_SCOPED = {"tenancypolicies"}
OWNER_TAG = "hybridgateway.io/owner"

EXPECTED_KINDS = Counter(
    {
        "CustomResourceDefinition": 6,  # 4 of ours + clusterkopfpeerings/kopfpeerings.kopf.dev
        "Namespace": 1,
        "ServiceAccount": 1,
        "ClusterRole": 1,
        "ClusterRoleBinding": 1,
        "Role": 1,  # the writer lease, in the operator's namespace
        "RoleBinding": 1,
        "NetworkPolicy": 1,
        "ClusterKopfPeering": 1,
        "Deployment": 1,
        "Service": 1,
        "PodDisruptionBudget": 1,
    }
)


# --------------------------------------------------------------------------------------------------
# helpers


def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        pytest.fail("kubectl is not on PATH: it renders deploy/ (hack/install-test-deps.sh installs it)")
    return path


def kustomize(directory: Path) -> tuple[list[dict[str, Any]], str]:
    proc = subprocess.run(
        [kubectl(), "kustomize", str(directory)], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, f"kubectl kustomize {directory} failed:\n{proc.stderr}"
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    return docs, proc.stderr


def placeholder_crd(file_stem: str) -> str:
    kind, plural = OUR_CRDS[file_stem]
    return yaml.safe_dump(
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.hybridgateway.io"},
            "spec": {
                "group": "hybridgateway.io",
                "scope": "Cluster" if file_stem in CLUSTER_SCOPED else "Namespaced",
                "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
                "versions": [
                    {
                        "name": "v1alpha1",
                        "served": True,
                        "storage": True,
                        "schema": {
                            "openAPIV3Schema": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                            }
                        },
                        "subresources": {"status": {}},
                    }
                ],
            },
        }
    )


def only(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind]
    assert len(found) == 1, f"expected exactly one {kind}, found {len(found)}"
    return found[0]


def listify(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def arg_value(args: list[str], flag: str) -> str:
    """The value of `--flag value` or `--flag=value` in a container's args."""
    for i, arg in enumerate(args):
        if arg == flag:
            assert i + 1 < len(args), f"{flag} has no value in {args}"
            return args[i + 1]
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    pytest.fail(f"{flag} not in container args {args}")


# --------------------------------------------------------------------------------------------------
# rendering


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """deploy/ rendered from a temp copy whose CRDs are the top-level crds/ (the source of truth).

    A CRD that crds/ does not have yet is replaced by a minimal placeholder, in the temp copy only, so
    that the rest of deploy/ is still checked.
    """
    work = tmp_path_factory.mktemp("render") / "deploy"
    shutil.copytree(DEPLOY, work, symlinks=False)
    for stem in CRD_FILES:
        source = ROOT / "crds" / f"{stem}.yaml"
        target = work / "crds" / f"{stem}.yaml"
        if source.exists():
            shutil.copyfile(source, target)
        else:
            target.write_text(placeholder_crd(stem))
    docs, _ = kustomize(work)
    return docs


def test_kustomize_renders_deploy_dir_in_place() -> None:
    docs, stderr = kustomize(DEPLOY)
    assert Counter(d["kind"] for d in docs) == EXPECTED_KINDS
    # Plain resources only: nothing that newer kustomize releases warn about (and old ones lack).
    assert "deprecated" not in stderr.lower(), stderr


def test_kustomization_uses_plain_resources_only() -> None:
    # deploy/ and the one directory it includes (operator/, shared with overlays/namespaced/).
    for directory in (DEPLOY, DEPLOY / "operator"):
        kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
        assert set(kustomization) <= {"apiVersion", "kind", "resources"}, sorted(kustomization)
        for entry in kustomization["resources"]:
            path = (directory / entry).resolve()
            assert path.is_file() or path == (DEPLOY / "operator").resolve(), f"{entry} is not a file in deploy/"
            assert DEPLOY.resolve() in path.parents, f"{entry} is outside deploy/ (kustomize refuses it)"


@pytest.mark.parametrize("stem", CRD_FILES)
def test_deploy_crd_copies_match_crds(stem: str) -> None:
    source = ROOT / "crds" / f"{stem}.yaml"
    copy = DEPLOY / "crds" / f"{stem}.yaml"
    assert source.exists(), f"crds/{stem}.yaml is missing"
    assert copy.exists(), f"deploy/crds/{stem}.yaml is missing: run hack/gen_crds.py"
    assert copy.read_bytes() == source.read_bytes(), (
        f"deploy/crds/{stem}.yaml differs from crds/{stem}.yaml: run hack/gen_crds.py"
    )


def test_rendered_kinds_are_exactly_the_expected_ones(rendered: list[dict[str, Any]]) -> None:
    assert Counter(d["kind"] for d in rendered) == EXPECTED_KINDS


def test_rendered_crds(rendered: list[dict[str, Any]]) -> None:
    crds = {d["metadata"]["name"]: d for d in rendered if d["kind"] == "CustomResourceDefinition"}
    assert set(crds) == {
        "hybridapis.hybridgateway.io",
        "mtlsdomains.hybridgateway.io",
        "clientcertrotations.hybridgateway.io",
        "tenancypolicies.hybridgateway.io",
        "clusterkopfpeerings.kopf.dev",
        "kopfpeerings.kopf.dev",
    }
    for stem, (kind, plural) in OUR_CRDS.items():
        crd = crds[f"{plural}.hybridgateway.io"]
        assert crd["apiVersion"] == "apiextensions.k8s.io/v1", stem
        assert crd["spec"]["group"] == "hybridgateway.io"
        assert crd["spec"]["names"]["kind"] == kind
        versions = {v["name"]: v for v in crd["spec"]["versions"]}
        assert "v1alpha1" in versions
        if stem in CLUSTER_SCOPED:  # a policy the platform team writes: no status, nothing reconciles it
            assert crd["spec"]["scope"] == "Cluster"
            assert "subresources" not in versions["v1alpha1"], f"{kind} has no status"
            continue
        assert crd["spec"]["scope"] == "Namespaced"
        assert "status" in versions["v1alpha1"].get("subresources", {}), f"{kind} needs a status subresource"
    cluster_peering = crds["clusterkopfpeerings.kopf.dev"]
    assert cluster_peering["spec"]["scope"] == "Cluster"
    assert cluster_peering["spec"]["names"]["kind"] == "ClusterKopfPeering"
    assert crds["kopfpeerings.kopf.dev"]["spec"]["scope"] == "Namespaced"
    for name in ("clusterkopfpeerings.kopf.dev", "kopfpeerings.kopf.dev"):
        (version,) = crds[name]["spec"]["versions"]
        assert version["name"] == "v1" and version["served"] and version["storage"]
        status = version["schema"]["openAPIV3Schema"]["properties"]["status"]
        # kopf keeps free-form keep-alives keyed by operator identity in status.
        assert status.get("x-kubernetes-preserve-unknown-fields") is True


def test_namespaced_objects_live_in_the_operator_namespace(rendered: list[dict[str, Any]]) -> None:
    assert only(rendered, "Namespace")["metadata"]["name"] == NAMESPACE
    for doc in rendered:
        if doc["kind"] in {"ServiceAccount", "Deployment", "Service", "PodDisruptionBudget"}:
            assert doc["metadata"].get("namespace") == NAMESPACE, doc["kind"]
        if doc["kind"] in {
            "CustomResourceDefinition",
            "ClusterRole",
            "ClusterRoleBinding",
            "ClusterKopfPeering",
        }:
            assert "namespace" not in doc["metadata"], doc["kind"]


def test_service_account_has_irsa_annotation(rendered: list[dict[str, Any]]) -> None:
    sa = only(rendered, "ServiceAccount")
    assert sa["metadata"]["name"] == NAME
    role_arn = sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert re.fullmatch(r"arn:aws:iam::\d{12}:role/[\w+=,.@/-]+", role_arn), role_arn
    assert "fill in" in (DEPLOY / "operator" / "service-account.yaml").read_text().lower()


# --------------------------------------------------------------------------------------------------
# Deployment


@pytest.fixture(scope="module")
def deployment(rendered: list[dict[str, Any]]) -> dict[str, Any]:
    return only(rendered, "Deployment")


@pytest.fixture(scope="module")
def container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def test_deployment_structure(deployment: dict[str, Any], container: dict[str, Any]) -> None:
    assert deployment["apiVersion"] == "apps/v1"
    assert deployment["metadata"]["name"] == NAME
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    selector = spec["selector"]["matchLabels"]
    labels = spec["template"]["metadata"]["labels"]
    assert selector and selector.items() <= labels.items()
    pod = spec["template"]["spec"]
    assert pod["serviceAccountName"] == NAME
    assert pod.get("automountServiceAccountToken", True) is True
    assert isinstance(pod["terminationGracePeriodSeconds"], int) and pod["terminationGracePeriodSeconds"] >= 30

    assert container["image"] == "ghcr.io/example/hybrid-gateway-operator:0.1.0"
    args = container["args"]
    assert all(isinstance(a, str) for a in args), "args must be strings (quote the port numbers)"
    assert args == [
        "run",
        "--all-namespaces",
        "--peering",
        NAME,
        "--writer-lease",
        f"{NAMESPACE}/{NAME}",
        "--log-format",
        "json",
        "--metrics-port",
        "9090",
        "--health-port",
        "8080",
    ]
    assert "command" not in container, "the image's ENTRYPOINT (hybrid-gateway) runs the args"

    env = {e["name"]: e for e in container["env"]}
    assert env["AWS_STS_REGIONAL_ENDPOINTS"]["value"] == "regional"
    assert re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", env["AWS_REGION"]["value"])

    resources = container["resources"]
    for section in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(resources[section]), section


def test_deployment_security_context_is_hardened(deployment: dict[str, Any], container: dict[str, Any]) -> None:
    pod = deployment["spec"]["template"]["spec"]
    pod_sc = pod["securityContext"]
    assert pod_sc["runAsNonRoot"] is True
    assert pod_sc["runAsUser"] == 10001
    assert pod_sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC")

    sc = container["securityContext"]
    assert sc["runAsNonRoot"] is True
    assert sc["runAsUser"] == 10001
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc.get("privileged", False) is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert not sc["capabilities"].get("add")
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}

    # A writable /tmp on a read-only root filesystem.
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "/tmp" in mounts
    assert "emptyDir" in volumes[mounts["/tmp"]]


def test_probes_hit_kopf_health_endpoint_on_the_port_the_args_name(container: dict[str, Any]) -> None:
    health_port = int(arg_value(container["args"], "--health-port"))
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert health_port in ports.values()
    for probe_name in ("livenessProbe", "readinessProbe"):
        probe = container[probe_name]["httpGet"]
        assert probe["path"] == "/healthz", probe_name
        port = probe["port"]
        resolved = ports[port] if isinstance(port, str) else port
        assert resolved == health_port, f"{probe_name} probes port {port}, args say --health-port {health_port}"
    if "startupProbe" in container:
        startup = container["startupProbe"]["httpGet"]
        resolved = ports[startup["port"]] if isinstance(startup["port"], str) else startup["port"]
        assert startup["path"] == "/healthz" and resolved == health_port


def test_metrics_port_service_and_args_agree(rendered: list[dict[str, Any]], container: dict[str, Any]) -> None:
    metrics_port = int(arg_value(container["args"], "--metrics-port"))
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["metrics"] == metrics_port
    service = only(rendered, "Service")
    pod_labels = only(rendered, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    (port,) = service["spec"]["ports"]
    assert port["name"] == "metrics"
    assert port["targetPort"] in ("metrics", metrics_port)


def test_pod_anti_affinity_and_disruption_budget(rendered: list[dict[str, Any]], deployment: dict[str, Any]) -> None:
    pod = deployment["spec"]["template"]["spec"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    preferred = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    host_terms = [t for t in preferred if t["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"]
    assert host_terms
    assert host_terms[0]["podAffinityTerm"]["labelSelector"]["matchLabels"].items() <= pod_labels.items()
    assert "requiredDuringSchedulingIgnoredDuringExecution" not in pod["affinity"]["podAntiAffinity"]

    pdb = only(rendered, "PodDisruptionBudget")
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


def test_peering_object_matches_the_peering_arg(rendered: list[dict[str, Any]], container: dict[str, Any]) -> None:
    peering = only(rendered, "ClusterKopfPeering")
    assert peering["apiVersion"] == "kopf.dev/v1"
    assert peering["metadata"]["name"] == arg_value(container["args"], "--peering")
    # --all-namespaces means cluster-scoped peering (ClusterKopfPeering, not KopfPeering).
    assert "--all-namespaces" in container["args"]


def test_deployment_args_are_accepted_by_the_cli(container: dict[str, Any]) -> None:
    from hybrid_gateway.cli import build_parser

    args = build_parser().parse_args(container["args"])
    assert args.command == "run"
    assert args.all_namespaces is True
    assert args.peering == NAME
    assert args.log_format == "json"
    assert args.health_port == int(arg_value(container["args"], "--health-port"))
    assert args.metrics_port == int(arg_value(container["args"], "--metrics-port"))


@pytest.mark.e2e
def test_rendered_manifests_validate_on_the_api_server(cluster: Any, rendered: list[dict[str, Any]]) -> None:
    """Strict server-side validation of every rendered object on the real API server of the tests.

    Our CRDs are already installed from crds/ by the session fixture (deploy/crds/ holds copies). The kopf
    peering CRDs and the Namespace are applied for real (dry-run objects need them to exist); everything
    else is a server-side dry run. The PodDisruptionBudget needs policy/v1 (Kubernetes 1.21+) and is
    checked only when the server has it.
    """
    peering_crds = [d for d in rendered if d["kind"] == "CustomResourceDefinition" and d["spec"]["group"] == "kopf.dev"]
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(peering_crds))
    cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd/clusterkopfpeerings.kopf.dev")
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(only(rendered, "Namespace")))
    versions = cluster.kubectl("api-versions").stdout.split()
    rest = [
        d
        for d in rendered
        if d["kind"] not in ("CustomResourceDefinition", "Namespace")
        and (d["kind"] != "PodDisruptionBudget" or "policy/v1" in versions)
    ]
    proc = cluster.kubectl(
        "apply",
        "--dry-run=server",
        "--validate=strict",
        "-f",
        "-",
        input=yaml.safe_dump_all(rest),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


# --------------------------------------------------------------------------------------------------
# RBAC

# Exactly the verbs kopf and operator/hybrid_gateway/kube.py use (see the comments in cluster-role.yaml).
EXPECTED_RULES = {
    ("kopf.dev", "clusterkopfpeerings"): {"get", "list", "watch", "patch"},
    ("apiextensions.k8s.io", "customresourcedefinitions"): {"list", "watch"},
    ("", "events"): {"create"},
    ("hybridgateway.io", "hybridapis"): {"get", "list", "watch", "patch"},
    ("hybridgateway.io", "mtlsdomains"): {"get", "list", "watch", "patch"},
    ("hybridgateway.io", "clientcertrotations"): {"get", "list", "watch", "patch"},
    ("hybridgateway.io", "hybridapis/status"): {"patch"},
    ("hybridgateway.io", "mtlsdomains/status"): {"patch"},
    ("hybridgateway.io", "clientcertrotations/status"): {"patch"},
    ("hybridgateway.io", "clientcertrotations/finalizers"): {"update"},
    ("hybridgateway.io", "tenancypolicies"): {"get", "list"},  # read-only
    ("", "namespaces"): {"get"},  # a TenancyPolicy's namespace label selector
    ("", "secrets"): {"get", "create", "patch"},
    ("", "configmaps"): {"get", "create", "patch"},
}


@pytest.fixture(scope="module")
def cluster_role() -> dict[str, Any]:
    docs = [d for d in yaml.safe_load_all((DEPLOY / "cluster-role.yaml").read_text()) if d]
    assert len(docs) == 1, "deploy/cluster-role.yaml must hold only the ClusterRole (tests bind a user to it)"
    return docs[0]


def test_cluster_role_file_is_the_operator_cluster_role(
    cluster_role: dict[str, Any], rendered: list[dict[str, Any]]
) -> None:
    assert cluster_role["apiVersion"] == "rbac.authorization.k8s.io/v1"
    assert cluster_role["kind"] == "ClusterRole"
    assert cluster_role["metadata"]["name"] == NAME
    assert only(rendered, "ClusterRole") == cluster_role


def test_cluster_role_is_least_privilege(cluster_role: dict[str, Any]) -> None:
    granted: dict[tuple[str, str], set[str]] = {}
    for rule in cluster_role["rules"]:
        assert set(rule) <= {"apiGroups", "resources", "verbs"}, f"unexpected rule fields: {rule}"
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[field], f"wildcard in {field}: {rule}"
            assert all("*" not in item for item in rule[field]), f"wildcard in {field}: {rule}"
        assert not {"delete", "deletecollection", "escalate", "bind", "impersonate"} & set(rule["verbs"]), rule
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                granted.setdefault((group, resource), set()).update(rule["verbs"])
    assert "delete" not in granted.get(("", "secrets"), set())
    assert granted == EXPECTED_RULES


def test_cluster_role_binding_binds_the_service_account(rendered: list[dict[str, Any]]) -> None:
    binding = only(rendered, "ClusterRoleBinding")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": NAME,
    }
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}]


# --------------------------------------------------------------------------------------------------
# extras and Argo CD application


def test_writer_lease_role_grants_the_lease_the_args_name(
    rendered: list[dict[str, Any]], container: dict[str, Any]
) -> None:
    namespace, name = arg_value(container["args"], "--writer-lease").split("/")
    role, binding = only(rendered, "Role"), only(rendered, "RoleBinding")
    assert role["metadata"]["namespace"] == namespace == binding["metadata"]["namespace"]
    by_name = [r for r in role["rules"] if r.get("resourceNames")]
    assert by_name == [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "resourceNames": [name],
                        "verbs": ["get", "patch"]}]
    assert [r["verbs"] for r in role["rules"] if not r.get("resourceNames")] == [["create"]]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}]


def test_network_policy_admits_only_the_ports_the_container_serves(
    rendered: list[dict[str, Any]], deployment: dict[str, Any], container: dict[str, Any]
) -> None:
    policy = only(rendered, "NetworkPolicy")["spec"]
    assert policy["podSelector"]["matchLabels"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    served = {p["containerPort"] for p in container["ports"]}
    admitted = {p["port"] for rule in policy["ingress"] for p in rule["ports"]}
    assert admitted == served
    egress = {(p["protocol"], p["port"]) for rule in policy["egress"] for p in rule["ports"]}
    assert egress == {("UDP", 53), ("TCP", 53), ("TCP", 443), ("TCP", 6443)}


def test_extras_service_monitor_selects_the_metrics_service(rendered: list[dict[str, Any]]) -> None:
    docs, _ = kustomize(DEPLOY / "extras")
    monitor = only(docs, "ServiceMonitor")
    service = only(rendered, "Service")
    assert monitor["metadata"]["namespace"] == NAMESPACE
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"]
    base = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    assert not any("extras" in entry for entry in base["resources"]), "extras/ needs prometheus-operator CRDs"


def test_argocd_application_points_at_deploy() -> None:
    app = yaml.safe_load((DEPLOY / "argocd" / "application.yaml").read_text())
    assert app["apiVersion"] == "argoproj.io/v1alpha1" and app["kind"] == "Application"
    assert app["spec"]["source"]["path"] == "deploy"
    assert app["spec"]["destination"]["namespace"] == NAMESPACE


# --------------------------------------------------------------------------------------------------
# IAM policy

IAM_POLICY = DEPLOY / "iam-policy.json"
READ_PREFIXES = ("Describe", "List", "Get")
TAG_SCOPED_SERVICES = ("elasticloadbalancing", "ec2", "acm")
CONDITION_OPERATORS = re.compile(
    r"((ForAllValues|ForAnyValue):)?"
    r"(StringEquals|StringNotEquals|StringEqualsIgnoreCase|StringLike|StringNotLike|ArnEquals|ArnLike"
    r"|ArnNotEquals|ArnNotLike|Bool|NumericEquals|NumericLessThan|NumericGreaterThan|IpAddress|NotIpAddress)"
    r"(IfExists)?|Null"
)
# Mutating ELB/EC2/ACM grants that cannot carry an owner-tag condition, and why.
UNTAGGED_EXCEPTIONS = {
    # API Gateway creates the PrivateLink endpoint service of a VPC link with the caller's permissions;
    # the endpoint service is API Gateway's, not ours, so it has no owner tag.
    "VpcLinkEndpointServiceViaApiGateway": {
        "ec2:CreateVpcEndpointServiceConfiguration",
        "ec2:DeleteVpcEndpointServiceConfigurations",
        "ec2:ModifyVpcEndpointServicePermissions",
    },
    # EC2 also authorizes CreateSecurityGroup against the (user's) VPC; the new group itself is covered
    # by a statement that requires the owner tag.
    "Ec2CreateSecurityGroupInVpc": {"ec2:CreateSecurityGroup"},
}
EXPECTED_ACTIONS = {
    "apigateway:GET",
    "apigateway:POST",
    "apigateway:PUT",
    "apigateway:PATCH",
    "apigateway:DELETE",
    "apigateway:AddCertificateToDomain",  # mTLS on a domain name (MtlsDomain)
    "elasticloadbalancing:Describe*",
    "elasticloadbalancing:CreateLoadBalancer",
    "elasticloadbalancing:CreateTargetGroup",
    "elasticloadbalancing:CreateListener",
    "elasticloadbalancing:AddTags",
    "elasticloadbalancing:SetSecurityGroups",
    "elasticloadbalancing:SetSubnets",
    "elasticloadbalancing:DeleteLoadBalancer",
    "elasticloadbalancing:ModifyTargetGroup",
    "elasticloadbalancing:RegisterTargets",
    "elasticloadbalancing:DeregisterTargets",
    "elasticloadbalancing:DeleteTargetGroup",
    "elasticloadbalancing:ModifyListener",
    "elasticloadbalancing:DeleteListener",
    "elasticloadbalancing:CreateTrustStore",  # listener mutual TLS verify (HybridApi spec.frontDoor.mutualTls)
    "elasticloadbalancing:ModifyTrustStore",
    "elasticloadbalancing:DeleteTrustStore",
    "ec2:DescribeVpcs",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeVpcEndpointServiceConfigurations",
    "ec2:CreateVpcEndpointServiceConfiguration",
    "ec2:DeleteVpcEndpointServiceConfigurations",
    "ec2:ModifyVpcEndpointServicePermissions",
    "ec2:CreateSecurityGroup",
    "ec2:CreateTags",
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:AuthorizeSecurityGroupEgress",
    "ec2:RevokeSecurityGroupIngress",
    "ec2:RevokeSecurityGroupEgress",
    "ec2:DeleteSecurityGroup",
    "acm:DescribeCertificate",
    "acm:GetCertificate",
    "acm:ListCertificates",
    "acm:ListTagsForCertificate",
    "acm:RequestCertificate",
    "acm:ImportCertificate",
    "acm:AddTagsToCertificate",
    "acm:DeleteCertificate",
    "route53:GetHostedZone",
    "route53:ListResourceRecordSets",
    "route53:ChangeResourceRecordSets",
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:ListBucket",
    "s3:ListBucketVersions",
    "s3:GetBucketVersioning",
    "s3:PutBucketVersioning",
    "s3:CreateBucket",
    "s3:GetBucketTagging",
    "s3:PutBucketTagging",
    "s3:PutBucketPublicAccessBlock",  # MtlsDomain createBucket: the truststore bucket is never public
    "s3:DeleteBucket",  # MtlsDomain deletion: only a bucket it created (owner tags), and only when empty
    "iam:CreateServiceLinkedRole",
}


@pytest.fixture(scope="module")
def iam_policy() -> dict[str, Any]:
    return json.loads(IAM_POLICY.read_text())


def statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return policy["Statement"]


def owner_tag_condition(statement: dict[str, Any]) -> str | None:
    """'request' or 'resource' when the statement requires the owner tag to be present, else None."""
    found = None
    for operator, keys in statement.get("Condition", {}).items():
        for key, value in keys.items():
            for scope in ("Request", "Resource"):
                if key == f"aws:{scope}Tag/{OWNER_TAG}":
                    if operator == "Null":
                        assert value == "false", f"{statement['Sid']}: Null {key} must be 'false'"
                    elif not operator.startswith("String"):
                        continue
                    found = scope.lower()
    return found


def test_iam_policy_grammar(iam_policy: dict[str, Any]) -> None:
    assert set(iam_policy) == {"Version", "Statement"}
    assert iam_policy["Version"] == "2012-10-17"
    sids = [s.get("Sid") for s in statements(iam_policy)]
    assert len(sids) == len(set(sids)), "duplicate Sid"
    for statement in statements(iam_policy):
        sid = statement.get("Sid")
        assert sid and re.fullmatch(r"[A-Za-z0-9]+", sid), f"Sid must be alphanumeric: {sid!r}"
        assert {"Sid", "Effect", "Action", "Resource"} <= set(statement), sid
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource", "Condition"}, sid
        assert statement["Effect"] == "Allow", sid
        actions = listify(statement["Action"])
        resources = listify(statement["Resource"])
        assert actions and resources, sid
        services = set()
        for action in actions:
            assert re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9*]+", action), f"{sid}: malformed action {action}"
            services.add(action.split(":")[0])
        for resource in resources:
            if resource == "*":
                continue
            parts = resource.split(":", 5)
            assert len(parts) == 6 and parts[0] == "arn" and parts[1] == "aws", f"{sid}: bad ARN {resource}"
            assert parts[2] in services, f"{sid}: {resource} is not an ARN of {services}"
        for operator, keys in statement.get("Condition", {}).items():
            assert CONDITION_OPERATORS.fullmatch(operator), f"{sid}: unknown condition operator {operator}"
            assert isinstance(keys, dict) and keys, sid
            for key, value in keys.items():
                assert re.fullmatch(r"[A-Za-z0-9-]+:[A-Za-z0-9/._${}:-]+", key), f"{sid}: bad condition key {key}"
                values = listify(value)
                assert values and all(isinstance(v, str) for v in values), f"{sid}: {key}"
                if operator == "Null":
                    assert value in ("true", "false"), f"{sid}: Null takes 'true'/'false'"
    # A managed policy holds at most 6,144 characters, whitespace not counted.
    assert len("".join(IAM_POLICY.read_text().split())) <= 6144


def test_iam_policy_has_no_wildcard_actions(iam_policy: dict[str, Any]) -> None:
    for statement in statements(iam_policy):
        for action in listify(statement["Action"]):
            assert action != "*", statement["Sid"]
            name = action.split(":", 1)[1]
            assert name != "*", f"{statement['Sid']}: service wildcard {action}"
            if "*" in name:
                assert name.endswith("*") and name.count("*") == 1, action
                assert name[:-1] in READ_PREFIXES, f"{statement['Sid']}: only read-only prefixes may be wildcards"


def test_iam_policy_grants_exactly_the_operator_actions(iam_policy: dict[str, Any]) -> None:
    granted = {a for s in statements(iam_policy) for a in listify(s["Action"])}
    assert granted == EXPECTED_ACTIONS


def test_iam_mutating_elb_ec2_acm_actions_are_scoped_by_owner_tag(iam_policy: dict[str, Any]) -> None:
    scoped: dict[str, set[str]] = {}
    for statement in statements(iam_policy):
        sid = statement["Sid"]
        for action in listify(statement["Action"]):
            service, name = action.split(":", 1)
            if service not in TAG_SCOPED_SERVICES or name.startswith(READ_PREFIXES):
                continue
            scope = owner_tag_condition(statement)
            if scope is None:
                assert action in UNTAGGED_EXCEPTIONS.get(sid, set()), (
                    f"{sid}: {action} is not conditioned on aws:RequestTag/aws:ResourceTag {OWNER_TAG}"
                )
                continue
            scoped.setdefault(action, set()).add(scope)
            if name.startswith(("Create", "Request")) and name != "CreateTags":
                assert scope == "request", f"{sid}: {action} must require the owner tag in the request"
            if name.startswith(("Delete", "Modify", "Set", "Register", "Deregister", "Authorize", "Revoke")):
                assert scope == "resource", f"{sid}: {action} must require an owned resource"
    # The VPC exception is only half of CreateSecurityGroup's authorization: the group needs the tag.
    assert scoped["ec2:CreateSecurityGroup"] == {"request"}
    for sid, actions in UNTAGGED_EXCEPTIONS.items():
        statement = next(s for s in statements(iam_policy) if s["Sid"] == sid)
        assert set(listify(statement["Action"])) == actions, sid
    vpc_statement = next(s for s in statements(iam_policy) if s["Sid"] == "Ec2CreateSecurityGroupInVpc")
    assert listify(vpc_statement["Resource"]) == ["arn:aws:ec2:*:*:vpc/*"]


def test_iam_apigateway_writes_are_scoped_by_owner_tag(iam_policy: dict[str, Any]) -> None:
    """API Gateway's IAM actions are HTTP verbs: reads on the operator's paths carry no condition (they also
    look at what is not ours), a POST/PUT on a top-level collection (a create) or on /tags needs the owner tags
    in the request, and every other write needs them on the resource (or its parent: tags are inherited)."""
    for statement in statements(iam_policy):
        verbs = {a.split(":", 1)[1] for a in listify(statement["Action"]) if a.startswith("apigateway:")}
        if not verbs or verbs <= {"GET", "AddCertificateToDomain"}:
            continue  # AddCertificateToDomain: an extra check on top of POST/PATCH /domainnames, scoped below
        scope = owner_tag_condition(statement)
        paths = [r.split("::", 1)[1] for r in listify(statement["Resource"]) if r.startswith("arn:aws:apigateway:")]
        assert scope is not None, f"{statement['Sid']}: API Gateway writes without an owner-tag condition"
        if scope == "request":
            assert verbs <= {"POST", "PUT"}, statement["Sid"]
            assert all(p.count("/") == 1 or p == "/tags/*" for p in paths), paths
        else:
            # An owned resource, or the tags of owned ones (/tags/<URL-encoded ARN pattern>: the shared V2 links'
            # user tags, VpcLinkV2Users).
            assert all(p.endswith("/*") or (p.startswith("/tags/") and p.endswith("%2F*")) for p in paths), paths


def test_iam_tag_on_create_is_limited_to_create_calls(iam_policy: dict[str, Any]) -> None:
    by_sid = {s["Sid"]: s for s in statements(iam_policy)}
    ec2_tags = [s for s in statements(iam_policy) if "ec2:CreateTags" in listify(s["Action"])]
    assert [s["Sid"] for s in ec2_tags] == ["Ec2TagOnCreate"]
    assert by_sid["Ec2TagOnCreate"]["Condition"]["StringEquals"]["ec2:CreateAction"] == "CreateSecurityGroup"
    elb_tag_on_create = by_sid["ElbTagOnCreate"]["Condition"]["StringEquals"]["elasticloadbalancing:CreateAction"]
    assert set(elb_tag_on_create) == {"CreateLoadBalancer", "CreateTargetGroup", "CreateListener", "CreateTrustStore"}


def test_iam_route53_and_service_linked_role_are_conditioned(iam_policy: dict[str, Any]) -> None:
    by_action: dict[str, list[dict[str, Any]]] = {}
    for statement in statements(iam_policy):
        for action in listify(statement["Action"]):
            by_action.setdefault(action, []).append(statement)
    (change,) = by_action["route53:ChangeResourceRecordSets"]
    names = change["Condition"]["ForAllValues:StringLike"]["route53:ChangeResourceRecordSetsNormalizedRecordNames"]
    assert names and "*" not in names
    (slr,) = by_action["iam:CreateServiceLinkedRole"]
    assert slr["Condition"]["StringEquals"]["iam:AWSServiceName"] == "elasticloadbalancing.amazonaws.com"
    for action in ("s3:PutObject", "s3:DeleteObject", "s3:CreateBucket"):
        for statement in by_action[action]:
            assert all(r.startswith("arn:aws:s3:::") for r in listify(statement["Resource"])), action
    for statement in by_action["apigateway:DELETE"]:
        assert "*" not in listify(statement["Resource"])


# --------------------------------------------------------------------------------------------------
# Dockerfile


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with line continuations joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, rest = line.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    assert not pending, "Dockerfile ends inside a line continuation"
    return instructions


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for keyword, rest in dockerfile_instructions():
        if keyword == "FROM":
            result.append([])
        assert result, f"{keyword} before the first FROM"
        result[-1].append((keyword, rest))
    return result


def flags_and_args(rest: str) -> tuple[dict[str, str], list[str]]:
    flags: dict[str, str] = {}
    words = rest.split()
    while words and words[0].startswith("--"):
        key, _, value = words.pop(0)[2:].partition("=")
        flags[key] = value
    return flags, words


def test_dockerfile_is_multi_stage() -> None:
    all_stages = stages()
    assert len(all_stages) >= 2
    first = all_stages[0][0][1].split()
    assert len(first) == 3 and first[1].upper() == "AS", "the builder stage must be named"
    builder = first[2]
    final = all_stages[-1]
    used = [rest for kw, rest in final if kw in ("COPY", "RUN") and f"from={builder}" in rest]
    assert used, f"the final stage must take the wheels from stage {builder!r}"
    assert any(kw == "RUN" and "pip wheel" in rest for kw, rest in all_stages[0])


def test_dockerfile_base_images_are_pinned() -> None:
    stage_names = set()
    for stage in stages():
        words = stage[0][1].split()
        image = words[0]
        if image in stage_names:
            continue
        if len(words) == 3:
            stage_names.add(words[2])
        assert "$" not in image, "base image must be literal to be reviewable"
        name, _, digest = image.partition("@")
        repo, _, tag = name.rpartition(":")
        assert repo and tag, f"{image} has no tag"
        assert tag != "latest", image
        assert re.match(r"\d+\.\d+\.\d+-", tag), f"{image}: pin an exact release (x.y.z), not a moving tag"
        if digest:
            assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest), image


def test_dockerfile_runs_as_non_root_numeric_user() -> None:
    final = stages()[-1]
    users = [rest for kw, rest in final if kw == "USER"]
    assert users, "the final stage must set USER"
    match = re.fullmatch(r"(\d+)(?::(\d+))?", users[-1])
    assert match, f"USER must be numeric (runAsNonRoot checks it): {users[-1]}"
    assert int(match.group(1)) != 0
    assert int(match.group(1)) == 10001, "matches runAsUser in deploy/operator/deployment.yaml"
    if match.group(2):
        assert int(match.group(2)) != 0


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]


def ignored(path: str) -> bool:
    result = False
    for pattern in dockerignore_patterns():
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        candidates = [path] + [str(Path(*Path(path).parts[:i])) for i in range(1, len(Path(path).parts))]
        variants = {pattern, pattern.removeprefix("**/")}
        if any(fnmatch.fnmatch(c, v) for c in candidates for v in variants):
            result = not negate
    return result


def test_dockerfile_copy_sources_exist_and_are_not_ignored() -> None:
    copied = []
    for keyword, rest in dockerfile_instructions():
        if keyword not in ("COPY", "ADD"):
            continue
        assert keyword == "COPY", "use COPY, not ADD"
        flags, words = flags_and_args(rest)
        if "from" in flags:
            continue
        sources = words[:-1]
        assert sources, rest
        for source in sources:
            path = ROOT / source
            assert path.exists(), f"COPY source {source} does not exist in the repository"
            assert not ignored(source.rstrip("/")), f"COPY source {source} is excluded by .dockerignore"
            copied.append(source.rstrip("/"))
    assert {"pyproject.toml", "README.md", "operator"} <= set(copied)
    assert not [c for c in copied if c == "." or c.startswith("devenv")], "the image holds only the operator"


def test_dockerignore_excludes_tests_git_and_caches() -> None:
    for path in (
        ".git",
        "tests",
        "tests/test_deploy.py",
        "operator/hybrid_gateway/__pycache__",
        ".pytest_cache",
        ".ruff_cache",
        ".mypy_cache",
        "operator/hybrid_gateway_operator.egg-info",
        "devenv",
        "devenv/hybrid_gateway_devenv/emulator/server.py",
    ):
        assert ignored(path), f".dockerignore should exclude {path}"
    for path in ("pyproject.toml", "README.md", "operator", "operator/hybrid_gateway/__init__.py"):
        assert not ignored(path), f".dockerignore must keep {path}"


def test_dockerfile_entrypoint_is_the_console_script() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    final = stages()[-1]
    entrypoints = [rest for kw, rest in final if kw == "ENTRYPOINT"]
    cmds = [rest for kw, rest in final if kw == "CMD"]
    assert entrypoints and cmds
    entrypoint = json.loads(entrypoints[-1])
    assert isinstance(entrypoint, list) and len(entrypoint) == 1, "exec form, no shell"
    assert entrypoint[0] in scripts, f"{entrypoint[0]} is not in [project.scripts] {sorted(scripts)}"
    assert entrypoint[0] == "hybrid-gateway"
    assert json.loads(cmds[-1]) == ["run", "--all-namespaces"]


def test_dockerfile_runtime_settings() -> None:
    final = stages()[-1]
    env_text = " ".join(rest for kw, rest in final if kw == "ENV")
    assert re.search(r"\bPYTHONUNBUFFERED=1\b", env_text)
    assert re.search(r"\bPIP_NO_CACHE_DIR=1\b", env_text)
    exposed = {p for kw, rest in final if kw == "EXPOSE" for p in rest.split()}
    assert {"8080", "9090"} <= exposed
    installs = [rest for kw, rest in final if kw == "RUN" and "pip install" in rest]
    assert len(installs) == 1
    assert "--no-index" in installs[0], "install only the builder's wheels"
    assert "[dev]" not in installs[0] and "[sandbox]" not in installs[0]
    assert "devenv" not in installs[0], "the image holds only the operator"
    assert not any(kw == "HEALTHCHECK" for kw, _ in final), "Kubernetes probes do the health checks"
