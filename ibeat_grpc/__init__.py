"""ibeat_grpc: the ``ibeat.v1`` gRPC service in front of the real-time engine.

A game engine (or any client) opens one bidirectional ``ibeat.v1.Ibeat/Session``
stream per dancer: a ``SessionConfig`` first (skeleton layout, coordinate space,
nominal fps, Poly/Mono, genre, seed, density, temperature, genre strength, lead
time), then ``PoseFrame`` messages (timestamp, flat ``x, y, confidence`` per joint,
frame id). The server answers ``SessionAccepted``, then a ``BeatEvent`` for each
beat it commits to followed by the ``DrumHits`` of that beat, both sent about
the lead time (default 100 ms) before the beat falls, plus periodic
``SessionStats``. The contract and its comments are in
``protos/ibeat/v1/ibeat.proto``; ``protos/README.md`` walks through it.

Clocks and units: every time on the wire is an integer number of microseconds
in the client's own clock (the one its frames are stamped with), so a hit's
``time_us`` can be scheduled directly. Inside, the core runs in float seconds
from the stream's first frame. Tempi are BPM, rates Hz, coordinates the client's
units (the engine is scale-free).

Modules:

* :mod:`ibeat_grpc.servicer`: the thin servicer, one :class:`ibeat_core.session.Session`
  per stream, input checks, the bounded outbox;
* :mod:`ibeat_grpc.server`: ``ibeat-server`` and :func:`~ibeat_grpc.server.start_server`
  (a running server on a free port, for tests), with health checking and reflection;
* :mod:`ibeat_grpc.source`: the server's own camera or video (``ibeat-server
  --camera N | --video FILE``): capture, pose and one engine session in a thread,
  fanned out to every ``Subscribe`` listener;
* :mod:`ibeat_grpc.replay`: ``ibeat-replay``, a headless client that streams a clip
  like a live one and reports latency;
* :mod:`ibeat_grpc.listen`: ``ibeat-listen``, a client that listens to the server's
  own source and reports what it heard;
* :mod:`ibeat_grpc.heard`: what the two clients share (channels, reports, MIDI/WAV);
* :mod:`ibeat_grpc.codegen`: regenerates :mod:`ibeat_grpc.v1` from ``protos/``
  (generated code, never edited by hand).

Quick start::

    ibeat-server --port 50051 &
    ibeat-replay --server localhost:50051 --out drums.mid --wav drums.wav
    grpcurl -plaintext localhost:50051 list

    ibeat-server --port 50052 --video dance.mp4 --loop &   # the server's own source
    ibeat-listen --server localhost:50052 --duration-s 30 --out heard.mid
"""
