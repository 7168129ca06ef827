using System;
using NUnit.Framework;

namespace Ibeat.Tests
{
    [TestFixture]
    public class IbeatStatusTests
    {
        [Test]
        public void NormalCloseIsOk()
        {
            IbeatStatus s = IbeatStatus.FromWebSocketClose(1000, "");
            Assert.IsTrue(s.IsOk);
            Assert.AreEqual(IbeatStatusCode.OK, s.Code);
            Assert.AreEqual("OK", s.ToString());
        }

        [TestCase(4003, "INVALID_ARGUMENT: frame 3 has 50 keypoint values, expected 76", IbeatStatusCode.InvalidArgument, "frame 3 has 50 keypoint values, expected 76")]
        [TestCase(4008, "RESOURCE_EXHAUSTED: 4 sessions open (--max-sessions 4)", IbeatStatusCode.ResourceExhausted, "4 sessions open (--max-sessions 4)")]
        [TestCase(4009, "FAILED_PRECONDITION: first message must be a config", IbeatStatusCode.FailedPrecondition, "first message must be a config")]
        [TestCase(4013, "INTERNAL: boom", IbeatStatusCode.Internal, "boom")]
        [TestCase(4014, "UNAVAILABLE: server shutting down", IbeatStatusCode.Unavailable, "server shutting down")]
        [TestCase(4016, "UNAUTHENTICATED: missing or bad bearer token", IbeatStatusCode.Unauthenticated, "missing or bad bearer token")]
        [TestCase(4003, "no name prefix: kept whole", IbeatStatusCode.InvalidArgument, "no name prefix: kept whole")]
        [TestCase(4003, "", IbeatStatusCode.InvalidArgument, "")]
        [TestCase(4001, "CANCELLED: bye", IbeatStatusCode.Cancelled, "bye")]
        [TestCase(4099, "SOMETHING_NEW: x", IbeatStatusCode.Unknown, "SOMETHING_NEW: x")]
        public void IbeatCloseCodes(int code, string reason, IbeatStatusCode expected, string detail)
        {
            IbeatStatus s = IbeatStatus.FromWebSocketClose(code, reason);
            Assert.AreEqual(expected, s.Code);
            Assert.AreEqual(detail, s.Detail);
            Assert.IsFalse(s.IsOk);
        }

        [TestCase(1006)]
        [TestCase(1001)]
        [TestCase(1011)]
        [TestCase(1005)]
        [TestCase(3000)]
        public void OtherCloseCodesAreUnavailable(int code)
        {
            IbeatStatus s = IbeatStatus.FromWebSocketClose(code, null);
            Assert.AreEqual(IbeatStatusCode.Unavailable, s.Code);
            StringAssert.Contains(code.ToString(), s.Detail);
            Assert.IsTrue(ReconnectPolicy.IsRetryable(s));
        }

        [Test]
        public void ToStringReadsLikeTheServerReason()
        {
            var s = new IbeatStatus(IbeatStatusCode.InvalidArgument, "bad layout");
            Assert.AreEqual("INVALID_ARGUMENT: bad layout", s.ToString());
            Assert.AreEqual("INVALID_ARGUMENT", s.CodeName);
            Assert.AreEqual("", new IbeatStatus(IbeatStatusCode.OK, null).Detail);
        }

        [Test]
        public void CodesMatchGrpcNumbers()
        {
            Assert.AreEqual(3, (int)IbeatStatusCode.InvalidArgument);
            Assert.AreEqual(8, (int)IbeatStatusCode.ResourceExhausted);
            Assert.AreEqual(9, (int)IbeatStatusCode.FailedPrecondition);
            Assert.AreEqual(13, (int)IbeatStatusCode.Internal);
            Assert.AreEqual(14, (int)IbeatStatusCode.Unavailable);
            Assert.AreEqual(16, (int)IbeatStatusCode.Unauthenticated);
            foreach (IbeatStatusCode code in Enum.GetValues(typeof(IbeatStatusCode)))
            {
                // Every code has its gRPC name, and the close code of each maps back to it.
                Assert.IsFalse(char.IsDigit(new IbeatStatus(code, "").CodeName[0]), code.ToString());
                if (code != IbeatStatusCode.OK)
                    Assert.AreEqual(code, IbeatStatus.FromWebSocketClose(4000 + (int)code, "").Code);
            }
        }
    }

    [TestFixture]
    public class WireNamesTests
    {
        static void CheckTable(Type enumType, string[] names, string prefix)
        {
            Array values = Enum.GetValues(enumType);
            Assert.AreEqual(values.Length, names.Length, enumType.Name);
            foreach (object v in values)
            {
                int n = Convert.ToInt32(v);
                Assert.IsTrue(names[n].StartsWith(prefix), names[n]);
                // C# name Coco17_3D <-> proto COCO17_3D: same words, case and underscores aside.
                string csharp = Enum.GetName(enumType, v).Replace("_", "").ToUpperInvariant();
                string proto = names[n].Substring(prefix.Length).Replace("_", "");
                Assert.AreEqual(proto, csharp, enumType.Name);
            }
        }

        [Test]
        public void EveryEnumValueHasItsProtoName()
        {
            CheckTable(typeof(SkeletonLayout), WireNames.SkeletonLayout, "SKELETON_LAYOUT_");
            CheckTable(typeof(CoordinateSpace), WireNames.CoordinateSpace, "COORDINATE_SPACE_");
            CheckTable(typeof(Handedness), WireNames.Handedness, "HANDEDNESS_");
            CheckTable(typeof(UpAxis), WireNames.UpAxis, "UP_AXIS_");
            CheckTable(typeof(DrumMode), WireNames.DrumMode, "DRUM_MODE_");
            CheckTable(typeof(SourceState), WireNames.SourceState, "SOURCE_STATE_");
            CheckTable(typeof(IbeatStatusCode), WireNames.StatusCode, "");
        }
    }
}
