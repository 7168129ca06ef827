using System;
using System.Collections.Concurrent;
using System.Threading;
using System.Threading.Tasks;
using UnityEngine;

namespace Ibeat.Unity
{
    /// <summary>
    /// One stream to an ibeat server. <c>Session</c>: sends the pose of <see cref="poseSource"/> each
    /// frame, stamped with <see cref="IbeatClock"/>, and receives beats and drum hits for it.
    /// <c>Subscribe</c> (or a <see cref="ServerCameraListener"/> beside it): sends nothing and hears the
    /// server's own camera or video. Hits go to <see cref="Scheduler"/>, which
    /// <see cref="DrumKitPlayer"/> drains onto the audio clock through <see cref="Clock"/>.
    /// </summary>
    /// <remarks>
    /// Threads: the transport receives on a thread-pool thread; hits go straight into the thread-safe
    /// <see cref="HitScheduler"/>, every message also into a queue that <c>Update</c> drains, so the
    /// UnityEvents fire on the main thread. Errors: the server's status is logged as it sent it
    /// (<c>Debug.LogWarning</c>); UNAVAILABLE, RESOURCE_EXHAUSTED and the like are retried with
    /// backoff (<see cref="ReconnectPolicy"/>), INVALID_ARGUMENT, FAILED_PRECONDITION and the like are
    /// not (the same request would fail again).
    /// </remarks>
    [DefaultExecutionOrder(-100)]
    [AddComponentMenu("ibeat/ibeat Client")]
    public sealed class IbeatClient : MonoBehaviour
    {
        public enum TransportKind { WebSocket, Grpc }
        public enum StreamKind { Session, Subscribe }

        [Header("Server")]
        [Tooltip("WebSocket (built in) or gRPC (needs YetAnotherHttpHandler, Grpc.Net.Client and Google.Protobuf: see the package README).")]
        public TransportKind transport = TransportKind.WebSocket;
        [Tooltip("ibeat-server --ws-port: ws://HOST:PORT (the stream's path is added).")]
        public string webSocketUrl = "ws://localhost:8765";
        [Tooltip("ibeat-server --port: http://HOST:PORT (h2c) or https://HOST:PORT.")]
        public string grpcUrl = "http://localhost:50051";
        [Tooltip("The token of a server started with --auth-token-file (sent as authorization: Bearer); empty for none.")]
        public string authToken = "";
        [Tooltip("Session: send this player's pose. Subscribe: listen to the server's own camera or video.")]
        public StreamKind stream = StreamKind.Session;
        public bool connectOnEnable = true;

        [Header("Session")]
        [Tooltip("The pose sent each frame (AnimatorPoseSource, XRHeadHandsSource, ExternalPoseSource, or your own).")]
        public PoseSourceBehaviour poseSource;
        [Tooltip("any, rock, funk, hiphop, jazz, latin, afrocuban, punk, neworleans, soul")]
        public string genre = "any";
        public DrumMode mode = DrumMode.Poly;
        [Tooltip("Same seed + same motion = same drums.")]
        public long seed;
        [Tooltip("How long before its play time the server sends a hit [ms]. Longer survives more network jitter; shorter reacts faster.")]
        [Range(20, 1000)] public int leadTimeMs = 100;
        [Tooltip("Pose frames sent per second at most [Hz]; 0 = every rendered frame.")]
        [Min(0)] public float sendRateHz = 60f;

        [Header("Reconnect")]
        public bool reconnect = true;
        [Min(0.05f)] public float reconnectInitialSeconds = 0.5f;
        [Min(0.1f)] public float reconnectMaxSeconds = 10f;

        [Header("Audio scheduling")]
        [Tooltip("A hit due sooner than this after now on the audio clock is dropped, never played late [s].")]
        [Range(0f, 0.05f)] public float minLeadSeconds = 0.005f;

