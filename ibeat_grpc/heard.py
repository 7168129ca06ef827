"""What a client heard: shared by the clients ``ibeat-replay`` and ``ibeat-listen``.

The channel set-up (plaintext or TLS, waiting for the server), percentiles,
the hit lead-time summary, writing the hits heard as MIDI / WAV / a figure,
and printing a report.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import grpc
import numpy as np

from ibeat_core.drums import MAX_MIDI_VELOCITY
from ibeat_io.drum_files import write_drums

from .auth import TOKEN_ENV, with_token

__all__ = ["HeardMessages", "open_channel", "wait_for_server", "percentiles", "lead_summary", "write_heard",
           "print_report"]


class HeardMessages:
    """The events among a client's received ``ServerMessage`` list (``self.messages``)."""

    messages: list

    @property
    def beats(self) -> list:
        return [m.beat for m in self.messages if m.HasField("beat")]

    @property
    def hits(self) -> list:
        return [h for m in self.messages if m.HasField("hits") for h in m.hits.hits]

    @property
    def last_stats(self):
        stats = [m.stats for m in self.messages if m.HasField("stats")]
        return stats[-1] if stats else None


def open_channel(server: str, *, tls: bool = False, tls_ca=None, tls_cert=None, tls_key=None,
                 token: str | None = None) -> grpc.Channel:
    """A channel to ``host:port``: plaintext, or TLS with the system roots or ``tls_ca`` (PEM
    path), showing the client certificate ``tls_cert`` / ``tls_key`` (PEM paths) when given
    (a server with mutual TLS); every call carries ``token`` (or ``$IBEAT_TOKEN``) when there
    is one."""
    if tls or tls_ca or tls_cert:
        def read(path):
            return open(path, "rb").read() if path else None

        channel = grpc.secure_channel(server, grpc.ssl_channel_credentials(
            read(tls_ca), private_key=read(tls_key), certificate_chain=read(tls_cert)),
            options=CHANNEL_OPTIONS)
    else:
        channel = grpc.insecure_channel(server, options=CHANNEL_OPTIONS)
    return with_token(channel, token)


#: A client that lost its server tries again within 0.1-1 s (gRPC's default waits 1 s and
#: then up to 2 minutes): a live stream would rather be back on the next beat.
CHANNEL_OPTIONS = [("grpc.initial_reconnect_backoff_ms", 100),
                   ("grpc.min_reconnect_backoff_ms", 100),
                   ("grpc.max_reconnect_backoff_ms", 1000)]


def add_connection_arguments(parser):
    """The TLS and token flags every client takes (:func:`channel_from_args` reads them)."""
    parser.add_argument("--tls", action="store_true", help="connect with TLS (system roots)")
    parser.add_argument("--tls-ca", type=Path,
                        help="connect with TLS, trusting this PEM certificate (e.g. self-signed)")
    parser.add_argument("--tls-cert", type=Path, metavar="F",
                        help="client certificate (PEM, with --tls-key) for a server with mutual "
                             "TLS (--tls-client-ca)")
    parser.add_argument("--tls-key", type=Path, metavar="F", help="the client certificate's key")
    parser.add_argument("--token", default=None,
                        help=f"bearer token of a server started with --auth-token-file "
                             f"(default: ${TOKEN_ENV})")


def channel_from_args(parser, args) -> grpc.Channel:
    """:func:`open_channel` for the flags of :func:`add_connection_arguments`."""
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("a client certificate needs both --tls-cert and --tls-key")
    return open_channel(args.server, tls=args.tls, tls_ca=args.tls_ca, tls_cert=args.tls_cert,
                        tls_key=args.tls_key, token=args.token)


def wait_for_server(channel: grpc.Channel, server: str, wait_s: float, *, prog: str) -> bool:
    """Wait up to ``wait_s`` [s] for the channel to connect; False (and a message) if it does not."""
    if wait_s <= 0:
        return True
    try:
        grpc.channel_ready_future(channel).result(timeout=wait_s)
        return True
    except grpc.FutureTimeoutError:
        print(f"{prog}: no server at {server} after {wait_s:g} s", file=sys.stderr)
        return False


def percentiles(values, qs) -> list:
    """Percentiles ``qs`` of ``values`` rounded to 3 decimals; Nones when empty."""
    v = np.asarray(values, dtype=np.float64)
    return [round(float(x), 3) for x in np.percentile(v, qs)] if v.size else [None] * len(qs)


def lead_summary(leads_ms) -> dict:
    """``hit_lead_p1_ms``, ``hit_lead_p50_ms`` and ``hits_on_time_share`` (lead >= 0) of leads [ms]."""
    if leads_ms is None:
        return {"hit_lead_p1_ms": None, "hit_lead_p50_ms": None, "hits_on_time_share": None}
    p1, p50 = percentiles(leads_ms, [1, 50])
    share = round(float(np.mean(np.asarray(leads_ms) >= 0)), 4) if len(leads_ms) else None
    return {"hit_lead_p1_ms": p1, "hit_lead_p50_ms": p50, "hits_on_time_share": share}


def write_heard(beats, hits, *, start_us: int, end_us: int, midi=None, wav=None,
                seed: int = 0) -> dict:
    """Write hits heard as General MIDI and/or WAV (synthesised kit), time 0 at ``start_us``.

    The wire messages through :func:`ibeat_io.drum_files.write_drums`; the
    MIDI notes keep the pitch and velocity the server sent.

    Parameters
    ----------
    beats, hits : sequences of ``ibeat.v1`` BeatEvent and DrumHit messages
        The beats give the MIDI file's tempo (median; 120 BPM without beats).
        Hit velocities are MIDI's, in [1, 127].
    start_us, end_us : int
        Wire times [us] of the start and end of what was heard; hits before
        ``start_us`` are left out, the WAV lasts until ``end_us`` plus 1 s.
    midi, wav : path-like, optional
    seed : int
        Seed of the synthesised kit's variations.

    Returns
    -------
    dict
        ``{"midi": path, "wav": path}`` for what was written.
    """
    tempi = [b.tempo_bpm for b in beats]
    return write_drums([(h.time_us - start_us) / 1e6 for h in hits], [h.drum_class for h in hits],
                       [h.velocity / MAX_MIDI_VELOCITY for h in hits],
                       pitches=[h.gm_pitch for h in hits],
                       tempo_bpm=float(np.median(tempi)) if tempi else None,
                       duration_s=(int(end_us) - start_us) / 1e6, seed=seed, midi=midi, wav=wav)


def print_report(rep: dict, *, as_json: bool = False):
    """A report on stdout: JSON, or one ``key: value`` line each."""
    if as_json:
        print(json.dumps(rep, indent=1))
    else:
        for key, value in rep.items():
            print(f"{key:>24}: {value}")
