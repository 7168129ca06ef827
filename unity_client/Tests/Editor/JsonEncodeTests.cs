using System;
using System.Globalization;
using System.Text;
using System.Threading;
using NUnit.Framework;

namespace Ibeat.Tests
{
    /// <summary>What the client sends: exact texts, so the server's json_format.Parse reads them.</summary>
    [TestFixture]
    public class JsonEncodeTests
    {
        [Test]
        public void UnityConfig()
        {
            var c = new SessionConfig
            {
                Layout = SkeletonLayout.Humanoid,
                CoordinateSpace = CoordinateSpace.Meters,
                NominalFps = 60f,
                Mode = DrumMode.Poly,
                Genre = "rock",
                Seed = 7,
                Density = 0.5f,
                Temperature = 1f,
                GenreStrength = 4f,
                LeadTimeUs = 100000,
                Handedness = Handedness.Left,
                UpAxis = UpAxis.Y,
            };
            Assert.AreEqual(
                @"{""config"":{""layout"":""SKELETON_LAYOUT_HUMANOID"",""coordinateSpace"":""COORDINATE_SPACE_METERS"",""nominalFps"":60,""mode"":""DRUM_MODE_POLY"",""genre"":""rock"",""seed"":""7"",""density"":0.5,""temperature"":1,""genreStrength"":4,""leadTimeUs"":""100000"",""handedness"":""HANDEDNESS_LEFT"",""upAxis"":""UP_AXIS_Y""}}",
                IbeatJson.EncodeConfig(c));
        }

        [Test]
        public void DefaultConfigSendsNothing()
        {
            Assert.AreEqual(@"{""config"":{}}", IbeatJson.EncodeConfig(new SessionConfig()));
        }

        [Test]
        public void OptionalZeroIsSent()
        {
            // Temperature 0 (no randomness) differs from "unset" (server default 1).
            var c = new SessionConfig { Temperature = 0f, Density = -1.25f, Layout = SkeletonLayout.HeadHands };
            Assert.AreEqual(@"{""config"":{""layout"":""SKELETON_LAYOUT_HEAD_HANDS"",""density"":-1.25,""temperature"":0}}", IbeatJson.EncodeConfig(c));
        }

        [Test]
        public void UnnamedEnumValueGoesAsNumber()
        {
            var c = new SessionConfig { Layout = (SkeletonLayout)42 };
            Assert.AreEqual(@"{""config"":{""layout"":42}}", IbeatJson.EncodeConfig(c));
        }

        [Test]
        public void Frame()
        {
            var f = new PoseFrame { TimestampUs = 1700000000123456, Keypoints = new[] { 0.1f, 1.5f, -2f, 1f }, FrameId = 42 };
            Assert.AreEqual(
                @"{""frame"":{""timestampUs"":""1700000000123456"",""keypoints"":[0.1,1.5,-2,1],""frameId"":""42""}}",
                IbeatJson.EncodeFrame(f));
        }

        [Test]
        public void FrameUsesKeypointCount()
        {
            var f = new PoseFrame { TimestampUs = 5, Keypoints = new[] { 1f, 2f, 3f, 4f, 99f, 99f }, KeypointCount = 4, FrameId = 0 };
            Assert.AreEqual(@"{""frame"":{""timestampUs"":""5"",""keypoints"":[1,2,3,4]}}", IbeatJson.EncodeFrame(f));
            Assert.AreEqual(4, f.ValueCount);
        }

        [Test]
        public void FrameWithNaNKeypoints()
        {
            var f = new PoseFrame { TimestampUs = -3, Keypoints = new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f }, FrameId = ulong.MaxValue };
            Assert.AreEqual(
                @"{""frame"":{""timestampUs"":""-3"",""keypoints"":[""NaN"",""Infinity"",""-Infinity"",0],""frameId"":""18446744073709551615""}}",
                IbeatJson.EncodeFrame(f));
        }

        [Test]
        public void End()
        {
            Assert.AreEqual(@"{""end"":{}}", IbeatJson.EncodeEnd());
        }

        [Test]
        public void EncodingIgnoresTheThreadCulture()
        {
            CultureInfo saved = Thread.CurrentThread.CurrentCulture;
            try
            {
                // German writes 0,5: JSON must not.
                Thread.CurrentThread.CurrentCulture = new CultureInfo("de-DE");
                var f = new PoseFrame { TimestampUs = 1, Keypoints = new[] { 0.5f, 1234567.5f } };
                Assert.AreEqual(@"{""frame"":{""timestampUs"":""1"",""keypoints"":[0.5,1234567.5]}}", IbeatJson.EncodeFrame(f));
                Assert.AreEqual(0.5, IbeatJson.DecodeServerMessage(@"{""beat"":{""tempoBpm"":0.5}}").Beat.TempoBpm);
            }
            finally
            {
                Thread.CurrentThread.CurrentCulture = saved;
            }
        }

