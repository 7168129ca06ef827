using System;
using NUnit.Framework;

namespace Ibeat.Tests
{
    [TestFixture]
    public class ReconnectPolicyTests
    {
        [Test]
        public void GrowsToTheCapWithoutJitter()
        {
            var p = new ReconnectPolicy(0.5, 10, 2, 0, 1);
            double[] expected = { 0.5, 1, 2, 4, 8, 10, 10, 10 };
            foreach (double e in expected) Assert.AreEqual(e, p.NextDelaySeconds(), 1e-12);
            Assert.AreEqual(expected.Length, p.Attempts);
            p.Reset();
            Assert.AreEqual(0, p.Attempts);
            Assert.AreEqual(0.5, p.NextDelaySeconds(), 1e-12);
        }

        [Test]
        public void JitterStaysInBounds()
        {
            var p = new ReconnectPolicy(0.5, 10, 2, 0.2, 7);
            for (int i = 0; i < 200; i++)
            {
                double b = Math.Min(10, 0.5 * Math.Pow(2, i));
                double d = p.NextDelaySeconds();
                Assert.LessOrEqual(d, b);
                Assert.Greater(d, b * 0.8 - 1e-12);
            }
        }

        [Test]
        public void JitterActuallyVaries()
        {
            var p = new ReconnectPolicy(1, 1, 1, 0.5, 3);
            double min = double.MaxValue, max = 0;
            for (int i = 0; i < 100; i++)
            {
                double d = p.NextDelaySeconds();
                min = Math.Min(min, d);
                max = Math.Max(max, d);
            }
            Assert.Greater(max - min, 0.3);
        }

        [Test]
        public void SameSeedSameDelays()
        {
            var a = new ReconnectPolicy(0.5, 10, 2, 0.2, 99);
            var b = new ReconnectPolicy(0.5, 10, 2, 0.2, 99);
            var c = new ReconnectPolicy(0.5, 10, 2, 0.2, 100);
            bool anyDifferent = false;
            for (int i = 0; i < 10; i++)
            {
                double da = a.NextDelaySeconds();
                Assert.AreEqual(da, b.NextDelaySeconds());
                anyDifferent |= da != c.NextDelaySeconds();
            }
            Assert.IsTrue(anyDifferent);
        }

        [Test]
        public void ManyAttemptsStayAtTheCap()
        {
            var p = new ReconnectPolicy(0.5, 10, 2, 0, 1);
            for (int i = 0; i < 5000; i++) p.NextDelaySeconds();
            Assert.AreEqual(10.0, p.NextDelaySeconds(), 1e-12);
        }

        [Test]
        public void RejectsBadSettings()
        {
            Assert.Throws<ArgumentOutOfRangeException>(delegate { new ReconnectPolicy(0); });
            Assert.Throws<ArgumentOutOfRangeException>(delegate { new ReconnectPolicy(1, 0.5); });
            Assert.Throws<ArgumentOutOfRangeException>(delegate { new ReconnectPolicy(1, 2, 0.5); });
            Assert.Throws<ArgumentOutOfRangeException>(delegate { new ReconnectPolicy(1, 2, 2, 1); });
        }

        [TestCase(IbeatStatusCode.Unavailable, true)]
        [TestCase(IbeatStatusCode.ResourceExhausted, true)]
        [TestCase(IbeatStatusCode.Unknown, true)]
        [TestCase(IbeatStatusCode.DeadlineExceeded, true)]
        [TestCase(IbeatStatusCode.Aborted, true)]
        [TestCase(IbeatStatusCode.InvalidArgument, false)]
        [TestCase(IbeatStatusCode.FailedPrecondition, false)]
        [TestCase(IbeatStatusCode.Unauthenticated, false)]
        [TestCase(IbeatStatusCode.PermissionDenied, false)]
        [TestCase(IbeatStatusCode.OK, false)]
        [TestCase(IbeatStatusCode.Cancelled, false)]
        public void IsRetryable(IbeatStatusCode code, bool retry)
        {
            Assert.AreEqual(retry, ReconnectPolicy.IsRetryable(new IbeatStatus(code, "x")));
        }

        [Test]
        public void AStreamResetByAProxyIsRetriedOtherInternalErrorsAreNot()
        {
            Assert.IsTrue(ReconnectPolicy.IsRetryable(new IbeatStatus(IbeatStatusCode.Internal,
                "Received RST_STREAM with error code 2")));
            Assert.IsFalse(ReconnectPolicy.IsRetryable(new IbeatStatus(IbeatStatusCode.Internal,
                "internal error: ValueError")));
        }
    }
}
