using System;
using System.Collections.Generic;
using System.Threading;
using NUnit.Framework;

namespace Ibeat.Tests
{
    [TestFixture]
    public class HitSchedulerTests
    {
        // Stream clock = audio clock + 100 s, same rate.
        static ClockMap Clock()
        {
            var map = new ClockMap();
            map.AddSample(100.0, 0.0);
            map.AddSample(101.0, 1.0);
            return map;
        }

        static DrumHit Hit(double streamSeconds, string drum)
        {
            return new DrumHit { TimeUs = (long)Math.Round(streamSeconds * 1e6), Drum = drum };
        }

        [Test]
        public void DueHitsComeOutInTimeOrder()
        {
            var s = new HitScheduler(Clock(), 0.005, 16);
            s.Add(Hit(100.30, "c"));
            s.Add(Hit(100.10, "a"));
            s.Add(Hit(100.20, "b"));
            s.Add(Hit(100.10, "a2"));   // same time as a: after it
            var output = new List<ScheduledHit>();
            Assert.AreEqual(3, s.TakeDue(0.0, 0.25, output));
            Assert.AreEqual(3, output.Count);
            Assert.AreEqual("a", output[0].Hit.Drum);
            Assert.AreEqual("a2", output[1].Hit.Drum);
            Assert.AreEqual("b", output[2].Hit.Drum);
            Assert.AreEqual(0.10, output[0].DspTime, 1e-9);
            Assert.AreEqual(0.20, output[2].DspTime, 1e-9);
            Assert.AreEqual(3, s.Scheduled);
            Assert.AreEqual(1, s.Pending);
            Assert.AreEqual(0, s.Dropped);
        }

        [Test]
        public void HorizonHoldsLaterHits()
        {
            var s = new HitScheduler(Clock());
            s.Add(Hit(100.50, "x"));
            var output = new List<ScheduledHit>();
            Assert.AreEqual(0, s.TakeDue(0.0, 0.1, output));
            Assert.AreEqual(0, s.TakeDue(0.3, 0.1, output));
            Assert.AreEqual(1, s.Pending);
            Assert.AreEqual(1, s.TakeDue(0.41, 0.1, output));
            Assert.AreEqual("x", output[0].Hit.Drum);
            Assert.AreEqual(0, s.Pending);
        }

        [Test]
        public void LateHitsAreDroppedNotPlayed()
        {
            var s = new HitScheduler(Clock(), 0.005, 16);
            s.Add(Hit(100.100, "past"));
            s.Add(Hit(100.203, "too close"));   // 3 ms ahead: under the 5 ms the audio needs
            s.Add(Hit(100.210, "ok"));
            var output = new List<ScheduledHit>();
            Assert.AreEqual(1, s.TakeDue(0.2, 0.05, output));
            Assert.AreEqual("ok", output[0].Hit.Drum);
            Assert.AreEqual(2, s.Dropped);
            Assert.AreEqual(1, s.Scheduled);
            Assert.AreEqual(0, s.Pending);
        }

        [Test]
        public void NothingBeforeTheClockIsReady()
        {
            var map = new ClockMap();
            var s = new HitScheduler(map);
            s.Add(Hit(100.5, "x"));
            var output = new List<ScheduledHit>();
            Assert.AreEqual(0, s.TakeDue(0.0, 10.0, output));
            Assert.AreEqual(1, s.Pending);
            map.AddSample(100.0, 0.0);
            map.AddSample(100.1, 0.1);
            Assert.AreEqual(1, s.TakeDue(0.0, 10.0, output));
        }

        [Test]
        public void CapacityDropsTheEarliest()
        {
            var s = new HitScheduler(Clock(), 0.005, 3);
            for (int i = 0; i < 5; i++) s.Add(Hit(100.1 + i * 0.1, "h" + i));
            Assert.AreEqual(3, s.Pending);
            Assert.AreEqual(2, s.Dropped);
            var output = new List<ScheduledHit>();
            s.TakeDue(0.0, 10.0, output);
            Assert.AreEqual("h2", output[0].Hit.Drum);
            Assert.AreEqual("h4", output[2].Hit.Drum);
        }

        [Test]
        public void AddAllAndClear()
        {
            var s = new HitScheduler(Clock());
            var hits = new DrumHits();
            hits.Hits.Add(Hit(100.1, "a"));
            hits.Hits.Add(Hit(100.2, "b"));
            s.AddAll(hits);
            Assert.AreEqual(2, s.Pending);
            s.Clear();
            Assert.AreEqual(0, s.Pending);
        }

        [Test]
        public void AddIsThreadSafe()
        {
            var s = new HitScheduler(Clock(), 0.005, 100000);
            var threads = new Thread[4];
            for (int t = 0; t < threads.Length; t++)
            {
                int id = t;
                threads[t] = new Thread(delegate ()
                {
                    for (int i = 0; i < 2500; i++) s.Add(Hit(100.5 + (i * 4 + id) * 1e-5, "x"));
                });
                threads[t].Start();
            }
            // The consumer takes while the producers add.
            var output = new List<ScheduledHit>();
            while (true)
            {
                bool alive = false;
                foreach (Thread th in threads) alive |= th.IsAlive;
                s.TakeDue(0.0, 0.6, output);
                if (!alive) break;
            }
            foreach (Thread th in threads) th.Join();
            s.TakeDue(0.0, 0.6, output);
            Assert.AreEqual(10000, output.Count);
            Assert.AreEqual(10000, s.Scheduled);
            Assert.AreEqual(0, s.Dropped);
        }
    }
}
