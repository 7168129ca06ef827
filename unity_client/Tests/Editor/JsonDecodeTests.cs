using System.Collections.Generic;
using NUnit.Framework;

namespace Ibeat.Tests
{
    /// <summary>
    /// Decoding what the server sends. The samples are the exact output of protobuf's
    /// json_format.MessageToJson for ibeat.v1.ServerMessage (the Python server's encoder):
    /// camelCase names, int64 as strings, defaults omitted.
    /// </summary>
    [TestFixture]
    public class JsonDecodeTests
    {
        const string AcceptedJson =
            @"{""accepted"": {""sessionId"": ""s-1"", ""modelVersions"": {""drumgen"": ""sha256:fedcba9876543210"", ""beatnet"": ""sha256:0123456789abcdef""}, ""internalRateHz"": 30.0, ""jointsExpected"": 19, ""valuesPerJoint"": 4, ""leadTimeUs"": ""100000"", ""genre"": ""rock"", ""mode"": ""poly"", ""maxGapUs"": ""2000000"", ""statsIntervalUs"": ""1000000""}}";

        const string BeatJson =
            @"{""beat"": {""timeUs"": ""1700000000123456"", ""tempoBpm"": 121.5, ""confidence"": 0.875, ""index"": ""3"", ""feel"": ""funk"", ""emittedUs"": ""1700000000023456"", ""frameId"": ""42"", ""beatInBar"": 2, ""beatsPerBar"": 4}}";

        const string HitsJson =
            @"{""hits"": {""beatIndex"": ""3"", ""emittedUs"": ""1700000000023456"", ""frameId"": ""42"", ""hits"": [{""timeUs"": ""1700000000123456"", ""drum"": ""kick"", ""gmPitch"": 36, ""velocity"": 100, ""beatIndex"": ""3"", ""joint"": 9, ""jointX"": -0.25, ""jointY"": 1.05, ""jointZ"": 0.1, ""layoutJoint"": 17}, {""timeUs"": ""1700000000247456"", ""drumClass"": 2, ""drum"": ""hihat"", ""gmPitch"": 42, ""velocity"": 64, ""beatIndex"": ""3"", ""step"": 2, ""jointY"": 1.62, ""jointZ"": 0.05, ""layoutJoint"": -1}]}}";

        const string FinalStatsJson =
            @"{""stats"": {""framesReceived"": ""600"", ""framesProcessed"": ""599"", ""framesDropped"": ""1"", ""eventsDropped"": ""2"", ""statsDropped"": ""3"", ""latencyP50Us"": 1500, ""latencyP99Us"": 4200, ""latencyMaxUs"": 9000, ""streamTimeUs"": ""1700000010000000"", ""lastFrameId"": ""599"", ""restarts"": 1, ""final"": true, ""hitsDroppedLate"": ""4""}}";

        const string SubscribeStatsJson =
            @"{""stats"": {""framesReceived"": ""10"", ""serverTimeUs"": ""0"", ""sourceTimeUs"": ""5""}}";

        const string RestartedJson =
            @"{""restarted"": {""timeUs"": ""5000000"", ""gapUs"": ""2500000"", ""reason"": ""gap of 2.5 s""}}";

        const string SourceJson =
            @"{""source"": {""listenerId"": ""l-7"", ""description"": ""video dance.mp4 (512x288, 30 fps, 9.6 s, looping)"", ""loop"": true, ""fps"": 30.0, ""width"": 512, ""height"": 288, ""durationUs"": ""9600000"", ""poseModel"": ""lite"", ""session"": {""sessionId"": ""src"", ""internalRateHz"": 30.0, ""leadTimeUs"": ""100000"", ""genre"": ""any"", ""mode"": ""poly"", ""statsIntervalUs"": ""1000000""}, ""seed"": ""5"", ""serverTimeUs"": ""123456789"", ""sourceTimeUs"": ""4000000"", ""listeners"": 2}}";

        const string SourceStatusJson =
            @"{""sourceStatus"": {""state"": ""SOURCE_STATE_NO_PERSON"", ""message"": ""no person in frame"", ""timeUs"": ""0"", ""serverTimeUs"": ""99""}}";

