"""The Argo CD health checks in deploy/argocd/, run in a real Lua interpreter.

Argo CD runs a health script with a global `obj` (the live object) and reads `hs.status` and
`hs.message` from the table it returns. Here every sample object is turned into a Lua table literal,
the script from argocd-cm-patch.yaml is run under `lua5.4` for each of the three kinds, and the
returned status and message are compared. A missing interpreter fails the tests (CI installs it with
`apt-get install lua5.4`, see hack/install-test-deps.sh); it is never a silent skip.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ARGOCD = ROOT / "deploy" / "argocd"
HEALTH_LUA = ARGOCD / "health.lua"
CM_PATCH = ARGOCD / "argocd-cm-patch.yaml"
KINDS = ("HybridApi", "MtlsDomain", "ClientCertRotation")
ARGO_STATUSES = {"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}


# --------------------------------------------------------------------------------------------------
# Python -> Lua table literal


def lua_string(text: str) -> str:
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if 0x20 <= byte < 0x7F and char not in '\\"':
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")  # decimal escapes: the same in Lua 5.1 and 5.4
    return '"' + "".join(out) + '"'


def to_lua(value: Any) -> str:
    """A Lua expression for a JSON-like Python value (what Argo CD hands the script as `obj`)."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return lua_string(value)
    if isinstance(value, list | tuple):
        return "{" + ", ".join(to_lua(v) for v in value) + "}"
    if isinstance(value, dict):
        # A None value is an absent key, as in Argo CD's conversion of the object.
        items = (f"[{lua_string(str(k))}] = {to_lua(v)}" for k, v in value.items() if v is not None)
        return "{" + ", ".join(items) + "}"
    raise TypeError(f"cannot convert {type(value).__name__} to Lua")


# --------------------------------------------------------------------------------------------------
# running a script


@pytest.fixture(scope="module")
def lua() -> str:
    path = shutil.which("lua5.4")
    if path is None:
        pytest.fail(
            "lua5.4 is not installed; these tests run the Argo CD health checks in a real Lua interpreter. "
            "Install it with `apt-get install lua5.4` (hack/install-test-deps.sh does)."
        )
    return path


@pytest.fixture(scope="module")
def scripts() -> dict[str, str]:
    data = yaml.safe_load(CM_PATCH.read_text())["data"]
    return {kind: data[f"resource.customizations.health.hybridgateway.io_{kind}"] for kind in KINDS}