        [TestCase(0f, "0")]
        [TestCase(-0f, "0")]
        [TestCase(1f, "1")]
        [TestCase(-2f, "-2")]
        [TestCase(0.1f, "0.1")]
        [TestCase(1.05f, "1.05")]
        [TestCase(0.3333333f, "0.3333333")]
        [TestCase(100f, "100")]
        [TestCase(1234567.5f, "1234567.5")]
        [TestCase(16777216f, "16777216")]
        [TestCase(1e20f, "100000000000000000000")]
        [TestCase(1e21f, "1e21")]
        [TestCase(1.5e-6f, "0.0000015")]
        [TestCase(1e-7f, "1e-7")]
        [TestCase(-1.25e-10f, "-1.25e-10")]
        [TestCase(3.4028235e38f, "3.402823466e38")]
        [TestCase(-3.4028235e38f, "-3.402823466e38")]
        [TestCase(3.4028233e38f, "3.4028233e38")]
        [TestCase(1.401298e-45f, "1e-45")]
        public void FloatText(float value, string expected)
        {
            var sb = new StringBuilder();
            JsonWriter.AppendFloat(sb, value);
            Assert.AreEqual(expected, sb.ToString());
        }

        [Test]
        public void FloatsRoundTrip()
        {
            // Random bit patterns cover every exponent; the text must read back as the same float,
            // both directly and through a double as protobuf's Python parser does.
            var random = new Random(1234);
            var sb = new StringBuilder();
            var bytes = new byte[4];
            int checkedCount = 0;
            for (int i = 0; i < 200000; i++)
            {
                random.NextBytes(bytes);
                float f = BitConverter.ToSingle(bytes, 0);
                if (float.IsNaN(f) || float.IsInfinity(f)) continue;
                sb.Length = 0;
                JsonWriter.AppendFloat(sb, f);
                string text = sb.ToString();
                float back = (float)double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
                if (back != f && !(f == 0f && back == 0f))
                    Assert.Fail(f.ToString("R", CultureInfo.InvariantCulture) + " was written as " + text);
                if (SignificantDigits(text) > 9)
                    Assert.Fail(text + " has more digits than a float needs");
                checkedCount++;
            }
            Assert.Greater(checkedCount, 190000);
        }

        static int SignificantDigits(string text)
        {
            int e = text.IndexOf('e');
            string mantissa = (e >= 0 ? text.Substring(0, e) : text).Replace("-", "").Replace(".", "");
            return mantissa.Trim('0').Length;
        }

        [Test]
        public void TypicalKeypointsAreShort()
        {
            // Values as a tracker produces them: the shortest text, not 9 digits.
            var random = new Random(5);
            var sb = new StringBuilder();
            for (int i = 0; i < 10000; i++)
            {
                float f = (float)Math.Round(random.NextDouble() * 4 - 2, 3);
                sb.Length = 0;
                JsonWriter.AppendFloat(sb, f);
                Assert.AreEqual(f, float.Parse(sb.ToString(), CultureInfo.InvariantCulture));
                Assert.LessOrEqual(sb.Length, 6, sb.ToString());
            }
        }

        [TestCase(0L, "0")]
        [TestCase(7L, "7")]
        [TestCase(-7L, "-7")]
        [TestCase(1000000000000000000L, "1000000000000000000")]
        [TestCase(long.MaxValue, "9223372036854775807")]
        [TestCase(long.MinValue, "-9223372036854775808")]
        public void Int64Text(long value, string expected)
        {
            var sb = new StringBuilder();
            JsonWriter.AppendInt64(sb, value);
            Assert.AreEqual(expected, sb.ToString());
        }

        [Test]
        public void UInt64Text()
        {
            var sb = new StringBuilder();
            JsonWriter.AppendUInt64(sb, ulong.MaxValue);
            Assert.AreEqual("18446744073709551615", sb.ToString());
            sb.Length = 0;
            JsonWriter.AppendUInt64(sb, 10000000000000000000UL);
            Assert.AreEqual("10000000000000000000", sb.ToString());
            sb.Length = 0;
            JsonWriter.AppendUInt64(sb, 9223372036854775808UL);
            Assert.AreEqual("9223372036854775808", sb.ToString());
        }

        [Test]
        public void StringsAreEscaped()
        {
            var c = new SessionConfig { Genre = "a\"b\\c\n\u0001\u00e9" };
            Assert.AreEqual("{\"config\":{\"genre\":\"a\\\"b\\\\c\\n\\u0001\u00e9\"}}", IbeatJson.EncodeConfig(c));
        }

