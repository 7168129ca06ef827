namespace Ibeat.Unity
{
    /// <summary>
    /// Where <see cref="IbeatClient"/> gets a pose each frame it sends. <see cref="TryWrite"/> fills
    /// <c>JointCount * IbeatLayouts.ValuesPerJoint(Layout)</c> values in the layout's wire order
    /// ([x, y, c] per joint in 2D, [x, y, z, c] in 3D; Unity world metres for 3D layouts) and
    /// returns false when there is no pose this frame (nothing is sent). Called on the main thread,
    /// in LateUpdate (after animation); must not allocate.
    /// </summary>
    public interface IPoseSource
    {
        SkeletonLayout Layout { get; }
        int JointCount { get; }
        bool TryWrite(float[] keypoints);
    }

    /// <summary>Joint counts and value counts of the wire layouts (protos/README.md).</summary>
    public static class IbeatLayouts
    {
        public static bool Is3D(SkeletonLayout layout)
        {
            return layout == SkeletonLayout.Coco17_3D || layout == SkeletonLayout.Humanoid
                || layout == SkeletonLayout.TrackedPoints || layout == SkeletonLayout.HeadHands;
        }

        /// <summary>4 (x, y, z, c) for a 3D layout, 3 (x, y, c) for a 2D one.</summary>
        public static int ValuesPerJoint(SkeletonLayout layout) => Is3D(layout) ? 4 : 3;

        public static int JointCount(SkeletonLayout layout)
        {
            switch (layout)
            {
                case SkeletonLayout.BlazePose33: return 33;
                case SkeletonLayout.Body25: return 25;
                case SkeletonLayout.Humanoid: return SkeletonMath.HumanoidJoints;
                case SkeletonLayout.TrackedPoints: return 10;
                case SkeletonLayout.HeadHands: return 3;
                default: return 17; // Coco17, Coco17_3D, Unspecified (= COCO-17)
            }
        }
    }
}
