using Ibeat.Unity;
using UnityEngine;

namespace Ibeat.Samples.Demo
{
    /// <summary>The demo's on-screen status: connection, tempo, hits, hits dropped late.</summary>
    public sealed class DemoHud : MonoBehaviour
    {
        public IbeatClient client;
        public DrumKitPlayer player;

        void OnGUI()
        {
            if (client == null) return;
            var text = client.StatusText;
            if (client.LastBeat != null) text += string.Format("\ntempo {0:0.0} BPM, beat {1}", client.LastBeat.TempoBpm, client.LastBeat.Index);
            text += string.Format("\nframes sent {0}, hits received {1}", client.FramesSent, client.HitsReceived);
            if (player != null) text += string.Format(", played {0}, dropped late {1}", player.ScheduledCount, player.DroppedLate);
            if (client.LastStats != null) text += string.Format("\nserver latency p50 {0:0.0} ms, p99 {1:0.0} ms", client.LastStats.LatencyP50Us / 1000f, client.LastStats.LatencyP99Us / 1000f);
            GUI.Label(new Rect(12, 12, Screen.width - 24, 120), text);
        }
    }
}
