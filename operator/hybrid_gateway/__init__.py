"""hybrid-gateway-operator: Amazon API Gateway to on-prem HTTPS backends, kept correct by Kubernetes."""

GROUP = "hybridgateway.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

__version__ = "0.1.0"
