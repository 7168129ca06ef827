using System;
using NUnit.Framework;

namespace Ibeat.Tests
{
    [TestFixture]
    public class SkeletonMathTests
    {
        [Test]
        public void HumanoidPacksBonesWithMissingOnesAtConfidenceZero()
        {
            var positions = new float[19 * 3];
            for (int i = 0; i < positions.Length; i++) positions[i] = i * 0.1f;
            var present = new bool[19];
            for (int j = 0; j < 19; j++) present[j] = true;
            present[11] = false;                  // LeftShoulder: the avatar has no clavicles
            positions[12 * 3 + 1] = float.NaN;    // RightShoulder: a NaN counts as missing too
            var keypoints = new float[76];
            for (int i = 0; i < keypoints.Length; i++) keypoints[i] = -99f;   // stale values must go

            Assert.AreEqual(76, SkeletonMath.WriteHumanoid(positions, present, keypoints));
            // Hips: [x, y, z, 1]
            Assert.AreEqual(0f, keypoints[0]);
            Assert.AreEqual(0.1f, keypoints[1]);
            Assert.AreEqual(0.2f, keypoints[2]);
            Assert.AreEqual(1f, keypoints[3]);
            // RightHand (18)
            Assert.AreEqual(positions[54], keypoints[72]);
            Assert.AreEqual(positions[55], keypoints[73]);
            Assert.AreEqual(positions[56], keypoints[74]);
            Assert.AreEqual(1f, keypoints[75]);
            // Missing bones: finite zeros, confidence 0.
            for (int k = 0; k < 4; k++)
            {
                Assert.AreEqual(0f, keypoints[11 * 4 + k]);
                Assert.AreEqual(0f, keypoints[12 * 4 + k]);
            }
            foreach (float v in keypoints) Assert.IsFalse(float.IsNaN(v));
        }

        [Test]
        public void HumanoidWithoutFlagsUsesEveryFiniteBone()
        {
            var positions = new float[57];
            positions[3] = float.PositiveInfinity;
            var keypoints = new float[76];
            SkeletonMath.WriteHumanoid(positions, null, keypoints);
            Assert.AreEqual(1f, keypoints[3]);
            Assert.AreEqual(0f, keypoints[7]);   // bone 1 had an infinite x
            Assert.AreEqual(0f, keypoints[4]);
        }

        [Test]
        public void HeadHands()
        {
            var keypoints = new float[12];
            int n = SkeletonMath.WriteHeadHands(new[] { 0f, 1.62f, 0.05f }, new[] { -0.25f, 1.05f, 0.1f }, null, keypoints);
            Assert.AreEqual(12, n);
            CollectionAssert.AreEqual(new[] { 0f, 1.62f, 0.05f, 1f, -0.25f, 1.05f, 0.1f, 1f, 0f, 0f, 0f, 0f }, keypoints);
        }

        [Test]
        public void ShortArraysAreRefused()
        {
            Assert.Throws<ArgumentException>(delegate { SkeletonMath.WriteHumanoid(new float[57], null, new float[75]); });
            Assert.Throws<ArgumentException>(delegate { SkeletonMath.WriteHumanoid(new float[56], null, new float[76]); });
            Assert.Throws<ArgumentNullException>(delegate { SkeletonMath.WriteHeadHands(null, null, null, null); });
            Assert.Throws<ArgumentException>(delegate { SkeletonMath.WriteHeadHands(new float[2], null, null, new float[12]); });
        }

        // An OpenGL-style perspective (Unity's Camera.projectionMatrix): 90 degree vertical field
        // of view (f = 1), square aspect, near 0.1, far 100; the camera looks down -z.
        static float[] Perspective(float translateZ)
        {
            float near = 0.1f, far = 100f;
            float a = -(far + near) / (far - near), b = -2f * far * near / (far - near);
            // Row-major projection * translation(0, 0, translateZ).
            return new[]
            {
                1f, 0f, 0f, 0f,
                0f, 1f, 0f, 0f,
                0f, 0f, a, a * translateZ + b,
                0f, 0f, -1f, -translateZ,
            };
        }

