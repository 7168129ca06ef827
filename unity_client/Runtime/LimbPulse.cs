using UnityEngine;

namespace Ibeat.Unity
{
    /// <summary>
    /// Shows which limb played: when a hit plays, the bone that drove it (DrumHit.Joint, a COCO-17
    /// joint, mapped to its Humanoid bone by <c>SkeletonMath.CocoFromHumanoid</c>; eyes and ears to the
    /// head) swells and, where it has a Renderer, flashes a colour, then settles back.
    /// </summary>
    [AddComponentMenu("ibeat/Limb Pulse")]
    public sealed class LimbPulse : MonoBehaviour
    {
        [Tooltip("Hits at their play time (preferred); without it, hits from the client as they arrive.")]
        public DrumKitPlayer player;
        public IbeatClient client;
        [Tooltip("A Humanoid Animator whose bones pulse; or fill Bones instead.")]
        public Animator animator;
        [Tooltip("Optional: 19 transforms in HumanBodyBones order 0..18 (overrides the Animator).")]
        public Transform[] bones = new Transform[0];
        [Range(1f, 3f)] public float pulseScale = 1.6f;
        [Range(0.02f, 1f)] public float decaySeconds = 0.2f;
        public Color flashColor = new Color(1f, 0.55f, 0.1f);

        const int Bones = SkeletonMath.HumanoidJoints;
        const int HeadBone = 10; // HumanBodyBones.Head
        int _colorId, _baseColorId; // _Color (built-in pipeline), _BaseColor (URP, HDRP)
        readonly float[] _level = new float[Bones];
        readonly Vector3[] _baseScale = new Vector3[Bones];
        readonly Transform[] _targets = new Transform[Bones];
        readonly Renderer[] _renderers = new Renderer[Bones];
        MaterialPropertyBlock _block;
        HitUnityEvent _subscribed;

        void OnEnable()
        {
            _block = new MaterialPropertyBlock();
            _colorId = Shader.PropertyToID("_Color");
            _baseColorId = Shader.PropertyToID("_BaseColor");
            _subscribed = player != null ? player.OnHitPlayed : client != null ? client.OnHit : null;
            if (_subscribed != null) _subscribed.AddListener(Pulse);
        }

        void OnDisable()
        {
            if (_subscribed != null) _subscribed.RemoveListener(Pulse);
            _subscribed = null;
            for (int i = 0; i < Bones; i++)
                if (_level[i] > 0f) Apply(i, 0f);
        }

        /// <summary>Pulses the bone behind <paramref name="hit"/> (also callable from your own events).</summary>
        public void Pulse(DrumHit hit)
        {
            int bone = -1;
            bool humanoidWire = client != null && client.ActiveLayout == SkeletonLayout.Humanoid;
            if (humanoidWire && hit.LayoutJoint >= 0 && hit.LayoutJoint < Bones) bone = hit.LayoutJoint;
            else if (hit.Joint >= 0 && hit.Joint < SkeletonMath.CocoFromHumanoid.Length)
                bone = SkeletonMath.CocoFromHumanoid[hit.Joint];
            if (bone < 0) bone = HeadBone;
            Transform t = Bone(bone);
            if (t == null) return;
            if (_level[bone] <= 0f)
            {
                _targets[bone] = t;
                _baseScale[bone] = t.localScale;
                _renderers[bone] = t.GetComponent<Renderer>();
            }
            _level[bone] = Mathf.Max(_level[bone], Mathf.Lerp(0.4f, 1f, hit.Velocity / 127f));
        }

        Transform Bone(int index)
        {
            if (bones != null && index < bones.Length && bones[index] != null) return bones[index];
            if (animator != null && animator.isHuman) return animator.GetBoneTransform((HumanBodyBones)index);
            return null;
        }

        void LateUpdate()
        {
            float step = Time.deltaTime / decaySeconds;
            for (int i = 0; i < Bones; i++)
            {
                if (_level[i] <= 0f) continue;
                Apply(i, _level[i]);
                _level[i] = Mathf.Max(0f, _level[i] - step);
                if (_level[i] == 0f) Apply(i, 0f);
            }
        }

        void Apply(int i, float level)
        {
            Transform t = _targets[i];
            if (t == null) return;
            t.localScale = _baseScale[i] * Mathf.Lerp(1f, pulseScale, level);
            Renderer r = _renderers[i];
            if (r == null) return;
            if (level <= 0f)
            {
                r.SetPropertyBlock(null);
                return;
            }
            r.GetPropertyBlock(_block);
            Color c = Color.Lerp(Color.white, flashColor, level);
            _block.SetColor(_colorId, c);
            _block.SetColor(_baseColorId, c);
            r.SetPropertyBlock(_block);
        }
    }
}
