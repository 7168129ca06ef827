namespace Ibeat
{
    /// <summary>Which payload a <see cref="ServerMessage"/> carries (the proto oneof).</summary>
    public enum ServerMessageKind
    {
        /// <summary>None the client knows: a newer server's message; ignore it.</summary>
        Unknown,
        Accepted,
        Beat,
        Hits,
        Stats,
        Restarted,
        Source,
        SourceStatus,
    }

    /// <summary>One message from the server (proto <c>ServerMessage</c>): exactly the field named
    /// by <see cref="Kind"/> is set, the others are null.</summary>
    public sealed class ServerMessage
    {
        public ServerMessageKind Kind;
        public SessionAccepted Accepted;
        public BeatEvent Beat;
        public DrumHits Hits;
        public SessionStats Stats;
        public StreamRestarted Restarted;
        public SourceInfo Source;
        public SourceStatus SourceStatus;
    }
}
