using System;
using System.Threading;
using System.Threading.Tasks;

namespace Ibeat
{
    /// <summary>
    /// One stream to an ibeat server: a Session (the client sends frames) or a Subscribe (the
    /// client listens to the server's own source). Implemented by <see cref="WebSocketTransport"/>
    /// and, in the Ibeat.Grpc assembly, GrpcTransport. A transport carries one stream: make a new
    /// one to reconnect.
    /// </summary>
    /// <remarks>
    /// Connection problems never throw from the open and send calls: they surface as the status
    /// <see cref="ReceiveAsync"/> returns, the way a gRPC call reports them. Frames sent to a
    /// stream that is not open are dropped.
    /// </remarks>
    public interface IIbeatTransport : IDisposable
    {
        /// <summary>Connects and sends the config (the Session's first message).</summary>
        Task OpenSessionAsync(SessionConfig config, CancellationToken ct);

        /// <summary>Connects to the server's source (Subscribe).</summary>
        Task OpenSubscribeAsync(CancellationToken ct);

        /// <summary>Sends one frame. The frame is encoded before this returns, so the caller may
        /// reuse it at once; await the task (or watch it) for flow control.</summary>
        Task SendFrameAsync(PoseFrame frame, CancellationToken ct);

        /// <summary>No more frames: the server sends the final stats and ends the stream with OK.</summary>
        Task EndAsync(CancellationToken ct);

        /// <summary>
        /// Receives until the stream ends, calling <paramref name="onMessage"/> for each message on
        /// the receiving thread (not Unity's main thread). Returns how it ended: OK after a clean
        /// end, the server's status after an error, UNAVAILABLE when the server is unreachable or
        /// the connection dropped, CANCELLED when <paramref name="ct"/> fired, INTERNAL for a
        /// message this client cannot read.
        /// </summary>
        Task<IbeatStatus> ReceiveAsync(Action<ServerMessage> onMessage, CancellationToken ct);
    }
}
