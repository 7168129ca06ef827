using UnityEngine;

namespace Ibeat.Unity
{
    /// <summary>
    /// The pose of a Humanoid <see cref="Animator"/>: its 19 bones HumanBodyBones 0..18 as world
    /// positions (<c>SKELETON_LAYOUT_HUMANOID</c>, metres, Unity's left-handed y-up frame; a bone the
    /// avatar lacks goes with confidence 0), or the COCO-17 body seen through a camera
    /// (<c>SKELETON_LAYOUT_COCO17</c>, pixels, y down), as a webcam would see the avatar.
    /// </summary>
    [AddComponentMenu("ibeat/Animator Pose Source")]
    public sealed class AnimatorPoseSource : PoseSourceBehaviour
    {
        public enum Output { Humanoid3D, Coco17ThroughCamera }

        [Tooltip("A Humanoid rig (Avatar with Animation Type Humanoid).")]
        public Animator animator;
        public Output output = Output.Humanoid3D;
        [Tooltip("Coco17ThroughCamera only: the camera that 'films' the avatar (default: Camera.main).")]
        public Camera projectionCamera;

        const int Bones = SkeletonMath.HumanoidJoints;
        const int CocoJoints = 17;
        readonly Transform[] _bones = new Transform[Bones];
        readonly float[] _positions = new float[Bones * 3];
        readonly bool[] _present = new bool[Bones];
        readonly float[] _coco = new float[CocoJoints * 3];
        readonly bool[] _cocoPresent = new bool[CocoJoints];
        readonly float[] _viewProjection = new float[16];
        Avatar _cachedFor;
        bool _warned;

        public override SkeletonLayout Layout =>
            output == Output.Humanoid3D ? SkeletonLayout.Humanoid : SkeletonLayout.Coco17;

        public override int JointCount => output == Output.Humanoid3D ? Bones : CocoJoints;

        void Reset() => animator = GetComponentInChildren<Animator>();

        /// <summary>Looks the bones up again (after changing the avatar at run time).</summary>
        public void RefreshBones()
        {
            _cachedFor = animator != null ? animator.avatar : null;
            for (int i = 0; i < Bones; i++)
                _bones[i] = _cachedFor != null ? animator.GetBoneTransform((HumanBodyBones)i) : null;
        }

        public override bool TryWrite(float[] keypoints)
        {
            if (animator == null || !animator.isHuman)
            {
                if (!_warned) Debug.LogWarning("ibeat: AnimatorPoseSource needs a Humanoid Animator", this);
                _warned = true;
                return false;
            }
            if (_cachedFor != animator.avatar) RefreshBones();
            bool any = false;
            for (int i = 0; i < Bones; i++)
            {
                Transform bone = _bones[i];
                _present[i] = bone != null;
                if (bone == null) continue;
                Vector3 p = bone.position;
                _positions[3 * i] = p.x;
                _positions[3 * i + 1] = p.y;
                _positions[3 * i + 2] = p.z;
                any = true;
            }
            if (!any) return false;
            if (output == Output.Humanoid3D)
            {
                SkeletonMath.WriteHumanoid(_positions, _present, keypoints);
                return true;
            }

            Camera cam = projectionCamera != null ? projectionCamera : Camera.main;
            if (cam == null) return false;
            SkeletonMath.GatherCocoFromHumanoid(_positions, _present, _coco, _cocoPresent); // face points = Head
            Matrix4x4 vp = cam.projectionMatrix * cam.worldToCameraMatrix;
            for (int r = 0; r < 4; r++)
                for (int c = 0; c < 4; c++)
                    _viewProjection[4 * r + c] = vp[r, c];
            SkeletonMath.WriteCoco17Projected(_coco, _cocoPresent, _viewProjection, cam.pixelWidth, cam.pixelHeight, keypoints);
            return true;
        }
    }
}