        [Test]
        public void Accepted()
        {
            ServerMessage m = IbeatJson.DecodeServerMessage(AcceptedJson);
            Assert.AreEqual(ServerMessageKind.Accepted, m.Kind);
            SessionAccepted a = m.Accepted;
            Assert.AreEqual("s-1", a.SessionId);
            Assert.AreEqual(2, a.ModelVersions.Count);
            Assert.AreEqual("sha256:0123456789abcdef", a.ModelVersions["beatnet"]);
            Assert.AreEqual(30.0, a.InternalRateHz);
            Assert.AreEqual(19u, a.JointsExpected);
            Assert.AreEqual(4u, a.ValuesPerJoint);
            Assert.AreEqual(100000L, a.LeadTimeUs);
            Assert.AreEqual("rock", a.Genre);
            Assert.AreEqual("poly", a.Mode);
            Assert.AreEqual(2000000L, a.MaxGapUs);
            Assert.AreEqual(1000000L, a.StatsIntervalUs);
            Assert.IsNull(m.Beat);
            Assert.IsNull(m.Hits);
        }

        [Test]
        public void Beat()
        {
            ServerMessage m = IbeatJson.DecodeServerMessage(BeatJson);
            Assert.AreEqual(ServerMessageKind.Beat, m.Kind);
            BeatEvent b = m.Beat;
            Assert.AreEqual(1700000000123456L, b.TimeUs);
            Assert.AreEqual(121.5, b.TempoBpm);
            Assert.AreEqual(0.875f, b.Confidence);
            Assert.AreEqual(3L, b.Index);
            Assert.AreEqual("funk", b.Feel);
            Assert.AreEqual(1700000000023456L, b.EmittedUs);
            Assert.AreEqual(42UL, b.FrameId);
            Assert.AreEqual(2U, b.BeatInBar);
            Assert.AreEqual(4U, b.BeatsPerBar);
        }

        [Test]
        public void Hits()
        {
            ServerMessage m = IbeatJson.DecodeServerMessage(HitsJson);
            Assert.AreEqual(ServerMessageKind.Hits, m.Kind);
            DrumHits h = m.Hits;
            Assert.AreEqual(3L, h.BeatIndex);
            Assert.AreEqual(1700000000023456L, h.EmittedUs);
            Assert.AreEqual(42UL, h.FrameId);
            Assert.AreEqual(2, h.Hits.Count);

            DrumHit kick = h.Hits[0];
            Assert.AreEqual(1700000000123456L, kick.TimeUs);
            Assert.AreEqual(0u, kick.DrumClass);   // omitted: the default
            Assert.AreEqual("kick", kick.Drum);
            Assert.AreEqual(36u, kick.GmPitch);
            Assert.AreEqual(100u, kick.Velocity);
            Assert.AreEqual(3L, kick.BeatIndex);
            Assert.AreEqual(0u, kick.Step);
            Assert.AreEqual(9, kick.Joint);
            Assert.AreEqual(-0.25f, kick.JointX);
            Assert.AreEqual(1.05f, kick.JointY);
            Assert.AreEqual(0.1f, kick.JointZ);
            Assert.AreEqual(17, kick.LayoutJoint);

            DrumHit hat = h.Hits[1];
            Assert.AreEqual(2u, hat.DrumClass);
            Assert.AreEqual("hihat", hat.Drum);
            Assert.AreEqual(2u, hat.Step);
            Assert.AreEqual(0, hat.Joint);
            Assert.AreEqual(0f, hat.JointX);
            Assert.AreEqual(-1, hat.LayoutJoint);
        }

