using System;
using System.Collections.Generic;
using System.Text;

namespace Ibeat
{
    /// <summary>
    /// The WebSocket wire format: protobuf's canonical JSON mapping (proto3 JSON) of
    /// <c>ibeat.v1.ClientMessage</c> and <c>ibeat.v1.ServerMessage</c>, one message per text frame.
    /// Writes lowerCamelCase names, enums by name, int64/uint64 as decimal strings, and omits fields
    /// at their default. Reads camelCase and snake_case names, enum names or numbers, 64-bit integers
    /// as strings or numbers, "NaN"/"Infinity"/"-Infinity", and ignores unknown fields (a newer
    /// server may add some). Numbers use the invariant culture whatever the device's locale.
    /// </summary>
    public static class IbeatJson
    {
        /// <summary>The message that tells the server no more frames come (WebSocket has no half-close).</summary>
        public const string EndMessage = "{\"end\":{}}";

        // One builder per thread: EncodeFrame runs once per frame and must not allocate a new one.
        [ThreadStatic] static StringBuilder frameBuilder;

        // ---------------------------------------------------------------- client -> server

        /// <summary>The first message of a Session: <c>{"config":{...}}</c>.</summary>
        public static string EncodeConfig(SessionConfig config)
        {
            if (config == null) throw new ArgumentNullException("config");
            var sb = new StringBuilder(256);
            sb.Append("{\"config\":");
            AppendSessionConfig(sb, config);
            sb.Append('}');
            return sb.ToString();
        }

        /// <summary><c>{"frame":{"timestampUs":"..","keypoints":[..],"frameId":".."}}</c>; NaN and
        /// infinite keypoints are written as proto3 JSON strings (the server rejects them). Reuses a
        /// per-thread builder; allocates only the returned string.</summary>
        public static string EncodeFrame(PoseFrame frame)
        {
            StringBuilder sb = frameBuilder;
            if (sb == null) sb = frameBuilder = new StringBuilder(1024);
            sb.Length = 0;
            AppendFrameMessage(sb, frame);
            return sb.ToString();
        }

        /// <summary><c>{"end":{}}</c>: no more frames; the server answers with the final stats and closes.</summary>
        public static string EncodeEnd()
        {
            return EndMessage;
        }

        /// <summary>Appends <c>{"frame":{...}}</c> to <paramref name="sb"/>: the allocation-free form
        /// of <see cref="EncodeFrame"/> for a transport that encodes straight to bytes.</summary>
        public static void AppendFrameMessage(StringBuilder sb, PoseFrame frame)
        {
            if (frame == null) throw new ArgumentNullException("frame");
            sb.Append("{\"frame\":");
            AppendPoseFrame(sb, frame);
            sb.Append('}');
        }

        /// <summary>Appends a bare SessionConfig object (no <c>config</c> wrapper).</summary>
        public static void AppendSessionConfig(StringBuilder sb, SessionConfig c)
        {
            var o = new ObjectWriter(sb);
            o.Enum("layout", (int)c.Layout, WireNames.SkeletonLayout);
            o.Enum("coordinateSpace", (int)c.CoordinateSpace, WireNames.CoordinateSpace);
            if (c.NominalFps.HasValue) o.Float("nominalFps", c.NominalFps.Value, true);
            o.Enum("mode", (int)c.Mode, WireNames.DrumMode);
            o.String("genre", c.Genre);
            o.Int64("seed", c.Seed, false);
            if (c.Density.HasValue) o.Float("density", c.Density.Value, true);
            if (c.Temperature.HasValue) o.Float("temperature", c.Temperature.Value, true);
            if (c.GenreStrength.HasValue) o.Float("genreStrength", c.GenreStrength.Value, true);
            if (c.LeadTimeUs.HasValue) o.Int64("leadTimeUs", c.LeadTimeUs.Value, true);
            o.Enum("handedness", (int)c.Handedness, WireNames.Handedness);
            o.Enum("upAxis", (int)c.UpAxis, WireNames.UpAxis);
            o.End();
        }

