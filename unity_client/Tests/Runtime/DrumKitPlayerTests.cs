using System.Collections;
using System.Collections.Generic;
using System.Threading;
using NUnit.Framework;
using UnityEngine;
using UnityEngine.TestTools;

namespace Ibeat.Unity.Tests
{
    /// <summary>
    /// Hits travel as from a server (a fake transport's receive thread, into the client's
    /// HitScheduler) and DrumKitPlayer takes them on the audio clock. Needs a running audio clock
    /// (AudioSettings.dspTime); where it never moves, the tests are ignored.
    /// </summary>
    public sealed class DrumKitPlayerTests
    {
        static readonly Vector3 WristAt = new Vector3(1.5f, 1.2f, -0.4f);

        TestRig _rig;

        [TearDown]
        public void TearDown()
        {
            if (_rig != null) _rig.Dispose();
            _rig = null;
        }

        [UnityTest]
        public IEnumerator AHitIsScheduledAtItsJointWithSpatialBlendOne()
        {
            _rig = new TestRig(SkeletonLayout.Humanoid);
            _rig.Activate();
            int mainThread = Thread.CurrentThread.ManagedThreadId;
            var arrived = new List<DrumHit>();
            var arrivedOn = new List<int>();
            _rig.Client.OnHit.AddListener(h => { arrived.Add(h); arrivedOn.Add(Thread.CurrentThread.ManagedThreadId); });
            _rig.Client.Connect();
            yield return _rig.UntilStreamOpen();
            Assert.IsTrue(_rig.StreamOpen, "the client never opened the stream");
            yield return _rig.UntilAudioClockRuns();
            _rig.RequireAudioClock();

            DrumHit hit = TestRig.Hit("snare", IbeatClock.NowUs + 200000, WristAt, 100);
            _rig.Transports.Last.Deliver(TestRig.HitsMessage(hit));
            Assert.AreEqual(1L, _rig.Client.HitsReceived);
            yield return new Until(() => _rig.Player.ScheduledCount >= 1, 2f);

            Assert.AreEqual(1, _rig.Player.ScheduledCount, "the hit is started with PlayScheduled");
            Assert.AreEqual(0, _rig.Player.DroppedLate);
            AudioSource src = _rig.Source("snare", 0);
            Assert.AreSame(_rig.Clip, src.clip);
            Assert.AreEqual(WristAt.x, src.transform.position.x, 1e-5, "at the joint that drove it");
            Assert.AreEqual(WristAt.y, src.transform.position.y, 1e-5);
            Assert.AreEqual(WristAt.z, src.transform.position.z, 1e-5);
            Assert.AreEqual(1f, src.spatialBlend, "3D sound at a world position (Humanoid is a 3D layout)");
            Assert.AreEqual(100f / 127f, src.volume, 1e-5, "velocity / 127 x gain 1");
            Assert.AreEqual(0f, _rig.Source("snare", 1).spatialBlend, "the pool's next source is untouched");
            Assert.AreEqual(0f, _rig.Source("kick", 0).spatialBlend, "other drums are untouched");

            Assert.AreEqual(1, arrived.Count, "OnHit fires once as the hit arrives");
            Assert.AreSame(hit, arrived[0]);
            Assert.AreEqual(mainThread, arrivedOn[0], "OnHit fires on the main thread");
        }

        [UnityTest]
        public IEnumerator ALateHitIsDroppedNotPlayedAndAFarOneWaits()
        {
            _rig = new TestRig(SkeletonLayout.Humanoid);
            _rig.Activate();
            var played = new List<DrumHit>();
            _rig.Player.OnHitPlayed.AddListener(played.Add);
            _rig.Client.Connect();
            yield return _rig.UntilStreamOpen();
            Assert.IsTrue(_rig.StreamOpen, "the client never opened the stream");
            yield return _rig.UntilAudioClockRuns();
            _rig.RequireAudioClock();

            long now = IbeatClock.NowUs;
            DrumHit late = TestRig.Hit("snare", now - 50000, WristAt, 120);     // its time has passed
            DrumHit far = TestRig.Hit("kick", now + 5000000, WristAt, 120);      // 5 s ahead: beyond the horizon
            _rig.Transports.Last.Deliver(TestRig.HitsMessage(late, far));
            yield return new Until(() => _rig.Player.DroppedLate >= 1, 2f);
            for (int i = 0; i < 5; i++) yield return null;

            Assert.AreEqual(1, _rig.Player.DroppedLate, "the late hit is dropped and counted");
            Assert.AreEqual(0, _rig.Player.ScheduledCount, "and never played");
            Assert.AreEqual(1, _rig.Client.Scheduler.Pending, "the far hit waits in the scheduler");
            AudioSource src = _rig.Source("snare", 0);
            Assert.AreEqual(Vector3.zero, src.transform.localPosition, "the snare source was never placed");
            Assert.AreEqual(0f, src.spatialBlend);
            Assert.AreEqual(0, played.Count, "OnHitPlayed never fires for a dropped hit");
        }

        [UnityTest]
        public IEnumerator HitsOfA2DLayoutPlayUnspatialised()
        {
            _rig = new TestRig(SkeletonLayout.Coco17);
            _rig.Activate();
            _rig.Client.Connect();
            yield return _rig.UntilStreamOpen();
            Assert.IsTrue(_rig.StreamOpen, "the client never opened the stream");
            Assert.IsFalse(_rig.Client.HitsCarryWorldPositions, "COCO-17 joints are pixels");
            yield return _rig.UntilAudioClockRuns();
            _rig.RequireAudioClock();

            var pixel = new Vector3(320f, 240f, 0f);
            _rig.Transports.Last.Deliver(TestRig.HitsMessage(TestRig.Hit("ride", IbeatClock.NowUs + 200000, pixel, 127)));
            yield return new Until(() => _rig.Player.ScheduledCount >= 1, 2f);

            Assert.AreEqual(1, _rig.Player.ScheduledCount);
            AudioSource src = _rig.Source("ride", 0);
            Assert.AreEqual(0f, src.spatialBlend, "plain stereo: a pixel is no place in the world");
            Assert.AreEqual(Vector3.zero, src.transform.localPosition);
            Assert.AreEqual(1f, src.volume, 1e-5);
        }
    }
}