        [Header("Events (main thread)")]
        [SerializeField] BeatUnityEvent onBeat = new BeatUnityEvent();
        [SerializeField] HitUnityEvent onHit = new HitUnityEvent();
        [SerializeField] StatusUnityEvent onStatus = new StatusUnityEvent();

        /// <summary>Each beat as it arrives (its <c>TimeUs</c> is in <see cref="IbeatClock"/>).</summary>
        public BeatUnityEvent OnBeat => onBeat;
        /// <summary>Each hit as it arrives, ahead of its play time.</summary>
        public HitUnityEvent OnHit => onHit;
        /// <summary>Status lines (connected, accepted, closed with a status, the source's state).</summary>
        public StatusUnityEvent OnStatus => onStatus;

        /// <summary>Client clock [s] -> <c>AudioSettings.dspTime</c>, fed once per frame.</summary>
        public ClockMap Clock { get; private set; }
        /// <summary>Hits waiting for <see cref="DrumKitPlayer"/>; counts late drops.</summary>
        public HitScheduler Scheduler { get; private set; }
        /// <summary>A code-only pose source; overrides <see cref="poseSource"/> when set.</summary>
        public IPoseSource PoseSource { get; set; }

        public bool IsConnected { get { Connection c = _conn; return c != null && c.Open; } }
        public string StatusText { get; private set; } = "idle";
        public SkeletonLayout ActiveLayout { get; private set; }
        /// <summary>True when hits carry Unity world positions (a 3D layout of this player's own pose).</summary>
        public bool HitsCarryWorldPositions { get; private set; }
        public SessionAccepted Accepted { get; private set; }
        public SessionStats LastStats { get; private set; }
        public BeatEvent LastBeat { get; private set; }
        public SourceInfo Source { get; private set; }
        public SourceStatus LastSourceStatus { get; private set; }
        public long FramesSent { get; private set; }
        /// <summary>Frames not sent because the previous one was still being written.</summary>
        public long FramesSkipped { get; private set; }
        public long HitsReceived => Interlocked.Read(ref _hitsReceived);

        readonly ConcurrentQueue<ServerMessage> _inbox = new ConcurrentQueue<ServerMessage>();
        readonly ConcurrentQueue<string> _statusInbox = new ConcurrentQueue<string>();
        readonly PoseFrame _frame = new PoseFrame();
        readonly SourceClockMapper _sourceClock = new SourceClockMapper();
        volatile Connection _conn;
        Task _sendTask;
        float[] _keypoints = new float[0];
        int _valueCount;
        long _lastSentUs = long.MinValue;
        ulong _nextFrameId;
        bool _subscribe;
        long _hitsReceived;

        void Awake()
        {
            Clock = new ClockMap();
            Scheduler = new HitScheduler(Clock, minLeadSeconds);
        }

        void OnEnable()
        {
            if (connectOnEnable) Connect();
        }

        void OnDisable() => Disconnect();

