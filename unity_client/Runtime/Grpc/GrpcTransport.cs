#if IBEAT_GRPC
using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Cysharp.Net.Http;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Ibeat.Unity;
using UnityEngine;
using Pb = Ibeat.V1;

namespace Ibeat
{
    /// <summary>
    /// The ibeat.v1 streams over gRPC (grpc-dotnet on Cysharp's YetAnotherHttpHandler, HTTP/2;
    /// cleartext h2c for http:// addresses). Hand-written over <see cref="CallInvoker"/>, so only the
    /// protobuf messages are generated (<c>Generated/Ibeat.cs</c>, <c>python -m ibeat_grpc.codegen --csharp</c>).
    /// </summary>
    public sealed class GrpcTransport : IIbeatTransport
    {
        const string Service = "ibeat.v1.Ibeat";

        static readonly Marshaller<Pb.ClientMessage> ClientMarshaller =
            Marshallers.Create(m => m.ToByteArray(), Pb.ClientMessage.Parser.ParseFrom);
        static readonly Marshaller<Pb.ServerMessage> ServerMarshaller =
            Marshallers.Create(m => m.ToByteArray(), Pb.ServerMessage.Parser.ParseFrom);
        static readonly Marshaller<Pb.SubscribeRequest> SubscribeMarshaller =
            Marshallers.Create(m => m.ToByteArray(), Pb.SubscribeRequest.Parser.ParseFrom);

        /// <summary><c>/ibeat.v1.Ibeat/Session</c>: ClientMessage stream in, ServerMessage stream out.</summary>
        public static readonly Method<Pb.ClientMessage, Pb.ServerMessage> SessionMethod =
            new Method<Pb.ClientMessage, Pb.ServerMessage>(MethodType.DuplexStreaming, Service, "Session",
                ClientMarshaller, ServerMarshaller);

        /// <summary><c>/ibeat.v1.Ibeat/Subscribe</c>: one SubscribeRequest in, ServerMessage stream out.</summary>
        public static readonly Method<Pb.SubscribeRequest, Pb.ServerMessage> SubscribeMethod =
            new Method<Pb.SubscribeRequest, Pb.ServerMessage>(MethodType.ServerStreaming, Service, "Subscribe",
                SubscribeMarshaller, ServerMarshaller);

        readonly GrpcChannel _channel;
        readonly CallInvoker _invoker;
        AsyncDuplexStreamingCall<Pb.ClientMessage, Pb.ServerMessage> _session;
        AsyncServerStreamingCall<Pb.ServerMessage> _subscribe;
        // Reused for every frame: a frame is only written after the previous write completed.
        readonly Pb.ClientMessage _frameMessage = new Pb.ClientMessage();
        readonly Pb.PoseFrame _frame = new Pb.PoseFrame();
        // As IIbeatTransport asks: open and send never throw for network trouble; ReceiveAsync reports it.
        IbeatStatus? _openFailure;
        readonly Metadata _headers;

        /// <param name="server">http://HOST:50051 (h2c) or https://HOST:PORT (TLS).</param>
        /// <param name="token">Sent as <c>authorization: Bearer token</c> when not empty
        /// (a server started with <c>--auth-token-file</c>).</param>
        public GrpcTransport(Uri server, string token = null)
        {
            if (!string.IsNullOrEmpty(token))
            {
                _headers = new Metadata();
                _headers.Add("authorization", "Bearer " + token);
            }
            var handler = new YetAnotherHttpHandler { Http2Only = true };
            _channel = GrpcChannel.ForAddress(server, new GrpcChannelOptions
            {
                HttpHandler = handler,
                DisposeHttpClient = true,
            });
            _invoker = _channel.CreateCallInvoker();
        }

        public async Task OpenSessionAsync(SessionConfig config, CancellationToken ct)
        {
            if (config == null) throw new ArgumentNullException(nameof(config));
            if (_session != null || _subscribe != null) throw new InvalidOperationException("a transport carries one stream");
            _session = _invoker.AsyncDuplexStreamingCall(SessionMethod, null, new CallOptions(_headers, cancellationToken: ct));
            try
            {
                await _session.RequestStream.WriteAsync(new Pb.ClientMessage { Config = ToPb(config) }).ConfigureAwait(false);
            }
            catch (RpcException e)
            {
                _openFailure = ToStatus(e);
            }
            catch (Exception e) when (!(e is OperationCanceledException))
            {
                _openFailure = new IbeatStatus(IbeatStatusCode.Unavailable, "cannot connect: " + e.Message);
            }
        }

        public Task OpenSubscribeAsync(CancellationToken ct)
        {
            if (_session != null || _subscribe != null) throw new InvalidOperationException("a transport carries one stream");
            _subscribe = _invoker.AsyncServerStreamingCall(SubscribeMethod, null, new CallOptions(_headers, cancellationToken: ct),
                new Pb.SubscribeRequest());
            return Task.CompletedTask;
        }

