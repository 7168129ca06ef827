"""The ibeat.v1 streams over WebSocket + JSON, for engine clients without HTTP/2.

``ibeat-server --ws-port N`` serves, beside gRPC and on the same event loop:

- ``ws://HOST:N/ibeat.v1.Ibeat/Session``: the ``Session`` stream;
- ``ws://HOST:N/ibeat.v1.Ibeat/Subscribe``: the ``Subscribe`` stream.

One message per text frame, in protobuf's canonical JSON mapping of
``ClientMessage`` (client -> server) and ``ServerMessage`` (server -> client):
lowerCamelCase names, enums by name, 64-bit integers as strings, fields at
their default left out. WebSocket has no half-close, so a client ends a
Session with ``{"end": {}}`` (``ClientMessage.end``): the server answers the
last ``SessionStats`` and closes normally (1000).

The streams run the gRPC servicer's own handlers (:class:`IbeatServicer`'s
``Session`` and ``Subscribe``) through :class:`WebSocketContext`, a stand-in for
``grpc.aio``'s context: the same pipeline, limits, statuses and session
registry (``--max-sessions`` counts both transports). A status ends the socket
with close code ``4000 + status code`` (:func:`close_code`: 4003
INVALID_ARGUMENT, 4004 DEADLINE_EXCEEDED, 4008 RESOURCE_EXHAUSTED, 4009
FAILED_PRECONDITION, 4013 INTERNAL, 4014 UNAVAILABLE, 4016 UNAUTHENTICATED) and the reason ``"NAME: message"`` cut to the 123
bytes a close frame holds; errors the reader hits (bad JSON, an unknown enum
name, a binary frame, a message over :data:`MAX_JSON_BYTES`) are
INVALID_ARGUMENT or RESOURCE_EXHAUSTED like their gRPC twins, never a bare 1011.
"""

from __future__ import annotations

import asyncio
import logging
from http import HTTPStatus

import grpc
from google.protobuf import json_format
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from .auth import token_ok
from .servicer import MAX_MESSAGE_BYTES, ClientGone, IbeatServicer, StreamError
from .v1 import ibeat_pb2 as pb

__all__ = ["SESSION_PATH", "SUBSCRIBE_PATH", "MAX_JSON_BYTES", "CLOSE_CODE_BASE",
           "close_code", "close_reason", "status_of_close", "to_json", "parse_client_message",
           "WebSocketContext", "serve_websocket"]

log = logging.getLogger("ibeat_grpc")

SESSION_PATH = "/ibeat.v1.Ibeat/Session"
SUBSCRIBE_PATH = "/ibeat.v1.Ibeat/Subscribe"
#: Largest text frame accepted [bytes]: JSON spells a frame out about 3-4x
#: longer than protobuf, so 4x the gRPC limit (ServerInfo.max_message_bytes).
MAX_JSON_BYTES = 4 * MAX_MESSAGE_BYTES
#: Close code of a gRPC status: this + the status code (the private range 4000-4999).
CLOSE_CODE_BASE = 4000
#: A close frame's reason holds at most 123 bytes of UTF-8.
_MAX_REASON_BYTES = 123
#: Frames past twice the limit are not even read: the library closes with 1009.
_HARD_LIMIT_BYTES = 2 * MAX_JSON_BYTES


def close_code(code: grpc.StatusCode) -> int:
    """The WebSocket close code of a gRPC status: ``4000 + code`` (INVALID_ARGUMENT -> 4003)."""
    return CLOSE_CODE_BASE + code.value[0]


def status_of_close(code: int) -> grpc.StatusCode | None:
    """The gRPC status a close code carries (None for 1000 and codes outside 4000-4016)."""
    for status in grpc.StatusCode:
        if close_code(status) == code and status != grpc.StatusCode.OK:
            return status
    return None


def close_reason(code: grpc.StatusCode, message: str) -> str:
    """``"NAME: message"``, cut (with an ellipsis) to the 123 bytes of a close frame."""
    reason = f"{code.name}: {message}"
    raw = reason.encode()
    if len(raw) <= _MAX_REASON_BYTES:
        return reason
    return raw[:_MAX_REASON_BYTES - 3].decode(errors="ignore") + "..."


def to_json(message) -> str:
    """A message in protobuf's canonical JSON, on one line."""
    return json_format.MessageToJson(message, indent=None)


def parse_client_message(text: str) -> pb.ClientMessage:
    """A ``ClientMessage`` from its JSON.

    Raises
    ------
    StreamError
        INVALID_ARGUMENT for JSON that is not a ClientMessage (bad syntax, an
        unknown field or enum name, a wrong type), the parser's reason cut short.
    """
    try:
        return json_format.Parse(text, pb.ClientMessage())
    except json_format.ParseError as e:
        reason = str(e)
        if len(reason) > 200:
            reason = reason[:200] + "..."
        raise StreamError(grpc.StatusCode.INVALID_ARGUMENT,
                          f"not a JSON ClientMessage: {reason}") from None