        /// <summary>Opens the stream (again), reading the settings above now.</summary>
        public void Connect()
        {
            Disconnect();
            _subscribe = stream == StreamKind.Subscribe || GetComponent<ServerCameraListener>() != null;
            SessionConfig config = null;
            if (!_subscribe)
            {
                IPoseSource source = PoseSource ?? poseSource;
                if (source == null)
                {
                    Post("ibeat: no pose source: set IbeatClient.poseSource (or PoseSource), or use Subscribe", true);
                    return;
                }
                ActiveLayout = source.Layout;
                _valueCount = source.JointCount * IbeatLayouts.ValuesPerJoint(ActiveLayout);
                if (_keypoints.Length != _valueCount) _keypoints = new float[_valueCount];
                bool is3D = IbeatLayouts.Is3D(ActiveLayout);
                HitsCarryWorldPositions = is3D;
                config = new SessionConfig
                {
                    Layout = ActiveLayout,
                    CoordinateSpace = is3D ? CoordinateSpace.Meters : CoordinateSpace.Pixels,
                    Handedness = is3D ? Handedness.Left : Handedness.Unspecified,
                    UpAxis = is3D ? UpAxis.Y : UpAxis.Unspecified,
                    NominalFps = sendRateHz > 0 ? (float?)Mathf.Min(sendRateHz, 1000f) : null,
                    Mode = mode,
                    Genre = string.IsNullOrEmpty(genre) ? "any" : genre,
                    Seed = seed,
                    LeadTimeUs = leadTimeMs * 1000L,
                };
            }
            else
            {
                ActiveLayout = SkeletonLayout.Coco17;
                HitsCarryWorldPositions = false; // pixels of the server's camera
            }
            string url = transport == TransportKind.Grpc ? grpcUrl : webSocketUrl;
            Uri uri;
            if (!Uri.TryCreate(url, UriKind.Absolute, out uri))
            {
                Post("ibeat: not a server address: '" + url + "' (ws://HOST:8765 for WebSocket, http://HOST:50051 for gRPC)", true);
                return;
            }
            _sourceClock.Reset();
            var conn = new Connection();
            _conn = conn;
            string name = transport == TransportKind.Grpc ? IbeatTransports.Grpc : IbeatTransports.WebSocket;
            var policy = new ReconnectPolicy(reconnectInitialSeconds, reconnectMaxSeconds);
            bool retryAtAll = reconnect;
            Task.Run(() => RunAsync(conn, name, uri, config, policy, retryAtAll));
        }

        /// <summary>Closes the stream; the server frees the session. Hits already scheduled still play.</summary>
        public void Disconnect()
        {
            Connection conn = _conn;
            if (conn == null) return;
            _conn = null;
            _sendTask = null;
            conn.Cts.Cancel(); // RunAsync sees it, closes the stream and disposes the transport
        }

        // A thread-pool thread; one run per Connect(), until cancelled, OK, or a status not to retry.
        async Task RunAsync(Connection conn, string transportName, Uri url, SessionConfig config,
                            ReconnectPolicy policy, bool retryAtAll)
        {
            CancellationToken token = conn.Cts.Token;
            Action<ServerMessage> onMessage = m => OnMessage(conn, m);
            try
            {
                await RunLoopAsync(conn, transportName, url, config, policy, retryAtAll, onMessage, token)
                    .ConfigureAwait(false);
            }
            catch (Exception e)
            {
                Debug.LogException(e);
            }
            finally
            {
                conn.Open = false; // the token source is not disposed: Disconnect() may still cancel it
            }
        }

