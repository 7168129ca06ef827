using System;
using System.Collections.Generic;
using UnityEngine;
using UnityEngine.Audio;

namespace Ibeat.Unity
{
    /// <summary>
    /// Plays the hits of an <see cref="IbeatClient"/> on a drum kit, sample-accurately: each Update it
    /// takes the hits due within <see cref="horizonSeconds"/> from the client's
    /// <see cref="HitScheduler"/> (which maps the client clock onto <c>AudioSettings.dspTime</c> and
    /// drops a hit it could only play late) and starts each with <c>AudioSource.PlayScheduled</c> at its
    /// exact DSP time, from a small pool of AudioSources per drum, at the world position of the joint
    /// that drove it, volume velocity / 127.
    /// </summary>
    [AddComponentMenu("ibeat/Drum Kit Player")]
    public sealed class DrumKitPlayer : MonoBehaviour
    {
        /// <summary>DrumHit.DrumClass -> name, as the server's ServerInfo.drum_classes (ibeat_core/drums.py).</summary>
        public static readonly string[] DrumClasses =
        {
            "kick", "snare", "closed_hihat", "open_hihat", "low_tom", "mid_tom", "high_tom", "crash", "ride",
        };

        [Serializable]
        public struct Voice
        {
            [Tooltip("Drum class name (DrumHit.drum); the voice's index is DrumHit.drum_class.")]
            public string drum;
            public AudioClip clip;
            [Range(0f, 2f)] public float gain;
        }

        public IbeatClient client;
        [Tooltip("One per drum class, in class order: kick, snare, closed_hihat, open_hihat, low_tom, mid_tom, high_tom, crash, ride. " +
                 "`ibeat kit --out DIR` writes these samples.")]
        public Voice[] voices = DefaultVoices();
        [Tooltip("AudioSources per drum, used in turn (overlapping hits of one drum).")]
        [Range(1, 16)] public int sourcesPerVoice = 4;
        [Tooltip("Hits are handed to the audio system this long before they play [s]. Longer than a frame; at most the lead time.")]
        [Range(0.02f, 0.5f)] public float horizonSeconds = 0.1f;
        [Tooltip("Place each hit at the driving joint (3D layouts) with this spatial blend; 0 = plain stereo.")]
        [Range(0f, 1f)] public float spatialBlend = 1f;
        public float minDistance = 1f;
        public float maxDistance = 30f;
        public AudioMixerGroup output;
        [Tooltip("Each hit at its play time (main thread, within a frame of it).")]
        [SerializeField] HitUnityEvent onHitPlayed = new HitUnityEvent();

        [Header("Counters (read only)")]
        [SerializeField] int scheduled;
        [SerializeField] int droppedLate;

        public HitUnityEvent OnHitPlayed => onHitPlayed;
        /// <summary>Hits started with PlayScheduled.</summary>
        public int ScheduledCount => scheduled;
        /// <summary>Hits the scheduler dropped because they could only have played late.</summary>
        public int DroppedLate => droppedLate;

        AudioSource[][] _pool;
        int[] _next;
        readonly List<ScheduledHit> _due = new List<ScheduledHit>(64);
        readonly List<ScheduledHit> _pending = new List<ScheduledHit>(64);

        public static Voice[] DefaultVoices()
        {
            var v = new Voice[DrumClasses.Length];
            for (int i = 0; i < v.Length; i++) v[i] = new Voice { drum = DrumClasses[i], gain = 1f };
            return v;
        }

        void Reset()
        {
            client = GetComponentInParent<IbeatClient>();
            voices = DefaultVoices();
        }

        void Awake()
        {
            _pool = new AudioSource[voices.Length][];
            _next = new int[voices.Length];
            for (int v = 0; v < voices.Length; v++)
            {
                _pool[v] = new AudioSource[sourcesPerVoice];
                for (int k = 0; k < sourcesPerVoice; k++)
                {
                    var go = new GameObject("ibeat " + voices[v].drum + " " + k);
                    go.transform.SetParent(transform, false);
                    AudioSource src = go.AddComponent<AudioSource>();
                    src.playOnAwake = false;
                    src.clip = voices[v].clip; // fixed per pool: changing a playing source's clip stops it
                    src.outputAudioMixerGroup = output;
                    src.minDistance = minDistance;
                    src.maxDistance = maxDistance;
                    src.rolloffMode = AudioRolloffMode.Linear;
                    src.dopplerLevel = 0f;
                    _pool[v][k] = src;
                }
            }
        }

        void Update()
        {
            if (client == null || client.Scheduler == null) return;
            double dspNow = AudioSettings.dspTime;
            _due.Clear();
            client.Scheduler.TakeDue(dspNow, horizonSeconds, _due);
            for (int i = 0; i < _due.Count; i++) Play(_due[i]);
            droppedLate = client.Scheduler.Dropped;

            // Fire onHitPlayed for the hits whose time has come (in time order).
            int fired = 0;
            while (fired < _pending.Count && _pending[fired].DspTime <= dspNow) fired++;
            for (int i = 0; i < fired; i++) onHitPlayed.Invoke(_pending[i].Hit);
            if (fired > 0) _pending.RemoveRange(0, fired);
        }

        void Play(ScheduledHit sh)
        {
            DrumHit hit = sh.Hit;
            int v = VoiceIndex(hit);
            if (v < 0 || voices[v].clip == null) return;
            AudioSource[] pool = _pool[v];
            AudioSource src = pool[_next[v]];
            _next[v] = (_next[v] + 1) % pool.Length;
            if (src.clip != voices[v].clip) src.clip = voices[v].clip; // assigned in the inspector at run time
            if (client.HitsCarryWorldPositions && spatialBlend > 0f)
            {
                src.transform.position = new Vector3(hit.JointX, hit.JointY, hit.JointZ);
                src.spatialBlend = spatialBlend;
            }
            else
            {
                src.transform.localPosition = Vector3.zero;
                src.spatialBlend = 0f;
            }
            src.volume = Mathf.Clamp01(hit.Velocity / 127f) * voices[v].gain;
            src.PlayScheduled(sh.DspTime);
            scheduled++;
            int at = _pending.Count;
            while (at > 0 && _pending[at - 1].DspTime > sh.DspTime) at--;
            _pending.Insert(at, sh);
        }

        int VoiceIndex(DrumHit hit)
        {
            int v = (int)hit.DrumClass;
            if (v < voices.Length && voices[v].drum == hit.Drum) return v;
            for (int i = 0; i < voices.Length; i++)
                if (voices[i].drum == hit.Drum) return i;
            return v < voices.Length ? v : -1;
        }
    }
}