def run_health(lua: str, script: str, obj: dict[str, Any], tmp_path: Path) -> tuple[str, str]:
    script_path = tmp_path / "health.lua"
    script_path.write_text(script)
    harness = tmp_path / "harness.lua"
    harness.write_text(
        f"obj = {to_lua(obj)}\n"
        f"local chunk = assert(loadfile({lua_string(str(script_path))}))\n"
        "local hs = chunk()\n"
        'assert(type(hs) == "table", "the script must return a table")\n'
        'io.write(tostring(hs.status), "\\n", tostring(hs.message))\n'
    )
    proc = subprocess.run([lua, str(harness)], capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 0 and not proc.stderr, f"Lua error:\n{proc.stderr}"
    status, _, message = proc.stdout.partition("\n")
    return status, message


# --------------------------------------------------------------------------------------------------
# the shipped files


def test_cm_patch_holds_health_lua_verbatim_for_each_kind(scripts: dict[str, str]) -> None:
    patch = yaml.safe_load(CM_PATCH.read_text())
    assert patch["apiVersion"] == "v1" and patch["kind"] == "ConfigMap"
    assert patch["metadata"]["name"] == "argocd-cm"
    assert set(patch["data"]) == {f"resource.customizations.health.hybridgateway.io_{kind}" for kind in KINDS}
    lua_text = HEALTH_LUA.read_text()
    for kind, script in scripts.items():
        assert script == lua_text, f"argocd-cm-patch.yaml's {kind} script differs from deploy/argocd/health.lua"


def test_health_lua_sticks_to_lua_5_1(scripts: dict[str, str]) -> None:
    """Argo CD embeds gopher-lua (Lua 5.1): nothing from 5.2+ that 5.4 would accept here."""
    code = "\n".join(line.split("--", 1)[0] for line in HEALTH_LUA.read_text().splitlines())
    for token in (
        "goto",
        "//",
        "<const>",
        "<close>",
        "utf8.",
        "table.unpack",
        "table.move",
        "math.tointeger",
        "math.type",
        "string.pack",
        "_ENV",
    ):
        assert token not in code, f"{token} is not Lua 5.1"
    assert not re.search(r"[^~<>=]=?[&|]|<<|>>|[^=]~[^=]", code), "bitwise operators are not Lua 5.1"


def test_lua_literal_round_trip(lua: str, tmp_path: Path) -> None:
    value = {"a": [1, 2.5, True, False], "s": 'quote " backslash \\ newline \n ünïcode', "n": None}
    probe = tmp_path / "probe.lua"
    probe.write_text(
        f"local v = {to_lua(value)}\n"
        'io.write(#v.a, "|", tostring(v.a[2]), "|", tostring(v.a[3]), "|", v.s, "|", tostring(v.n))\n'
    )
    out = subprocess.run([lua, str(probe)], capture_output=True, timeout=30, check=True).stdout.decode()
    assert out == '4|2.5|true|quote " backslash \\ newline \n ünïcode|nil'


# --------------------------------------------------------------------------------------------------
# cases


def cond(ctype: str, status: str | None = None, **fields: Any) -> dict[str, Any]:
    condition: dict[str, Any] = {"type": ctype}
    if status is not None:
        condition["status"] = status
    condition.update(fields)
    return condition


def obj(kind: str, generation: int | None = 1, status: dict[str, Any] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "orders", "namespace": "team-a", "uid": "1234"}
    if generation is not None:
        metadata["generation"] = generation
    body: dict[str, Any] = {"apiVersion": "hybridgateway.io/v1alpha1", "kind": kind, "metadata": metadata}
    body["spec"] = {"region": "ap-northeast-1"}
    if status is not None:
        body["status"] = status
    return body


STALLED_MSG = "spec.frontDoor.certificate: set exactly one of acmCertificateArn, secretRef, request"
RECONCILING_MSG = "Waiting for VPC link vpclink-abc123 to become AVAILABLE (PENDING)"

# (id, generation, status, expected hs.status, expected hs.message or a regex for it)
CASES: list[tuple[str, int | None, dict[str, Any] | None, str, str]] = [
    ("no-status", 1, None, "Progressing", "Waiting for the operator to report status"),
    ("empty-status", 1, {}, "Progressing", "Waiting for the operator to observe generation 1"),
    (
        "ready-current-generation",
        3,
        {
            "observedGeneration": 3,
            "conditions": [
                cond("Ready", "True", reason="Converged", message="All hops converged", observedGeneration=3),
                cond("Reconciling", "False", reason="Converged"),
                cond("Stalled", "False", reason="Converged"),
            ],
        },
        "Healthy",
        "All hops converged",
    ),
    (
        "ready-true-but-generation-not-observed",
        4,
        {"observedGeneration": 3, "conditions": [cond("Ready", "True", message="All hops converged")]},
        "Progressing",
        "Waiting for the operator to observe generation 4 (observed 3)",
    ),
    (
        "ready-condition-from-older-generation",
        4,
        {"observedGeneration": 4, "conditions": [cond("Ready", "True", message="ok", observedGeneration=3)]},
        "Progressing",
        "Waiting for the Ready condition to be updated for generation 4",
    ),
    (
        "reconciling",
        2,
        {
            "observedGeneration": 2,
            "conditions": [
                cond("Ready", "False", reason="Reconciling", message="VPC link not ready"),
                cond("Reconciling", "True", reason="WaitingOnAws", message=RECONCILING_MSG),
                cond("Stalled", "False"),
            ],
        },
        "Progressing",
        RECONCILING_MSG,
    ),
    (
        "stalled",
        2,
        {
            "observedGeneration": 2,
            "conditions": [
                cond("Ready", "False", reason="InvalidSpec", message="see Stalled"),
                cond("Reconciling", "False"),
                cond("Stalled", "True", reason="InvalidSpec", message=STALLED_MSG, observedGeneration=2),
            ],
        },
        "Degraded",
        STALLED_MSG,
    ),
    (
        "stalled-wins-over-ready",
        2,
        {
            "observedGeneration": 2,
            "conditions": [
                cond("Ready", "True", message="ok"),
                cond("Stalled", "True", message=STALLED_MSG),
            ],
        },
        "Degraded",
        STALLED_MSG,
    ),
    (
        "stalled-for-a-generation-not-yet-observed",
        5,
        {"observedGeneration": 4, "conditions": [cond("Stalled", "True", message=STALLED_MSG)]},
        "Progressing",
        "Waiting for the operator to observe generation 5 (observed 4)",
    ),
    (
        "stalled-condition-from-older-generation",
        5,
        {
            "observedGeneration": 5,
            "conditions": [
                cond("Ready", "False", reason="Reconciling", message="Importing the certificate"),
                cond("Stalled", "True", message=STALLED_MSG, observedGeneration=4),
            ],
        },
        "Progressing",
        "Importing the certificate",
    ),
    (
        "ready-false-without-stalled",
        1,
        {
            "observedGeneration": 1,
            "conditions": [
                cond("Ready", "False", reason="BackendUnhealthy", message="0/2 on-prem targets healthy"),
                cond("Stalled", "False"),
            ],
        },
        "Progressing",
        "0/2 on-prem targets healthy",
    ),
    (
        "ready-unknown-reason-only",
        1,
        {"observedGeneration": 1, "conditions": [cond("Ready", "Unknown", reason="Initializing")]},
        "Progressing",
        "Initializing",
    ),
    (
        "conditions-missing-fields",
        1,
        {
            "observedGeneration": 1,
            "conditions": [{}, {"type": "Ready"}, {"status": "True"}, {"message": "x"}],
        },
        "Progressing",
        "Waiting for the Ready condition",
    ),
    (
        "stalled-without-message-or-reason",
        1,
        {"observedGeneration": 1, "conditions": [{"type": "Stalled", "status": "True"}]},
        "Degraded",
        "Stalled",
    ),
    (
        "ready-without-message",
        1,
        {"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "True"}]},
        "Healthy",
        "Ready",
    ),
    (
        "no-conditions-yet",
        1,
        {"observedGeneration": 1},
        "Progressing",
        "Waiting for the Ready condition",
    ),
    (
        "conditions-not-a-list",
        1,
        {"observedGeneration": 1, "conditions": "Ready"},
        "Progressing",
        "Waiting for the Ready condition",
    ),
    (
        "condition-fields-of-wrong-type",
        1,
        {
            "observedGeneration": 1,
            "conditions": [
                {"type": "Ready", "status": True, "message": 42, "observedGeneration": "1"},
                {"type": "Reconciling", "status": "True", "message": ["not", "a", "string"]},
            ],
        },
        "Progressing",
        "Reconciling",
    ),
    (
        "observed-generation-missing",
        2,
        {"conditions": [cond("Ready", "True", message="ok")]},
        "Progressing",
        "Waiting for the operator to observe generation 2",
    ),
    (
        "no-generation-in-metadata",
        None,
        {"observedGeneration": 1, "conditions": [cond("Ready", "True", message="ok", observedGeneration=1)]},
        "Healthy",
        "ok",
    ),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("generation", "status", "expected_status", "expected_message"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_health(
    lua: str,
    scripts: dict[str, str],
    tmp_path: Path,
    kind: str,
    generation: int | None,
    status: dict[str, Any] | None,
    expected_status: str,
    expected_message: str,
) -> None:
    hs_status, hs_message = run_health(lua, scripts[kind], obj(kind, generation, status), tmp_path)
    assert hs_status in ARGO_STATUSES
    assert (hs_status, hs_message) == (expected_status, expected_message)