        [Test]
        public void CocoProjectionOfKnownPoints()
        {
            var world = new float[51];
            // joint 0: straight ahead, 5 m away -> image centre
            world[0] = 0f; world[1] = 0f; world[2] = -5f;
            // joint 1: up and right at 45 degrees' half -> ndc (0.5, 0.5)
            world[3] = 1f; world[4] = 1f; world[5] = -2f;
            // joint 2: behind the camera -> missing
            world[6] = 0f; world[7] = 0f; world[8] = 1f;
            // joint 3: below and left, ndc (-0.25, -0.5)
            world[9] = -1f; world[10] = -2f; world[11] = -4f;
            var present = new bool[17];
            for (int j = 0; j < 17; j++) present[j] = j != 4;
            var keypoints = new float[51];
            int n = SkeletonMath.WriteCoco17Projected(world, present, Perspective(0f), 640, 480, keypoints);
            Assert.AreEqual(51, n);
            Assert.AreEqual(320f, keypoints[0], 1e-3f);
            Assert.AreEqual(240f, keypoints[1], 1e-3f);
            Assert.AreEqual(1f, keypoints[2]);
            Assert.AreEqual(480f, keypoints[3], 1e-3f);    // (0.5 * 0.5 + 0.5) * 640
            Assert.AreEqual(120f, keypoints[4], 1e-3f);    // above the centre: smaller y (y down)
            Assert.AreEqual(1f, keypoints[5]);
            Assert.AreEqual(0f, keypoints[8]);             // behind the camera
            Assert.AreEqual(0f, keypoints[6]);
            Assert.AreEqual(240f, keypoints[9], 1e-3f);    // (-0.25 * 0.5 + 0.5) * 640
            Assert.AreEqual(360f, keypoints[10], 1e-3f);   // below the centre: larger y
            Assert.AreEqual(0f, keypoints[14]);            // joint 4 flagged missing
        }

        [Test]
        public void CocoProjectionUsesTheTranslationColumn()
        {
            // Camera 5 m back from the origin (view = translate(0, 0, -5)): the matrix is
            // row-major, so the translation sits in entries 3, 7, 11, 15.
            var world = new float[51];
            world[0] = 1f;   // (1, 0, 0) is 5 m in front, 1 m right: ndc x = 0.2
            var keypoints = new float[51];
            SkeletonMath.WriteCoco17Projected(world, null, Perspective(-5f), 100, 100, keypoints);
            Assert.AreEqual(60f, keypoints[0], 1e-3f);
            Assert.AreEqual(50f, keypoints[1], 1e-3f);
            Assert.AreEqual(1f, keypoints[2]);
        }

        [Test]
        public void CocoFromHumanoidMapsAsTheServerDoes()
        {
            int[] expected = { 10, 10, 10, 10, 10, 13, 14, 15, 16, 17, 18, 1, 2, 3, 4, 5, 6 };
            CollectionAssert.AreEqual(expected, SkeletonMath.CocoFromHumanoid);

            var humanoid = new float[57];
            for (int i = 0; i < 57; i++) humanoid[i] = i;
            var humanoidPresent = new bool[19];
            for (int j = 0; j < 19; j++) humanoidPresent[j] = j != 17;   // no left hand
            var coco = new float[51];
            var cocoPresent = new bool[17];
            SkeletonMath.GatherCocoFromHumanoid(humanoid, humanoidPresent, coco, cocoPresent);
            Assert.AreEqual(30f, coco[0]);              // nose = Head (10)
            Assert.AreEqual(13 * 3 + 1, (int)coco[5 * 3 + 1]);   // left shoulder = LeftUpperArm
            Assert.IsFalse(cocoPresent[9]);             // left wrist = the missing LeftHand
            Assert.IsTrue(cocoPresent[10]);
        }
    }
}
