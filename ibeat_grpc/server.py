"""``ibeat-server``: the ``ibeat.v1.Ibeat`` gRPC service, with health checking and reflection.

The networks are loaded once and shared by every stream (they are stateless:
each stream owns its recurrent state). Beside ``ibeat.v1.Ibeat`` the server
runs the standard ``grpc.health.v1.Health`` service (``""`` and
``"ibeat.v1.Ibeat"`` report SERVING until shutdown) and server reflection, so
``grpcurl -plaintext localhost:50051 list`` works (``--no-reflection`` turns it off).
Idle streams, greedy addresses and an overloaded loop are handled by
:mod:`ibeat_grpc.load`.

The server is a ``grpc.aio`` server: one asyncio event loop serves every
stream (see :mod:`ibeat_grpc.servicer`). :func:`start_server` runs that loop in
a background thread owned by the returned :class:`RunningServer`, so it can be
used from synchronous code (tests, ``ibeat-server``'s main thread).

Shutdown (SIGINT, SIGTERM or :meth:`RunningServer.stop`): health turns
NOT_SERVING, new streams get UNAVAILABLE; with ``--drain-s S`` open Session
streams may run on for up to S seconds (behind a proxy, which sends new ones
elsewhere meanwhile); then every open stream (and listener) gets its last
SessionStats and ends with UNAVAILABLE "server is shutting down", then
``server.stop(grace)`` lets in-flight RPCs finish for ``grace`` seconds, then
the source (if any) stops.

With ``--camera N`` or ``--video FILE`` the server also runs a source of its
own, pose estimation and engine included, heard by any number of
``Subscribe`` listeners (:mod:`ibeat_grpc.source`). The source runs from start,
whether or not anyone listens. It needs one process: ``--workers > 1`` would
open the camera once per worker, so that combination is refused.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import ipaddress
import logging
import multiprocessing
import signal
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from ibeat_io.session_options import add_session_options, session_config_from_args
from ibeat_io.version import add_version_argument

from .auth import TokenAuth, load_tokens
from .load import MAX_BATCH_WINDOW_S, ServerLimits
from .observer import StreamObserver
from .servicer import (MAX_GAP_US, MAX_MESSAGE_BYTES, OUTBOX_SIZE, STATS_INTERVAL_US,
                       IbeatServicer)
from .source import DEFAULT_MAX_LISTENERS, SourceConfig, SourceHub, SourceRunner, video_source
from .v1 import ibeat_pb2 as pb
from .v1 import ibeat_pb2_grpc as pb_grpc

__all__ = ["DEFAULT_PORT", "DEFAULT_MAX_SESSIONS", "SERVICE_NAME", "RunningServer",
           "start_server", "exposure_warning", "main"]

#: Pose models (``ibeat_video.pose.POSE_MODELS``, not imported here: a server
#: without a source never loads MediaPipe).
POSE_MODELS = ("lite", "full")
DEFAULT_PORT = 50051
DEFAULT_MAX_SESSIONS = 64
#: Seconds in-flight RPCs get to finish on shutdown.
SHUTDOWN_GRACE_S = 5.0
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Ibeat"].full_name  # "ibeat.v1.Ibeat"

log = logging.getLogger("ibeat_grpc")


@dataclass
class RunningServer:
    """A started server: ``port`` is the bound port (useful with ``port=0``).

    The ``grpc.aio`` server lives on ``loop``, run by a background thread; the
    methods here are synchronous and may be called from any other thread.
    """

    server: grpc.aio.Server
    port: int
    servicer: IbeatServicer
    health: health.aio.HealthServicer
    address: str
    loop: asyncio.AbstractEventLoop = field(repr=False)
    thread: threading.Thread = field(repr=False)
    #: The server's own source, or None.
    source: SourceRunner | None = field(default=None, repr=False)
    #: The WebSocket transport's bound port, or None without one.
    ws_port: int | None = None
    ws_server: object = field(default=None, repr=False)
    #: The Prometheus endpoint's bound port, or None without one.
    metrics_port: int | None = None
    metrics: object = field(default=None, repr=False)
    _stop_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _stopped: bool = field(default=False, repr=False)
    _drain_cut: threading.Event = field(default_factory=threading.Event, repr=False)

    def cut_drain(self):
        """End a :meth:`stop`'s drain now (a second SIGTERM); safe from any thread."""
        self._drain_cut.set()

    def stop(self, grace_s: float = SHUTDOWN_GRACE_S, drain_s: float = 0.0):
        """Graceful stop; blocks until done.

        Health turns NOT_SERVING and new streams get UNAVAILABLE at once; open
        Session streams may run on for up to ``drain_s`` seconds (a proxy moves
        new ones elsewhere meanwhile); those still open then get their last
        stats and UNAVAILABLE, and ``server.stop(grace_s)`` lets in-flight RPCs
        finish. Stops the loop thread too; calling it again does nothing.
        """
        with self._stop_lock:
            if not self._stopped:
                self._stopped = True
                try:
                    asyncio.run_coroutine_threadsafe(self._shutdown(grace_s, drain_s),
                                                     self.loop).result()
                finally:
                    if self.source is not None:
                        self.source.stop()
                    if self.metrics is not None:
                        self.metrics.stop()
                    self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()

    async def _shutdown(self, grace_s: float, drain_s: float):
        await self.health.enter_graceful_shutdown()
        if self.ws_server is not None:
            self.ws_server.close(close_connections=False)  # no new sockets; open ones end below
        self.servicer.drain()
        end = self.loop.time() + drain_s
        while (self.servicer.active_sessions and self.loop.time() < end
               and not self._drain_cut.is_set()):
            await asyncio.sleep(0.05)
        self.servicer.shutdown()
        await self.server.stop(grace_s)
        if self.ws_server is not None:
            try:
                await asyncio.wait_for(self.ws_server.wait_closed(), grace_s)
            except asyncio.TimeoutError:
                self.ws_server.close()  # whatever is left: 1001 going away
                await self.ws_server.wait_closed()

    def wait(self):
        """Block until the server has stopped (:meth:`stop` from another thread)."""
        self.thread.join()


