using System.Collections;
using System.Collections.Generic;
using NUnit.Framework;
using UnityEngine;
using UnityEngine.TestTools;
using Object = UnityEngine.Object;

namespace Ibeat.Unity.Tests
{
    public sealed class LimbPulseTests
    {
        static readonly Vector3 BaseScale = new Vector3(0.1f, 0.2f, 0.3f);

        GameObject _skeleton;
        TestRig _rig;

        [TearDown]
        public void TearDown()
        {
            if (_skeleton != null) Object.Destroy(_skeleton);
            _skeleton = null;
            if (_rig != null) _rig.Dispose();
            _rig = null;
        }

        /// <summary>19 bones in HumanBodyBones order, each scaled <see cref="BaseScale"/>; the right
        /// hand has a Renderer. Built inactive, with the LimbPulse on it.</summary>
        LimbPulse NewSkeleton(out Transform[] bones)
        {
            _skeleton = new GameObject("ibeat skeleton");
            _skeleton.SetActive(false);
            bones = new Transform[SkeletonMath.HumanoidJoints];
            for (int i = 0; i < bones.Length; i++)
            {
                var bone = new GameObject(((HumanBodyBones)i).ToString());
                bone.transform.SetParent(_skeleton.transform, false);
                bone.transform.localScale = BaseScale;
                bones[i] = bone.transform;
            }
            bones[TestRig.RightHandBone].gameObject.AddComponent<MeshRenderer>();
            var pulse = _skeleton.AddComponent<LimbPulse>();
            pulse.bones = bones;
            pulse.decaySeconds = 0.5f;
            return pulse;
        }

        static void AssertOthersUntouched(Transform[] bones, int pulsed)
        {
            for (int i = 0; i < bones.Length; i++)
                if (i != pulsed) Assert.AreEqual(BaseScale, bones[i].localScale, ((HumanBodyBones)i) + " did not pulse");
        }

        [UnityTest]
        public IEnumerator AHitSwellsAndColoursTheBoneOfItsJointThenSettles()
        {
            Transform[] bones;
            LimbPulse pulse = NewSkeleton(out bones);
            _skeleton.SetActive(true);
            yield return null;
            Transform hand = bones[TestRig.RightHandBone];
            var renderer = hand.GetComponent<Renderer>();

            // No client: DrumHit.Joint (COCO-17 right wrist) is mapped to its Humanoid bone.
            pulse.Pulse(new DrumHit { Joint = TestRig.CocoRightWrist, LayoutJoint = -1, Velocity = 127, Drum = "snare", DrumClass = 1 });
            yield return new Until(() => hand.localScale.x > BaseScale.x * 1.2f, 2f);

            Assert.Greater(hand.localScale.x, BaseScale.x * 1.2f, "the right hand swells (pulseScale 1.6 at full velocity)");
            Assert.AreEqual(hand.localScale.x / BaseScale.x, hand.localScale.z / BaseScale.z, 1e-4, "uniformly");
            Assert.LessOrEqual(hand.localScale.x, BaseScale.x * pulse.pulseScale + 1e-5f);
            AssertOthersUntouched(bones, TestRig.RightHandBone);
            Assert.IsTrue(renderer.HasPropertyBlock(), "its Renderer flashes");
            var block = new MaterialPropertyBlock();
            renderer.GetPropertyBlock(block);
            Color built = block.GetColor("_Color"), urp = block.GetColor("_BaseColor");
            Assert.Less(built.b, 0.9f, "towards flashColor (orange), away from white");
            Assert.AreEqual(built, urp, "_Color (built-in) and _BaseColor (URP, HDRP) alike");

            yield return new Until(() => hand.localScale == BaseScale && !renderer.HasPropertyBlock(), 3f);
            Assert.AreEqual(BaseScale, hand.localScale, "back to its own scale after decaySeconds");
            Assert.IsFalse(renderer.HasPropertyBlock(), "and its own colour");
        }

        [UnityTest]
        public IEnumerator APlayedHitPulsesTheLimbThatDroveIt()
        {
            _rig = new TestRig(SkeletonLayout.Humanoid);
            Transform[] bones;
            LimbPulse pulse = NewSkeleton(out bones);
            pulse.player = _rig.Player; // at play time, through DrumKitPlayer.OnHitPlayed
            pulse.client = _rig.Client; // Humanoid on the wire: DrumHit.LayoutJoint is the bone
            Transform hand = bones[TestRig.RightHandBone];
            var played = new List<DrumHit>();
            var playedAtUs = new List<long>();
            var handAtPlay = new List<Vector3>();
            _rig.Player.OnHitPlayed.AddListener(h =>
            {
                played.Add(h);
                playedAtUs.Add(IbeatClock.NowUs);
                handAtPlay.Add(hand.localScale);
            });
            _rig.Activate();
            _skeleton.SetActive(true);
            _rig.Client.Connect();
            yield return _rig.UntilStreamOpen();
            Assert.IsTrue(_rig.StreamOpen, "the client never opened the stream");
            yield return _rig.UntilAudioClockRuns();
            _rig.RequireAudioClock();

            DrumHit hit = TestRig.Hit("crash", IbeatClock.NowUs + 250000, new Vector3(0.4f, 1.3f, 0.1f), 127);
            _rig.Transports.Last.Deliver(TestRig.HitsMessage(hit));
            yield return new Until(() => played.Count > 0, 3f);
            Assert.AreEqual(1, played.Count, "OnHitPlayed fires once");
            Assert.AreSame(hit, played[0]);
            Assert.Greater(playedAtUs[0], hit.TimeUs - 100000, "at its play time, not on arrival (250 ms early)");
            Assert.AreEqual(BaseScale, handAtPlay[0], "no pulse before the hit plays");

            yield return new Until(() => hand.localScale.x > BaseScale.x * 1.2f, 1f);
            Assert.Greater(hand.localScale.x, BaseScale.x * 1.2f, "the right hand pulses as its hit plays");
            AssertOthersUntouched(bones, TestRig.RightHandBone);
        }
    }
}