        [Test]
        public void FinalStats()
        {
            ServerMessage m = IbeatJson.DecodeServerMessage(FinalStatsJson);
            Assert.AreEqual(ServerMessageKind.Stats, m.Kind);
            SessionStats s = m.Stats;
            Assert.AreEqual(600UL, s.FramesReceived);
            Assert.AreEqual(599UL, s.FramesProcessed);
            Assert.AreEqual(1UL, s.FramesDropped);
            Assert.AreEqual(2UL, s.EventsDropped);
            Assert.AreEqual(3UL, s.StatsDropped);
            Assert.AreEqual(1500u, s.LatencyP50Us);
            Assert.AreEqual(4200u, s.LatencyP99Us);
            Assert.AreEqual(9000u, s.LatencyMaxUs);
            Assert.AreEqual(1700000010000000L, s.StreamTimeUs);
            Assert.AreEqual(599UL, s.LastFrameId);
            Assert.AreEqual(1u, s.Restarts);
            Assert.IsTrue(s.Final);
            Assert.AreEqual(4UL, s.HitsDroppedLate);
            Assert.IsFalse(s.ServerTimeUs.HasValue);
            Assert.IsFalse(s.SourceTimeUs.HasValue);
        }

        [Test]
        public void SubscribeStatsKeepOptionalZero()
        {
            SessionStats s = IbeatJson.DecodeServerMessage(SubscribeStatsJson).Stats;
            Assert.IsTrue(s.ServerTimeUs.HasValue, "an optional field sent as 0 is set");
            Assert.AreEqual(0L, s.ServerTimeUs.Value);
            Assert.AreEqual(5L, s.SourceTimeUs.Value);
            Assert.IsFalse(s.Final);
        }

        [Test]
        public void Restarted()
        {
            ServerMessage m = IbeatJson.DecodeServerMessage(RestartedJson);
            Assert.AreEqual(ServerMessageKind.Restarted, m.Kind);
            Assert.AreEqual(5000000L, m.Restarted.TimeUs);
            Assert.AreEqual(2500000L, m.Restarted.GapUs);
            Assert.AreEqual("gap of 2.5 s", m.Restarted.Reason);
        }

        [Test]
        public void Source()
        {
            ServerMessage m = IbeatJson.DecodeServerMessage(SourceJson);
            Assert.AreEqual(ServerMessageKind.Source, m.Kind);
            SourceInfo s = m.Source;
            Assert.AreEqual("l-7", s.ListenerId);
            Assert.AreEqual("video dance.mp4 (512x288, 30 fps, 9.6 s, looping)", s.Description);
            Assert.IsFalse(s.IsLive);
            Assert.IsTrue(s.Loop);
            Assert.AreEqual(30.0, s.Fps);
            Assert.AreEqual(512u, s.Width);
            Assert.AreEqual(288u, s.Height);
            Assert.AreEqual(9600000L, s.DurationUs);
            Assert.AreEqual("lite", s.PoseModel);
            Assert.AreEqual("src", s.Session.SessionId);
            Assert.AreEqual(100000L, s.Session.LeadTimeUs);
            Assert.AreEqual(0u, s.Session.JointsExpected);
            Assert.AreEqual(5L, s.Seed);
            Assert.AreEqual(123456789L, s.ServerTimeUs);
            Assert.AreEqual(4000000L, s.SourceTimeUs.Value);
            Assert.AreEqual(2u, s.Listeners);
        }

        [Test]
        public void SourceStatus()
        {
            ServerMessage m = IbeatJson.DecodeServerMessage(SourceStatusJson);
            Assert.AreEqual(ServerMessageKind.SourceStatus, m.Kind);
            Assert.AreEqual(SourceState.NoPerson, m.SourceStatus.State);
            Assert.AreEqual("no person in frame", m.SourceStatus.Message);
            Assert.AreEqual(0L, m.SourceStatus.TimeUs.Value);
            Assert.AreEqual(99L, m.SourceStatus.ServerTimeUs);
        }

