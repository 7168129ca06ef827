"""Bearer-token authentication: ``ibeat-server --auth-token-file F`` and the clients' ``--token``.

Every RPC but ``grpc.health.v1.Health`` (orchestrators probe it without
secrets) needs the metadata ``authorization: Bearer <token>`` with one of the
tokens of the file, else it ends with UNAUTHENTICATED before any handler runs;
the WebSocket transport takes the same header on its upgrade request (HTTP 401
otherwise). Tokens are compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
import os
from collections import namedtuple
from pathlib import Path

import grpc

__all__ = ["TOKEN_ENV", "HEALTH_PREFIX", "load_tokens", "token_ok", "TokenAuth",
           "token_metadata", "with_token"]

#: Environment variable the clients read their token from (``--token`` wins).
TOKEN_ENV = "IBEAT_TOKEN"
#: Methods anyone may call.
HEALTH_PREFIX = "/grpc.health.v1.Health/"
_DENIED = "a valid token is needed: authorization: Bearer <token> (ibeat-server --auth-token-file)"


def load_tokens(path) -> tuple[bytes, ...]:
    """The tokens of a file: one per line; blank lines and ``#`` comments are skipped.

    Raises
    ------
    ValueError
        A file without a token, or a token with spaces (which a header cannot carry).
    """
    lines = [line.strip() for line in Path(path).read_text().splitlines()]
    tokens = [line for line in lines if line and not line.startswith("#")]
    if not tokens:
        raise ValueError(f"{path} holds no token (one per line)")
    if any(" " in t or "\t" in t for t in tokens):
        raise ValueError(f"{path}: a token cannot contain spaces")
    return tuple(t.encode() for t in tokens)


def token_ok(authorization: str | None, tokens: tuple[bytes, ...]) -> bool:
    """Whether an ``authorization`` header value carries one of ``tokens`` (constant time)."""
    if not authorization or not authorization.startswith("Bearer "):
        return False
    given = authorization[len("Bearer "):].strip().encode()
    # Compare with every token, so the time does not tell which one nearly matched.
    return sum(hmac.compare_digest(given, t) for t in tokens) > 0


class TokenAuth(grpc.aio.ServerInterceptor):
    """Ends every call without a valid token with UNAUTHENTICATED; health is open."""

    def __init__(self, tokens: tuple[bytes, ...]):
        self.tokens = tokens

    async def intercept_service(self, continuation, details):
        handler = await continuation(details)
        if handler is None or details.method.startswith(HEALTH_PREFIX):
            return handler
        metadata = dict(details.invocation_metadata or ())
        if token_ok(metadata.get("authorization"), self.tokens):
            return handler
        return _denied_like(handler)


def _denied_like(handler):
    """A handler of the same kind as ``handler`` that refuses the call."""
    async def deny(request_or_iterator, context):
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, _DENIED)

    kinds = {(False, False): grpc.unary_unary_rpc_method_handler,
             (False, True): grpc.unary_stream_rpc_method_handler,
             (True, False): grpc.stream_unary_rpc_method_handler,
             (True, True): grpc.stream_stream_rpc_method_handler}
    make = kinds[(handler.request_streaming, handler.response_streaming)]
    return make(deny, request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer)


def token_metadata(token: str | None) -> tuple:
    """Call metadata carrying ``token`` (or ``$IBEAT_TOKEN``); empty without one."""
    token = token or os.environ.get(TOKEN_ENV)
    return (("authorization", f"Bearer {token}"),) if token else ()


class _CallDetails(namedtuple("_CallDetails", ("method", "timeout", "metadata", "credentials",
                                               "wait_for_ready", "compression")),
                   grpc.ClientCallDetails):
    pass


class _AddMetadata(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
                   grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    def __init__(self, metadata: tuple):
        self.metadata = metadata

    def _details(self, details):
        return _CallDetails(details.method, details.timeout,
                            tuple(details.metadata or ()) + self.metadata, details.credentials,
                            details.wait_for_ready, details.compression)

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation, details, requests):
        return continuation(self._details(details), requests)

    def intercept_stream_stream(self, continuation, details, requests):
        return continuation(self._details(details), requests)


def with_token(channel: grpc.Channel, token: str | None) -> grpc.Channel:
    """``channel`` sending ``token`` (or ``$IBEAT_TOKEN``) on every call; as is without one."""
    metadata = token_metadata(token)
    return grpc.intercept_channel(channel, _AddMetadata(metadata)) if metadata else channel