class _Aborted(Exception):
    """The stream was ended with a status (the socket is closed)."""


class WebSocketContext:
    """What the servicer's handlers use of a ``grpc.aio`` context, over one WebSocket.

    Parameters
    ----------
    websocket : websockets.asyncio.server.ServerConnection
    """

    def __init__(self, websocket: ServerConnection):
        self.websocket = websocket

    def peer(self) -> str:
        host, port = self.websocket.remote_address[:2]
        return f"ws:{host}:{port}"

    async def read(self) -> pb.ClientMessage:
        """The next client message.

        Raises
        ------
        ClientGone
            The client closed the socket (without ``end``) or the connection broke.
        StreamError
            A binary frame, a frame over :data:`MAX_JSON_BYTES`, or bad JSON.
        """
        try:
            data = await self.websocket.recv()
        except ConnectionClosed:
            raise ClientGone() from None
        if not isinstance(data, str):
            raise StreamError(grpc.StatusCode.INVALID_ARGUMENT,
                              "binary frame: send each ClientMessage as a JSON text frame")
        if len(data) > MAX_JSON_BYTES:
            raise StreamError(grpc.StatusCode.RESOURCE_EXHAUSTED,
                              f"message of {len(data)} bytes; the limit is {MAX_JSON_BYTES}")
        return parse_client_message(data)

    async def write(self, message):
        try:
            await self.websocket.send(to_json(message))
        except ConnectionClosed:
            raise ClientGone() from None

    async def abort(self, code: grpc.StatusCode, message: str):
        """Close the socket with the status; never returns (as ``grpc.aio``'s abort)."""
        await self.websocket.close(close_code(code), close_reason(code, message))
        raise _Aborted()


async def _drain(websocket: ServerConnection):
    """Read and forget what a listener sends, until it leaves."""
    try:
        async for _ in websocket:
            pass
    except ConnectionClosed:
        pass


def _handler(servicer: IbeatServicer, tokens):
    async def handle(websocket: ServerConnection):
        context = WebSocketContext(websocket)
        path = websocket.request.path
        try:
            if tokens and not token_ok(websocket.request.headers.get("Authorization"), tokens):
                # A close code, not an HTTP 401: a client (a browser, Godot) sees an HTTP
                # refusal only as a failed connection and would retry it for ever.
                await context.abort(grpc.StatusCode.UNAUTHENTICATED,
                                    "a valid token is needed: Authorization: Bearer <token>")
            if path == SESSION_PATH:
                await servicer.Session(None, context)
            else:
                # A listener sends nothing the stream needs; reading keeps the
                # connection's control frames flowing and notices it leaving.
                drain = asyncio.get_running_loop().create_task(_drain(websocket))
                stream = asyncio.get_running_loop().create_task(
                    servicer.Subscribe(pb.SubscribeRequest(), context))
                done, _ = await asyncio.wait({drain, stream},
                                             return_when=asyncio.FIRST_COMPLETED)
                if stream not in done:  # the listener left
                    stream.cancel()
                drain.cancel()
                outcome, _ = await asyncio.gather(stream, drain, return_exceptions=True)
                if isinstance(outcome, Exception):  # a cancelled stream is a BaseException
                    raise outcome
        except (_Aborted, ClientGone):
            return
        await websocket.close()
    return handle


def _check_path(connection: ServerConnection, request):
    """Refuse the upgrade of any path but the two streams (HTTP 404)."""
    if request.path not in (SESSION_PATH, SUBSCRIBE_PATH):
        return connection.respond(
            HTTPStatus.NOT_FOUND,
            f"no such stream {request.path!r}; use {SESSION_PATH} or {SUBSCRIBE_PATH}\n")
    return None


async def serve_websocket(servicer: IbeatServicer, host: str, port: int, *,
                          reuse_port: bool = False, tokens: tuple[bytes, ...] | None = None):
    """Start the WebSocket transport on the running loop; returns the ``websockets`` server.

    With ``tokens``, the upgrade request needs ``Authorization: Bearer <token>``; without
    it the socket is closed at once with 4016 UNAUTHENTICATED.

    Raises
    ------
    OSError
        The address could not be bound.
    """
    return await serve(_handler(servicer, tokens), host, port, process_request=_check_path,
                       max_size=_HARD_LIMIT_BYTES, compression=None, reuse_port=reuse_port,
                       logger=logging.getLogger("ibeat_grpc.websocket"))
