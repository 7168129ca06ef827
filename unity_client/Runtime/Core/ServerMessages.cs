using System.Collections.Generic;

// What the server sends, one class per proto message of protos/ibeat/v1/ibeat.proto.
// All times are integer microseconds: on a Session stream in the client's own clock (the clock of
// PoseFrame.TimestampUs), on a Subscribe stream in the source clock. Optional proto fields are
// nullable here so "unset" stays distinguishable from 0.
namespace Ibeat
{
    /// <summary>Sent once, after the config: the settings in force (proto <c>SessionAccepted</c>).</summary>
    public sealed class SessionAccepted
    {
        /// <summary>Opaque, for logs.</summary>
        public string SessionId = "";
        /// <summary>Network name -> "sha256:&lt;first 16 hex of the .onnx&gt;".</summary>
        public Dictionary<string, string> ModelVersions = new Dictionary<string, string>();
        /// <summary>The engine's grid rate [Hz].</summary>
        public double InternalRateHz;
        /// <summary>Joints per PoseFrame for the chosen layout [count].</summary>
        public uint JointsExpected;
        /// <summary>3 (x, y, c) for a 2D layout, 4 (x, y, z, c) for a 3D one.</summary>
        public uint ValuesPerJoint;
        /// <summary>Lead time in force [us]: hits arrive at least this long before their time.</summary>
        public long LeadTimeUs;
        /// <summary>Genre asked for ("any" if unset).</summary>
        public string Genre = "";
        /// <summary>"poly" or "mono".</summary>
        public string Mode = "";
        /// <summary>A gap between two frames longer than this [us] restarts the engine.</summary>
        public long MaxGapUs;
        /// <summary>Stats come every this much stream time [us], and once at the end.</summary>
        public long StatsIntervalUs;
    }

    /// <summary>A beat the engine committed to, sent about the lead time before it falls (proto <c>BeatEvent</c>).</summary>
    public sealed class BeatEvent
    {
        /// <summary>When the beat falls [us, client clock].</summary>
        public long TimeUs;
        /// <summary>Tempo its hits are placed with [beats per minute].</summary>
        public double TempoBpm;
        /// <summary>Beat tracker confidence [0..1].</summary>
        public float Confidence;
        /// <summary>Beat number in the stream, from 0, never reused.</summary>
        public long Index;
        /// <summary>Genre the beat's drums were asked for.</summary>
        public string Feel = "";
        /// <summary>Client time of the engine frame that produced it [us, client clock].</summary>
        public long EmittedUs;
        /// <summary><see cref="PoseFrame.FrameId"/> of the frame that produced it.</summary>
        public ulong FrameId;
        /// <summary>Its beat in the bar the drums are played in, 1 = the one; 0: no bar (mono).</summary>
        public uint BeatInBar;
        /// <summary>Beats in that bar: 4, or 3 when the motion says so; 0: no bar (mono).</summary>
        public uint BeatsPerBar;
    }

    /// <summary>One drum note to play (proto <c>DrumHit</c>).</summary>
    public sealed class DrumHit
    {
        /// <summary>When to play it [us, client clock].</summary>
        public long TimeUs;
        /// <summary>Drum class 0..8 (index into ServerInfo.drum_classes).</summary>
        public uint DrumClass;
        /// <summary>Drum class name ("kick", "snare", ...).</summary>
        public string Drum = "";
        /// <summary>General MIDI drum pitch (channel 10).</summary>
        public uint GmPitch;
        /// <summary>MIDI velocity 1..127.</summary>
        public uint Velocity;
        /// <summary><see cref="BeatEvent.Index"/> it belongs to.</summary>
        public long BeatIndex;
        /// <summary>Sixteenth within the beat, 0..3.</summary>
        public uint Step;
        /// <summary>COCO-17 joint (0..16) that drove the beat, whatever the layout sent.</summary>
        public int Joint;
        /// <summary>That joint's last position [client units and frame; Unity: world metres]; z is 0 for 2D.</summary>
        public float JointX, JointY, JointZ;
        /// <summary>The same joint as an index into the layout sent, -1 when the layout has none.</summary>
        public int LayoutJoint;
    }

    /// <summary>The hits of one beat interval, sent just after its BeatEvent (proto <c>DrumHits</c>).</summary>
    public sealed class DrumHits
    {
        /// <summary><see cref="BeatEvent.Index"/>.</summary>
        public long BeatIndex;
        /// <summary>Client time of the engine frame that produced them [us, client clock].</summary>
        public long EmittedUs;
        /// <summary><see cref="PoseFrame.FrameId"/> of the frame that produced them.</summary>
        public ulong FrameId;
        /// <summary>The hits, in time order.</summary>
        public List<DrumHit> Hits = new List<DrumHit>();
    }

