using System;

namespace Ibeat
{
    /// <summary>
    /// Packs joint positions into <see cref="PoseFrame.Keypoints"/> without the engine: positions
    /// are flat float arrays of [x, y, z] triples (Unity world space: left-handed, y up, metres), so
    /// this compiles and is tested outside Unity. A joint that is missing (its <c>present</c> flag
    /// false, or a NaN/infinite coordinate) is sent as (0, 0, 0) with confidence 0: the server
    /// rejects NaN, and confidence 0 tells it the joint is unknown.
    /// </summary>
    public static class SkeletonMath
    {
        /// <summary>Joints of <see cref="SkeletonLayout.Humanoid"/>: Unity HumanBodyBones 0..18.</summary>
        public const int HumanoidJoints = 19;
        /// <summary>Joints of <see cref="SkeletonLayout.HeadHands"/>: head, left hand, right hand.</summary>
        public const int HeadHandsJoints = 3;
        /// <summary>Joints of <see cref="SkeletonLayout.Coco17"/>.</summary>
        public const int CocoJoints = 17;

        // HumanBodyBones numbers used below (UnityEngine.HumanBodyBones, same order as the layout).
        const int LeftUpperLeg = 1, RightUpperLeg = 2, LeftLowerLeg = 3, RightLowerLeg = 4,
            LeftFoot = 5, RightFoot = 6, Head = 10, LeftUpperArm = 13, RightUpperArm = 14,
            LeftLowerArm = 15, RightLowerArm = 16, LeftHand = 17, RightHand = 18;

        /// <summary>
        /// Humanoid bone (0..18) standing for each COCO-17 joint, in COCO order: the nose, eyes and
        /// ears are the Head bone (a humanoid rig has no face points), shoulder = UpperArm, elbow =
        /// LowerArm, wrist = Hand, hip = UpperLeg, knee = LowerLeg, ankle = Foot, as the server maps
        /// them (protos/README.md). Every entry is a bone: none is -1.
        /// </summary>
        public static readonly int[] CocoFromHumanoid =
        {
            Head, Head, Head, Head, Head,           // nose, left/right eye, left/right ear
            LeftUpperArm, RightUpperArm,            // shoulders
            LeftLowerArm, RightLowerArm,            // elbows
            LeftHand, RightHand,                    // wrists
            LeftUpperLeg, RightUpperLeg,            // hips
            LeftLowerLeg, RightLowerLeg,            // knees
            LeftFoot, RightFoot,                    // ankles
        };

        /// <summary>Writes a <see cref="SkeletonLayout.Humanoid"/> frame, [x, y, z, c] per bone.</summary>
        /// <param name="positions">19 x [x, y, z] world positions [m], HumanBodyBones order.</param>
        /// <param name="present">19 flags, false for a bone the avatar lacks; null = all present
        /// unless NaN.</param>
        /// <param name="keypoints">Receives 76 values.</param>
        /// <returns>Values written (76): the frame's <see cref="PoseFrame.KeypointCount"/>.</returns>
        public static int WriteHumanoid(float[] positions, bool[] present, float[] keypoints)
        {
            Check(positions, HumanoidJoints * 3, "positions");
            if (present != null) Check(present.Length, HumanoidJoints, "present");
            Check(keypoints, HumanoidJoints * 4, "keypoints");
            for (int j = 0; j < HumanoidJoints; j++)
            {
                bool ok = present == null || present[j];
                WriteJoint3D(positions, j * 3, ok, keypoints, j * 4);
            }
            return HumanoidJoints * 4;
        }

        /// <summary>Writes a <see cref="SkeletonLayout.HeadHands"/> frame (a headset and two
        /// controllers), [x, y, z, c] for head, left hand, right hand.</summary>
        /// <param name="head">[x, y, z] [m]; null = not tracked.</param>
        /// <param name="leftHand">[x, y, z] [m]; null = not tracked.</param>
        /// <param name="rightHand">[x, y, z] [m]; null = not tracked.</param>
        /// <param name="keypoints">Receives 12 values.</param>
        /// <returns>Values written (12).</returns>
        public static int WriteHeadHands(float[] head, float[] leftHand, float[] rightHand, float[] keypoints)
        {
            Check(keypoints, HeadHandsJoints * 4, "keypoints");
            WriteTracked(head, keypoints, 0, "head");
            WriteTracked(leftHand, keypoints, 4, "leftHand");
            WriteTracked(rightHand, keypoints, 8, "rightHand");
            return HeadHandsJoints * 4;
        }

        static void WriteTracked(float[] position, float[] keypoints, int at, string name)
        {
            if (position != null) Check(position, 3, name);
            WriteJoint3D(position, 0, position != null, keypoints, at);
        }

