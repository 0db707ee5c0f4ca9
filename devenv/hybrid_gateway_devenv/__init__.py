"""hybrid-gateway-operator's development environment: a real API server + etcd, the AWS emulator, the sandbox.

A distribution of its own (``devenv/``, ``hybrid-gateway-devenv``): the operator's wheel and image do not
contain it.
"""
