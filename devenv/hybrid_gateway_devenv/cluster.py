"""A real kube-apiserver + etcd on loopback, for tests and the sandbox (see shared/design/envtest.md).

Binaries: `KUBEBUILDER_ASSETS` (envtest convention), else PATH, else the cache that
`hack/install-test-deps.sh` fills by building kube-apiserver once from Debian's source package.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ADMIN_USER = "admin"
OPERATOR_USER = "hybrid-gateway-operator"
OPERATOR_CLUSTER_ROLE = "hybrid-gateway-operator"


def cache_dir() -> Path:
    base = os.environ.get("HYBRID_GATEWAY_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "hybrid-gateway"
    )
    return Path(base)


def find_binary(name: str) -> str:
    assets = os.environ.get("KUBEBUILDER_ASSETS")
    candidates = [Path(assets) / name] if assets else []
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    candidates.append(cache_dir() / "bin" / name)
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise FileNotFoundError(
        f"{name} not found in KUBEBUILDER_ASSETS, PATH or {cache_dir() / 'bin'}: run hack/install-test-deps.sh"
    )


def serving_certificate(workdir: Path) -> tuple[Path, Path, Path]:
    """A CA of this cluster and a serving certificate it signs for 127.0.0.1 and localhost: the kubeconfigs
    pin the CA, so every client verifies the API server (no insecure-skip-tls-verify). Returns the CA,
    certificate and key files."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hybrid-gateway test cluster CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=7))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    certs = workdir / "serving"
    certs.mkdir(parents=True, exist_ok=True)
    ca_file, cert_file, key_file = certs / "ca.crt", certs / "apiserver.crt", certs / "apiserver.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_file.chmod(0o600)
    return ca_file, cert_file, key_file


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class KubectlError(subprocess.CalledProcessError):
    """A failed kubectl command whose message says what kubectl said (a bare CalledProcessError does not)."""

    def __str__(self) -> str:
        return f"{super().__str__()}\nstderr: {(self.stderr or '').strip()[-2000:]}"


@dataclass
class LocalCluster:
    """etcd + kube-apiserver as child processes; kubeconfigs for an admin and for the operator's user."""

    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="hybrid-gateway-cluster-")))
    api_port: int = 0
    ca_file: Path | None = None  # the CA that signed the API server's serving certificate
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.api_port}"

    @property
    def admin_kubeconfig(self) -> Path:
        return self.workdir / "admin.kubeconfig"

    @property
    def operator_kubeconfig(self) -> Path:
        return self.workdir / "operator.kubeconfig"

    def start(self, timeout: float = 60.0) -> LocalCluster:
        etcd = find_binary("etcd")
        apiserver = find_binary("kube-apiserver")
        etcd_port, peer_port = free_port(), free_port()
        self.api_port = self.api_port or free_port()
        logs = self.workdir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self._procs.append(self._spawn([
            etcd, "--data-dir", str(self.workdir / "etcd"),
            "--listen-client-urls", f"http://127.0.0.1:{etcd_port}",
            "--advertise-client-urls", f"http://127.0.0.1:{etcd_port}",
            "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-cluster", f"default=http://127.0.0.1:{peer_port}",
            "--unsafe-no-fsync",
        ], logs / "etcd.log"))

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        sa_key = self.workdir / "sa.key"
        sa_key.write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        ))
        admin_token, operator_token = os.urandom(16).hex(), os.urandom(16).hex()
        tokens = self.workdir / "tokens.csv"
        tokens.write_text(
            f'{admin_token},{ADMIN_USER},1,"system:masters"\n{operator_token},{OPERATOR_USER},2\n'
        )
        tokens.chmod(0o600)
        self.ca_file, cert_file, key_file = serving_certificate(self.workdir)
        self._procs.append(self._spawn([
            apiserver,
            f"--etcd-servers=http://127.0.0.1:{etcd_port}",
            f"--cert-dir={self.workdir / 'certs'}",
            f"--tls-cert-file={cert_file}",
            f"--tls-private-key-file={key_file}",
            f"--secure-port={self.api_port}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            "--service-account-issuer=https://kubernetes.default.svc",
            f"--service-account-key-file={sa_key}",
            f"--service-account-signing-key-file={sa_key}",
            "--service-cluster-ip-range=10.96.0.0/16",
            "--authorization-mode=RBAC",
            f"--token-auth-file={tokens}",
            "--disable-admission-plugins=ServiceAccount",
            "--allow-privileged=true",
        ], logs / "kube-apiserver.log"))
        self._write_kubeconfig(self.admin_kubeconfig, ADMIN_USER, admin_token)
        self._write_kubeconfig(self.operator_kubeconfig, OPERATOR_USER, operator_token)
        self._wait_ready(admin_token, timeout)
        return self

    def _spawn(self, argv: list[str], log_path: Path) -> subprocess.Popen[bytes]:
        log_file = open(log_path, "wb")  # noqa: SIM115 - lives as long as the process
        return subprocess.Popen(argv, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)

    def _write_kubeconfig(self, path: Path, user: str, token: str) -> None:
        assert self.ca_file is not None
        ca_data = base64.b64encode(self.ca_file.read_bytes()).decode()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "local",
                          "cluster": {"server": self.server, "certificate-authority-data": ca_data}}],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [{"name": user, "context": {"cluster": "local", "user": user, "namespace": "default"}}],
            "current-context": user,
        }
        path.write_text(yaml.safe_dump(config))
        path.chmod(0o600)

    def _wait_ready(self, token: str, timeout: float) -> None:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            for proc in self._procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}; logs in {self.workdir / 'logs'}")
            try:
                req = urllib.request.Request(f"{self.server}/readyz", headers={"Authorization": f"Bearer {token}"})
                with urllib.request.urlopen(req, context=context, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except Exception as exc:
                last = str(exc)
            time.sleep(0.2)
        raise TimeoutError(f"kube-apiserver not ready after {timeout}s: {last}")

    def kubectl(self, *args: str, as_operator: bool = False, input: str | None = None,
                check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        kubeconfig = self.operator_kubeconfig if as_operator else self.admin_kubeconfig
        proc = subprocess.run(
            ["kubectl", f"--kubeconfig={kubeconfig}", *args],
            input=input, capture_output=True, text=True, timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise KubectlError(proc.returncode, proc.args, proc.stdout, proc.stderr)
        return proc

    def service_account_kubeconfig(self, namespace: str, name: str, path: Path, duration: str = "2h") -> Path:
        """A kubeconfig that authenticates as ServiceAccount `namespace/name` (a TokenRequest token), as a
        pod of that ServiceAccount would: only what RBAC grants that ServiceAccount applies."""
        token = self.kubectl("create", "token", name, "-n", namespace, f"--duration={duration}").stdout.strip()
        self._write_kubeconfig(path, f"system:serviceaccount:{namespace}:{name}", token)
        return path

    def install_crds(self, crd_dir: Path) -> None:
        self.kubectl("apply", "-f", str(crd_dir))
        self.kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", str(crd_dir))

    def bind_operator_role(self, cluster_role_file: Path) -> None:
        """Bind the operator's user to the ClusterRole shipped in deploy/ (and nothing else)."""
        self.kubectl("apply", "-f", str(cluster_role_file))
        binding = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "hybrid-gateway-operator-test"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": OPERATOR_CLUSTER_ROLE},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": OPERATOR_USER}],
        }
        self.kubectl("apply", "-f", "-", input=yaml.safe_dump(binding))

    def stop(self) -> None:
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self._procs):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs.clear()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
