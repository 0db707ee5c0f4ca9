"""MtlsDomain: an API Gateway regional custom domain with mutual TLS, mapped to HybridApi stages."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import BeforeValidator, Field, model_validator

from hybrid_gateway.api.v1alpha1.common import (
    ACM_ARN_PATTERN,
    BASE_PATH_PATTERN,
    AcmCertificateArn,
    CertificateRequest,
    CertificateSource,
    CertificateStatus,
    Column,
    Conditions,
    ConfigMapKeyRef,
    DateTime,
    Described,
    HostedZoneId,
    HostName,
    HybridApiRef,
    Kind,
    Model,
    Rules,
    S3Bucket,
    S3Key,
    SecretKeyRef,
    SecretOrConfigMapKey,
    SpecBase,
    StageName,
    StatusBase,
    acm_certificate_arn_field,
    certificate_request_field,
    conditions_field,
    invalid,
    list_map,
)


class ConditionType(Described):
    """The hop conditions of an MtlsDomain (besides Ready, Reconciling, Stalled)."""

    TRUSTSTORE_VALID = "TruststoreValid"
    CERTIFICATE_READY = "CertificateReady"
    DOMAIN_READY = "DomainReady"
    MAPPINGS_READY = "MappingsReady"
    DEFAULT_ENDPOINTS_DISABLED = "DefaultEndpointsDisabled"
    DNS_READY = "DnsReady"


class Resource(Described):
    """Keys of status.resources: the AWS resources an MtlsDomain owns or uses."""

    CERTIFICATE_ARN = "certificateArn", "ARN of the domain's regional ACM certificate."
    VALIDATION_RECORD_NAME = "validationRecordName", (
        "Name of the Route 53 CNAME record that validates the requested regional certificate.")
    OWNERSHIP_CERTIFICATE_ARN = "ownershipCertificateArn", (
        "ARN of the ownership-verification certificate (given in the spec or requested by the operator).")
    OWNERSHIP_VALIDATION_RECORD_NAME = "ownershipValidationRecordName", (
        "Name of the Route 53 CNAME record that validates the requested ownership-verification certificate.")
    TRUSTSTORE_BUCKET = "truststoreBucket", "S3 bucket of the truststore."
    TRUSTSTORE_URI = "truststoreUri", "S3 URI of the truststore object."
    DOMAIN_NAME = "domainName", "The API Gateway custom domain name."
    BASE_PATH_MAPPINGS = "basePathMappings", "Domain name whose base path mappings this object writes."
    DNS_RECORD_NAME = "dnsRecordName", "Name of the Route 53 alias record to the regional domain name."


# --------------------------------------------------------------------------------------------
# spec
# --------------------------------------------------------------------------------------------


class DomainCertificate(CertificateSource):
    acm_certificate_arn: AcmCertificateArn | None = acm_certificate_arn_field("domainName")
    request: CertificateRequest | None = certificate_request_field("domainName", "hostedZoneId")


class TruststoreSource(SecretOrConfigMapKey):
    """One PEM bundle of client CA certificates. Set exactly one of secretRef and configMapRef."""

    secret_ref: SecretKeyRef | None = Field(None, description=(
        "A Secret key holding PEM CA certificates, for example `{name: partner-a-ca, key: ca.crt}`. Only this key "
        "is read (other keys of the Secret may hold anything); a key that is not UTF-8 text is Stalled "
        "(TruststoreSourceInvalid)."))
    config_map_ref: ConfigMapKeyRef | None = Field(None, description=(
        "A ConfigMap key holding PEM CA certificates, for example `{name: partner-b-ca, key: ca.pem}`."))

    one_of_reason = "InvalidTruststoreSource"

    @property
    def label(self) -> str:
        """`Secret/<name>/<key>` or `ConfigMap/<name>/<key>`, as status.truststore.certificates[].source shows."""
        return f"{self.kind}/{self.ref.name}/{self.ref.key}"


class Truststore(Model):
    """The client CAs that may call the domain (mutual TLS). The operator concatenates the sources, checks
    them the way API Gateway does (SHA-256 or stronger signatures, RSA >= 2048 or ECDSA >= 256 bits, chains of
    at most 4, not expired, and API Gateway's truststore quota: at most 1,000 distinct certificates and 1 MB of
    PEM in all), uploads the bundle to a versioned S3 object only when its content changed, and pins the
    domain to that object version. A bundle that breaks a rule is Stalled (TruststoreInvalid) and nothing is
    uploaded. Required."""

    sources: Annotated[tuple[TruststoreSource, ...], Rules(minItems=1, maxItems=32)] = Field(description=(
        "Where the CA certificates come from. Required: 1 to 32 entries, each exactly one of secretRef or "
        "configMapRef."))
    bucket: S3Bucket = Field(description=(
        "S3 bucket (same Region, versioning enabled) for the truststore object, for example "
        "`team-a-truststores`. Required; 3 to 63 lower-case letters, digits, '.' and '-'."))
    key: S3Key | None = Field(None, description=(
        "Object key of the truststore in the bucket, for example `api.example.com/truststore.pem`. Optional; "
        "default `<domainName>/truststore.pem`. Must not start with '/'."))
    create_bucket: bool = Field(False, description=(
        "Create the bucket (with versioning and public access blocked) if it does not exist. Default false: "
        "the bucket must exist and have versioning enabled."))
    expiry_warning_days: Annotated[int, Rules(minimum=1, maximum=825)] = Field(30, description=(
        "Report a warning (status.truststore.warnings, an ExpiringSoon event) when a CA certificate in the "
        "truststore expires within this many days, 1 to 825. Default 30."))


def _base_path(value: Any) -> Any:
    return value.strip("/") if isinstance(value, str) else value


class Mapping(Model):
    """One base path of the domain that leads to a HybridApi stage."""

    hybrid_api_ref: HybridApiRef = Field(
        description="The HybridApi (same namespace) whose REST API is mapped. Required.")
    stage: StageName = Field(
        description="The HybridApi's stage to map (its spec.api.stage.name), for example `prod`. Required.")
    base_path: Annotated[str, Rules(maxLength=300, pattern=BASE_PATH_PATTERN), BeforeValidator(_base_path)] = Field(
        description=(
            "Path after the domain name that selects this API: one segment without '/', for example `orders` "
            "(API Gateway v1 base path mappings take no multi-level paths such as `orders/v2`); `\"\"` maps the "
            'root. Required (write `basePath: ""` for the root; it is the key of the list); unique in the list.'))

    @property
    def hybrid_api(self) -> str:
        return self.hybrid_api_ref.name


class MtlsDomainSpec(SpecBase):
    """Desired state: an API Gateway regional custom domain name with mutual TLS, its truststore, its base
    path mappings to HybridApi stages, and its Route 53 alias."""

    domain_name: HostName = Field(description=(
        "Fully qualified custom domain name clients call, for example `api.example.com`. Required: lower-case "
        "letters, digits, '-' and '.', at least one dot, no wildcard, at most 253 characters."))
    hosted_zone_id: HostedZoneId = Field(description=(
        "Id of the Route 53 hosted zone for domainName: the operator writes the alias record to the regional "
        "domain name there (and validation records when certificate.request is used), for example "
        "`Z0123456789ABCDEFGHIJ`. Required."))
    certificate: DomainCertificate = Field(description=(
        "The regional server certificate of the domain. Required. Set exactly one of acmCertificateArn, "
        "secretRef and request; setting none or more than one is rejected."))
    ownership_verification_certificate_arn: Annotated[
        str, Rules(pattern="^$|" + ACM_ARN_PATTERN, maxLength=2048)] | None = Field(None, description=(
            "ARN of a public ACM certificate for domainName that proves you own it; API Gateway needs one for "
            "mutual TLS when the certificate is imported (secretRef) or issued by a private CA. Optional; when "
            "needed and empty the operator requests and DNS-validates one "
            "(status.ownershipVerificationCertificateArn)."))
    security_policy: Literal["TLS_1_2"] = Field("TLS_1_2", description=(
        "TLS security policy of the domain. API Gateway allows mutual TLS only with the legacy `TLS_1_2` policy "
        "(TLS 1.2 and 1.3): the enhanced `SecurityPolicy_...` policies cannot be combined with mutual TLS, and "
        "`TLS_1_0` is too weak. Default `TLS_1_2`."))
    truststore: Truststore
    mappings: Annotated[tuple[Mapping, ...], Rules(maxItems=200), list_map("basePath")] | None = Field(
        None, description=(
            "Base path mappings of the domain to HybridApi stages, for example `[{hybridApiRef: {name: "
            "orders}, stage: prod, basePath: orders}]`. Optional; at most 200, each basePath once."))
    disable_default_endpoints: bool = Field(True, description=(
        "Turn off the default execute-api endpoint of every mapped API, so that clients cannot bypass mutual "
        "TLS. Default true."))

    @model_validator(mode="after")
    def _unique_base_paths(self) -> Self:
        seen: set[str] = set()
        for mapping in self.mappings or ():
            if mapping.base_path in seen:
                raise invalid("DuplicateBasePath", f"spec.mappings lists basePath {mapping.base_path!r} twice: "
                              "each base path maps one stage")
            seen.add(mapping.base_path)
        return self

    @property
    def ownership_arn(self) -> str | None:
        return self.ownership_verification_certificate_arn or None

    @property
    def truststore_key(self) -> str:
        """spec.truststore.key, by default `<domainName>/truststore.pem`."""
        return (self.truststore.key or f"{self.domain_name}/truststore.pem").lstrip("/")

    @property
    def truststore_uri(self) -> str:
        return f"s3://{self.truststore.bucket}/{self.truststore_key}"

    def disables_default_endpoint_of(self, hybrid_api: str) -> bool:
        """Whether this domain maps the HybridApi named `hybrid_api` and turns its default endpoint off."""
        return self.disable_default_endpoints and any(m.hybrid_api == hybrid_api for m in self.mappings or ())


# --------------------------------------------------------------------------------------------
# status
# --------------------------------------------------------------------------------------------


class TruststoreCertificate(Model):
    """One CA certificate."""

    subject: str | None = Field(None, description="Subject distinguished name.")
    issuer: str | None = Field(None, description="Issuer distinguished name.")
    not_after: DateTime | None = Field(None, description="When the certificate expires.")
    source: str | None = Field(None, description="Where it came from, for example `Secret/partner-a-ca/ca.crt`.")


class TruststoreStatus(Model):
    """The truststore the domain uses."""

    uri: str | None = Field(None, description=(
        "S3 URI of the truststore, for example `s3://team-a-truststores/api.example.com/truststore.pem`."))
    version: str | None = Field(None, description="S3 object version the domain is pinned to.")
    sha256: str | None = Field(None, description="Hex SHA-256 of the uploaded PEM bundle.")
    certificates: tuple[TruststoreCertificate, ...] | None = Field(
        None, description="The CA certificates in the truststore.")
    warnings: tuple[str, ...] | None = Field(None, description=(
        "Problems with the truststore: from API Gateway (truststoreWarnings) and certificates expiring within "
        "spec.truststore.expiryWarningDays."))


class MtlsDomainStatus(StatusBase):
    """Observed state, written by the operator."""

    conditions: Conditions | None = conditions_field(ConditionType)
    regional_domain_name: str | None = Field(None, description=(
        "Regional target of the custom domain that the alias record points at, for example "
        "`d-abc123.execute-api.ap-northeast-1.amazonaws.com`."))
    regional_hosted_zone_id: str | None = Field(
        None, description="Hosted zone id of regionalDomainName, for the alias.")
    certificate: CertificateStatus | None = Field(
        None, description="The domain's regional certificate and when it expires.")
    ownership_verification_certificate_arn: str | None = Field(None, description=(
        "ARN of the ownership-verification certificate in use (given in the spec or requested by the operator)."))
    truststore: TruststoreStatus | None = None
    resources: dict[Resource, str] | None = Field(
        None, description="Ids and names of the AWS resources this object owns or uses.")
    retiring: dict[Resource, tuple[str, ...]] | None = Field(None, description=(
        "Certificates that a replacement took over from (a new key type) and that are deleted once the "
        "domain uses the new one."))


MTLS_DOMAIN = Kind(
    kind="MtlsDomain",
    plural="mtlsdomains",
    short_names=("mtlsd",),
    description=(
        "MtlsDomain is an API Gateway regional custom domain name that only clients with a certificate from a "
        "trusted CA can call (mutual TLS), mapped to HybridApi stages."
    ),
    spec=MtlsDomainSpec,
    status=MtlsDomainStatus,
    columns=(
        Column("Domain", "string", "Custom domain name.", ".spec.domainName"),
        Column("Regional Domain", "string", "Regional target of the alias record.", ".status.regionalDomainName"),
        Column("Truststore Version", "string", "S3 version of the truststore in use.", ".status.truststore.version",
               priority=1),
    ),
)
