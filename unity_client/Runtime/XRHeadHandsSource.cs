using UnityEngine;
#if IBEAT_XR_MODULE
using UnityEngine.XR;
#endif

namespace Ibeat.Unity
{
    /// <summary>
    /// A VR player as a headset and two controllers (<c>SKELETON_LAYOUT_HEAD_HANDS</c>: head, left hand,
    /// right hand) from <c>UnityEngine.XR.InputDevices</c> (<c>CommonUsages.devicePosition</c>); a device
    /// not tracked goes with confidence 0. The server completes the body from these three points.
    /// Device positions are in tracking space: set <see cref="trackingSpace"/> (the XR Origin's
    /// camera offset) so that hits come back, and sound, in world space.
    /// </summary>
    [AddComponentMenu("ibeat/XR Head + Hands Source")]
    public sealed class XRHeadHandsSource : PoseSourceBehaviour
    {
        [Tooltip("The transform device positions are relative to (XR Origin > Camera Offset); none: world = tracking space.")]
        public Transform trackingSpace;

#if IBEAT_XR_MODULE
        readonly float[] _head = new float[3];
        readonly float[] _left = new float[3];
        readonly float[] _right = new float[3];
#endif

        public override SkeletonLayout Layout => SkeletonLayout.HeadHands;
        public override int JointCount => 3;

        public override bool TryWrite(float[] keypoints)
        {
#if IBEAT_XR_MODULE
            bool head = Read(XRNode.Head, _head);
            bool left = Read(XRNode.LeftHand, _left);
            bool right = Read(XRNode.RightHand, _right);
            if (!head && !left && !right) return false;
            SkeletonMath.WriteHeadHands(head ? _head : null, left ? _left : null, right ? _right : null, keypoints);
            return true;
#else
            return false; // the XR built-in module is disabled in this project (Package Manager > Built-in > XR)
#endif
        }

#if IBEAT_XR_MODULE
        bool Read(XRNode node, float[] xyz)
        {
            InputDevice device = InputDevices.GetDeviceAtXRNode(node);
            Vector3 p;
            if (!device.isValid || !device.TryGetFeatureValue(CommonUsages.devicePosition, out p)) return false;
            if (trackingSpace != null) p = trackingSpace.TransformPoint(p);
            xyz[0] = p.x;
            xyz[1] = p.y;
            xyz[2] = p.z;
            return true;
        }
#endif
    }
}
