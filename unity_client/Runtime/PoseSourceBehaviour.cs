using UnityEngine;

namespace Ibeat.Unity
{
    /// <summary>A pose source component, so it can be dragged onto <see cref="IbeatClient"/>'s slot.</summary>
    public abstract class PoseSourceBehaviour : MonoBehaviour, IPoseSource
    {
        public abstract SkeletonLayout Layout { get; }
        public virtual int JointCount => IbeatLayouts.JointCount(Layout);
        public abstract bool TryWrite(float[] keypoints);
    }
}