        /// <summary>Appends a bare PoseFrame object (no <c>frame</c> wrapper).</summary>
        public static void AppendPoseFrame(StringBuilder sb, PoseFrame f)
        {
            var o = new ObjectWriter(sb);
            o.Int64("timestampUs", f.TimestampUs, false);
            int count = f.ValueCount;
            if (count > 0)
            {
                o.Name("keypoints");
                sb.Append('[');
                float[] k = f.Keypoints;
                for (int i = 0; i < count; i++)
                {
                    if (i > 0) sb.Append(',');
                    JsonWriter.AppendFloat(sb, k[i]);
                }
                sb.Append(']');
            }
            o.UInt64("frameId", f.FrameId, false);
            o.End();
        }

        // ---------------------------------------------------------------- server -> client

        /// <summary>Decodes one text frame from the server.</summary>
        /// <exception cref="IbeatProtocolException">Not valid JSON, a value of the wrong type, or an
        /// unknown enum name. A message with no payload this client knows is returned with
        /// <see cref="ServerMessageKind.Unknown"/> (a newer server's).</exception>
        public static ServerMessage DecodeServerMessage(string json)
        {
            var r = new JsonReader(json);
            var m = new ServerMessage();
            r.BeginObject();
            string name;
            while (r.NextProperty(out name))
            {
                if (r.TryReadNull()) continue;
                switch (name)
                {
                    case "accepted": m.Accepted = ReadSessionAccepted(r); m.Kind = ServerMessageKind.Accepted; break;
                    case "beat": m.Beat = ReadBeatEvent(r); m.Kind = ServerMessageKind.Beat; break;
                    case "hits": m.Hits = ReadDrumHits(r); m.Kind = ServerMessageKind.Hits; break;
                    case "stats": m.Stats = ReadSessionStats(r); m.Kind = ServerMessageKind.Stats; break;
                    case "restarted": m.Restarted = ReadStreamRestarted(r); m.Kind = ServerMessageKind.Restarted; break;
                    case "source": m.Source = ReadSourceInfo(r); m.Kind = ServerMessageKind.Source; break;
                    case "sourceStatus":
                    case "source_status": m.SourceStatus = ReadSourceStatus(r); m.Kind = ServerMessageKind.SourceStatus; break;
                    default: r.SkipValue(); break;
                }
            }
            r.EnsureEnd();
            return m;
        }

        /// <summary>Decodes a bare SessionConfig object (as the E2E frames file holds it).</summary>
        public static SessionConfig DecodeSessionConfig(string json)
        {
            var r = new JsonReader(json);
            var c = new SessionConfig();
            r.BeginObject();
            string name;
            while (r.NextProperty(out name))
            {
                if (r.TryReadNull()) continue;
                switch (name)
                {
                    case "layout": c.Layout = (SkeletonLayout)r.ReadEnum(WireNames.SkeletonLayout, "SkeletonLayout"); break;
                    case "coordinateSpace":
                    case "coordinate_space": c.CoordinateSpace = (CoordinateSpace)r.ReadEnum(WireNames.CoordinateSpace, "CoordinateSpace"); break;
                    case "nominalFps":
                    case "nominal_fps": c.NominalFps = r.ReadFloat(); break;
                    case "mode": c.Mode = (DrumMode)r.ReadEnum(WireNames.DrumMode, "DrumMode"); break;
                    case "genre": c.Genre = r.ReadString(); break;
                    case "seed": c.Seed = r.ReadInt64(); break;
                    case "density": c.Density = r.ReadFloat(); break;
                    case "temperature": c.Temperature = r.ReadFloat(); break;
                    case "genreStrength":
                    case "genre_strength": c.GenreStrength = r.ReadFloat(); break;
                    case "leadTimeUs":
                    case "lead_time_us": c.LeadTimeUs = r.ReadInt64(); break;
                    case "handedness": c.Handedness = (Handedness)r.ReadEnum(WireNames.Handedness, "Handedness"); break;
                    case "upAxis":
                    case "up_axis": c.UpAxis = (UpAxis)r.ReadEnum(WireNames.UpAxis, "UpAxis"); break;
                    default: r.SkipValue(); break;
                }
            }
            r.EnsureEnd();
            return c;
        }

