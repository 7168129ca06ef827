using System;
using UnityEngine.Events;

namespace Ibeat.Unity
{
    /// <summary>A beat the server committed to (about the lead time before it falls).</summary>
    [Serializable] public sealed class BeatUnityEvent : UnityEvent<BeatEvent> { }

    /// <summary>One drum hit (on arrival from <see cref="IbeatClient"/>; at its play time from <see cref="DrumKitPlayer"/>).</summary>
    [Serializable] public sealed class HitUnityEvent : UnityEvent<DrumHit> { }

    /// <summary>A human-readable line: connected, accepted, the server's close status, a source's status.</summary>
    [Serializable] public sealed class StatusUnityEvent : UnityEvent<string> { }
}
