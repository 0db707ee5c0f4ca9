"""The emulator's WSGI app (moto in server mode + our middleware) and an in-process threaded server.

Request flow for an AWS call (anything not under ``/_emulator/``)::

    parse (service, operation, region, account from SigV4 + botocore's model)  -> routing.py
    scheduled removals that are due (deleted VPC links, load balancers)       -> delays.py
    fault injection: sleep latency_ms, maybe answer throttling / 5xx         -> faults.py
    request-rate quotas (token buckets), then resource-count quotas           -> quotas.py
    refusals moto lacks (deletes of things in use, invalid requests)          -> guards.py
    API Gateway operations moto lacks or gets wrong                           -> apigateway.py
    API Gateway VPC links V2 (apigatewayv2 CreateVpcLink & co.)               -> vpclinks_v2.py
    everything else: moto's DomainDispatcherApplication                       (moto server mode)
    after a Route 53 change: note DNS records for ACM validation             -> delays.py
    after versioning is first enabled on an S3 bucket: start its window        -> patches.py
    append to the request log                                                 -> requestlog.py

The control API (JSON, same port, never logged, faulted or throttled)::

    GET    /_emulator/health
    GET    /_emulator/requests?since=N      {"requests": [...], "lastSeq": N}
    DELETE /_emulator/requests
    GET|PUT|DELETE /_emulator/faults        {"rate", "kinds", "latencyMs", "answerLatencyMs", "services",
                                             "operations", "seed"}
    GET|PUT|DELETE /_emulator/delays        {"provisioningSeconds", "deletionSeconds", "domainNameSeconds",
                                             "healthCheckSeconds", "versioningSeconds"} or {"instant": true};
                                            DELETE: back to the startup settings (defaults or CLI)
    GET|PUT|DELETE /_emulator/quotas        {"enabled": true, "timeScale": 10}; DELETE: back to the startup
                                            settings
    GET|PUT|DELETE /_emulator/target-health {"targetId", "port", "targetGroupArn", "state": "unhealthy"|"healthy"}
    GET    /_emulator/public-ca             {"certificate": root PEM, "intermediate": PEM}
    POST   /_emulator/public-ca/certificates {"domainName", "subjectAlternativeNames", "keyAlgorithm",
                                             "validityDays"} -> {"certificate", "privateKey", "certificateChain"}
    POST   /_emulator/public-ca/verify      {"certificate", "certificateChain"} or {"certificateArn"}
                                            -> {"trusted": bool, "reason": str | null}
    GET|PUT|DELETE /_emulator/test-invoke   {"status", "body", "headers", "clientCertificateId"}
    GET|PUT|DELETE /_emulator/client-certificates  {"validitySeconds": 40}  (DELETE: back to 365 days)
    GET|PUT|DELETE /_emulator/onprem-routes {"routes": {"192.168.10.5:443": "127.0.0.1:8443"}} (loopback only)
    GET    /_emulator/invoke-endpoint       {"host": "127.0.0.1", "port": N}: the stages' default endpoint
                                            (HTTPS, started on first use; Host
                                            <api-id>.execute-api.<region>.amazonaws.com)
    GET    /_emulator/domain-endpoint       {"host": "127.0.0.1", "port": N}: every custom domain name with
                                            mutual TLS (started on first use; SNI/Host <domain name>)
    POST   /_emulator/reset                 moto reset of every backend + all emulator state
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from . import patches
from .apigateway import ApiGatewayExtension, TestInvokeAnswer, rest_integrations_using
from .dataplane.healthcheck import HEALTH_CHECKS
from .dataplane.network import ONPREM
from .delays import DELAYS
from .elb_truststores import BUNDLE_PATH, TRUST_STORES
from .faults import FaultConfig, FaultInjector, fault_reply
from .guards import refuse, requested_key_algorithm
from .publicca import PUBLIC_CA
from .quotas import QUOTAS, throttled_reply
from .reply import Reply, StartResponse, json_reply, rest_json_error
from .requestlog import RequestLog
from .routing import AwsCall, OperationResolver, default_resolver, parse_call
from .targethealth import TARGET_HEALTH
from .vpclinks_v2 import VpcLinksV2

logger = logging.getLogger(__name__)

CONTROL_PREFIX = "/_emulator"


def reset_listeners() -> None:
    """Forget what the loopback listeners cached (their ports stay)."""
    from .dataplane.domains import DOMAIN_ENDPOINT

    DOMAIN_ENDPOINT.reset()


def stop_listeners() -> None:
    """End the loopback listeners' threads (each starts again on its next use)."""
    from .dataplane.domains import DOMAIN_ENDPOINT
    from .dataplane.endpoints import INVOKE_ENDPOINT

    INVOKE_ENDPOINT.stop()
    DOMAIN_ENDPOINT.stop()


