using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;
using UnityEngine;
using Object = UnityEngine.Object;

namespace Ibeat.Unity.Tests
{
    /// <summary>A pose frame as the client sent it, copied (the client reuses its frame and array).</summary>
    sealed class SentFrame
    {
        public long TimestampUs;
        public ulong FrameId;
        public float[] Keypoints;
    }

    /// <summary>
    /// A stream with no server behind it: records the config and the frames the client sends, and
    /// hands the client the messages a test <see cref="Deliver"/>s, on a thread-pool thread as a real
    /// transport receives. Stays open until the client cancels it.
    /// </summary>
    sealed class FakeTransport : IIbeatTransport
    {
        readonly object _gate = new object();
        readonly List<SentFrame> _frames = new List<SentFrame>();
        volatile SessionConfig _config;
        volatile Action<ServerMessage> _onMessage;

        /// <summary>The config the client opened the Session with; null for Subscribe.</summary>
        public SessionConfig Config { get { return _config; } }

        /// <summary>True while the client is in ReceiveAsync: the stream is open.</summary>
        public bool Receiving { get { return _onMessage != null; } }

        public List<SentFrame> Frames()
        {
            lock (_gate) return new List<SentFrame>(_frames);
        }

        public Task OpenSessionAsync(SessionConfig config, CancellationToken ct)
        {
            _config = config;
            return Task.FromResult(true);
        }

        public Task OpenSubscribeAsync(CancellationToken ct)
        {
            return Task.FromResult(true);
        }

        public Task SendFrameAsync(PoseFrame frame, CancellationToken ct)
        {
            var copy = new SentFrame
            {
                TimestampUs = frame.TimestampUs,
                FrameId = frame.FrameId,
                Keypoints = new float[frame.ValueCount],
            };
            Array.Copy(frame.Keypoints, copy.Keypoints, copy.Keypoints.Length);
            lock (_gate) _frames.Add(copy);
            return Task.FromResult(true);
        }

        public Task EndAsync(CancellationToken ct)
        {
            return Task.FromResult(true);
        }

        public async Task<IbeatStatus> ReceiveAsync(Action<ServerMessage> onMessage, CancellationToken ct)
        {
            _onMessage = onMessage;
            try
            {
                await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false); // ends when the client disconnects
            }
            finally
            {
                _onMessage = null;
            }
            return new IbeatStatus(IbeatStatusCode.OK, "");
        }

        /// <summary>One message from the "server", on a thread-pool thread; returns once the client took it.</summary>
        public void Deliver(ServerMessage message)
        {
            Action<ServerMessage> onMessage = _onMessage;
            if (onMessage == null) throw new InvalidOperationException("the stream is not open");
            Task.Run(() => onMessage(message)).Wait();
        }