        /// <summary>Decodes a bare PoseFrame object; <see cref="PoseFrame.KeypointCount"/> is set to
        /// the number of values read.</summary>
        public static PoseFrame DecodePoseFrame(string json)
        {
            var r = new JsonReader(json);
            var f = new PoseFrame();
            r.BeginObject();
            string name;
            while (r.NextProperty(out name))
            {
                if (r.TryReadNull()) continue;
                switch (name)
                {
                    case "timestampUs":
                    case "timestamp_us": f.TimestampUs = r.ReadInt64(); break;
                    case "keypoints":
                        var values = new List<float>(80);
                        r.BeginArray();
                        while (r.NextElement()) values.Add(r.ReadFloat());
                        f.Keypoints = values.ToArray();
                        f.KeypointCount = f.Keypoints.Length;
                        break;
                    case "frameId":
                    case "frame_id": f.FrameId = r.ReadUInt64(); break;
                    default: r.SkipValue(); break;
                }
            }
            r.EnsureEnd();
            return f;
        }

        static SessionAccepted ReadSessionAccepted(JsonReader r)
        {
            var a = new SessionAccepted();
            r.BeginObject();
            string name;
            while (r.NextProperty(out name))
            {
                if (r.TryReadNull()) continue;
                switch (name)
                {
                    case "sessionId":
                    case "session_id": a.SessionId = r.ReadString(); break;
                    case "modelVersions":
                    case "model_versions":
                        r.BeginObject();
                        string key;
                        while (r.NextProperty(out key)) a.ModelVersions[key] = r.ReadString();
                        break;
                    case "internalRateHz":
                    case "internal_rate_hz": a.InternalRateHz = r.ReadDouble(); break;
                    case "jointsExpected":
                    case "joints_expected": a.JointsExpected = r.ReadUInt32(); break;
                    case "valuesPerJoint":
                    case "values_per_joint": a.ValuesPerJoint = r.ReadUInt32(); break;
                    case "leadTimeUs":
                    case "lead_time_us": a.LeadTimeUs = r.ReadInt64(); break;
                    case "genre": a.Genre = r.ReadString(); break;
                    case "mode": a.Mode = r.ReadString(); break;
                    case "maxGapUs":
                    case "max_gap_us": a.MaxGapUs = r.ReadInt64(); break;
                    case "statsIntervalUs":
                    case "stats_interval_us": a.StatsIntervalUs = r.ReadInt64(); break;
                    default: r.SkipValue(); break;
                }
            }
            return a;
        }

        static BeatEvent ReadBeatEvent(JsonReader r)
        {
            var b = new BeatEvent();
            r.BeginObject();
            string name;
            while (r.NextProperty(out name))
            {
                if (r.TryReadNull()) continue;
                switch (name)
                {
                    case "timeUs":
                    case "time_us": b.TimeUs = r.ReadInt64(); break;
                    case "tempoBpm":
                    case "tempo_bpm": b.TempoBpm = r.ReadDouble(); break;
                    case "confidence": b.Confidence = r.ReadFloat(); break;
                    case "index": b.Index = r.ReadInt64(); break;
                    case "feel": b.Feel = r.ReadString(); break;
                    case "emittedUs":
                    case "emitted_us": b.EmittedUs = r.ReadInt64(); break;
                    case "frameId":
                    case "frame_id": b.FrameId = r.ReadUInt64(); break;
                    case "beatInBar":
                    case "beat_in_bar": b.BeatInBar = r.ReadUInt32(); break;
                    case "beatsPerBar":
                    case "beats_per_bar": b.BeatsPerBar = r.ReadUInt32(); break;
                    default: r.SkipValue(); break;
                }
            }
            return b;
        }

