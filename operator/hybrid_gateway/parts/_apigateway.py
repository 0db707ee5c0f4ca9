"""Helpers shared by the API Gateway parts (VPC link, REST API, deployment + stage).

API Gateway updates are JSON-Patch-like `patchOperations` whose values are always strings; every
part builds them with `patch_op` so that escaping and value formatting are decided in one place.
API Gateway tags are a plain ``{key: value}`` map (not the ``[{Key, Value}]`` list of ELB/EC2/ACM).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

from hybrid_gateway.aws.errors import error_code, is_not_found
from hybrid_gateway.aws.shared_reads import SharedKind
from hybrid_gateway.aws.tags import Owner
from hybrid_gateway.errors import RetryLater

if TYPE_CHECKING:
    from mypy_boto3_apigateway.type_defs import PatchOperationTypeDef as PatchOperation

    from hybrid_gateway.aws.clients import RegionalClients


def patch_value(value: Any) -> str:
    """API Gateway patch values are strings: booleans are ``true``/``false``, numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def pointer(*segments: str) -> str:
    """A JSON pointer: each segment escaped (``~`` -> ``~0``, ``/`` -> ``~1``), joined by ``/``."""
    return "".join("/" + s.replace("~", "~0").replace("/", "~1") for s in segments)


def patch_op(op: Literal["add", "remove", "replace"], *segments: str, value: Any = None) -> PatchOperation:
    """One patch operation: ``patch_op("replace", "variables", "k", value="v")``.

    Segments are escaped individually, so a stage variable or a header name containing ``/`` cannot
    change which field is patched. ``remove`` carries no value.
    """
    if op not in ("add", "remove", "replace"):
        raise ValueError(f"unsupported patch op {op!r}")
    operation: PatchOperation = {"op": op, "path": pointer(*segments)}
    if op != "remove":
        if value is None:
            raise ValueError(f"patch op {op} {operation['path']} needs a value")
        operation["value"] = patch_value(value)
    return operation


def owner_tags(owner: Owner, part: str) -> dict[str, str]:
    """The tags every API Gateway create sends (a map, as API Gateway wants it)."""
    return dict(owner.tags(part))


def owned(owner: Owner, tags: Mapping[str, str] | None, part: str) -> bool:
    return owner.owns(dict(tags or {}), part)


def items(client: Any, operation: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every ``items`` entry of a paginated API Gateway list call (``position`` paging)."""
    if client.can_paginate(operation):
        for page in client.get_paginator(operation).paginate(**kwargs):
            yield from page.get("items", [])
        return
    yield from getattr(client, operation)(**kwargs).get("items", [])


def get_or_none(call: Any, **kwargs: Any) -> dict[str, Any] | None:
    """Call a Get* operation; None when AWS says the resource does not exist."""
    try:
        result: dict[str, Any] = call(**kwargs)
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise
    return result


def got_or_listed(name: str, get_one: Callable[[RegionalClients, str], dict[str, Any] | None],
                  list_all: Callable[[RegionalClients], Iterable[Mapping[str, Any]]], id_key: str = "id") -> SharedKind:
    """A Get by id, shared across objects (aws/shared_reads.py): one id is got on its own, as a pass alone
    reads it; several are answered by one listing of the Region (500 per page), and an id the whole listing
    does not hold does not exist. API Gateway's Get operations take one id, its listings every one."""
    def fetch(clients: RegionalClients, ids: list[str]) -> dict[str, Any]:
        if len(ids) == 1:
            return {ids[0]: get_one(clients, ids[0])}
        listed = {str(item[id_key]): dict(item) for item in list_all(clients)}
        return {i: listed.get(i) for i in ids}
    return SharedKind(name, fetch, most=500)


def delete_ignoring_not_found(call: Any, part: str, resource_id: str, **kwargs: Any) -> None:
    """Delete; not-found is success, and AWS's "still referenced" answer becomes
    `RetryLater("DependencyInUse")`: the reference goes away once its holder is deleted or moved.

    API Gateway answers BadRequestException when a delete is blocked by a reference (a VPC link
    still used by integrations or deployed stages, a stage with base path mappings). The message
    names the part and resource and AWS's reason (ids and AWS text only, never desired values).
    """
    try:
        call(**kwargs)
    except ClientError as exc:
        if is_not_found(exc):
            return
        if error_code(exc) in ("BadRequestException", "ConflictException"):
            text = str(exc.response.get("Error", {}).get("Message", "")) or error_code(exc)
            raise RetryLater("DependencyInUse", f"{part} {resource_id}: {text}") from exc
        raise


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def stable_hash(data: Any) -> str:
    """sha256 of canonical JSON: the same data always hashes the same, whatever the dict order."""
    return sha256_hex(json.dumps(data, sort_keys=True, separators=(",", ":"), default=str))