        public Task SendFrameAsync(PoseFrame frame, CancellationToken ct)
        {
            if (frame == null) throw new ArgumentNullException(nameof(frame));
            if (_session == null || _openFailure.HasValue) return Task.CompletedTask; // dropped: ReceiveAsync says why
            _frame.TimestampUs = frame.TimestampUs;
            _frame.FrameId = frame.FrameId;
            _frame.Keypoints.Clear();
            for (int i = 0; i < frame.KeypointCount; i++) _frame.Keypoints.Add(frame.Keypoints[i]);
            _frameMessage.Frame = _frame;
            return Quietly(_session.RequestStream.WriteAsync(_frameMessage)); // serialised before it returns
        }

        public Task EndAsync(CancellationToken ct)
        {
            if (_session == null || _openFailure.HasValue) return Task.CompletedTask;
            return Quietly(_session.RequestStream.CompleteAsync()); // gRPC half-close = ClientMessage.end
        }

        // A write on a call that failed throws; the call's status comes from ReceiveAsync instead.
        static async Task Quietly(Task write)
        {
            try { await write.ConfigureAwait(false); }
            catch (RpcException) { }
            catch (InvalidOperationException) { } // ObjectDisposedException too
        }

        static IbeatStatus ToStatus(RpcException e) =>
            new IbeatStatus((IbeatStatusCode)(int)e.StatusCode, e.Status.Detail);

        public async Task<IbeatStatus> ReceiveAsync(Action<ServerMessage> onMessage, CancellationToken ct)
        {
            IAsyncStreamReader<Pb.ServerMessage> reader =
                _session != null ? _session.ResponseStream : _subscribe != null ? _subscribe.ResponseStream : null;
            if (reader == null) throw new InvalidOperationException("open a stream first");
            if (_openFailure.HasValue) return _openFailure.Value;
            try
            {
                while (await reader.MoveNext(ct).ConfigureAwait(false))
                {
                    ServerMessage m = FromPb(reader.Current);
                    if (m != null) onMessage(m);
                }
                return new IbeatStatus(IbeatStatusCode.OK, "");
            }
            catch (RpcException e)
            {
                return ToStatus(e);
            }
            catch (OperationCanceledException)
            {
                return new IbeatStatus(IbeatStatusCode.Cancelled, "receiving cancelled");
            }
        }

        public void Dispose()
        {
            if (_session != null) _session.Dispose();
            if (_subscribe != null) _subscribe.Dispose();
            _channel.Dispose();
        }

        // ---- Ibeat.Core <-> Ibeat.V1 ----

        static Pb.SessionConfig ToPb(SessionConfig c)
        {
            var p = new Pb.SessionConfig
            {
                Layout = (Pb.SkeletonLayout)(int)c.Layout,
                CoordinateSpace = (Pb.CoordinateSpace)(int)c.CoordinateSpace,
                Mode = (Pb.DrumMode)(int)c.Mode,
                Genre = c.Genre ?? "",
                Seed = c.Seed,
                Handedness = (Pb.Handedness)(int)c.Handedness,
                UpAxis = (Pb.UpAxis)(int)c.UpAxis,
            };
            if (c.NominalFps.HasValue) p.NominalFps = c.NominalFps.Value;
            if (c.Density.HasValue) p.Density = c.Density.Value;
            if (c.Temperature.HasValue) p.Temperature = c.Temperature.Value;
            if (c.GenreStrength.HasValue) p.GenreStrength = c.GenreStrength.Value;
            if (c.LeadTimeUs.HasValue) p.LeadTimeUs = c.LeadTimeUs.Value;
            return p;
        }

        static ServerMessage FromPb(Pb.ServerMessage p)
        {
            switch (p.MsgCase)
            {
                case Pb.ServerMessage.MsgOneofCase.Accepted:
                    return new ServerMessage { Kind = ServerMessageKind.Accepted, Accepted = FromPb(p.Accepted) };
                case Pb.ServerMessage.MsgOneofCase.Beat:
                    return new ServerMessage { Kind = ServerMessageKind.Beat, Beat = FromPb(p.Beat) };
                case Pb.ServerMessage.MsgOneofCase.Hits:
                    return new ServerMessage { Kind = ServerMessageKind.Hits, Hits = FromPb(p.Hits) };
                case Pb.ServerMessage.MsgOneofCase.Stats:
                    return new ServerMessage { Kind = ServerMessageKind.Stats, Stats = FromPb(p.Stats) };
                case Pb.ServerMessage.MsgOneofCase.Restarted:
                    return new ServerMessage
                    {
                        Kind = ServerMessageKind.Restarted,
                        Restarted = new StreamRestarted
                        {
                            TimeUs = p.Restarted.TimeUs, GapUs = p.Restarted.GapUs, Reason = p.Restarted.Reason,
                        },
                    };
                case Pb.ServerMessage.MsgOneofCase.Source:
                    return new ServerMessage { Kind = ServerMessageKind.Source, Source = FromPb(p.Source) };
                case Pb.ServerMessage.MsgOneofCase.SourceStatus:
                    Pb.SourceStatus s = p.SourceStatus;
                    return new ServerMessage
                    {
                        Kind = ServerMessageKind.SourceStatus,
                        SourceStatus = new SourceStatus
                        {
                            State = (SourceState)(int)s.State,
                            Message = s.Message,
                            TimeUs = s.HasTimeUs ? s.TimeUs : (long?)null,
                            ServerTimeUs = s.ServerTimeUs,
                        },
                    };
                default:
                    return null; // a message this client does not know: ignored, as JSON ignores unknown fields
            }
        }