        static DrumHits ReadDrumHits(JsonReader r)
        {
            var h = new DrumHits();
            r.BeginObject();
            string name;
            while (r.NextProperty(out name))
            {
                if (r.TryReadNull()) continue;
                switch (name)
                {
                    case "beatIndex":
                    case "beat_index": h.BeatIndex = r.ReadInt64(); break;
                    case "emittedUs":
                    case "emitted_us": h.EmittedUs = r.ReadInt64(); break;
                    case "frameId":
                    case "frame_id": h.FrameId = r.ReadUInt64(); break;
                    case "hits":
                        r.BeginArray();
                        while (r.NextElement()) h.Hits.Add(ReadDrumHit(r));
                        break;
                    default: r.SkipValue(); break;
                }
            }
            return h;
        }

        static DrumHit ReadDrumHit(JsonReader r)
        {
            var d = new DrumHit();
            r.BeginObject();
            string name;
            while (r.NextProperty(out name))
            {
                if (r.TryReadNull()) continue;
                switch (name)
                {
                    case "timeUs":
                    case "time_us": d.TimeUs = r.ReadInt64(); break;
                    case "drumClass":
                    case "drum_class": d.DrumClass = r.ReadUInt32(); break;
                    case "drum": d.Drum = r.ReadString(); break;
                    case "gmPitch":
                    case "gm_pitch": d.GmPitch = r.ReadUInt32(); break;
                    case "velocity": d.Velocity = r.ReadUInt32(); break;
                    case "beatIndex":
                    case "beat_index": d.BeatIndex = r.ReadInt64(); break;
                    case "step": d.Step = r.ReadUInt32(); break;
                    case "joint": d.Joint = r.ReadInt32(); break;
                    case "jointX":
                    case "joint_x": d.JointX = r.ReadFloat(); break;
                    case "jointY":
                    case "joint_y": d.JointY = r.ReadFloat(); break;
                    case "jointZ":
                    case "joint_z": d.JointZ = r.ReadFloat(); break;
                    case "layoutJoint":
                    case "layout_joint": d.LayoutJoint = r.ReadInt32(); break;
                    default: r.SkipValue(); break;
                }
            }
            return d;
        }

        static SessionStats ReadSessionStats(JsonReader r)
        {
            var s = new SessionStats();
            r.BeginObject();
            string name;
            while (r.NextProperty(out name))
            {
                if (r.TryReadNull()) continue;
                switch (name)
                {
                    case "framesReceived":
                    case "frames_received": s.FramesReceived = r.ReadUInt64(); break;
                    case "framesProcessed":
                    case "frames_processed": s.FramesProcessed = r.ReadUInt64(); break;
                    case "framesDropped":
                    case "frames_dropped": s.FramesDropped = r.ReadUInt64(); break;
                    case "eventsDropped":
                    case "events_dropped": s.EventsDropped = r.ReadUInt64(); break;
                    case "statsDropped":
                    case "stats_dropped": s.StatsDropped = r.ReadUInt64(); break;
                    case "latencyP50Us":
                    case "latency_p50_us": s.LatencyP50Us = r.ReadUInt32(); break;
                    case "latencyP99Us":
                    case "latency_p99_us": s.LatencyP99Us = r.ReadUInt32(); break;
                    case "latencyMaxUs":
                    case "latency_max_us": s.LatencyMaxUs = r.ReadUInt32(); break;
                    case "streamTimeUs":
                    case "stream_time_us": s.StreamTimeUs = r.ReadInt64(); break;
                    case "lastFrameId":
                    case "last_frame_id": s.LastFrameId = r.ReadUInt64(); break;
                    case "restarts": s.Restarts = r.ReadUInt32(); break;
                    case "final": s.Final = r.ReadBool(); break;
                    case "serverTimeUs":
                    case "server_time_us": s.ServerTimeUs = r.ReadInt64(); break;
                    case "sourceTimeUs":
                    case "source_time_us": s.SourceTimeUs = r.ReadInt64(); break;
                    case "hitsDroppedLate":
                    case "hits_dropped_late": s.HitsDroppedLate = r.ReadUInt64(); break;
                    default: r.SkipValue(); break;
                }
            }
            return s;
        }

