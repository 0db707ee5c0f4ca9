"""AWS emulator for tests and the sandbox: moto in server mode plus what moto lacks.

One HTTP endpoint serves every AWS service (``AWS_ENDPOINT_URL=http://127.0.0.1:PORT``), exactly
as moto's server does; the operator cannot tell it from AWS except by what it can do. On top of
moto it adds:

- API Gateway operations moto 5.2 lacks or gets wrong (client certificates, stage
  ``clientCertificateId``, mutual-TLS domain names with truststore checks, UpdateDomainName,
  UpdateIntegration, ``connectionId``, TestInvokeMethod, ...): :mod:`.apigateway`;
- the catalogue of what it does and why (every behaviour's source): ``docs/aws-behaviour.md``;
- "in use" refusals on deletes (ELBv2 load balancer used by a VPC link, ACM certificate used by a
  listener or domain name) and the outside-VPC IP target rule: :mod:`.guards`;
- AWS behaviour moto gets wrong in ELBv2 / ACM (idempotent creates, NLB ARNs, DNS validation):
  :mod:`.patches`;
- fault injection (throttling / 5xx shaped per service, slow answers): :mod:`.faults`;
- AWS's request-rate and resource-count quotas, on by default at 10x AWS's rates: :mod:`.quotas`;
- delays, on by default at compressed values (provisioning, asynchronous deletes, domain name
  updates, health checks, S3 versioning propagation): :mod:`.delays`, :mod:`.targethealth`;
- an emulated public CA that signs ACM's issued certificates: :mod:`.publicca`;
- a request log with real AWS operation names: :mod:`.requestlog`, :mod:`.routing`;
- a control API under ``/_emulator/`` and its client :class:`EmulatorControl`.

Every change to moto's classes is in :mod:`.patches`.

Usage::

    with EmulatorServer() as emulator:            # port 0: a free port
        control = EmulatorControl(emulator.endpoint_url)
        boto3.client("apigateway", endpoint_url=emulator.endpoint_url, region_name="ap-northeast-1")
"""

from __future__ import annotations

from .cli import main
from .control import EmulatorControl, EmulatorControlError
from .server import EmulatorApp, EmulatorServer

__all__ = ["EmulatorApp", "EmulatorControl", "EmulatorControlError", "EmulatorServer", "main"]
