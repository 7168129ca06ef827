using System;
using System.Collections;
using System.Collections.Generic;
using NUnit.Framework;
using UnityEngine;
using UnityEngine.TestTools;
using Object = UnityEngine.Object;

namespace Ibeat.Unity.Tests
{
    public sealed class ExternalPoseSourceTests
    {
        static readonly Vector3 HeadAt = new Vector3(0.1f, 1.7f, 0.2f);
        static readonly Vector3 RightHandAt = new Vector3(0.5f, 1.2f, 0.3f);

        GameObject _go;
        TestRig _rig;

        [TearDown]
        public void TearDown()
        {
            if (_go != null) Object.Destroy(_go);
            _go = null;
            if (_rig != null) _rig.Dispose();
            _rig = null;
        }

        ExternalPoseSource NewSource(SkeletonLayout layout)
        {
            _go = new GameObject("ibeat external pose");
            var source = _go.AddComponent<ExternalPoseSource>();
            source.layout = layout;
            return source;
        }

        /// <summary>The 76 values of the Humanoid frame with Head and RightHand set, the rest untracked.</summary>
        static float[] ExpectedHumanoid()
        {
            var expected = new float[SkeletonMath.HumanoidJoints * 4]; // every other joint: 0, 0, 0, confidence 0
            int head = 4 * (int)HumanBodyBones.Head;
            expected[head] = HeadAt.x;
            expected[head + 1] = HeadAt.y;
            expected[head + 2] = HeadAt.z;
            expected[head + 3] = 1f;
            int hand = 4 * (int)HumanBodyBones.RightHand;
            expected[hand] = RightHandAt.x;
            expected[hand + 1] = RightHandAt.y;
            expected[hand + 2] = RightHandAt.z;
            expected[hand + 3] = 0.8f;
            return expected;
        }

        static void SetHeadAndRightHand(ExternalPoseSource source)
        {
            source.SetJoint((int)HumanBodyBones.Head, HeadAt);
            source.SetJoint((int)HumanBodyBones.RightHand, RightHandAt, 0.8f);
        }

        [Test]
        public void HumanoidFrameHasTheSetJointsAndConfidenceZeroForTheOthers()
        {
            ExternalPoseSource source = NewSource(SkeletonLayout.Humanoid);
            Assert.AreEqual(SkeletonLayout.Humanoid, source.Layout);
            Assert.AreEqual(19, source.JointCount);
            var keypoints = new float[source.JointCount * IbeatLayouts.ValuesPerJoint(source.Layout)];
            for (int i = 0; i < keypoints.Length; i++) keypoints[i] = 9f; // stale values from a previous frame

            Assert.IsFalse(source.TryWrite(keypoints), "no pose before the first Set call");

            SetHeadAndRightHand(source);
            Assert.IsTrue(source.TryWrite(keypoints));
            Assert.AreEqual(ExpectedHumanoid(), keypoints, "[x, y, z, c] per HumanBodyBones 0..18; unset joints all 0");

            source.Clear();
            Assert.IsFalse(source.TryWrite(keypoints), "no pose after Clear()");
        }

        [Test]
        public void TwoDimensionalLayoutsTakePixelsAndEachLayoutRefusesTheOtherCall()
        {
            ExternalPoseSource source = NewSource(SkeletonLayout.Coco17);
            Assert.AreEqual(17, source.JointCount);
            Assert.Throws<InvalidOperationException>(() => source.SetJoint(0, Vector3.one));
            source.SetJoint2D(CocoNose, new Vector2(320f, 120f), 0.9f);
            var keypoints = new float[17 * 3];
            Assert.IsTrue(source.TryWrite(keypoints));
            Assert.AreEqual(new[] { 320f, 120f, 0.9f, 0f }, new[] { keypoints[0], keypoints[1], keypoints[2], keypoints[5] });

            source.layout = SkeletonLayout.Humanoid;
            Assert.Throws<InvalidOperationException>(() => source.SetJoint2D(0, new Vector2(1f, 2f)));
            Assert.Throws<ArgumentException>(() => source.SetKeypoints(new float[19 * 4 - 1]), "a short array");
        }

        const int CocoNose = 0;

        [UnityTest]
        public IEnumerator TheClientSendsTheScriptsPoseInUnitysFrame()
        {
            _rig = new TestRig(SkeletonLayout.Humanoid);
            _rig.Client.leadTimeMs = 150;
            _rig.Activate();
            _rig.Client.Connect();
            yield return _rig.UntilStreamOpen();
            Assert.IsTrue(_rig.StreamOpen, "the client never opened the stream");

            SessionConfig config = _rig.Transports.Last.Config;
            Assert.IsNotNull(config, "a Session opens with a SessionConfig");
            Assert.AreEqual(SkeletonLayout.Humanoid, config.Layout);
            Assert.AreEqual(CoordinateSpace.Meters, config.CoordinateSpace);
            Assert.AreEqual(Handedness.Left, config.Handedness);
            Assert.AreEqual(UpAxis.Y, config.UpAxis);
            Assert.AreEqual(150000L, config.LeadTimeUs);
            Assert.IsTrue(_rig.Client.HitsCarryWorldPositions);

            for (int i = 0; i < 5; i++) yield return null;
            Assert.AreEqual(0, _rig.Transports.Last.Frames().Count, "nothing is sent before the script sets a pose");

            SetHeadAndRightHand(_rig.Pose);
            yield return new Until(() => _rig.Transports.Last.Frames().Count >= 3, 5f);
            List<SentFrame> frames = _rig.Transports.Last.Frames();
            Assert.GreaterOrEqual(frames.Count, 3, "a frame each rendered frame (sendRateHz 0)");
            for (int i = 0; i < frames.Count; i++)
            {
                Assert.AreEqual(ExpectedHumanoid(), frames[i].Keypoints, "frame " + i);
                Assert.AreEqual((ulong)i, frames[i].FrameId);
                if (i > 0) Assert.Greater(frames[i].TimestampUs, frames[i - 1].TimestampUs, "timestamps strictly increase");
            }
            Assert.LessOrEqual(frames[frames.Count - 1].TimestampUs, IbeatClock.NowUs, "stamped with IbeatClock");
            Assert.AreEqual(frames.Count, (int)_rig.Client.FramesSent);
        }
    }
}
