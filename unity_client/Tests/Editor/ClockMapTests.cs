using System;
using NUnit.Framework;

namespace Ibeat.Tests
{
    [TestFixture]
    public class ClockMapTests
    {
        [Test]
        public void NotReadyBeforeTwoReadings()
        {
            var map = new ClockMap();
            Assert.IsFalse(map.Ready);
            Assert.Throws<InvalidOperationException>(delegate { map.ToDsp(1.0); });
            map.AddSample(10.0, 1000.0);
            Assert.IsFalse(map.Ready);
            map.AddSample(10.0, 1000.0);   // same stream time: no rate yet
            Assert.IsFalse(map.Ready);
            map.AddSample(10.1, 1000.1);
            Assert.IsTrue(map.Ready);
            Assert.AreEqual(1000.5, map.ToDsp(10.5), 1e-9);
        }

        [Test]
        public void ExactLineIsRecovered()
        {
            var map = new ClockMap(10);
            double drift = 20e-6;
            for (int i = 0; i < 30; i++)
            {
                double t = 5000.0 + i / 60.0;
                map.AddSample(t, 1000.0 + (t - 5000.0) * (1 + drift));
            }
            Assert.AreEqual(10, map.Count);
            Assert.AreEqual(drift, map.Drift, 1e-9);
            Assert.AreEqual(1000.0 + 10.0 * (1 + drift), map.ToDsp(5010.0), 1e-9);
            Assert.AreEqual(0.0, map.ResidualSeconds, 1e-9);
        }

        [Test]
        public void OffsetAndDriftFromNoisyReadings()
        {
            // 600 readings about 1 s apart; the audio clock runs 20 ppm fast, 1234.5 s ahead, is
            // read with +-0.5 ms of jitter and advances in 10 ms steps (an audio buffer), as
            // dspTime does.
            var random = new Random(42);
            var map = new ClockMap(600);
            double drift = 20e-6, offset = 1234.5;
            double streamStart = 1.7e9;   // Unix time in seconds: large values must not hurt
            double t = streamStart;
            for (int i = 0; i < 600; i++)
            {
                t += 0.9 + 0.2 * random.NextDouble();
                double trueDsp = offset + (t - streamStart) * (1 + drift);
                double stepped = Math.Floor(trueDsp / 0.01) * 0.01;
                map.AddSample(t, stepped + (random.NextDouble() - 0.5) * 0.001);
            }
            Assert.AreEqual(drift, map.Drift, 3e-6);
            double probe = t + 0.1;   // a hit 100 ms ahead of the newest reading
            double expected = offset + (probe - streamStart) * (1 + drift) - 0.005;   // steps lag 5 ms on average
            Assert.AreEqual(expected, map.ToDsp(probe), 0.001);
            Assert.Less(map.ResidualSeconds, 0.005);
        }

        [Test]
        public void ShortWindowFollowsFrames()
        {
            // The Unity default: 120 readings at 60 fps, 2 ms of jitter. Drift is not resolvable
            // in 2 s, but the mapped time 100 ms ahead is within a millisecond.
            var random = new Random(7);
            var map = new ClockMap(120);
            double t = 50.0;
            for (int i = 0; i < 1000; i++)
            {
                t += 1.0 / 60;
                map.AddSample(t, 1000.0 + (t - 50.0) * (1 + 20e-6) + (random.NextDouble() - 0.5) * 0.004);
            }
            Assert.AreEqual(1000.0 + (t + 0.1 - 50.0) * (1 + 20e-6), map.ToDsp(t + 0.1), 0.001);
        }

        [Test]
        public void WildFitIsClamped()
        {
            var map = new ClockMap();
            map.AddSample(0.0, 0.0);
            map.AddSample(0.001, 0.01);   // 10x rate from jitter: not a real clock
            Assert.AreEqual(ClockMap.MaxDrift, map.Drift, 1e-12);
        }

        [Test]
        public void ResetForgets()
        {
            var map = new ClockMap();
            map.AddSample(0.0, 100.0);
            map.AddSample(1.0, 101.0);
            Assert.IsTrue(map.Ready);
            map.Reset();
            Assert.IsFalse(map.Ready);
            Assert.AreEqual(0, map.Count);
            map.AddSample(50.0, 7.0);
            map.AddSample(51.0, 8.0);
            Assert.AreEqual(9.0, map.ToDsp(52.0), 1e-9);
        }

        [Test]
        public void RejectsBadInput()
        {
            Assert.Throws<ArgumentOutOfRangeException>(delegate { new ClockMap(1); });
            var map = new ClockMap();
            Assert.Throws<ArgumentException>(delegate { map.AddSample(double.NaN, 0); });
            Assert.Throws<ArgumentException>(delegate { map.AddSample(0, double.PositiveInfinity); });
        }
    }
}