        static StreamRestarted ReadStreamRestarted(JsonReader r)
        {
            var s = new StreamRestarted();
            r.BeginObject();
            string name;
            while (r.NextProperty(out name))
            {
                if (r.TryReadNull()) continue;
                switch (name)
                {
                    case "timeUs":
                    case "time_us": s.TimeUs = r.ReadInt64(); break;
                    case "gapUs":
                    case "gap_us": s.GapUs = r.ReadInt64(); break;
                    case "reason": s.Reason = r.ReadString(); break;
                    default: r.SkipValue(); break;
                }
            }
            return s;
        }

        static SourceInfo ReadSourceInfo(JsonReader r)
        {
            var s = new SourceInfo();
            r.BeginObject();
            string name;
            while (r.NextProperty(out name))
            {
                if (r.TryReadNull()) continue;
                switch (name)
                {
                    case "listenerId":
                    case "listener_id": s.ListenerId = r.ReadString(); break;
                    case "description": s.Description = r.ReadString(); break;
                    case "isLive":
                    case "is_live": s.IsLive = r.ReadBool(); break;
                    case "loop": s.Loop = r.ReadBool(); break;
                    case "fps": s.Fps = r.ReadDouble(); break;
                    case "width": s.Width = r.ReadUInt32(); break;
                    case "height": s.Height = r.ReadUInt32(); break;
                    case "durationUs":
                    case "duration_us": s.DurationUs = r.ReadInt64(); break;
                    case "poseModel":
                    case "pose_model": s.PoseModel = r.ReadString(); break;
                    case "session": s.Session = ReadSessionAccepted(r); break;
                    case "seed": s.Seed = r.ReadInt64(); break;
                    case "serverTimeUs":
                    case "server_time_us": s.ServerTimeUs = r.ReadInt64(); break;
                    case "sourceTimeUs":
                    case "source_time_us": s.SourceTimeUs = r.ReadInt64(); break;
                    case "listeners": s.Listeners = r.ReadUInt32(); break;
                    default: r.SkipValue(); break;
                }
            }
            return s;
        }

        static SourceStatus ReadSourceStatus(JsonReader r)
        {
            var s = new SourceStatus();
            r.BeginObject();
            string name;
            while (r.NextProperty(out name))
            {
                if (r.TryReadNull()) continue;
                switch (name)
                {
                    case "state": s.State = (SourceState)r.ReadEnum(WireNames.SourceState, "SourceState"); break;
                    case "message": s.Message = r.ReadString(); break;
                    case "timeUs":
                    case "time_us": s.TimeUs = r.ReadInt64(); break;
                    case "serverTimeUs":
                    case "server_time_us": s.ServerTimeUs = r.ReadInt64(); break;
                    default: r.SkipValue(); break;
                }
            }
            return s;
        }

        // ---------------------------------------------------------------- server messages, encoded

        /// <summary>Encodes a server message the way the server does: for tests, fakes and logs.</summary>
        public static string EncodeServerMessage(ServerMessage m)
        {
            if (m == null) throw new ArgumentNullException("m");
            var sb = new StringBuilder(256);
            var o = new ObjectWriter(sb);
            switch (m.Kind)
            {
                case ServerMessageKind.Accepted: o.Name("accepted"); AppendSessionAccepted(sb, m.Accepted); break;
                case ServerMessageKind.Beat: o.Name("beat"); AppendBeatEvent(sb, m.Beat); break;
                case ServerMessageKind.Hits: o.Name("hits"); AppendDrumHits(sb, m.Hits); break;
                case ServerMessageKind.Stats: o.Name("stats"); AppendSessionStats(sb, m.Stats); break;
                case ServerMessageKind.Restarted: o.Name("restarted"); AppendStreamRestarted(sb, m.Restarted); break;
                case ServerMessageKind.Source: o.Name("source"); AppendSourceInfo(sb, m.Source); break;
                case ServerMessageKind.SourceStatus: o.Name("sourceStatus"); AppendSourceStatus(sb, m.SourceStatus); break;
            }
            o.End();
            return sb.ToString();
        }

