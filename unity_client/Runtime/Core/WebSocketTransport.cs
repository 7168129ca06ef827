using System;
using System.Collections.Generic;
using System.Net.WebSockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Ibeat
{
    /// <summary>
    /// An ibeat stream over WebSocket (<c>ibeat-server --ws-port</c>): one JSON message per text
    /// frame, at <c>ws://host:port/ibeat.v1.Ibeat/Session</c> or <c>/ibeat.v1.Ibeat/Subscribe</c>.
    /// Runs everywhere .NET's <see cref="ClientWebSocket"/> does (Unity desktop, Android, iOS; not
    /// WebGL). Errors arrive as close code 4000 + gRPC status, read back by
    /// <see cref="IbeatStatus.FromWebSocketClose"/>.
    /// </summary>
    /// <remarks>One send and one receive may run at once (ClientWebSocket's rule); sends are
    /// queued in call order, so frames may be sent from any thread.</remarks>
    public sealed class WebSocketTransport : IIbeatTransport
    {
        /// <summary>Path of the Session stream (the gRPC method name, as the server routes it).</summary>
        public const string SessionPath = "/ibeat.v1.Ibeat/Session";
        /// <summary>Path of the Subscribe stream.</summary>
        public const string SubscribePath = "/ibeat.v1.Ibeat/Subscribe";

        // Far above any ibeat message (the server's limit is 64 KiB); guards against a runaway peer.
        const int MaxMessageBytes = 4 * 1024 * 1024;

        // Returned for frames dropped on a closed stream, so dropping allocates nothing.
        static readonly Task Completed = Task.FromResult(true);

        readonly Uri baseUri;
        readonly string token;
        readonly SemaphoreSlim sendGate = new SemaphoreSlim(1, 1);
        // Encoding state, guarded by encodeLock: frames are encoded by the caller's thread before
        // queueing, so the caller may reuse its PoseFrame at once.
        readonly object encodeLock = new object();
        readonly StringBuilder encodeText = new StringBuilder(2048);
        char[] encodeChars = new char[2048];
        // Byte buffers of queued sends, returned after sending: steady state allocates none.
        readonly Stack<byte[]> freeBuffers = new Stack<byte[]>();

        ClientWebSocket socket;
        IbeatStatus? openFailure;
        int sendsInFlight;
        volatile bool disposed;

        /// <param name="baseUri">The server, <c>ws://host:port</c> or <c>wss://host:port</c>
        /// (http/https are taken as ws/wss); a path prefix before the method path is kept.</param>
        /// <param name="token">Sent as <c>authorization: Bearer token</c> when not null or empty.</param>
        public WebSocketTransport(Uri baseUri, string token = null)
        {
            if (baseUri == null) throw new ArgumentNullException("baseUri");
            string scheme = baseUri.Scheme;
            if (scheme == "http") scheme = "ws";
            else if (scheme == "https") scheme = "wss";
            if (scheme != "ws" && scheme != "wss")
                throw new ArgumentException("an ibeat WebSocket address starts with ws:// or wss://, not " + baseUri.Scheme + "://", "baseUri");
            var builder = new UriBuilder(baseUri);
            builder.Scheme = scheme;
            this.baseUri = builder.Uri;
            this.token = string.IsNullOrEmpty(token) ? null : token;
        }

        /// <summary>The server address given (http/https already turned into ws/wss).</summary>
        public Uri BaseUri { get { return baseUri; } }

        /// <summary>True while the connection is open for sending.</summary>
        public bool IsOpen
        {
            get
            {
                ClientWebSocket ws = socket;
                return ws != null && ws.State == WebSocketState.Open;
            }
        }

        /// <summary>Sends queued and not yet written to the network [count]: a caller streaming
        /// frames can skip one while this is high instead of letting latency build up.</summary>
        public int SendsInFlight { get { return Volatile.Read(ref sendsInFlight); } }

        /// <summary>The full address of a stream, e.g. ws://host:8765/ibeat.v1.Ibeat/Session.</summary>
        public Uri StreamUri(string path)
        {
            return new Uri(baseUri.GetLeftPart(UriPartial.Path).TrimEnd('/') + path);
        }

        public Task OpenSessionAsync(SessionConfig config, CancellationToken ct)
        {
            if (config == null) throw new ArgumentNullException("config");
            return OpenAsync(SessionPath, IbeatJson.EncodeConfig(config), ct);
        }

        public Task OpenSubscribeAsync(CancellationToken ct)
        {
            // An empty SubscribeRequest, as a gRPC client sends; the server ignores it.
            return OpenAsync(SubscribePath, "{}", ct);
        }

        // Misuse throws here, synchronously; network trouble is kept for ReceiveAsync.
        Task OpenAsync(string path, string firstMessage, CancellationToken ct)
        {
            ThrowIfDisposed();
            if (socket != null)
                throw new InvalidOperationException("this transport was opened already; a transport carries one stream");
            var ws = new ClientWebSocket();
            if (token != null) ws.Options.SetRequestHeader("Authorization", "Bearer " + token);
            socket = ws;
            return ConnectAsync(ws, StreamUri(path), firstMessage, ct);
        }

        async Task ConnectAsync(ClientWebSocket ws, Uri uri, string firstMessage, CancellationToken ct)
        {
            try
            {
                await ws.ConnectAsync(uri, ct).ConfigureAwait(false);
                byte[] payload = Encoding.UTF8.GetBytes(firstMessage);
                await ws.SendAsync(new ArraySegment<byte>(payload), WebSocketMessageType.Text, true, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                openFailure = new IbeatStatus(IbeatStatusCode.Cancelled, "cancelled while connecting to " + uri);
                ws.Abort();
            }
            catch (ObjectDisposedException)
            {
                openFailure = new IbeatStatus(IbeatStatusCode.Cancelled, "transport disposed while connecting");
            }
            catch (Exception e)
            {
                // WebSocketException, HttpRequestException, SocketException, ...: all mean the
                // server cannot be reached (or refused the upgrade, e.g. HTTP 404 on a wrong path).
                openFailure = new IbeatStatus(IbeatStatusCode.Unavailable, "cannot connect to " + uri + ": " + Describe(e));
                ws.Abort();
            }
        }

        public Task SendFrameAsync(PoseFrame frame, CancellationToken ct)
        {
            if (frame == null) throw new ArgumentNullException("frame");
            ClientWebSocket ws = socket;
            // A stream that failed or ended drops frames quietly: ReceiveAsync reports why.
            if (ws == null || ws.State != WebSocketState.Open) return Completed;
            lock (encodeLock)
            {
                encodeText.Length = 0;
                IbeatJson.AppendFrameMessage(encodeText, frame);
                byte[] buffer;
                int length = EncodeUtf8(encodeText, out buffer);
                // Queued inside the lock, so frames go out in the order they were encoded.
                return SendQueuedAsync(ws, buffer, length, ct);
            }
        }

        public Task EndAsync(CancellationToken ct)
        {
            ClientWebSocket ws = socket;
            if (ws == null || ws.State != WebSocketState.Open) return Completed;
            lock (encodeLock)
            {
                encodeText.Length = 0;
                encodeText.Append(IbeatJson.EndMessage);
                byte[] buffer;
                int length = EncodeUtf8(encodeText, out buffer);
                return SendQueuedAsync(ws, buffer, length, ct);
            }
        }

        // Caller holds encodeLock. Returns the byte count; the buffer comes from freeBuffers.
        int EncodeUtf8(StringBuilder text, out byte[] buffer)
        {
            int chars = text.Length;
            if (encodeChars.Length < chars) encodeChars = new char[Math.Max(chars, encodeChars.Length * 2)];
            text.CopyTo(0, encodeChars, 0, chars);
            int maxBytes = Encoding.UTF8.GetMaxByteCount(chars);
            lock (freeBuffers)
            {
                buffer = freeBuffers.Count > 0 ? freeBuffers.Pop() : null;
            }
            if (buffer == null || buffer.Length < maxBytes) buffer = new byte[Math.Max(maxBytes, 4096)];
            return Encoding.UTF8.GetBytes(encodeChars, 0, chars, buffer, 0);
        }

        // Runs synchronously up to its first await, so the caller's lock orders the queue:
        // SemaphoreSlim hands itself to async waiters first come, first served, and the server
        // refuses frames whose timestamps go backwards.
        async Task SendQueuedAsync(ClientWebSocket ws, byte[] buffer, int length, CancellationToken ct)
        {
            Interlocked.Increment(ref sendsInFlight);
            bool entered = false;
            try
            {
                await sendGate.WaitAsync(ct).ConfigureAwait(false);
                entered = true;
                if (ws.State == WebSocketState.Open)
                    await ws.SendAsync(new ArraySegment<byte>(buffer, 0, length), WebSocketMessageType.Text, true, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The caller gave up on this frame; nothing else to do.
            }
            catch (WebSocketException)
            {
                // The connection dropped: the receive side sees it and reports the status.
            }
            catch (ObjectDisposedException)
            {
                // Disposed while sending.
            }
            finally
            {
                if (entered) sendGate.Release();
                Interlocked.Decrement(ref sendsInFlight);
                lock (freeBuffers)
                {
                    // A few spares are enough; more would only pin memory after a burst.
                    if (freeBuffers.Count < 4) freeBuffers.Push(buffer);
                }
            }
        }

        public async Task<IbeatStatus> ReceiveAsync(Action<ServerMessage> onMessage, CancellationToken ct)
        {
            if (onMessage == null) throw new ArgumentNullException("onMessage");
            if (openFailure.HasValue) return openFailure.Value;
            ClientWebSocket ws = socket;
            if (ws == null) throw new InvalidOperationException("open the stream before receiving");

            byte[] message = new byte[16 * 1024];
            int length = 0;
            try
            {
                while (true)
                {
                    if (length == message.Length)
                    {
                        // One message spans several fragments or outgrew the buffer: grow it.
                        if (message.Length >= MaxMessageBytes)
                        {
                            ws.Abort();
                            return new IbeatStatus(IbeatStatusCode.ResourceExhausted, "server message over " + MaxMessageBytes + " bytes");
                        }
                        Array.Resize(ref message, message.Length * 2);
                    }
                    WebSocketReceiveResult result = await ws.ReceiveAsync(
                        new ArraySegment<byte>(message, length, message.Length - length), ct).ConfigureAwait(false);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        // 1005 = "no status code present" (RFC 6455), which maps to UNAVAILABLE.
                        int code = result.CloseStatus.HasValue ? (int)result.CloseStatus.Value : 1005;
                        IbeatStatus status = IbeatStatus.FromWebSocketClose(code, result.CloseStatusDescription);
                        await ReplyToCloseAsync(ws).ConfigureAwait(false);
                        return status;
                    }
                    length += result.Count;
                    if (!result.EndOfMessage) continue;
                    if (result.MessageType != WebSocketMessageType.Text)
                    {
                        ws.Abort();
                        return new IbeatStatus(IbeatStatusCode.Internal, "the server sent a binary message; ibeat speaks JSON text");
                    }
                    string json = Encoding.UTF8.GetString(message, 0, length);
                    length = 0;
                    ServerMessage decoded;
                    try
                    {
                        decoded = IbeatJson.DecodeServerMessage(json);
                    }
                    catch (IbeatProtocolException e)
                    {
                        ws.Abort();
                        return new IbeatStatus(IbeatStatusCode.Internal, e.Message);
                    }
                    onMessage(decoded);
                }
            }
            catch (OperationCanceledException)
            {
                ws.Abort();
                return new IbeatStatus(IbeatStatusCode.Cancelled, "receiving cancelled");
            }
            catch (ObjectDisposedException)
            {
                return new IbeatStatus(IbeatStatusCode.Cancelled, "transport disposed");
            }
            catch (WebSocketException e)
            {
                if (disposed) return new IbeatStatus(IbeatStatusCode.Cancelled, "transport disposed");
                // The TCP connection ended without a close frame (1006 in WebSocket terms).
                return new IbeatStatus(IbeatStatusCode.Unavailable, "connection lost: " + Describe(e));
            }
        }

        // The server closed first; answering its close frame completes the handshake so it can
        // free the connection at once instead of waiting out its close timeout.
        static async Task ReplyToCloseAsync(ClientWebSocket ws)
        {
            try
            {
                if (ws.State == WebSocketState.CloseReceived)
                {
                    using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1)))
                    {
                        await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", timeout.Token).ConfigureAwait(false);
                    }
                }
            }
            catch (Exception)
            {
                // Best effort: the stream's status is already known.
            }
        }

        /// <summary>Aborts the connection (no close handshake) and frees it.</summary>
        public void Dispose()
        {
            if (disposed) return;
            disposed = true;
            ClientWebSocket ws = socket;
            if (ws != null)
            {
                ws.Abort();
                ws.Dispose();
            }
        }

        void ThrowIfDisposed()
        {
            if (disposed) throw new ObjectDisposedException("WebSocketTransport");
        }

        // "Unable to connect to the remote server (Connection refused)": the outer message says
        // what failed, the innermost one why.
        static string Describe(Exception e)
        {
            Exception inner = e.GetBaseException();
            if (inner == e || inner.Message == e.Message) return e.Message;
            return e.Message + " (" + inner.Message + ")";
        }
    }
}