def _run_loop(loop: asyncio.AbstractEventLoop):
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def start_server(port: int = 0, *, host: str = "127.0.0.1", networks=None,
                 max_sessions: int = DEFAULT_MAX_SESSIONS, tls_cert=None, tls_key=None,
                 outbox_size: int = OUTBOX_SIZE, max_gap_us: int = MAX_GAP_US,
                 stats_interval_us: int = STATS_INTERVAL_US,
                 reuse_port: bool = False, source: SourceConfig | None = None,
                 max_listeners: int = DEFAULT_MAX_LISTENERS,
                 ws_port: int | None = None, auth_tokens: tuple[bytes, ...] | None = None,
                 tls_client_ca=None, limits: ServerLimits = ServerLimits(),
                 reflection_on: bool = True, metrics_port: int | None = None) -> RunningServer:
    """Build and start a server; ``port=0`` picks a free port (tests). Returns it running.

    Parameters
    ----------
    port : int
    host : str
    networks : ibeat_core.session.Networks, optional
        Default: the shipped networks, loaded once here.
    max_sessions : int
        Concurrent ``Session`` streams; one more gets RESOURCE_EXHAUSTED.
    tls_cert, tls_key : path-like, optional
        PEM certificate chain and private key: serve TLS instead of plaintext.
    outbox_size, max_gap_us, stats_interval_us : int
        Per-stream limits, see :mod:`ibeat_grpc.servicer`.
    reuse_port : bool
        Share the port with other server processes (SO_REUSEPORT): the kernel
        spreads new connections over them (``ibeat-server --workers``).
    source : SourceConfig, optional
        A camera or video of the server's own for ``Subscribe`` listeners
        (:func:`ibeat_grpc.source.video_source`); opened here, running from start.
    max_listeners : int
        Concurrent ``Subscribe`` streams; one more gets RESOURCE_EXHAUSTED.
    ws_port : int, optional
        Also serve the streams over WebSocket + JSON on this port (0: any free
        one; :mod:`ibeat_grpc.websocket`), plaintext; None: gRPC only.
    auth_tokens : tuple of bytes, optional
        Every RPC but health (and every WebSocket) needs ``authorization:
        Bearer <one of them>`` (:mod:`ibeat_grpc.auth`); None: open to all.
    tls_client_ca : path-like, optional
        PEM of the certificate authorities a client certificate must chain to:
        mutual TLS (needs ``tls_cert``); a client without one cannot connect.
    limits : ServerLimits
        Idle timeouts, the per-address cap, the overload rules (:mod:`ibeat_grpc.load`).
    reflection_on : bool
        Serve gRPC server reflection (``grpcurl ... list``).
    metrics_port : int, optional
        Serve Prometheus metrics at ``http://host:port/metrics`` (0: any free
        port; :mod:`ibeat_grpc.metrics`); None: none.

    Raises
    ------
    OSError
        The address could not be bound.
    ibeat_video.errors.SourceError, ibeat_core.errors.ParameterError
        The source could not be opened (no such camera or file, unknown pose model).
    """
    if max_sessions < 1:
        raise ValueError(f"max_sessions must be >= 1, got {max_sessions}")
    if max_listeners < 1:
        raise ValueError(f"max_listeners must be >= 1, got {max_listeners}")
    if (tls_cert is None) != (tls_key is None):
        raise ValueError("TLS needs both a certificate (--tls-cert) and a key (--tls-key)")
    if tls_client_ca is not None and tls_cert is None:
        raise ValueError("mutual TLS (--tls-client-ca) needs --tls-cert and --tls-key")
    creds = None
    if tls_cert is not None:
        creds = grpc.ssl_server_credentials(
            [(Path(tls_key).read_bytes(), Path(tls_cert).read_bytes())],
            root_certificates=Path(tls_client_ca).read_bytes() if tls_client_ca else None,
            require_client_auth=tls_client_ca is not None)
    # The source first: a missing camera or file fails before anything is loaded or bound.
    first_pass = source.open_pass() if source is not None else None
    try:
        return _start(port, host=host, networks=networks, max_sessions=max_sessions,
                      creds=creds, outbox_size=outbox_size, max_gap_us=max_gap_us,
                      stats_interval_us=stats_interval_us, reuse_port=reuse_port, source=source,
                      first_pass=first_pass, max_listeners=max_listeners, ws_port=ws_port,
                      auth_tokens=auth_tokens, limits=limits, reflection_on=reflection_on,
                      metrics_port=metrics_port)
    except BaseException:
        if first_pass is not None:
            first_pass.close()
        raise