        static void AppendSessionAccepted(StringBuilder sb, SessionAccepted a)
        {
            var o = new ObjectWriter(sb);
            o.String("sessionId", a.SessionId);
            if (a.ModelVersions != null && a.ModelVersions.Count > 0)
            {
                o.Name("modelVersions");
                var map = new ObjectWriter(sb);
                foreach (KeyValuePair<string, string> kv in a.ModelVersions)
                {
                    map.Name(kv.Key);
                    JsonWriter.AppendString(sb, kv.Value);
                }
                map.End();
            }
            o.Double("internalRateHz", a.InternalRateHz);
            o.UInt32("jointsExpected", a.JointsExpected);
            o.UInt32("valuesPerJoint", a.ValuesPerJoint);
            o.Int64("leadTimeUs", a.LeadTimeUs, false);
            o.String("genre", a.Genre);
            o.String("mode", a.Mode);
            o.Int64("maxGapUs", a.MaxGapUs, false);
            o.Int64("statsIntervalUs", a.StatsIntervalUs, false);
            o.End();
        }

        static void AppendBeatEvent(StringBuilder sb, BeatEvent b)
        {
            var o = new ObjectWriter(sb);
            o.Int64("timeUs", b.TimeUs, false);
            o.Double("tempoBpm", b.TempoBpm);
            o.Float("confidence", b.Confidence, false);
            o.Int64("index", b.Index, false);
            o.String("feel", b.Feel);
            o.Int64("emittedUs", b.EmittedUs, false);
            o.UInt64("frameId", b.FrameId, false);
            o.UInt32("beatInBar", b.BeatInBar);
            o.UInt32("beatsPerBar", b.BeatsPerBar);
            o.End();
        }

        static void AppendDrumHits(StringBuilder sb, DrumHits h)
        {
            var o = new ObjectWriter(sb);
            o.Int64("beatIndex", h.BeatIndex, false);
            o.Int64("emittedUs", h.EmittedUs, false);
            o.UInt64("frameId", h.FrameId, false);
            if (h.Hits != null && h.Hits.Count > 0)
            {
                o.Name("hits");
                sb.Append('[');
                for (int i = 0; i < h.Hits.Count; i++)
                {
                    if (i > 0) sb.Append(',');
                    AppendDrumHit(sb, h.Hits[i]);
                }
                sb.Append(']');
            }
            o.End();
        }

        static void AppendDrumHit(StringBuilder sb, DrumHit d)
        {
            var o = new ObjectWriter(sb);
            o.Int64("timeUs", d.TimeUs, false);
            o.UInt32("drumClass", d.DrumClass);
            o.String("drum", d.Drum);
            o.UInt32("gmPitch", d.GmPitch);
            o.UInt32("velocity", d.Velocity);
            o.Int64("beatIndex", d.BeatIndex, false);
            o.UInt32("step", d.Step);
            o.Int32("joint", d.Joint);
            o.Float("jointX", d.JointX, false);
            o.Float("jointY", d.JointY, false);
            o.Float("jointZ", d.JointZ, false);
            o.Int32("layoutJoint", d.LayoutJoint);
            o.End();
        }

        static void AppendSessionStats(StringBuilder sb, SessionStats s)
        {
            var o = new ObjectWriter(sb);
            o.UInt64("framesReceived", s.FramesReceived, false);
            o.UInt64("framesProcessed", s.FramesProcessed, false);
            o.UInt64("framesDropped", s.FramesDropped, false);
            o.UInt64("eventsDropped", s.EventsDropped, false);
            o.UInt64("statsDropped", s.StatsDropped, false);
            o.UInt32("latencyP50Us", s.LatencyP50Us);
            o.UInt32("latencyP99Us", s.LatencyP99Us);
            o.UInt32("latencyMaxUs", s.LatencyMaxUs);
            o.Int64("streamTimeUs", s.StreamTimeUs, false);
            o.UInt64("lastFrameId", s.LastFrameId, false);
            o.UInt32("restarts", s.Restarts);
            o.Bool("final", s.Final);
            if (s.ServerTimeUs.HasValue) o.Int64("serverTimeUs", s.ServerTimeUs.Value, true);
            if (s.SourceTimeUs.HasValue) o.Int64("sourceTimeUs", s.SourceTimeUs.Value, true);
            o.UInt64("hitsDroppedLate", s.HitsDroppedLate, false);
            o.End();
        }