        public void Dispose() { }
    }

    /// <summary>Registered as the "websocket" transport for the length of a test.</summary>
    sealed class FakeTransportFactory : IIbeatTransportFactory
    {
        volatile FakeTransport _last;

        public string Name { get { return IbeatTransports.WebSocket; } }

        /// <summary>The transport of the latest Connect(), or null before it.</summary>
        public FakeTransport Last { get { return _last; } }

        public IIbeatTransport Create(Uri server, string token)
        {
            var t = new FakeTransport();
            _last = t;
            return t;
        }
    }

    /// <summary>Waits until a condition holds or a real-time timeout passes; assert the condition after it.</summary>
    sealed class Until : CustomYieldInstruction
    {
        readonly Func<bool> _condition;
        readonly float _deadline;

        public Until(Func<bool> condition, float timeoutSeconds)
        {
            _condition = condition;
            _deadline = Time.realtimeSinceStartup + timeoutSeconds;
        }

        public override bool keepWaiting
        {
            get { return !_condition() && Time.realtimeSinceStartup < _deadline; }
        }
    }

    /// <summary>
    /// An <see cref="IbeatClient"/> (connectOnEnable off, talking to a <see cref="FakeTransport"/>),
    /// its <see cref="ExternalPoseSource"/>, a <see cref="DrumKitPlayer"/> with a silent clip on every
    /// voice and an AudioListener, built inactive: configure more, then <see cref="Activate"/>.
    /// Dispose destroys it and puts the real WebSocket transport back.
    /// </summary>
    sealed class TestRig : IDisposable
    {
        public const int RightHandBone = (int)HumanBodyBones.RightHand;
        public const int CocoRightWrist = 10;

        public readonly GameObject Root;
        public readonly IbeatClient Client;
        public readonly ExternalPoseSource Pose;
        public readonly DrumKitPlayer Player;
        public readonly AudioClip Clip;
        public readonly FakeTransportFactory Transports = new FakeTransportFactory();
        readonly IIbeatTransportFactory _previous;
        double _dspAtActivate;

        public TestRig(SkeletonLayout layout)
        {
            IbeatTransports.TryGet(IbeatTransports.WebSocket, out _previous);
            IbeatTransports.Register(Transports);

            Root = new GameObject("ibeat test rig");
            Root.SetActive(false); // no Awake/OnEnable until configured: OnEnable would Connect()
            Root.AddComponent<AudioListener>();
            Pose = Root.AddComponent<ExternalPoseSource>();
            Pose.layout = layout;
            Client = Root.AddComponent<IbeatClient>();
            Client.connectOnEnable = false;
            Client.reconnect = false;
            Client.sendRateHz = 0f; // a frame every rendered frame
            Client.poseSource = Pose;

            Clip = AudioClip.Create("ibeat test click", 4410, 1, 44100, false);
            var kit = new GameObject("kit");
            kit.transform.SetParent(Root.transform, false);
            Player = kit.AddComponent<DrumKitPlayer>();
            Player.client = Client;
            DrumKitPlayer.Voice[] voices = DrumKitPlayer.DefaultVoices();
            for (int i = 0; i < voices.Length; i++) voices[i].clip = Clip;
            Player.voices = voices;
            Player.horizonSeconds = 0.3f; // a frame hitch of up to ~0.2 s does not make the test hit late
        }

        public void Activate()
        {
            _dspAtActivate = AudioSettings.dspTime;
            Root.SetActive(true);
        }

        /// <summary>The pooled AudioSource <paramref name="index"/> of drum <paramref name="drum"/>.</summary>
        public AudioSource Source(string drum, int index)
        {
            Transform t = Player.transform.Find("ibeat " + drum + " " + index);
            Assert.IsNotNull(t, "DrumKitPlayer made no AudioSource 'ibeat " + drum + " " + index + "'");
            return t.GetComponent<AudioSource>();
        }

        public bool StreamOpen
        {
            get { return Transports.Last != null && Transports.Last.Receiving && Client.IsConnected; }
        }

        /// <summary>Connect() then yield this: the fake stream is open.</summary>
        public Until UntilStreamOpen()
        {
            return new Until(() => StreamOpen, 5f);
        }

        /// <summary>Yield this, then <see cref="RequireAudioClock"/>: the clock map has ten readings
        /// over which the audio clock moved.</summary>
        public Until UntilAudioClockRuns()
        {
            return new Until(() => Client.Clock.Ready && Client.Clock.Count >= 10
                                   && AudioSettings.dspTime > _dspAtActivate, 5f);
        }

        /// <summary>Ignores the test where the audio clock never moves (no audio output: -noaudio,
        /// no device); fails it where the clock map is not ready.</summary>
        public void RequireAudioClock()
        {
            if (!(AudioSettings.dspTime > _dspAtActivate))
                Assert.Ignore("AudioSettings.dspTime does not advance here (no audio output), so nothing can be scheduled");
            Assert.IsTrue(Client.Clock.Ready, "the client's ClockMap never became ready");
        }

        /// <summary>A hit of <paramref name="drum"/> at client time <paramref name="timeUs"/>, driven by
        /// the right wrist (COCO 10; Humanoid RightHand) at <paramref name="joint"/>.</summary>
        public static DrumHit Hit(string drum, long timeUs, Vector3 joint, uint velocity)
        {
            int drumClass = Array.IndexOf(DrumKitPlayer.DrumClasses, drum);
            Assert.GreaterOrEqual(drumClass, 0, drum);
            return new DrumHit
            {
                TimeUs = timeUs,
                DrumClass = (uint)drumClass,
                Drum = drum,
                Velocity = velocity,
                BeatIndex = 4,
                Joint = CocoRightWrist,
                JointX = joint.x,
                JointY = joint.y,
                JointZ = joint.z,
                LayoutJoint = RightHandBone,
            };
        }

        /// <summary>A DrumHits message carrying <paramref name="hits"/>, as the server sends them.</summary>
        public static ServerMessage HitsMessage(params DrumHit[] hits)
        {
            var m = new DrumHits { BeatIndex = 4, EmittedUs = IbeatClock.NowUs };
            m.Hits.AddRange(hits);
            return new ServerMessage { Kind = ServerMessageKind.Hits, Hits = m };
        }

        public void Dispose()
        {
            Object.Destroy(Root); // OnDisable: Disconnect() cancels the fake stream
            Object.Destroy(Clip);
            if (_previous != null) IbeatTransports.Register(_previous);
        }
    }
}