    /// <summary>Counters since the stream opened (proto <c>SessionStats</c>); latency percentiles
    /// over the last 1024 frames.</summary>
    public sealed class SessionStats
    {
        /// <summary>PoseFrames received [count].</summary>
        public ulong FramesReceived;
        /// <summary>PoseFrames run through the engine [count].</summary>
        public ulong FramesProcessed;
        /// <summary>PoseFrames received but not processed [count].</summary>
        public ulong FramesDropped;
        /// <summary>Beat/hit messages dropped because the client did not read [count].</summary>
        public ulong EventsDropped;
        /// <summary>Stats dropped for the same reason [count].</summary>
        public ulong StatsDropped;
        /// <summary>Processing latency, frame received -> its events queued, median [us].</summary>
        public uint LatencyP50Us;
        /// <summary>The same, 99th percentile [us].</summary>
        public uint LatencyP99Us;
        /// <summary>The same, maximum [us].</summary>
        public uint LatencyMaxUs;
        /// <summary>Timestamp of the last processed frame [us, client clock].</summary>
        public long StreamTimeUs;
        /// <summary>FrameId of the last processed frame.</summary>
        public ulong LastFrameId;
        /// <summary>Engine restarts after gaps [count].</summary>
        public uint Restarts;
        /// <summary>True on the last stats of a stream.</summary>
        public bool Final;
        /// <summary>Subscribe streams only: the server's monotonic clock when queued [us].</summary>
        public long? ServerTimeUs;
        /// <summary>Subscribe streams only: the source clock at that instant [us]; unset before the first frame.</summary>
        public long? SourceTimeUs;
        /// <summary>Hits the server did not send because their play time had already passed on this
        /// client's clock (an overloaded server) [count].</summary>
        public ulong HitsDroppedLate;
    }

    /// <summary>The engine forgot the stream after a long gap and started afresh (proto <c>StreamRestarted</c>).</summary>
    public sealed class StreamRestarted
    {
        /// <summary>Timestamp of the frame that restarted it [us, client clock].</summary>
        public long TimeUs;
        /// <summary>The gap before that frame [us].</summary>
        public long GapUs;
        /// <summary>Human-readable.</summary>
        public string Reason = "";
    }

    /// <summary>First message of a Subscribe stream: the server's own camera/video (proto <c>SourceInfo</c>).</summary>
    public sealed class SourceInfo
    {
        /// <summary>Opaque, for logs.</summary>
        public string ListenerId = "";
        /// <summary>Human-readable, e.g. "camera 0 (640x480, 30 fps)".</summary>
        public string Description = "";
        /// <summary>True: a camera (source clock = server clock); false: a file.</summary>
        public bool IsLive;
        /// <summary>A file restarts at its end.</summary>
        public bool Loop;
        /// <summary>The source's frame rate [Hz].</summary>
        public double Fps;
        /// <summary>Frame width [pixels]; DrumHit.JointX is in these pixels.</summary>
        public uint Width;
        /// <summary>Frame height [pixels].</summary>
        public uint Height;
        /// <summary>Length of one pass of the file [us]; 0 for a camera or unknown.</summary>
        public long DurationUs;
        /// <summary>Pose model ("lite" or "full").</summary>
        public string PoseModel = "";
        /// <summary>The source session's settings; null if the server sent none.</summary>
        public SessionAccepted Session;
        /// <summary>Drum sampling seed of the source session.</summary>
        public long Seed;
        /// <summary>Server's monotonic clock when this was queued [us].</summary>
        public long ServerTimeUs;
        /// <summary>The source clock at that same instant [us]; unset before the first frame.</summary>
        public long? SourceTimeUs;
        /// <summary>Open Subscribe streams, this one included [count].</summary>
        public uint Listeners;
    }

    /// <summary>Why the source is (not) producing hits; sent after SourceInfo and on every change
    /// (proto <c>SourceStatus</c>).</summary>
    public sealed class SourceStatus
    {
        public SourceState State;
        /// <summary>Human-readable: "tracking", "no person in frame", ...</summary>
        public string Message = "";
        /// <summary>Source clock of the frame where it changed [us]; unset before the first frame.</summary>
        public long? TimeUs;
        /// <summary>Server's monotonic clock when it changed [us].</summary>
        public long ServerTimeUs;
    }
}
