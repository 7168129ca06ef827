using UnityEngine;

namespace Ibeat.Unity
{
    /// <summary>
    /// Puts the <see cref="IbeatClient"/> beside it in <c>Subscribe</c> mode: no pose source, nothing
    /// sent; it hears the server's own camera or video (<c>ibeat-server --camera 0 --ws-port 8765</c>
    /// or <c>--video dance.mp4 --loop</c>) like every other listener. Hit times arrive in the source
    /// clock and are mapped onto this client's clock from the server's clock readings; joint
    /// positions are pixels of the server's frames, so hits play unspatialised.
    /// </summary>
    [RequireComponent(typeof(IbeatClient))]
    [AddComponentMenu("ibeat/Server Camera Listener")]
    public sealed class ServerCameraListener : MonoBehaviour
    {
        IbeatClient _client;

        IbeatClient Client => _client != null ? _client : (_client = GetComponent<IbeatClient>());

        /// <summary>What the server films ("camera 0 (640x480, 30 fps)"), once connected.</summary>
        public SourceInfo Source => Client.Source;

        /// <summary>Tracking, no person in frame, video ended, camera lost, ...</summary>
        public SourceStatus Status => Client.LastSourceStatus;

        void Reset() => GetComponent<IbeatClient>().stream = IbeatClient.StreamKind.Subscribe;
    }
}
