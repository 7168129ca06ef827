"""A ``grpc.health.v1`` probe: exit 0 only when the server answers SERVING.

For container health checks (the Dockerfile's ``HEALTHCHECK``) and anything
else without ``grpc_health_probe`` at hand::

    python -m ibeat_grpc.health_probe --addr 127.0.0.1:50051
    python -m ibeat_grpc.health_probe --addr ibeat:50051 --service ibeat.v1.Ibeat --tls-ca ca.pem

Health is open to all on a server started with ``--auth-token-file``
(:mod:`ibeat_grpc.auth`), so the probe carries no token. Exit status:

* 0: SERVING;
* 1: the server answered, but not SERVING (NOT_SERVING while it drains, UNKNOWN);
* 2: no answer (connection refused, deadline, TLS failure, NOT_FOUND for a
  service the server does not run): the RPC's status is printed.

It imports only grpc and the health stubs (no engine, no models), so a probe
costs a fraction of a second of CPU.
"""

from __future__ import annotations

import argparse
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

__all__ = ["check", "main"]

#: Seconds a probe waits for its answer, connection included.
DEFAULT_TIMEOUT_S = 3.0


def check(addr: str, *, service: str = "", timeout_s: float = DEFAULT_TIMEOUT_S,
          tls_ca=None, tls: bool = False) -> str:
    """The serving status name of ``service`` at ``addr`` (``"SERVING"``, ``"NOT_SERVING"``, ...).

    Raises
    ------
    grpc.RpcError
        No answer within ``timeout_s`` (refused, deadline, TLS).
    """
    if tls or tls_ca:
        roots = open(tls_ca, "rb").read() if tls_ca else None
        channel = grpc.secure_channel(addr, grpc.ssl_channel_credentials(roots))
    else:
        channel = grpc.insecure_channel(addr)
    with channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=timeout_s)
    return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ibeat_grpc.health_probe",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Ask a server's grpc.health.v1 service; exit 0 only on SERVING "
                    "(1: answered but not serving, 2: no answer).")
    parser.add_argument("--addr", default="127.0.0.1:50051", help="host:port of ibeat-server")
    parser.add_argument("--service", default="",
                        help="service to ask about ('' = the whole server, or ibeat.v1.Ibeat)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S,
                        help="seconds to wait for the answer")
    parser.add_argument("--tls", action="store_true", help="connect with TLS (system roots)")
    parser.add_argument("--tls-ca", help="connect with TLS, trusting this PEM certificate")
    parser.add_argument("--quiet", action="store_true", help="print nothing")
    args = parser.parse_args(argv)
    if not args.timeout > 0:
        parser.error(f"--timeout must be > 0, got {args.timeout}")
    try:
        status = check(args.addr, service=args.service, timeout_s=args.timeout,
                       tls_ca=args.tls_ca, tls=args.tls)
    except grpc.RpcError as e:
        if not args.quiet:
            print(f"health_probe: {args.addr}: no answer: {e.code().name} {e.details() or ''}"
                  .rstrip(), file=sys.stderr)
        return 2
    if not args.quiet:
        print(f"{args.addr} {args.service or '(server)'}: {status}")
    return 0 if status == "SERVING" else 1


if __name__ == "__main__":
    sys.exit(main())
