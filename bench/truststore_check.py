"""How long the MtlsDomain truststore check takes for 100, 1,000 and 3,000 certificates.

    .venv/bin/python bench/truststore_check.py [--sizes 100 1000 3000] [--repeat 3]

The certificates are chains root -> intermediate -> issuing CA (so the chain check has issuers to find),
EC P-256 and all signed with one key (only names and key identifiers tell the issuers apart). The check
is `hybrid_gateway.truststore.assemble`, as one pass runs it; 3,000 is over API Gateway's quota of 1,000,
so that run ends with the quota problem, after every other check (which is what a pass pays).
Nothing here asserts: it prints figures.
"""

from __future__ import annotations

import argparse
import time

import _env  # noqa: F401  # puts the repository root on sys.path (tests.mtls_certs)
from cryptography.hazmat.primitives.asymmetric import ec
from tests.mtls_certs import make_ca

from hybrid_gateway.truststore import MAX_CERTIFICATES, Source, TruststoreInvalid, assemble


def chains(count: int) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    pems: list[str] = []
    for n in range(0, count, 3):
        root = make_ca(f"Root {n}", key=key)
        middle = make_ca(f"Intermediate {n}", key=key, issuer=root)
        issuing = make_ca(f"Issuing {n}", key=key, issuer=middle)
        pems += [ca.pem for ca in (root, middle, issuing)][: count - n]
    return "".join(pems)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 3000])
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the best is shown")
    args = parser.parse_args()
    print(f"{'certificates':>12}  {'check (s)':>9}  result")
    for size in args.sizes:
        sources = [Source("Secret/bench/ca.crt", chains(size))]
        best, result = float("inf"), ""
        for _ in range(args.repeat):
            started = time.perf_counter()
            try:
                store = assemble(sources)
                result = f"ok ({len(store.certificates)} certificates, {len(store.pem)} bytes)"
            except TruststoreInvalid as exc:
                result = f"refused: {len(exc.problems)} problem(s), first: {exc.problems[0][:80]}"
            best = min(best, time.perf_counter() - started)
        print(f"{size:>12}  {best:>9.3f}  {result}")
    print(f"(API Gateway takes at most {MAX_CERTIFICATES} certificates per truststore)")


if __name__ == "__main__":
    main()