        static SessionAccepted FromPb(Pb.SessionAccepted a)
        {
            if (a == null) return null;
            var versions = new Dictionary<string, string>();
            foreach (KeyValuePair<string, string> kv in a.ModelVersions) versions[kv.Key] = kv.Value;
            return new SessionAccepted
            {
                SessionId = a.SessionId,
                ModelVersions = versions,
                InternalRateHz = a.InternalRateHz,
                JointsExpected = a.JointsExpected,
                ValuesPerJoint = a.ValuesPerJoint,
                LeadTimeUs = a.LeadTimeUs,
                Genre = a.Genre,
                Mode = a.Mode,
                MaxGapUs = a.MaxGapUs,
                StatsIntervalUs = a.StatsIntervalUs,
            };
        }

        static BeatEvent FromPb(Pb.BeatEvent b)
        {
            return new BeatEvent
            {
                TimeUs = b.TimeUs,
                TempoBpm = b.TempoBpm,
                Confidence = b.Confidence,
                Index = b.Index,
                Feel = b.Feel,
                EmittedUs = b.EmittedUs,
                FrameId = b.FrameId,
            };
        }

        static DrumHits FromPb(Pb.DrumHits h)
        {
            var hits = new List<DrumHit>(h.Hits.Count);
            foreach (Pb.DrumHit x in h.Hits)
            {
                hits.Add(new DrumHit
                {
                    TimeUs = x.TimeUs,
                    DrumClass = x.DrumClass,
                    Drum = x.Drum,
                    GmPitch = x.GmPitch,
                    Velocity = x.Velocity,
                    BeatIndex = x.BeatIndex,
                    Step = x.Step,
                    Joint = x.Joint,
                    JointX = x.JointX,
                    JointY = x.JointY,
                    JointZ = x.JointZ,
                    LayoutJoint = x.LayoutJoint,
                });
            }
            return new DrumHits { BeatIndex = h.BeatIndex, EmittedUs = h.EmittedUs, FrameId = h.FrameId, Hits = hits };
        }

        static SessionStats FromPb(Pb.SessionStats s)
        {
            return new SessionStats
            {
                FramesReceived = s.FramesReceived,
                FramesProcessed = s.FramesProcessed,
                FramesDropped = s.FramesDropped,
                EventsDropped = s.EventsDropped,
                StatsDropped = s.StatsDropped,
                LatencyP50Us = s.LatencyP50Us,
                LatencyP99Us = s.LatencyP99Us,
                LatencyMaxUs = s.LatencyMaxUs,
                StreamTimeUs = s.StreamTimeUs,
                LastFrameId = s.LastFrameId,
                Restarts = s.Restarts,
                Final = s.Final,
                ServerTimeUs = s.HasServerTimeUs ? s.ServerTimeUs : (long?)null,
                SourceTimeUs = s.HasSourceTimeUs ? s.SourceTimeUs : (long?)null,
                HitsDroppedLate = s.HitsDroppedLate,
            };
        }

        static SourceInfo FromPb(Pb.SourceInfo s)
        {
            return new SourceInfo
            {
                ListenerId = s.ListenerId,
                Description = s.Description,
                IsLive = s.IsLive,
                Loop = s.Loop,
                Fps = s.Fps,
                Width = s.Width,
                Height = s.Height,
                DurationUs = s.DurationUs,
                PoseModel = s.PoseModel,
                Session = FromPb(s.Session),
                Seed = s.Seed,
                ServerTimeUs = s.ServerTimeUs,
                SourceTimeUs = s.HasSourceTimeUs ? s.SourceTimeUs : (long?)null,
                Listeners = s.Listeners,
            };
        }
    }

    /// <summary>Registers <c>"grpc"</c> with <see cref="IbeatTransports"/> before any scene loads.</summary>
    static class GrpcTransportRegistration
    {
        [RuntimeInitializeOnLoadMethod(RuntimeInitializeLoadType.SubsystemRegistration)]
        static void Register() => IbeatTransports.Register(new Factory());

        sealed class Factory : IIbeatTransportFactory
        {
            public string Name => IbeatTransports.Grpc;
            public IIbeatTransport Create(Uri server, string token) => new GrpcTransport(server, token);
        }
    }
}
#endif
