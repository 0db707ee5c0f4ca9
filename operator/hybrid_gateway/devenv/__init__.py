"""Local development environment: a real API server + etcd, the AWS emulator, the sandbox."""