        [Test]
        public void ConfigRoundTrips()
        {
            var c = new SessionConfig
            {
                Layout = SkeletonLayout.Coco17_3D, CoordinateSpace = CoordinateSpace.Centimeters, NominalFps = 29.97f,
                Mode = DrumMode.Mono, Genre = "jazz", Seed = long.MaxValue, Density = -0.3f, Temperature = 0f,
                GenreStrength = 2.5f, LeadTimeUs = 150000, Handedness = Handedness.Right, UpAxis = UpAxis.Z,
            };
            string json = IbeatJson.EncodeConfig(c);
            string bare = json.Substring("{\"config\":".Length, json.Length - "{\"config\":".Length - 1);
            SessionConfig back = IbeatJson.DecodeSessionConfig(bare);
            Assert.AreEqual(c.Layout, back.Layout);
            Assert.AreEqual(c.CoordinateSpace, back.CoordinateSpace);
            Assert.AreEqual(c.NominalFps, back.NominalFps);
            Assert.AreEqual(c.Mode, back.Mode);
            Assert.AreEqual(c.Genre, back.Genre);
            Assert.AreEqual(c.Seed, back.Seed);
            Assert.AreEqual(c.Density, back.Density);
            Assert.AreEqual(c.Temperature, back.Temperature);
            Assert.AreEqual(c.GenreStrength, back.GenreStrength);
            Assert.AreEqual(c.LeadTimeUs, back.LeadTimeUs);
            Assert.AreEqual(c.Handedness, back.Handedness);
            Assert.AreEqual(c.UpAxis, back.UpAxis);
            Assert.AreEqual(json, IbeatJson.EncodeConfig(back));
        }

        [Test]
        public void ConfigDecodesSnakeCaseAndNumbers()
        {
            SessionConfig c = IbeatJson.DecodeSessionConfig(
                @"{""layout"": 7, ""coordinate_space"": ""COORDINATE_SPACE_METERS"", ""nominal_fps"": 90, ""genre_strength"": 3, ""lead_time_us"": 80000, ""up_axis"": 1, ""seed"": ""3"", ""extra"": [1]}");
            Assert.AreEqual(SkeletonLayout.HeadHands, c.Layout);
            Assert.AreEqual(CoordinateSpace.Meters, c.CoordinateSpace);
            Assert.AreEqual(90f, c.NominalFps);
            Assert.AreEqual(3f, c.GenreStrength);
            Assert.AreEqual(80000L, c.LeadTimeUs);
            Assert.AreEqual(UpAxis.Y, c.UpAxis);
            Assert.AreEqual(3L, c.Seed);
            Assert.IsFalse(c.Temperature.HasValue);
            Assert.Throws<IbeatProtocolException>(delegate { IbeatJson.DecodeSessionConfig(@"{""layout"":""SKELETON_LAYOUT_OCTOPUS""}"); });
        }

        [Test]
        public void FrameRoundTrips()
        {
            var f = new PoseFrame { TimestampUs = 1700000000000001, Keypoints = new[] { 0.1f, -1e-7f, 3.25f, 1f, float.NaN }, FrameId = 99 };
            string json = IbeatJson.EncodeFrame(f);
            string bare = json.Substring("{\"frame\":".Length, json.Length - "{\"frame\":".Length - 1);
            PoseFrame back = IbeatJson.DecodePoseFrame(bare);
            Assert.AreEqual(f.TimestampUs, back.TimestampUs);
            Assert.AreEqual(f.FrameId, back.FrameId);
            Assert.AreEqual(5, back.KeypointCount);
            for (int i = 0; i < 4; i++) Assert.AreEqual(f.Keypoints[i], back.Keypoints[i]);
            Assert.IsTrue(float.IsNaN(back.Keypoints[4]));
            back = IbeatJson.DecodePoseFrame(@"{""timestamp_us"": 5, ""keypoints"": [], ""frame_id"": 6}");
            Assert.AreEqual(5L, back.TimestampUs);
            Assert.AreEqual(0, back.Keypoints.Length);
            Assert.AreEqual(6UL, back.FrameId);
        }

        [Test]
        public void EncodeFrameReusesItsBuilder()
        {
            var f = new PoseFrame { TimestampUs = 1, Keypoints = new float[76] };
            for (int i = 0; i < f.Keypoints.Length; i++) f.Keypoints[i] = i * 0.013f;
            string first = IbeatJson.EncodeFrame(f);
            f.TimestampUs = 2;
            string second = IbeatJson.EncodeFrame(f);
            Assert.AreNotEqual(first, second);
            Assert.AreEqual(first.Replace("\"1\"", "\"2\""), second);
        }
    }
}
