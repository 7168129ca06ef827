using System;
using UnityEngine;

namespace Ibeat.Unity
{
    /// <summary>
    /// A pose any script sets: a mocap stream, a body tracker, a procedural dancer. Give it a layout,
    /// then each frame <see cref="SetJoint(int, Vector3, float)"/> (3D layouts, world metres) or
    /// <see cref="SetJoint2D"/> (2D layouts, pixels, y down), or <see cref="SetKeypoints"/> with the
    /// whole wire array. Main thread only. The last pose set is sent until <see cref="Clear"/>.
    /// </summary>
    [AddComponentMenu("ibeat/External Pose Source")]
    public sealed class ExternalPoseSource : PoseSourceBehaviour
    {
        public SkeletonLayout layout = SkeletonLayout.Humanoid;

        float[] _values = new float[0];
        bool _hasPose;

        public override SkeletonLayout Layout => layout;

        int ValueCount => JointCount * IbeatLayouts.ValuesPerJoint(layout);

        float[] Values
        {
            get
            {
                if (_values.Length != ValueCount) _values = new float[ValueCount];
                return _values;
            }
        }

        /// <summary>Joint <paramref name="joint"/> of a 3D layout at a world position [m].</summary>
        public void SetJoint(int joint, Vector3 position, float confidence = 1f)
        {
            if (!IbeatLayouts.Is3D(layout)) throw new InvalidOperationException(layout + " is 2D: use SetJoint2D");
            float[] v = Values;
            int i = 4 * joint;
            v[i] = position.x;
            v[i + 1] = position.y;
            v[i + 2] = position.z;
            v[i + 3] = confidence;
            _hasPose = true;
        }

        /// <summary>Joint <paramref name="joint"/> of a 2D layout at a pixel position (y down).</summary>
        public void SetJoint2D(int joint, Vector2 pixel, float confidence = 1f)
        {
            if (IbeatLayouts.Is3D(layout)) throw new InvalidOperationException(layout + " is 3D: use SetJoint");
            float[] v = Values;
            int i = 3 * joint;
            v[i] = pixel.x;
            v[i + 1] = pixel.y;
            v[i + 2] = confidence;
            _hasPose = true;
        }

        /// <summary>The whole frame in wire order (JointCount x 3 or 4 values), copied.</summary>
        public void SetKeypoints(float[] keypoints)
        {
            if (keypoints == null || keypoints.Length < ValueCount)
                throw new ArgumentException(layout + " needs " + ValueCount + " values", nameof(keypoints));
            Array.Copy(keypoints, Values, ValueCount);
            _hasPose = true;
        }

        /// <summary>No pose: nothing is sent until the next Set call.</summary>
        public void Clear()
        {
            _hasPose = false;
            Array.Clear(Values, 0, ValueCount);
        }

        public override bool TryWrite(float[] keypoints)
        {
            if (!_hasPose) return false;
            Array.Copy(Values, keypoints, Math.Min(ValueCount, keypoints.Length));
            return true;
        }
    }
}