        async Task RunLoopAsync(Connection conn, string transportName, Uri url, SessionConfig config,
                                ReconnectPolicy policy, bool retryAtAll, Action<ServerMessage> onMessage,
                                CancellationToken token)
        {
            while (!token.IsCancellationRequested)
            {
                IbeatStatus status;
                bool reached = false; // the open call returned (connection trouble still shows in ReceiveAsync)
                IIbeatTransport t = null;
                conn.GotMessage = false;
                try
                {
                    IIbeatTransportFactory factory;
                    if (!IbeatTransports.TryGet(transportName, out factory))
                    {
                        Post("ibeat: the gRPC transport is not installed (the Ibeat.Grpc assembly compiles only with "
                             + "YetAnotherHttpHandler, Grpc.Net.Client and Google.Protobuf in the project; see the "
                             + "package README). Use the WebSocket transport, or install them.", true);
                        return;
                    }
                    t = factory.Create(url, authToken);
                    if (config != null) await t.OpenSessionAsync(config, token).ConfigureAwait(false);
                    else await t.OpenSubscribeAsync(token).ConfigureAwait(false);
                    reached = true;
                    conn.Transport = t;
                    conn.Open = true;
                    Post("ibeat: connected to " + url + (config != null ? " (Session)" : " (Subscribe)"), false);
                    status = await t.ReceiveAsync(onMessage, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception e)
                {
                    status = new IbeatStatus(IbeatStatusCode.Unavailable, e.Message);
                }
                finally
                {
                    conn.Open = false;
                    conn.Transport = null;
                    if (t != null) t.Dispose();
                }
                if (token.IsCancellationRequested) break;
                if (conn.GotMessage) policy.Reset();
                if (status.IsOk)
                {
                    Post("ibeat: the server ended the stream (OK)", false);
                    return;
                }
                bool retry = retryAtAll && ReconnectPolicy.IsRetryable(status);
                double delay = retry ? policy.NextDelaySeconds() : 0;
                string next = retry ? string.Format(" Retrying in {0:0.0} s.", delay) : " Not retrying: fix the cause, then call Connect().";
                // Transports report an unreachable server as UNAVAILABLE from ReceiveAsync, before any message.
                if ((!reached || !conn.GotMessage) && status.Code == IbeatStatusCode.Unavailable)
                    Post("ibeat: no ibeat server at " + url + " (" + status + "). Start one with "
                         + "`ibeat-server --port 50051 --ws-port 8765`." + next, true);
                else
                    Post("ibeat: the server closed the stream: " + status + "." + next, true);
                if (!retry) return;
                try { await Task.Delay(TimeSpan.FromSeconds(delay), token).ConfigureAwait(false); }
                catch (OperationCanceledException) { break; }
            }
        }

        // Receive thread.
        void OnMessage(Connection conn, ServerMessage m)
        {
            if (conn != _conn) return; // a stream being closed after a reconnect
            conn.GotMessage = true;
            long arrivalUs = IbeatClock.NowUs;
            switch (m.Kind)
            {
                case ServerMessageKind.Hits:
                    if (m.Hits == null || m.Hits.Hits == null) break;
                    if (_subscribe)
                    {
                        long offset;
                        if (!_sourceClock.TryGetOffset(out offset)) break; // no clock reading yet: cannot place them
                        for (int i = 0; i < m.Hits.Hits.Count; i++) m.Hits.Hits[i].TimeUs += offset;
                    }
                    for (int i = 0; i < m.Hits.Hits.Count; i++) Scheduler.Add(m.Hits.Hits[i]);
                    Interlocked.Add(ref _hitsReceived, m.Hits.Hits.Count);
                    break;
                case ServerMessageKind.Beat:
                    if (_subscribe && m.Beat != null)
                    {
                        long offset;
                        if (_sourceClock.TryGetOffset(out offset)) m.Beat.TimeUs += offset;
                    }
                    break;
                case ServerMessageKind.Source:
                    if (m.Source != null && m.Source.SourceTimeUs.HasValue)
                        _sourceClock.AddReading(arrivalUs, m.Source.SourceTimeUs.Value);
                    break;
                case ServerMessageKind.Stats:
                    if (_subscribe && m.Stats != null && m.Stats.SourceTimeUs.HasValue)
                        _sourceClock.AddReading(arrivalUs, m.Stats.SourceTimeUs.Value);
                    break;
                case ServerMessageKind.Restarted:
                    if (_subscribe) _sourceClock.Reset();
                    break;
            }
            _inbox.Enqueue(m);
        }

        void Post(string line, bool warning)
        {
            if (warning) Debug.LogWarning(line); // thread-safe; no context object off the main thread
            _statusInbox.Enqueue(line);
        }

        void Update()
        {
            Clock.AddSample(IbeatClock.NowSeconds, AudioSettings.dspTime);

            string line;
            while (_statusInbox.TryDequeue(out line))
            {
                StatusText = line;
                onStatus.Invoke(line);
            }
            ServerMessage m;
            while (_inbox.TryDequeue(out m)) Dispatch(m);
        }

        void Dispatch(ServerMessage m)
        {
            switch (m.Kind)
            {
                case ServerMessageKind.Accepted:
                    Accepted = m.Accepted;
                    StatusText = string.Format("ibeat: session {0} accepted ({1}, {2}, lead {3} ms)",
                        m.Accepted.SessionId, m.Accepted.Genre, m.Accepted.Mode, m.Accepted.LeadTimeUs / 1000);
                    onStatus.Invoke(StatusText);
                    break;
                case ServerMessageKind.Beat:
                    LastBeat = m.Beat;
                    onBeat.Invoke(m.Beat);
                    break;
                case ServerMessageKind.Hits:
                    for (int i = 0; i < m.Hits.Hits.Count; i++) onHit.Invoke(m.Hits.Hits[i]);
                    break;
                case ServerMessageKind.Stats:
                    LastStats = m.Stats;
                    break;
                case ServerMessageKind.Source:
                    Source = m.Source;
                    StatusText = "ibeat: listening to " + m.Source.Description;
                    onStatus.Invoke(StatusText);
                    break;
                case ServerMessageKind.SourceStatus:
                    LastSourceStatus = m.SourceStatus;
                    StatusText = "ibeat: source " + m.SourceStatus.State + ": " + m.SourceStatus.Message;
                    onStatus.Invoke(StatusText);
                    break;
                case ServerMessageKind.Restarted:
                    StatusText = "ibeat: stream restarted (" + m.Restarted.Reason + ")";
                    onStatus.Invoke(StatusText);
                    break;
            }
        }

        // After animation: the bones are where they are drawn this frame.
        void LateUpdate()
        {
            Connection conn = _conn;
            if (_subscribe || conn == null || !conn.Open) return;
            IIbeatTransport t = conn.Transport;
            if (t == null) return;
            if (_sendTask != null)
            {
                if (!_sendTask.IsCompleted)
                {
                    FramesSkipped++;
                    return;
                }
                if (_sendTask.IsFaulted) { var ignored = _sendTask.Exception; } // the receive loop reports the status
                _sendTask = null;
            }
            long nowUs = IbeatClock.NowUs;
            if (sendRateHz > 0 && _lastSentUs != long.MinValue && nowUs - _lastSentUs < (long)(1e6 / sendRateHz) - 500)
                return;
            IPoseSource source = PoseSource ?? poseSource;
            if (source == null || !source.TryWrite(_keypoints)) return;
            if (nowUs <= _lastSentUs) nowUs = _lastSentUs + 1; // strictly increasing on the wire
            _frame.TimestampUs = nowUs;
            _frame.Keypoints = _keypoints;
            _frame.KeypointCount = _valueCount;
            _frame.FrameId = _nextFrameId++;
            try
            {
                _sendTask = t.SendFrameAsync(_frame, conn.Cts.Token);
            }
            catch (Exception)
            {
                return; // closed under us: the receive loop reports why
            }
            _lastSentUs = nowUs;
            FramesSent++;
        }
    }

