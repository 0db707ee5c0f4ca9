"""The emulated data plane: requests really flow API Gateway -> VPC link -> NLB -> ALB -> on-prem
target, over real TLS, and nothing leaves loopback (targets are reached through the on-prem
network map of the control API).

- :mod:`.network`: the on-prem network map (``192.168.10.5:443`` -> ``127.0.0.1:PORT``).
- :mod:`.tlshop`: one TLS handshake between two in-process ends (memory BIOs: a real handshake and
  real certificate checks, no socket or thread to start).
- :mod:`.path`: the request path and API Gateway's answers for each failure.
"""