def reset_moto() -> None:
    """Reset every moto backend of this process (what moto's ``POST /moto-api/reset`` does)."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()


class EmulatorApp:
    """WSGI application: the control API, then our middleware in front of moto's server app."""

    def __init__(self, resolver: OperationResolver | None = None) -> None:
        patches.apply()
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        self.moto_app = DomainDispatcherApplication(create_backend_app)
        self.resolver = resolver or default_resolver()
        self.log = RequestLog()
        self.faults = FaultInjector()
        self.apigateway = ApiGatewayExtension()
        self.vpc_links_v2 = VpcLinksV2(rest_integrations_using)

    # -- WSGI ------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO") or "")
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            return self._control(environ, start_response)
        try:
            call = parse_call(environ, self.resolver)
        except Exception:
            logger.exception("could not parse request %s %s", environ.get("REQUEST_METHOD"), path)
            return self._moto(environ, start_response, None)
        head = call.method == "HEAD"
        try:
            DELAYS.sweep()
        except Exception:
            logger.exception("scheduled removal failed")
        latency, fault = self.faults.decide(call)
        if latency > 0:
            time.sleep(latency)
        if fault is not None:
            reply = fault_reply(call, fault)
            self._record(call, reply.status, fault)
            return reply(start_response, head)
        wait = QUOTAS.admit(call)
        if wait is not None:
            reply = throttled_reply(call, wait)
            self._record(call, reply.status, "quota")
            return reply(start_response, head)
        try:
            reply_or_none = QUOTAS.resource_refusal(call) or refuse(call)
            if reply_or_none is None and self.apigateway.handles(call):
                reply_or_none = self.apigateway.handle(call)
            elif reply_or_none is None and self.vpc_links_v2.handles(call):
                reply_or_none = self.vpc_links_v2.handle(call)
        except Exception as err:
            logger.exception("emulator extension failed on %s.%s", call.service, call.operation)
            reply_or_none = rest_json_error(500, "InternalFailure", f"emulator error: {err}")
        if reply_or_none is not None:
            self._record(call, reply_or_none.status, None)
            return reply_or_none(start_response, head)
        return self._moto(environ, start_response, call)

    def _moto(self, environ: dict[str, Any], start_response: StartResponse, call: AwsCall | None) -> Iterable[bytes]:
        captured: list[tuple[str, list[tuple[str, str]]]] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured.append((status, headers))
            return lambda data: None

        before = self._before_moto(call)
        try:
            result = self.moto_app(environ, capture)
            try:
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            status_line, headers = captured[-1]
            reply = Reply(int(status_line.split()[0]), body, list(headers))
        except NotImplementedError as err:
            # Answer at once with a status botocore does not retry, naming what is missing.
            operation = call.operation if call else "this operation"
            reply = rest_json_error(501, "NotImplemented", f"The emulator (moto) does not implement {operation}: {err}")
        except Exception as err:
            logger.exception("moto failed on %s", call.operation if call else environ.get("PATH_INFO"))
            reply = rest_json_error(500, "InternalFailure", f"moto error: {type(err).__name__}: {err}")
        finally:
            patches.REQUEST.key_algorithm = None
        if call is not None:
            if 200 <= reply.status < 300:
                self._after_moto(call, before)
            self._record(call, reply.status, None)
        return reply(start_response, environ.get("REQUEST_METHOD") == "HEAD")

    @staticmethod
    def _before_moto(call: AwsCall | None) -> Any:
        """What the after-hook needs to know about the state before moto serves ``call``."""
        if call is None:
            return None
        if call.service == "acm" and call.operation == "RequestCertificate":
            patches.REQUEST.key_algorithm = requested_key_algorithm(call)
        if call.service == "s3" and call.operation == "PutBucketVersioning":
            return patches.s3_bucket(call)
        return None

    @staticmethod
    def _after_moto(call: AwsCall, before: Any) -> None:
        if call.service == "route53" and call.operation in ("ChangeResourceRecordSets", "DeleteHostedZone"):
            DELAYS.observe_dns(call.account_id)
        if call.service == "s3" and call.operation == "PutBucketVersioning" and before is not None:
            bucket, previous = before
            if previous is None and bucket.versioning_status == "Enabled":
                patches.note_versioning_enabled(bucket)

    def _record(self, call: AwsCall, status: int, fault: str | None) -> None:
        self.log.append(
            service=call.service,
            operation=call.operation,
            region=call.region,
            status=status,
            write=call.write,
            fault=fault,
            user_agent=call.headers.get("user-agent", ""),
        )
        if fault is None:
            slow = self.faults.answer_delay(call)
            if slow > 0:
                time.sleep(slow)  # after the log entry: the call is seen to have happened, its answer is late

    # -- state -------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget every emulated AWS resource and every emulator setting (faults, delays, answers)."""
        reset_moto()
        patches.clear_extras()
        self.apigateway.reset()
        DELAYS.reset()
        QUOTAS.reset()
        TARGET_HEALTH.clear()
        HEALTH_CHECKS.clear()
        TRUST_STORES.reset()
        ONPREM.clear()
        reset_listeners()
        self.faults.clear()
        self.log.clear()

    # -- control API -------------------------------------------------------------------------------
    def _control(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        path = str(environ.get("PATH_INFO") or "")[len(CONTROL_PREFIX) :].rstrip("/")
        query = parse_qs(str(environ.get("QUERY_STRING") or ""))
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        raw = environ["wsgi.input"].read(length) if length > 0 else b""
        try:
            body = json.loads(raw) if raw.strip() else {}
            if not isinstance(body, dict):
                raise ValueError("the request body must be a JSON object")
            reply = self._control_route(method, path, query, body)
        except ValueError as err:
            reply = json_reply(400, {"message": str(err)})
        except Exception as err:
            logger.exception("control request %s %s failed", method, path)
            reply = json_reply(500, {"message": f"{type(err).__name__}: {err}"})
        return reply(start_response, method == "HEAD")

    def _control_route(self, method: str, path: str, query: dict[str, list[str]], body: dict[str, Any]) -> Reply:
        allowed = {
            "/health": ("GET",),
            "/requests": ("GET", "DELETE"),
            "/faults": ("GET", "PUT", "DELETE"),
            "/delays": ("GET", "PUT", "DELETE"),
            "/quotas": ("GET", "PUT", "DELETE"),
            "/target-health": ("GET", "PUT", "DELETE"),
            "/public-ca": ("GET",),
            "/public-ca/certificates": ("POST",),
            "/public-ca/verify": ("POST",),
            "/test-invoke": ("GET", "PUT", "DELETE"),
            "/client-certificates": ("GET", "PUT", "DELETE"),
            "/reset": ("POST",),
            "/onprem-routes": ("GET", "PUT", "DELETE"),
            "/invoke-endpoint": ("GET",),
            "/domain-endpoint": ("GET",),
            BUNDLE_PATH[len(CONTROL_PREFIX) :]: ("GET",),
        }
        if path not in allowed:
            return json_reply(404, {"message": f"unknown control path {CONTROL_PREFIX}{path}"})
        if method not in allowed[path]:
            return json_reply(405, {"message": f"{method} not allowed on {CONTROL_PREFIX}{path}"})
        result: dict[str, Any]
        if path == BUNDLE_PATH[len(CONTROL_PREFIX) :]:
            # GetTrustStoreCaCertificatesBundle's Location (AWS: a pre-signed S3 URL)
            store = TRUST_STORES.find((query.get("arn") or [""])[0])
            if store is None:
                return json_reply(404, {"message": "no such trust store"})
            return Reply(200, store.bundle, [("Content-Type", "application/x-pem-file")])
        if path == "/invoke-endpoint":
            from .dataplane.endpoints import INVOKE_ENDPOINT

            return json_reply(200, INVOKE_ENDPOINT.to_json())
        if path == "/domain-endpoint":
            from .dataplane.domains import DOMAIN_ENDPOINT

            return json_reply(200, DOMAIN_ENDPOINT.to_json())
        if path == "/onprem-routes":
            if method == "PUT":
                routes = body.get("routes")
                if not isinstance(routes, dict):
                    raise ValueError('give {"routes": {"192.168.10.5:443": "127.0.0.1:PORT"}}')
                ONPREM.set(routes)
            elif method == "DELETE":
                ONPREM.clear()
            return json_reply(200, ONPREM.to_json())
        if path == "/health":
            result = {"ok": True}
        elif path == "/requests":
            if method == "DELETE":
                self.log.clear()
            result = self.log.to_json(int((query.get("since") or ["0"])[0]))
        elif path == "/faults":
            if method == "PUT":
                self.faults.configure(FaultConfig.from_json(body))
            elif method == "DELETE":
                self.faults.clear()
            result = {"faults": self.faults.config().to_json()}
        elif path == "/delays":
            if method == "PUT":
                DELAYS.update(body)
            elif method == "DELETE":
                DELAYS.restore_defaults()
            result = DELAYS.to_json()
        elif path == "/quotas":
            if method == "PUT":
                unknown = sorted(set(body) - {"enabled", "timeScale"})
                if unknown or not body:
                    raise ValueError("give 'enabled' (bool) and/or 'timeScale' (> 0; 1 = AWS's rates)")
                enabled = body.get("enabled")
                if enabled is not None and not isinstance(enabled, bool):
                    raise ValueError("enabled must be true or false")
                scale = body.get("timeScale")
                QUOTAS.configure(enabled=enabled, time_scale=float(scale) if scale is not None else None)
            elif method == "DELETE":
                QUOTAS.reset()
            result = QUOTAS.to_json()
        elif path == "/target-health":
            if method == "PUT":
                TARGET_HEALTH.set(
                    str(body.get("targetId") or ""),
                    str(body.get("state") or ""),
                    target_group_arn=body.get("targetGroupArn"),
                    port=body.get("port"),
                )
            elif method == "DELETE":
                TARGET_HEALTH.clear()
            result = TARGET_HEALTH.to_json()
        elif path == "/public-ca":
            result = PUBLIC_CA.to_json()
        elif path == "/public-ca/certificates":
            result = self._issue_public_certificate(body)
        elif path == "/public-ca/verify":
            result = self._verify_public_certificate(body)
        elif path == "/test-invoke":
            if method == "PUT":
                answer = TestInvokeAnswer.from_json(body)
                self.apigateway.set_test_invoke_answer(answer, body.get("clientCertificateId"))
            elif method == "DELETE":
                self.apigateway.clear_test_invoke_answers()
            result = self.apigateway.test_invoke_answers()
        elif path == "/client-certificates":
            if method == "PUT":
                if "validitySeconds" not in body:
                    raise ValueError("validitySeconds is required")
                self.apigateway.set_client_certificate_validity(float(body["validitySeconds"]))
            elif method == "DELETE":
                self.apigateway.set_client_certificate_validity(None)
            result = self.apigateway.client_certificate_settings()
        else:
            self.reset()
            result = {"reset": True}
        return json_reply(200, result)

    @staticmethod
    def _issue_public_certificate(body: dict[str, Any]) -> dict[str, Any]:
        from datetime import timedelta

        sans = body.get("subjectAlternativeNames") or []
        if not isinstance(sans, list):
            raise ValueError("subjectAlternativeNames must be a list")
        days = float(body.get("validityDays", 90))
        if days <= 0:
            raise ValueError("validityDays must be positive")
        issued = PUBLIC_CA.issue(
            str(body.get("domainName") or ""),
            [str(n) for n in sans],
            str(body.get("keyAlgorithm") or "RSA_2048"),
            validity=timedelta(days=days),
        )
        return issued.to_json()

    @staticmethod
    def _verify_public_certificate(body: dict[str, Any]) -> dict[str, Any]:
        arn = body.get("certificateArn")
        if arn:
            cert = patches.acm_certificate(str(arn))
            if cert is None:
                raise ValueError(f"no ACM certificate {arn} in the emulator")
            certificate, chain = bytes(cert.cert), bytes(cert.chain or b"")
        else:
            if not body.get("certificate"):
                raise ValueError("give certificate (+ certificateChain) or certificateArn")
            certificate = str(body["certificate"]).encode()
            chain = str(body.get("certificateChain") or "").encode()
        problem = PUBLIC_CA.chain_problem(certificate, chain)
        return {"trusted": problem is None, "reason": problem}


class _QuietHandler(WSGIRequestHandler):
    """No access log line per request (the request log is the emulator's record)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class EmulatorServer:
    """The emulator on a loopback port, served by a threaded werkzeug server in a daemon thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.requested_port = port
        self.app: EmulatorApp | None = None
        self._port: int | None = None
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> EmulatorServer:
        if self._server is not None:
            return self
        self.app = EmulatorApp()
        self._server = make_server(
            self.host, self.requested_port, self.app, threaded=True, request_handler=_QuietHandler
        )
        self._port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws-emulator", daemon=True)
        self._thread.start()
        return self

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the emulator is not started")
        return self._port

    @property
    def endpoint_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    def reset(self) -> None:
        if self.app is None:
            raise RuntimeError("the emulator is not started")
        self.app.reset()

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=10)
        if server is not None:
            stop_listeners()  # the data plane's listeners end with the emulator that served them

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