        static void AppendStreamRestarted(StringBuilder sb, StreamRestarted s)
        {
            var o = new ObjectWriter(sb);
            o.Int64("timeUs", s.TimeUs, false);
            o.Int64("gapUs", s.GapUs, false);
            o.String("reason", s.Reason);
            o.End();
        }

        static void AppendSourceInfo(StringBuilder sb, SourceInfo s)
        {
            var o = new ObjectWriter(sb);
            o.String("listenerId", s.ListenerId);
            o.String("description", s.Description);
            o.Bool("isLive", s.IsLive);
            o.Bool("loop", s.Loop);
            o.Double("fps", s.Fps);
            o.UInt32("width", s.Width);
            o.UInt32("height", s.Height);
            o.Int64("durationUs", s.DurationUs, false);
            o.String("poseModel", s.PoseModel);
            if (s.Session != null)
            {
                o.Name("session");
                AppendSessionAccepted(sb, s.Session);
            }
            o.Int64("seed", s.Seed, false);
            o.Int64("serverTimeUs", s.ServerTimeUs, false);
            if (s.SourceTimeUs.HasValue) o.Int64("sourceTimeUs", s.SourceTimeUs.Value, true);
            o.UInt32("listeners", s.Listeners);
            o.End();
        }

        static void AppendSourceStatus(StringBuilder sb, SourceStatus s)
        {
            var o = new ObjectWriter(sb);
            o.Enum("state", (int)s.State, WireNames.SourceState);
            o.String("message", s.Message);
            if (s.TimeUs.HasValue) o.Int64("timeUs", s.TimeUs.Value, true);
            o.Int64("serverTimeUs", s.ServerTimeUs, false);
            o.End();
        }

        /// <summary>
        /// Writes one JSON object's fields, skipping those at their proto3 default (0, "", false,
        /// enum 0) unless <c>always</c> is set (fields with explicit presence). A struct: the
        /// encoders create one per object without allocating.
        /// </summary>
        struct ObjectWriter
        {
            readonly StringBuilder sb;
            bool any;

            internal ObjectWriter(StringBuilder sb)
            {
                this.sb = sb;
                any = false;
                sb.Append('{');
            }

            internal void Name(string name)
            {
                if (any) sb.Append(',');
                any = true;
                JsonWriter.AppendString(sb, name);
                sb.Append(':');
            }

            internal void End()
            {
                sb.Append('}');
            }

            internal void String(string name, string value)
            {
                if (string.IsNullOrEmpty(value)) return;
                Name(name);
                JsonWriter.AppendString(sb, value);
            }

            internal void Int64(string name, long value, bool always)
            {
                if (value == 0 && !always) return;
                Name(name);
                JsonWriter.AppendQuotedInt64(sb, value);
            }

            internal void UInt64(string name, ulong value, bool always)
            {
                if (value == 0 && !always) return;
                Name(name);
                JsonWriter.AppendQuotedUInt64(sb, value);
            }

            internal void Int32(string name, int value)
            {
                if (value == 0) return;
                Name(name);
                JsonWriter.AppendInt64(sb, value);
            }

            internal void UInt32(string name, uint value)
            {
                if (value == 0) return;
                Name(name);
                JsonWriter.AppendUInt64(sb, value);
            }

            internal void Float(string name, float value, bool always)
            {
                // A float default is +0 only; NaN != 0 so it is written.
                if (value == 0f && !always) return;
                Name(name);
                JsonWriter.AppendFloat(sb, value);
            }

            internal void Double(string name, double value)
            {
                if (value == 0.0) return;
                Name(name);
                JsonWriter.AppendDouble(sb, value);
            }

            internal void Bool(string name, bool value)
            {
                if (!value) return;
                Name(name);
                JsonWriter.AppendBool(sb, value);
            }

            internal void Enum(string name, int value, string[] names)
            {
                if (value == 0) return;
                Name(name);
                string text = WireNames.NameOf(names, value);
                if (text != null) JsonWriter.AppendString(sb, text);
                else JsonWriter.AppendInt64(sb, value);   // proto3 enums are open: an unnamed value goes as its number
            }
        }
    }
}