        /// <summary>
        /// Writes a 2D <see cref="SkeletonLayout.Coco17"/> frame of the body as a camera sees it:
        /// each world point through a view-projection matrix to pixels of a width x height image,
        /// y down (image convention, as a pose detector reports). A joint behind the camera is
        /// missing.
        /// </summary>
        /// <param name="cocoWorld">17 x [x, y, z] world positions [m], COCO order (see
        /// <see cref="GatherCocoFromHumanoid"/>).</param>
        /// <param name="present">17 flags; null = all present unless NaN.</param>
        /// <param name="viewProjection">4x4 world -> clip matrix, row-major:
        /// <c>viewProjection[row * 4 + col] = m[row, col]</c> (Unity: camera.projectionMatrix *
        /// camera.worldToCameraMatrix; note Matrix4x4[i] is column-major, use m[row, col]).</param>
        /// <param name="width">Image width [pixels].</param>
        /// <param name="height">Image height [pixels].</param>
        /// <param name="keypoints">Receives 51 values, [x, y, c] per joint [pixels].</param>
        /// <returns>Values written (51).</returns>
        public static int WriteCoco17Projected(float[] cocoWorld, bool[] present, float[] viewProjection, int width, int height, float[] keypoints)
        {
            Check(cocoWorld, CocoJoints * 3, "cocoWorld");
            if (present != null) Check(present.Length, CocoJoints, "present");
            Check(viewProjection, 16, "viewProjection");
            Check(keypoints, CocoJoints * 3, "keypoints");
            if (width <= 0 || height <= 0) throw new ArgumentOutOfRangeException("width", "the image needs a positive size");
            float[] m = viewProjection;
            for (int j = 0; j < CocoJoints; j++)
            {
                int p = j * 3;
                float x = cocoWorld[p], y = cocoWorld[p + 1], z = cocoWorld[p + 2];
                bool ok = (present == null || present[j]) && IsFinite(x) && IsFinite(y) && IsFinite(z);
                // Clip coordinates: column vector (x, y, z, 1) times the matrix rows. Double for
                // the division by w near the camera plane.
                double cx = (double)m[0] * x + (double)m[1] * y + (double)m[2] * z + m[3];
                double cy = (double)m[4] * x + (double)m[5] * y + (double)m[6] * z + m[7];
                double w = (double)m[12] * x + (double)m[13] * y + (double)m[14] * z + m[15];
                // w <= 0: on or behind the camera plane, where the projection flips; not visible.
                if (!ok || !(w > 1e-9))
                {
                    keypoints[p] = 0f;
                    keypoints[p + 1] = 0f;
                    keypoints[p + 2] = 0f;
                    continue;
                }
                double ndcX = cx / w, ndcY = cy / w;   // [-1, 1] across the view, y up
                float px = (float)((ndcX * 0.5 + 0.5) * width);
                float py = (float)((0.5 - ndcY * 0.5) * height);   // flip: image rows grow downwards
                if (!IsFinite(px) || !IsFinite(py))
                {
                    keypoints[p] = 0f;
                    keypoints[p + 1] = 0f;
                    keypoints[p + 2] = 0f;
                    continue;
                }
                // Off-screen joints are still sent: the engine is scale-free and a hand leaving
                // the frame is still motion.
                keypoints[p] = px;
                keypoints[p + 1] = py;
                keypoints[p + 2] = 1f;
            }
            return CocoJoints * 3;
        }

        /// <summary>Picks the COCO-17 joints out of 19 humanoid bone positions
        /// (<see cref="CocoFromHumanoid"/>), e.g. to feed <see cref="WriteCoco17Projected"/>.</summary>
        /// <param name="humanoidPositions">19 x [x, y, z].</param>
        /// <param name="humanoidPresent">19 flags; null = all present.</param>
        /// <param name="cocoWorld">Receives 17 x [x, y, z].</param>
        /// <param name="cocoPresent">Receives 17 flags.</param>
        public static void GatherCocoFromHumanoid(float[] humanoidPositions, bool[] humanoidPresent, float[] cocoWorld, bool[] cocoPresent)
        {
            Check(humanoidPositions, HumanoidJoints * 3, "humanoidPositions");
            if (humanoidPresent != null) Check(humanoidPresent.Length, HumanoidJoints, "humanoidPresent");
            Check(cocoWorld, CocoJoints * 3, "cocoWorld");
            if (cocoPresent == null) throw new ArgumentNullException("cocoPresent");
            Check(cocoPresent.Length, CocoJoints, "cocoPresent");
            for (int j = 0; j < CocoJoints; j++)
            {
                int bone = CocoFromHumanoid[j];
                cocoWorld[j * 3] = humanoidPositions[bone * 3];
                cocoWorld[j * 3 + 1] = humanoidPositions[bone * 3 + 1];
                cocoWorld[j * 3 + 2] = humanoidPositions[bone * 3 + 2];
                cocoPresent[j] = humanoidPresent == null || humanoidPresent[bone];
            }
        }

        static void WriteJoint3D(float[] source, int from, bool present, float[] keypoints, int at)
        {
            if (present)
            {
                float x = source[from], y = source[from + 1], z = source[from + 2];
                if (IsFinite(x) && IsFinite(y) && IsFinite(z))
                {
                    keypoints[at] = x;
                    keypoints[at + 1] = y;
                    keypoints[at + 2] = z;
                    keypoints[at + 3] = 1f;
                    return;
                }
            }
            keypoints[at] = 0f;
            keypoints[at + 1] = 0f;
            keypoints[at + 2] = 0f;
            keypoints[at + 3] = 0f;
        }

        static bool IsFinite(float v)
        {
            return !float.IsNaN(v) && !float.IsInfinity(v);
        }

        static void Check(float[] array, int needed, string name)
        {
            if (array == null) throw new ArgumentNullException(name);
            Check(array.Length, needed, name);
        }

        static void Check(int length, int needed, string name)
        {
            if (length < needed)
                throw new ArgumentException(name + " needs at least " + needed + " values, has " + length, name);
        }
    }
}
