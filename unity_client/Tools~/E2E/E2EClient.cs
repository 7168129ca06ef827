using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Ibeat.E2E
{
    /// <summary>
    /// End-to-end check of Ibeat.Core against a running <c>ibeat-server --ws-port N</c>: streams a
    /// recorded session in real time over <see cref="WebSocketTransport"/> and schedules the hits
    /// that come back the way the Unity runtime does (ClockMap + HitScheduler), on a simulated
    /// audio clock. Writes what happened to a JSON file and prints one summary line.
    /// </summary>
    /// <remarks>
    /// Frames file (UTF-8, one JSON object per line, proto3 JSON field names):
    /// line 1, a SessionConfig: <c>{"layout": "SKELETON_LAYOUT_HEAD_HANDS", ...}</c>;
    /// then one PoseFrame per line: <c>{"timestampUs": "...", "keypoints": [...], "frameId": "..."}</c>.
    /// Timestamps are the client clock [us] and are sent as they are; in real time the frames are
    /// paced by their timestamp differences.
    ///
    /// Usage: E2EClient.exe --server ws://127.0.0.1:8765 --frames FILE --out RESULT.json
    ///        [--realtime | --no-realtime] [--token T] [--timeout SECONDS]
    /// Exit code 0 when the stream ended OK with a final stats, 1 otherwise, 2 for bad arguments.
    /// </remarks>
    public static class E2EClient
    {
        // The simulated audio clock: dspTime = 1000 s + stopwatch time, running 20 ppm fast, as a
        // sound card's crystal might. The ClockMap must absorb both.
        const double DspOffsetSeconds = 1000.0;
        const double DspDrift = 20e-6;
        // How far ahead hits are handed to the "audio system" each pump, as a Unity Update at
        // 60 fps with margin would.
        const double HorizonSeconds = 0.03;
        // How long hits may still come due after the stream ended (the lead time is at most 2 s).
        const double DrainSeconds = 2.5;

        sealed class Options
        {
            public string Server = "ws://127.0.0.1:8765";
            public string Frames;
            public string Out;
            public bool Realtime = true;
            public string Token;
            public double TimeoutSeconds = -1;
        }

        sealed class HitRecord
        {
            public DrumHit Hit;
            public ulong FrameId;
            public long ArrivalUs;
            public bool Scheduled;
            public double DspTime;
        }

        // Shared between the receive thread (writes) and the main thread (reads): guarded by Gate.
        static readonly object Gate = new object();
        static readonly List<HitRecord> Records = new List<HitRecord>();
        static readonly Dictionary<DrumHit, HitRecord> RecordOf = new Dictionary<DrumHit, HitRecord>();
        static SessionAccepted accepted;
        static SessionStats lastStats;
        static SessionStats finalStats;
        static int beats;
        static int restarts;
        static int statsMessages;

        static readonly Stopwatch Clock = new Stopwatch();
        static long streamOriginUs;     // stream time at stopwatch zero

        public static int Main(string[] args)
        {
            Options o;
            try
            {
                o = Parse(args);
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine("E2EClient: " + e.Message);
                Console.Error.WriteLine("usage: E2EClient --server ws://127.0.0.1:8765 --frames FILE --out RESULT.json [--realtime|--no-realtime] [--token T] [--timeout S]");
                return 2;
            }
            return Run(o);
        }

        static Options Parse(string[] args)
        {
            var o = new Options();
            for (int i = 0; i < args.Length; i++)
            {
                string a = args[i];
                if (a == "--realtime") { o.Realtime = true; continue; }
                if (a == "--no-realtime") { o.Realtime = false; continue; }
                if (i + 1 >= args.Length) throw new ArgumentException(a + " needs a value");
                string v = args[++i];
                switch (a)
                {
                    case "--server": o.Server = v; break;
                    case "--frames": o.Frames = v; break;
                    case "--out": o.Out = v; break;
                    case "--token": o.Token = v; break;
                    case "--timeout": o.TimeoutSeconds = double.Parse(v, CultureInfo.InvariantCulture); break;
                    default: throw new ArgumentException("unknown option " + a);
                }
            }
            if (o.Frames == null) throw new ArgumentException("--frames is required");
            if (o.Out == null) throw new ArgumentException("--out is required");
            return o;
        }

        static int Run(Options o)
        {
            SessionConfig config;
            var frames = new List<PoseFrame>();
            try
            {
                ReadFrames(o.Frames, out config, frames);
            }
            catch (IOException e)
            {
                // InvalidDataException (a bad line) is an IOException too.
                Console.Error.WriteLine("E2EClient: " + e.Message);
                return 2;
            }
            if (frames.Count == 0)
            {
                Console.Error.WriteLine("E2EClient: " + o.Frames + " holds no frames");
                return 2;
            }

            long firstUs = frames[0].TimestampUs;
            double spanSeconds = (frames[frames.Count - 1].TimestampUs - firstUs) * 1e-6;
            double timeout = o.TimeoutSeconds > 0 ? o.TimeoutSeconds : (o.Realtime ? spanSeconds : 0) + 60.0;

            var clockMap = new ClockMap();
            var scheduler = new HitScheduler(clockMap);
            var due = new List<ScheduledHit>();
            int framesSent = 0;
            IbeatStatus status;

            using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(timeout)))
            using (var transport = new WebSocketTransport(new Uri(o.Server), o.Token))
            {
                streamOriginUs = firstUs;
                Clock.Start();
                transport.OpenSessionAsync(config, cts.Token).Wait();
                Task<IbeatStatus> receiving = transport.ReceiveAsync(
                    delegate (ServerMessage m) { OnMessage(m, scheduler); }, cts.Token);

                // Stream time now follows the stopwatch from the first frame's timestamp.
                Volatile.Write(ref streamOriginUs, firstUs - ElapsedUs());
                foreach (PoseFrame frame in frames)
                {
                    if (receiving.IsCompleted) break;   // the server ended the stream early
                    if (o.Realtime)
                    {
                        while (StreamNowUs() < frame.TimestampUs)
                        {
                            Pump(scheduler, due);
                            long waitUs = frame.TimestampUs - StreamNowUs();
                            if (waitUs > 2000) Thread.Sleep(1);
                            else Thread.Yield();
                        }
                    }
                    // Both clocks read at one instant, as the Unity runtime does once per frame.
                    long ticks = Clock.ElapsedTicks;
                    clockMap.AddSample(StreamUsAt(ticks) * 1e-6, DspAt(ticks));
                    transport.SendFrameAsync(frame, cts.Token).Wait();
                    framesSent++;
                    Pump(scheduler, due);
                }
                transport.EndAsync(cts.Token).Wait();

                while (!receiving.IsCompleted)
                {
                    Pump(scheduler, due);
                    Thread.Sleep(1);
                }
                status = receiving.Result;

                // Hits of the last beats may still be ahead: keep the audio clock going.
                double drainUntil = DspNow() + DrainSeconds;
                while (scheduler.Pending > 0 && DspNow() < drainUntil)
                {
                    Pump(scheduler, due);
                    Thread.Sleep(1);
                }
            }

            int pending = scheduler.Pending;
            string json = ResultJson(status, framesSent, scheduler, pending, clockMap);
            File.WriteAllText(o.Out, json, new UTF8Encoding(false));
            Console.WriteLine(Summary(status, framesSent, scheduler, pending));
            return status.IsOk && finalStats != null ? 0 : 1;
        }

        static void ReadFrames(string path, out SessionConfig config, List<PoseFrame> frames)
        {
            config = null;
            int lineNumber = 0;
            foreach (string raw in File.ReadLines(path))
            {
                lineNumber++;
                string line = raw.Trim();
                if (line.Length == 0) continue;
                try
                {
                    if (config == null) config = IbeatJson.DecodeSessionConfig(line);
                    else frames.Add(IbeatJson.DecodePoseFrame(line));
                }
                catch (IbeatProtocolException e)
                {
                    throw new InvalidDataException(path + ":" + lineNumber + ": " + e.Message, e);
                }
            }
            if (config == null) throw new InvalidDataException(path + " is empty: line 1 must be a SessionConfig");
        }

        // Receive thread.
        static void OnMessage(ServerMessage m, HitScheduler scheduler)
        {
            long arrivalUs = StreamNowUs();
            lock (Gate)
            {
                switch (m.Kind)
                {
                    case ServerMessageKind.Accepted:
                        accepted = m.Accepted;
                        break;
                    case ServerMessageKind.Beat:
                        beats++;
                        break;
                    case ServerMessageKind.Hits:
                        foreach (DrumHit hit in m.Hits.Hits)
                        {
                            var r = new HitRecord { Hit = hit, FrameId = m.Hits.FrameId, ArrivalUs = arrivalUs };
                            Records.Add(r);
                            RecordOf[hit] = r;
                        }
                        break;
                    case ServerMessageKind.Stats:
                        statsMessages++;
                        lastStats = m.Stats;
                        if (m.Stats.Final) finalStats = m.Stats;
                        break;
                    case ServerMessageKind.Restarted:
                        restarts++;
                        break;
                }
            }
            if (m.Kind == ServerMessageKind.Hits) scheduler.AddAll(m.Hits);
        }

        // Main thread: hand the due hits to the "audio system" (here: mark them scheduled).
        static void Pump(HitScheduler scheduler, List<ScheduledHit> due)
        {
            due.Clear();
            if (scheduler.TakeDue(DspNow(), HorizonSeconds, due) == 0) return;
            lock (Gate)
            {
                foreach (ScheduledHit s in due)
                {
                    HitRecord r;
                    if (RecordOf.TryGetValue(s.Hit, out r))
                    {
                        r.Scheduled = true;
                        r.DspTime = s.DspTime;
                    }
                }
            }
        }

        static long ElapsedUs()
        {
            return (long)(Clock.ElapsedTicks * (1e6 / Stopwatch.Frequency));
        }

        static long StreamNowUs()
        {
            return StreamUsAt(Clock.ElapsedTicks);
        }

        static long StreamUsAt(long ticks)
        {
            return Volatile.Read(ref streamOriginUs) + (long)(ticks * (1e6 / Stopwatch.Frequency));
        }

        static double DspNow()
        {
            return DspAt(Clock.ElapsedTicks);
        }

        static double DspAt(long ticks)
        {
            return DspOffsetSeconds + ticks / (double)Stopwatch.Frequency * (1.0 + DspDrift);
        }

        static string Summary(IbeatStatus status, int framesSent, HitScheduler scheduler, int pending)
        {
            var leads = new List<long>();
            lock (Gate)
            {
                foreach (HitRecord r in Records) leads.Add(r.Hit.TimeUs - r.ArrivalUs);
            }
            leads.Sort();
            string leadText = leads.Count == 0 ? "no hits" :
                string.Format(CultureInfo.InvariantCulture, "lead min {0:F1} ms, median {1:F1} ms",
                              leads[0] / 1000.0, leads[leads.Count / 2] / 1000.0);
            string statsText = finalStats == null ? "no final stats" :
                string.Format(CultureInfo.InvariantCulture, "final stats {0} received, {1} processed, p99 {2:F1} ms",
                              finalStats.FramesReceived, finalStats.FramesProcessed, finalStats.LatencyP99Us / 1000.0);
            return string.Format(CultureInfo.InvariantCulture,
                "e2e: {0}: {1} frames sent, {2} beats, {3} hits ({4} scheduled, {5} dropped, {6} never due), {7}; {8}",
                status, framesSent, beats, leads.Count, scheduler.Scheduled, scheduler.Dropped, pending, leadText, statsText);
        }

        static string ResultJson(IbeatStatus status, int framesSent, HitScheduler scheduler, int pending, ClockMap clockMap)
        {
            var w = new Json();
            w.Open('{');
            w.Key("status").String(status.CodeName);
            w.Key("detail").String(status.Detail);
            w.Key("framesSent").Number(framesSent);
            lock (Gate)
            {
                if (accepted != null)
                {
                    w.Key("accepted").Open('{');
                    w.Key("sessionId").String(accepted.SessionId);
                    w.Key("leadTimeUs").Number(accepted.LeadTimeUs);
                    w.Key("jointsExpected").Number(accepted.JointsExpected);
                    w.Key("valuesPerJoint").Number(accepted.ValuesPerJoint);
                    w.Key("genre").String(accepted.Genre);
                    w.Key("mode").String(accepted.Mode);
                    w.Close('}');
                }
                w.Key("hits").Open('[');
                foreach (HitRecord r in Records)
                {
                    DrumHit h = r.Hit;
                    w.Item().Open('{');
                    w.Key("timeUs").Number(h.TimeUs);
                    w.Key("drum").String(h.Drum);
                    w.Key("drumClass").Number(h.DrumClass);
                    w.Key("gmPitch").Number(h.GmPitch);
                    w.Key("velocity").Number(h.Velocity);
                    w.Key("beatIndex").Number(h.BeatIndex);
                    w.Key("step").Number(h.Step);
                    w.Key("joint").Number(h.Joint);
                    w.Key("layoutJoint").Number(h.LayoutJoint);
                    w.Key("frameId").Number((long)r.FrameId);
                    w.Key("arrivalUs").Number(r.ArrivalUs);
                    w.Key("leadUs").Number(h.TimeUs - r.ArrivalUs);
                    w.Key("scheduled").Bool(r.Scheduled);
                    if (r.Scheduled) w.Key("dspTime").Double(r.DspTime);
                    w.Close('}');
                }
                w.Close(']');
                w.Key("beats").Number(beats);
                w.Key("restarts").Number(restarts);
                w.Key("statsMessages").Number(statsMessages);
                w.Key("scheduled").Number(scheduler.Scheduled);
                w.Key("dropped").Number(scheduler.Dropped);
                w.Key("neverDue").Number(pending);
                w.Key("clock").Open('{');
                w.Key("driftFitted").Double(clockMap.Ready ? clockMap.Drift : 0.0);
                w.Key("driftSimulated").Double(DspDrift);
                w.Key("residualSeconds").Double(clockMap.ResidualSeconds);
                w.Close('}');
                SessionStats s = finalStats ?? lastStats;
                if (s != null)
                {
                    w.Key("finalStats").Open('{');
                    w.Key("framesReceived").Number((long)s.FramesReceived);
                    w.Key("framesProcessed").Number((long)s.FramesProcessed);
                    w.Key("framesDropped").Number((long)s.FramesDropped);
                    w.Key("eventsDropped").Number((long)s.EventsDropped);
                    w.Key("statsDropped").Number((long)s.StatsDropped);
                    w.Key("latencyP50Us").Number(s.LatencyP50Us);
                    w.Key("latencyP99Us").Number(s.LatencyP99Us);
                    w.Key("latencyMaxUs").Number(s.LatencyMaxUs);
                    w.Key("streamTimeUs").Number(s.StreamTimeUs);
                    w.Key("lastFrameId").Number((long)s.LastFrameId);
                    w.Key("restarts").Number(s.Restarts);
                    w.Key("final").Bool(s.Final);
                    w.Key("hitsDroppedLate").Number((long)s.HitsDroppedLate);
                    w.Close('}');
                }
                else
                {
                    w.Key("finalStats").Null();
                }
            }
            w.Close('}');
            return w.ToString() + "\n";
        }

        /// <summary>A tiny JSON writer for the result file (plain numbers, not proto3 strings, so
        /// any JSON reader takes it as it is).</summary>
        sealed class Json
        {
            readonly StringBuilder sb = new StringBuilder();
            bool first = true;

            public Json Open(char bracket) { sb.Append(bracket); first = true; return this; }
            public Json Close(char bracket) { sb.Append(bracket); first = false; return this; }

            public Json Key(string name)
            {
                Item();
                Quote(name);
                sb.Append(':');
                return this;
            }

            public Json Item()
            {
                if (!first) sb.Append(',');
                first = false;
                return this;
            }

            public void String(string s) { Quote(s ?? ""); }
            public void Number(long v) { sb.Append(v.ToString(CultureInfo.InvariantCulture)); }
            public void Double(double v) { sb.Append(double.IsNaN(v) || double.IsInfinity(v) ? "null" : v.ToString("R", CultureInfo.InvariantCulture)); }
            public void Bool(bool v) { sb.Append(v ? "true" : "false"); }
            public void Null() { sb.Append("null"); }

            void Quote(string s)
            {
                sb.Append('"');
                foreach (char c in s)
                {
                    if (c == '"' || c == '\\') sb.Append('\\').Append(c);
                    else if (c < ' ') sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                }
                sb.Append('"');
            }

            public override string ToString() { return sb.ToString(); }
        }
    }
}
