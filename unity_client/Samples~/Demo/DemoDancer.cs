using Ibeat.Unity;
using UnityEngine;

namespace Ibeat.Samples.Demo
{
    /// <summary>
    /// A stick figure of the 19 Humanoid bones (spheres, no avatar asset needed) that bounces at
    /// <see cref="bpm"/>: the body dips and each hand strikes down on alternate beats, stopping
    /// sharply there, the way a dancer's limbs mark a beat. Each frame it writes the bones' world
    /// positions into an <see cref="ExternalPoseSource"/> (SKELETON_LAYOUT_HUMANOID), so the
    /// <see cref="IbeatClient"/> streams them, and hands the bones to a <see cref="LimbPulse"/>.
    /// </summary>
    public sealed class DemoDancer : MonoBehaviour
    {
        public ExternalPoseSource poseSource;
        public LimbPulse limbPulse;
        [Range(60f, 180f)] public float bpm = 110f;
        [Range(0f, 0.2f)] public float bounce = 0.08f;
        [Range(0f, 0.6f)] public float strike = 0.4f;

        // Rest pose, HumanBodyBones 0..18, metres, facing -z (towards the camera): the dancer's left is +x.
        static readonly Vector3[] Rest =
        {
            new Vector3(0f, 0.95f, 0f),       // Hips
            new Vector3(0.1f, 0.9f, 0f),      // LeftUpperLeg
            new Vector3(-0.1f, 0.9f, 0f),     // RightUpperLeg
            new Vector3(0.11f, 0.5f, -0.02f), // LeftLowerLeg
            new Vector3(-0.11f, 0.5f, -0.02f),// RightLowerLeg
            new Vector3(0.12f, 0.08f, 0f),    // LeftFoot
            new Vector3(-0.12f, 0.08f, 0f),   // RightFoot
            new Vector3(0f, 1.1f, 0f),        // Spine
            new Vector3(0f, 1.3f, 0f),        // Chest
            new Vector3(0f, 1.5f, 0f),        // Neck
            new Vector3(0f, 1.65f, 0f),       // Head
            new Vector3(0.07f, 1.45f, 0f),    // LeftShoulder
            new Vector3(-0.07f, 1.45f, 0f),   // RightShoulder
            new Vector3(0.19f, 1.43f, 0f),    // LeftUpperArm
            new Vector3(-0.19f, 1.43f, 0f),   // RightUpperArm
            new Vector3(0.26f, 1.16f, -0.06f),// LeftLowerArm
            new Vector3(-0.26f, 1.16f, -0.06f),// RightLowerArm
            new Vector3(0.28f, 0.95f, -0.18f),// LeftHand
            new Vector3(-0.28f, 0.95f, -0.18f),// RightHand
        };

        readonly Transform[] _bones = new Transform[Rest.Length];
        float _t;

        void Awake()
        {
            for (int i = 0; i < Rest.Length; i++)
            {
                GameObject ball = GameObject.CreatePrimitive(PrimitiveType.Sphere);
                ball.name = ((HumanBodyBones)i).ToString();
                Destroy(ball.GetComponent<Collider>());
                ball.transform.SetParent(transform, false);
                ball.transform.localScale = Vector3.one * (i == 10 ? 0.2f : i == 17 || i == 18 ? 0.09f : 0.07f);
                _bones[i] = ball.transform;
            }
            if (limbPulse != null) limbPulse.bones = _bones;
            Pose(0f);
        }

        void Update()
        {
            _t += Time.deltaTime;
            Pose(_t);
            if (poseSource == null) return;
            for (int i = 0; i < _bones.Length; i++) poseSource.SetJoint(i, _bones[i].position, 1f);
        }

        void Pose(float t)
        {
            float beats = t * bpm / 60f;
            // |sin| has a cusp at every whole beat: the body is lowest and reverses sharply on the beat.
            float lift = Mathf.Abs(Mathf.Sin(Mathf.PI * beats));
            float dip = -bounce * (1f - lift);
            // Each hand's cusp falls on every other beat, left on even beats, right on odd ones.
            float left = strike * Mathf.Abs(Mathf.Sin(0.5f * Mathf.PI * beats));
            float right = strike * Mathf.Abs(Mathf.Cos(0.5f * Mathf.PI * beats));
            float sway = 0.04f * Mathf.Sin(Mathf.PI * beats);
            for (int i = 0; i < Rest.Length; i++)
            {
                Vector3 p = Rest[i];
                bool feet = i == 5 || i == 6;
                bool knees = i == 3 || i == 4;
                if (!feet) p.y += knees ? 0.5f * dip : dip;
                if (!feet && !knees) p.x += sway;
                if (knees) p.z -= 0.6f * (1f - lift) * bounce;
                if (i == 10) p.z -= 0.04f * (1f - lift);       // a nod on the beat
                if (i == 17) p += new Vector3(0f, left, -0.3f * left);
                if (i == 15) p += new Vector3(0f, 0.5f * left, -0.15f * left);
                if (i == 18) p += new Vector3(0f, right, -0.3f * right);
                if (i == 16) p += new Vector3(0f, 0.5f * right, -0.15f * right);
                _bones[i].localPosition = p;
            }
        }
    }
}