def _start(port, *, host, networks, max_sessions, creds, outbox_size, max_gap_us,
           stats_interval_us, reuse_port, source, first_pass, max_listeners,
           ws_port, auth_tokens, limits, reflection_on, metrics_port) -> RunningServer:
    if networks is None:
        from ibeat_models import load_networks
        networks = load_networks()
    hub = None
    if source is not None:
        hub = SourceHub(SourceRunner.source_info(source, first_pass, stats_interval_us),
                        max_listeners=max_listeners, outbox_size=outbox_size)
    metrics = bound_metrics = None
    if metrics_port is not None:
        from .metrics import ServerMetrics
        metrics = ServerMetrics()
    servicer = IbeatServicer(networks, max_sessions=max_sessions, outbox_size=outbox_size,
                             max_gap_us=max_gap_us, stats_interval_us=stats_interval_us,
                             source=hub, limits=limits, observer=metrics or StreamObserver())
    if metrics is not None:
        metrics.watch(servicer)
        bound_metrics = metrics.serve(host, metrics_port)
    address = f"{host}:{port}"

    async def build():
        server = grpc.aio.server(
            options=[("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                     ("grpc.so_reuseport", int(reuse_port)),
                     # A proxy's keep-alive pings on an idle connection are welcome (gRPC's
                     # default answers them with GOAWAY too_many_pings).
                     ("grpc.keepalive_permit_without_calls", 1),
                     ("grpc.http2.min_ping_interval_without_data_ms", 5000)],
            interceptors=[TokenAuth(auth_tokens)] if auth_tokens else None)
        pb_grpc.add_IbeatServicer_to_server(servicer, server)
        health_servicer = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        for name in ("", SERVICE_NAME):
            await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
        if reflection_on:
            reflection.enable_server_reflection(
                (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
        try:
            if creds is not None:
                bound = server.add_secure_port(address, creds)
            else:
                bound = server.add_insecure_port(address)
        except RuntimeError:  # grpc.aio raises where grpc returned 0
            bound = 0
        if bound == 0:
            raise OSError(f"could not bind {address}: the port is in use (another ibeat-server?) "
                          f"or not allowed; stop what holds it or choose another --port")
        ws_server = None
        if ws_port is not None:
            from .websocket import serve_websocket
            ws_server = await serve_websocket(servicer, host, ws_port, reuse_port=reuse_port,
                                              tokens=auth_tokens)
        await server.start()
        servicer.start()
        return server, bound, health_servicer, ws_server

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=_run_loop, args=(loop,), name="ibeat-grpc-loop", daemon=True)
    thread.start()
    try:
        server, bound, health_servicer, ws_server = asyncio.run_coroutine_threadsafe(
            build(), loop).result()
    except BaseException:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        if metrics is not None:
            metrics.stop()
        raise
    runner = None
    if source is not None:
        runner = SourceRunner(source, first_pass, networks=networks, hub=hub, loop=loop,
                              stats_interval_us=stats_interval_us).start()
    ws_bound = ws_server.sockets[0].getsockname()[1] if ws_server is not None else None
    return RunningServer(server, bound, servicer, health_servicer, f"{host}:{bound}", loop,
                         thread, runner, ws_port=ws_bound, ws_server=ws_server,
                         metrics_port=bound_metrics, metrics=metrics)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="ibeat-server", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Serve ibeat.v1.Ibeat (keypoints in, beats and drum hits out) over gRPC, "
                    "with grpc.health.v1 health checking and server reflection.")
    add_version_argument(parser)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="TCP port (0: any free)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (0.0.0.0: every interface, e.g. for a VR "
                             "headset on the LAN: then use --auth-token-file and TLS)")
    parser.add_argument("--max-sessions", type=int, default=DEFAULT_MAX_SESSIONS,
                        help="concurrent Session streams per worker process; more get "
                             "RESOURCE_EXHAUSTED")
    parser.add_argument("--ws-port", type=int, metavar="N",
                        help="also serve the Session and Subscribe streams over WebSocket + "
                             "JSON on this port (ws://HOST:N/ibeat.v1.Ibeat/Session; engine "
                             "clients without HTTP/2: the Unity package, the Godot add-on)")
    parser.add_argument("--workers", type=int, default=1,
                        help="server processes sharing the port (one Python process uses "
                             "about one core; the kernel spreads connections over them)")
    parser.add_argument("--auth-token-file", type=Path, metavar="F",
                        help="tokens, one per line: every call but health needs "
                             "'authorization: Bearer <token>' (clients: --token or $IBEAT_TOKEN)")
    parser.add_argument("--tls-cert", type=Path, help="PEM certificate chain (with --tls-key)")
    parser.add_argument("--tls-key", type=Path, help="PEM private key (with --tls-cert)")
    parser.add_argument("--tls-client-ca", type=Path, metavar="F",
                        help="mutual TLS: PEM of the CAs a client certificate must chain to; "
                             "clients without one cannot connect (gRPC only)")
    parser.add_argument("--metrics-port", type=int, metavar="N",
                        help="serve Prometheus metrics at http://HOST:N/metrics (with --workers, "
                             "worker i on N + i)")
    parser.add_argument("--no-reflection", action="store_true",
                        help="do not serve gRPC server reflection (production)")
    limits = parser.add_argument_group(
        "limits", "what one client may hold; a stream over a limit ends with a status "
                  "naming the flag")
    limits.add_argument("--config-timeout-s", type=float,
                        default=ServerLimits.config_timeout_s,
                        help="a Session stream must send its config within this")
    limits.add_argument("--idle-timeout-s", type=float, default=ServerLimits.idle_timeout_s,
                        help="a Session stream that sends nothing this long ends "
                             "(DEADLINE_EXCEEDED)")
    limits.add_argument("--max-sessions-per-peer", type=int, metavar="N",
                        help="open Session streams from one address (default: half of "
                             "--max-sessions; 0: no cap, e.g. behind a proxy)")
    parser.add_argument("--batch-window-ms", type=float, metavar="MS",
                        default=1e3 * ServerLimits.batch_window_s,
                        help="while the server lags, a frame waits up to this for other "
                             "streams' frames to run through the engine with it: less CPU a "
                             "frame, for that much latency "
                             f"(0: never; at most {1e3 * MAX_BATCH_WINDOW_S:g})")
    parser.add_argument("--grace", type=float, default=SHUTDOWN_GRACE_S,
                        help="seconds in-flight RPCs get on SIGINT/SIGTERM, once open streams "
                             "have been ended")
    parser.add_argument("--drain-s", type=float, default=0.0, metavar="S",
                        help="on SIGINT/SIGTERM, first let open Session streams run on for up "
                             "to S seconds while new ones are refused and health says "
                             "NOT_SERVING (behind a proxy, during a rolling update)")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    src = parser.add_argument_group(
        "own source", "run a camera or video through pose and the engine inside the server; "
        "clients listen with Subscribe (ibeat-listen) without sending frames. The source runs "
        "from start, whether or not anyone listens.")
    which = src.add_mutually_exclusive_group()
    which.add_argument("--camera", type=int, metavar="N", help="camera index (/dev/videoN)")
    which.add_argument("--video", type=Path, metavar="FILE", help="video file, paced in real time")
    src.add_argument("--loop", action="store_true",
                     help="play --video again at its end (else listeners get 'video ended')")
    src.add_argument("--pose-model", choices=POSE_MODELS, default="lite",
                     help="MediaPipe pose model: lite (fast) or full (more accurate)")
    add_session_options(src, ("mode", "genre", "seed", "lead_ms", "tracker"), prefix="source-")
    src.add_argument("--max-listeners", type=int, default=DEFAULT_MAX_LISTENERS,
                     help="concurrent Subscribe streams; more get RESOURCE_EXHAUSTED")
    args = parser.parse_args(argv)
    for flag, port in (("--port", args.port), ("--ws-port", args.ws_port),
                       ("--metrics-port", args.metrics_port)):
        if port is not None and not 0 <= port <= 65535:
            parser.error(f"{flag} must be a TCP port in 0-65535 (0: any free), got {port}")
    if args.workers < 1:
        parser.error(f"--workers must be >= 1, got {args.workers}")
    if args.workers > 1 and (args.port == 0 or args.ws_port == 0 or args.metrics_port == 0):
        parser.error("--workers > 1 needs a fixed --port (and --ws-port, --metrics-port)")
    if args.metrics_port is not None and args.metrics_port + args.workers - 1 > 65535:
        parser.error(f"--metrics-port {args.metrics_port} + {args.workers - 1} workers is past 65535")
    has_source = args.camera is not None or args.video is not None
    if has_source and args.workers > 1:
        parser.error("--camera/--video run one source in one process; each of --workers "
                     f"{args.workers} would open it again: use --workers 1")
    if args.loop and args.video is None:
        parser.error("--loop needs --video FILE")
    if args.source_seed < 0:
        parser.error(f"--source-seed must be >= 0, got {args.source_seed}")
    if args.max_listeners < 1:
        parser.error(f"--max-listeners must be >= 1, got {args.max_listeners}")
    if not (args.grace >= 0 and args.drain_s >= 0):
        parser.error("--grace and --drain-s must be >= 0 seconds")
    if args.max_sessions < 1:
        parser.error(f"--max-sessions must be >= 1, got {args.max_sessions}")
    if args.tls_client_ca is not None and args.tls_cert is None:
        parser.error("--tls-client-ca (mutual TLS) needs --tls-cert and --tls-key")
    if not 0 <= args.batch_window_ms <= 1e3 * MAX_BATCH_WINDOW_S:
        parser.error(f"--batch-window-ms must be in [0, {1e3 * MAX_BATCH_WINDOW_S:g}], "
                     f"got {args.batch_window_ms:g}")
    per_peer = args.max_sessions_per_peer
    if per_peer is None:
        per_peer = max(1, args.max_sessions // 2)
    if per_peer < 0:
        parser.error(f"--max-sessions-per-peer must be >= 0 (0: no cap), got {per_peer}")
    try:
        args.limits = ServerLimits(config_timeout_s=args.config_timeout_s,
                                   idle_timeout_s=args.idle_timeout_s,
                                   max_sessions_per_peer=per_peer or None,
                                   batch_window_s=args.batch_window_ms / 1e3)
    except ValueError as e:  # "idle_timeout_s must be > 0, ..." -> the flag's name
        name = str(e).split()[0]
        parser.error(str(e).replace(name, "--" + name.replace("_", "-"), 1))
    if args.workers == 1:
        return _serve(args, reuse_port=False)
    # Worker 0 is this process; the others are spawned (not forked: the gRPC
    # core and onnxruntime are not fork-safe) and stopped with it.
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_serve, args=(args,), kwargs={"reuse_port": True, "worker": i},
                           name=f"ibeat-server-{i}") for i in range(1, args.workers)]
    for w in workers:
        w.start()
    code = _serve(args, reuse_port=True, worker=0, others=workers)
    for w in workers:
        w.join()
    return code or max((w.exitcode or 0) for w in workers)