        [Test]
        public void SnakeCaseNames()
        {
            // preserving_proto_field_name=True output, and what grpcurl users type.
            ServerMessage m = IbeatJson.DecodeServerMessage(
                @"{""hits"":{""beat_index"":""4"",""emitted_us"":""10"",""frame_id"":""7"",""hits"":[{""time_us"":""20"",""drum_class"":1,""gm_pitch"":38,""beat_index"":""4"",""joint_x"":1.5,""joint_y"":2.5,""joint_z"":3.5,""layout_joint"":-1}]}}");
            DrumHit d = m.Hits.Hits[0];
            Assert.AreEqual(4L, m.Hits.BeatIndex);
            Assert.AreEqual(7UL, m.Hits.FrameId);
            Assert.AreEqual(20L, d.TimeUs);
            Assert.AreEqual(1u, d.DrumClass);
            Assert.AreEqual(38u, d.GmPitch);
            Assert.AreEqual(1.5f, d.JointX);
            Assert.AreEqual(3.5f, d.JointZ);
            Assert.AreEqual(-1, d.LayoutJoint);

            m = IbeatJson.DecodeServerMessage(@"{""source_status"":{""state"":""SOURCE_STATE_TRACKING"",""server_time_us"":""8""}}");
            Assert.AreEqual(ServerMessageKind.SourceStatus, m.Kind);
            Assert.AreEqual(SourceState.Tracking, m.SourceStatus.State);
            Assert.AreEqual(8L, m.SourceStatus.ServerTimeUs);
            Assert.IsFalse(m.SourceStatus.TimeUs.HasValue);

            m = IbeatJson.DecodeServerMessage(@"{""accepted"":{""session_id"":""x"",""model_versions"":{""a"":""b""},""lead_time_us"":""5"",""stats_interval_us"":""6""}}");
            Assert.AreEqual("x", m.Accepted.SessionId);
            Assert.AreEqual("b", m.Accepted.ModelVersions["a"]);
            Assert.AreEqual(5L, m.Accepted.LeadTimeUs);
            Assert.AreEqual(6L, m.Accepted.StatsIntervalUs);
        }