    /// <summary>One Connect() .. Disconnect(): its token, and the transport while a stream is open.</summary>
    sealed class Connection
    {
        public readonly CancellationTokenSource Cts = new CancellationTokenSource();
        public volatile IIbeatTransport Transport;
        public volatile bool Open;
        public volatile bool GotMessage;
    }

    /// <summary>
    /// Source clock -> client clock for <c>Subscribe</c> streams: t + min(arrival - source_time_us) over
    /// the last few readings (the least delayed message is the best estimate), afresh after a restart.
    /// </summary>
    sealed class SourceClockMapper
    {
        const int Window = 16;
        readonly long[] _offsets = new long[Window];
        int _count, _next;
        readonly object _lock = new object();

        public void Reset()
        {
            lock (_lock) { _count = 0; _next = 0; }
        }

        public void AddReading(long arrivalUs, long sourceTimeUs)
        {
            lock (_lock)
            {
                _offsets[_next] = arrivalUs - sourceTimeUs;
                _next = (_next + 1) % Window;
                if (_count < Window) _count++;
            }
        }

        public bool TryGetOffset(out long offsetUs)
        {
            lock (_lock)
            {
                offsetUs = 0;
                if (_count == 0) return false;
                offsetUs = long.MaxValue;
                for (int i = 0; i < _count; i++) offsetUs = Math.Min(offsetUs, _offsets[i]);
                return true;
            }
        }
    }
}