def _serve(args, *, reuse_port: bool, worker: int = 0, others=()) -> int:
    """Run one server process until SIGINT/SIGTERM, then stop it gracefully.

    ``others``: worker processes to pass the stop on to at once (an orchestrator signals
    only this one), so that every worker drains at the same time. A second signal ends
    the drain now.
    """
    logging.basicConfig(level=args.log_level,
                        format=f"%(asctime)s %(levelname)s %(name)s[{worker}]: %(message)s")
    from ibeat_video.errors import SourceError
    try:
        source = _source(args)
        tokens = load_tokens(args.auth_token_file) if args.auth_token_file else None
        running = start_server(args.port, host=args.host, max_sessions=args.max_sessions,
                               tls_cert=args.tls_cert, tls_key=args.tls_key,
                               reuse_port=reuse_port, source=source,
                               max_listeners=args.max_listeners, ws_port=args.ws_port,
                               auth_tokens=tokens, tls_client_ca=args.tls_client_ca,
                               limits=args.limits, reflection_on=not args.no_reflection,
                               metrics_port=(None if args.metrics_port is None
                                             else args.metrics_port + worker))
    except (OSError, ValueError, SourceError) as e:  # ParameterError is a ValueError
        print(f"ibeat-server: {e}", file=sys.stderr)
        return 2
    # What is loaded by now (modules, networks, the server) lives as long as the process;
    # out of the collector's sight, a full collection no longer walks it: one took 34 ms
    # in 40 s at 48 sessions, every stream of this worker waiting (longer on a shared core),
    # and none came at all in 40 s frozen. Startup's garbage goes first.
    gc.collect()
    gc.freeze()
    warning = exposure_warning(args.host, tls=args.tls_cert is not None, tokens=tokens)
    if warning:
        log.warning(warning)
    log.info("ibeat-server listening on %s (%s, %s, max %d sessions)", running.address,
             ("mutual TLS" if args.tls_client_ca else "TLS") if args.tls_cert else "plaintext",
             f"{len(tokens)} token(s)" if tokens else "no authentication", args.max_sessions)
    if running.metrics_port is not None:
        log.info("Prometheus metrics on http://%s:%d/metrics", args.host, running.metrics_port)
    if running.ws_port is not None:
        log.info("WebSocket transport on ws://%s:%d/ibeat.v1.Ibeat/Session (plaintext)",
                 args.host, running.ws_port)
    if running.servicer.source is not None:
        log.info("source: %s, listen with Subscribe (ibeat-listen --server HOST:%d)",
                 running.servicer.source.description, running.port)
    stop = threading.Event()

    def on_signal(signum, frame):
        if stop.is_set():
            log.info("second signal: ending the drain now")
            running.cut_drain()
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    while not stop.wait(0.5):
        pass
    for w in others:
        if w.is_alive():
            w.terminate()  # SIGTERM: the worker's own graceful stop, beside this one
    if args.drain_s > 0:
        log.info("draining: %d open sessions get up to %g s", running.servicer.active_sessions,
                 args.drain_s)
    else:
        log.info("shutting down: ending %d open sessions", running.servicer.active_sessions)
    running.stop(args.grace, drain_s=args.drain_s)
    log.info("stopped")
    return 0


def exposure_warning(host: str, *, tls: bool, tokens) -> str | None:
    """One line when a server listens beyond this machine with neither TLS nor a token."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if loopback or tls or tokens:
        return None
    return (f"listening on {host} without TLS or a token: anyone who can reach this port can "
            "stream and listen; add --auth-token-file F (and --tls-cert/--tls-key)")


def _source(args) -> SourceConfig | None:
    """The --camera/--video source of the command line, or None."""
    if args.camera is None and args.video is None:
        return None
    spec = args.camera if args.camera is not None else str(args.video)
    return video_source(spec, loop=args.loop, pose_model=args.pose_model,
                        session=session_config_from_args(args, prefix="source-"))


if __name__ == "__main__":
    sys.exit(main())
