"""The on-prem network map: which loopback address answers for an on-prem ``ip:port``.

Nothing ever leaves loopback: a target that is not in the map is unreachable (the ALB's connection
times out), and every mapped address must be a loopback address.
"""

from __future__ import annotations

import ipaddress
import threading


def _loopback(address: str) -> str:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"'{address}' is not host:port")
    if host != "localhost" and not ipaddress.ip_address(host.strip("[]")).is_loopback:
        raise ValueError(f"'{address}' is not a loopback address: nothing leaves loopback")
    return address


def _target(address: str) -> str:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"'{address}' is not ip:port")
    ipaddress.ip_address(host)
    return address


class OnPremNetwork:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: dict[str, str] = {}

    def set(self, routes: dict[str, str]) -> None:
        """Replace the map (``{"192.168.10.5:443": "127.0.0.1:8443"}``)."""
        checked = {_target(str(k)): _loopback(str(v)) for k, v in routes.items()}
        with self._lock:
            self._routes = checked

    def clear(self) -> None:
        with self._lock:
            self._routes.clear()

    def resolve(self, target_ip: str, port: int | str) -> tuple[str, int] | None:
        with self._lock:
            found = self._routes.get(f"{target_ip}:{port}")
        if found is None:
            return None
        host, _, mapped_port = found.rpartition(":")
        return host.strip("[]"), int(mapped_port)

    def to_json(self) -> dict[str, dict[str, str]]:
        with self._lock:
            return {"routes": dict(self._routes)}


ONPREM = OnPremNetwork()