        [Test]
        public void UnknownFieldsAreIgnored()
        {
            ServerMessage m = IbeatJson.DecodeServerMessage(
                @"{""beat"":{""timeUs"":""9"",""futureField"":{""nested"":[1,2,{""x"":null}],""s"":""\""}""},""alsoNew"":[true,false,null,-1.5e3]},""topLevelNew"":7}");
            Assert.AreEqual(ServerMessageKind.Beat, m.Kind);
            Assert.AreEqual(9L, m.Beat.TimeUs);
        }

        [Test]
        public void UnknownPayloadIsKindUnknown()
        {
            ServerMessage m = IbeatJson.DecodeServerMessage(@"{""somethingNew"":{""a"":1}}");
            Assert.AreEqual(ServerMessageKind.Unknown, m.Kind);
            Assert.AreEqual(ServerMessageKind.Unknown, IbeatJson.DecodeServerMessage("{}").Kind);
        }

        [Test]
        public void EnumNumbersAndIntegersAsNumbers()
        {
            ServerMessage m = IbeatJson.DecodeServerMessage(@"{""sourceStatus"":{""state"":5,""serverTimeUs"":1700000000123456}}");
            Assert.AreEqual(SourceState.Failed, m.SourceStatus.State);
            Assert.AreEqual(1700000000123456L, m.SourceStatus.ServerTimeUs);

            // Integral numbers in exponent or decimal form are accepted, as protobuf's parsers do.
            m = IbeatJson.DecodeServerMessage(@"{""beat"":{""timeUs"":1e6,""index"":""2.0"",""frameId"":""18446744073709551615""}}");
            Assert.AreEqual(1000000L, m.Beat.TimeUs);
            Assert.AreEqual(2L, m.Beat.Index);
            Assert.AreEqual(ulong.MaxValue, m.Beat.FrameId);

            m = IbeatJson.DecodeServerMessage(@"{""restarted"":{""timeUs"":""-9223372036854775808"",""gapUs"":9223372036854775807}}");
            Assert.AreEqual(long.MinValue, m.Restarted.TimeUs);
            Assert.AreEqual(long.MaxValue, m.Restarted.GapUs);
        }

        [Test]
        public void NullMeansDefault()
        {
            ServerMessage m = IbeatJson.DecodeServerMessage(@"{""beat"":{""timeUs"":null,""feel"":null,""index"":""1""}}");
            Assert.AreEqual(0L, m.Beat.TimeUs);
            Assert.AreEqual("", m.Beat.Feel);
            Assert.AreEqual(1L, m.Beat.Index);
        }

        [Test]
        public void NonFiniteNumbersAsStrings()
        {
            ServerMessage m = IbeatJson.DecodeServerMessage(@"{""hits"":{""hits"":[{""jointX"":""NaN"",""jointY"":""Infinity"",""jointZ"":""-Infinity""}]}}");
            DrumHit d = m.Hits.Hits[0];
            Assert.IsTrue(float.IsNaN(d.JointX));
            Assert.IsTrue(float.IsPositiveInfinity(d.JointY));
            Assert.IsTrue(float.IsNegativeInfinity(d.JointZ));
            m = IbeatJson.DecodeServerMessage(@"{""beat"":{""tempoBpm"":""120.5""}}");
            Assert.AreEqual(120.5, m.Beat.TempoBpm);
        }

        [Test]
        public void StringEscapes()
        {
            ServerMessage m = IbeatJson.DecodeServerMessage(@"{""restarted"":{""reason"":""a\""b\\c\/d\n\t\u00e9\ud83e\udd41""}}");
            Assert.AreEqual("a\"b\\c/d\n\t\u00e9\ud83e\udd41", m.Restarted.Reason);
        }

        [TestCase("")]
        [TestCase("   ")]
        [TestCase("[]")]
        [TestCase("{")]
        [TestCase("{\"beat\":}")]
        [TestCase("{\"beat\":{\"timeUs\":\"9\"}")]
        [TestCase("{\"beat\":{\"timeUs\":\"9\",}}")]
        [TestCase("{\"beat\":{,\"timeUs\":\"9\"}}")]
        [TestCase("{\"beat\":{\"timeUs\" \"9\"}}")]
        [TestCase("{\"beat\":{\"timeUs\":\"9\"}} trailing")]
        [TestCase("{\"beat\":{\"timeUs\":\"abc\"}}")]
        [TestCase("{\"beat\":{\"timeUs\":1.5}}")]
        [TestCase("{\"beat\":{\"timeUs\":\"9223372036854775808\"}}")]
        [TestCase("{\"beat\":{\"frameId\":\"-1\"}}")]
        [TestCase("{\"beat\":{\"tempoBpm\":\"fast\"}}")]
        [TestCase("{\"beat\":{\"tempoBpm\":01}}")]
        [TestCase("{\"beat\":{\"tempoBpm\":.5}}")]
        [TestCase("{\"beat\":{\"tempoBpm\":NaN}}")]
        [TestCase("{\"beat\":{\"feel\":\"unterminated}}")]
        [TestCase("{\"beat\":{\"feel\":\"bad \\x escape\"}}")]
        [TestCase("{\"beat\":{\"feel\":5}}")]
        [TestCase("{\"stats\":{\"final\":\"yes\"}}")]
        [TestCase("{\"stats\":{\"latencyP50Us\":4294967296}}")]
        [TestCase("{\"hits\":{\"hits\":[{\"joint\":2147483648}]}}")]
        [TestCase("{\"hits\":{\"hits\":{}}}")]
        [TestCase("{\"hits\":{\"hits\":[1,]}}")]
        [TestCase("{'beat':{}}")]
        public void BadJsonThrowsProtocolException(string json)
        {
            Assert.Throws<IbeatProtocolException>(delegate { IbeatJson.DecodeServerMessage(json); });
        }

        [Test]
        public void NullTextThrowsProtocolException()
        {
            Assert.Throws<IbeatProtocolException>(delegate { IbeatJson.DecodeServerMessage(null); });
        }

        [Test]
        public void UnknownEnumNameThrowsProtocolException()
        {
            var e = Assert.Throws<IbeatProtocolException>(delegate
            {
                IbeatJson.DecodeServerMessage(@"{""sourceStatus"":{""state"":""SOURCE_STATE_DANCING""}}");
            });
            StringAssert.Contains("SOURCE_STATE_DANCING", e.Message);
        }

        [Test]
        public void DeepNestingIsRefused()
        {
            string deep = "{\"x\":" + new string('[', 200) + new string(']', 200) + "}";
            Assert.Throws<IbeatProtocolException>(delegate { IbeatJson.DecodeServerMessage(deep); });
        }

        [Test]
        public void WhitespaceAnywhere()
        {
            ServerMessage m = IbeatJson.DecodeServerMessage(" \n{ \"beat\" :\t{ \"timeUs\" : \"5\" , \"index\" : 2 }\r\n}\n ");
            Assert.AreEqual(5L, m.Beat.TimeUs);
            Assert.AreEqual(2L, m.Beat.Index);
        }

        [Test]
        public void EveryKindRoundTrips()
        {
            var samples = new List<string>
            {
                AcceptedJson, BeatJson, HitsJson, FinalStatsJson, SubscribeStatsJson, RestartedJson,
                SourceJson, SourceStatusJson,
            };
            foreach (string json in samples)
            {
                ServerMessage first = IbeatJson.DecodeServerMessage(json);
                string encoded = IbeatJson.EncodeServerMessage(first);
                ServerMessage second = IbeatJson.DecodeServerMessage(encoded);
                Assert.AreEqual(first.Kind, second.Kind, json);
                // Encoding is canonical, so a second round gives the same text.
                Assert.AreEqual(encoded, IbeatJson.EncodeServerMessage(second), json);
            }
        }

        [Test]
        public void EncodedServerMessageMatchesProtobufText()
        {
            // Same fields, same order as json_format (which writes in field-number order), no spaces.
            Assert.AreEqual(
                @"{""beat"":{""timeUs"":""1700000000123456"",""tempoBpm"":121.5,""confidence"":0.875,""index"":""3"",""feel"":""funk"",""emittedUs"":""1700000000023456"",""frameId"":""42"",""beatInBar"":2,""beatsPerBar"":4}}",
                IbeatJson.EncodeServerMessage(IbeatJson.DecodeServerMessage(BeatJson)));
            Assert.AreEqual(
                @"{""sourceStatus"":{""state"":""SOURCE_STATE_NO_PERSON"",""message"":""no person in frame"",""timeUs"":""0"",""serverTimeUs"":""99""}}",
                IbeatJson.EncodeServerMessage(IbeatJson.DecodeServerMessage(SourceStatusJson)));
            Assert.AreEqual(
                @"{""stats"":{""framesReceived"":""10"",""serverTimeUs"":""0"",""sourceTimeUs"":""5""}}",
                IbeatJson.EncodeServerMessage(IbeatJson.DecodeServerMessage(SubscribeStatsJson)));
        }

        [Test]
        public void HitsRoundTripFieldByField()
        {
            var original = new DrumHits { BeatIndex = 12, EmittedUs = -5, FrameId = ulong.MaxValue };
            original.Hits.Add(new DrumHit
            {
                TimeUs = long.MaxValue, DrumClass = 8, Drum = "ride \"bell\"", GmPitch = 53, Velocity = 127,
                BeatIndex = 12, Step = 3, Joint = 16, JointX = 1e-7f, JointY = -123456.7f, JointZ = float.NaN, LayoutJoint = -1,
            });
            string json = IbeatJson.EncodeServerMessage(new ServerMessage { Kind = ServerMessageKind.Hits, Hits = original });
            DrumHits back = IbeatJson.DecodeServerMessage(json).Hits;
            Assert.AreEqual(12L, back.BeatIndex);
            Assert.AreEqual(-5L, back.EmittedUs);
            Assert.AreEqual(ulong.MaxValue, back.FrameId);
            DrumHit d = back.Hits[0];
            Assert.AreEqual(long.MaxValue, d.TimeUs);
            Assert.AreEqual(8u, d.DrumClass);
            Assert.AreEqual("ride \"bell\"", d.Drum);
            Assert.AreEqual(53u, d.GmPitch);
            Assert.AreEqual(127u, d.Velocity);
            Assert.AreEqual(3u, d.Step);
            Assert.AreEqual(16, d.Joint);
            Assert.AreEqual(1e-7f, d.JointX);
            Assert.AreEqual(-123456.7f, d.JointY);
            Assert.IsTrue(float.IsNaN(d.JointZ));
            Assert.AreEqual(-1, d.LayoutJoint);
        }
    }
}
