using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Threading;

namespace Ibeat.Tests
{
    /// <summary>
    /// A minimal WebSocket server (RFC 6455) on 127.0.0.1 for the transport tests: it accepts one
    /// connection and runs a script against it on its own thread. Hand-written because Mono's
    /// HttpListener does not implement WebSockets.
    /// </summary>
    internal sealed class LoopbackWebSocketServer : IDisposable
    {
        readonly TcpListener listener;
        readonly Thread thread;
        readonly Action<LoopbackConnection> script;

        /// <summary>HTTP status answered to the upgrade: 101 accepts, anything else refuses.</summary>
        public int HttpStatus = 101;
        public string RequestPath;
        public string Authorization;
        /// <summary>What went wrong on the server thread (rethrown by <see cref="Join"/>).</summary>
        public Exception Error;

        public LoopbackWebSocketServer(Action<LoopbackConnection> script)
        {
            this.script = script;
            listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            thread = new Thread(Run);
            thread.IsBackground = true;
            thread.Start();
        }

        public int Port { get { return ((IPEndPoint)listener.LocalEndpoint).Port; } }

        public Uri BaseUri { get { return new Uri("ws://127.0.0.1:" + Port); } }

        /// <summary>A port nothing listens on (bound, then released).</summary>
        public static int UnusedPort()
        {
            var l = new TcpListener(IPAddress.Loopback, 0);
            l.Start();
            int port = ((IPEndPoint)l.LocalEndpoint).Port;
            l.Stop();
            return port;
        }

        void Run()
        {
            try
            {
                using (TcpClient client = listener.AcceptTcpClient())
                {
                    client.NoDelay = true;
                    NetworkStream stream = client.GetStream();
                    stream.ReadTimeout = 10000;
                    if (!Handshake(stream)) return;
                    script(new LoopbackConnection(stream));
                }
            }
            catch (Exception e)
            {
                Error = e;
            }
        }

        bool Handshake(NetworkStream stream)
        {
            var header = new StringBuilder();
            while (!header.ToString().EndsWith("\r\n\r\n"))
            {
                int b = stream.ReadByte();
                if (b < 0) throw new IOException("client left during the handshake");
                header.Append((char)b);
            }
            string[] lines = header.ToString().Split(new[] { "\r\n" }, StringSplitOptions.RemoveEmptyEntries);
            RequestPath = lines[0].Split(' ')[1];
            string key = null;
            for (int i = 1; i < lines.Length; i++)
            {
                int colon = lines[i].IndexOf(':');
                string name = lines[i].Substring(0, colon).Trim().ToLowerInvariant();
                string value = lines[i].Substring(colon + 1).Trim();
                if (name == "sec-websocket-key") key = value;
                if (name == "authorization") Authorization = value;
            }
            string response;
            if (HttpStatus != 101)
            {
                response = "HTTP/1.1 " + HttpStatus + " Refused\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            }
            else
            {
                string accept;
                using (SHA1 sha = SHA1.Create())
                {
                    accept = Convert.ToBase64String(sha.ComputeHash(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
                }
                response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\n\r\n";
            }
            byte[] bytes = Encoding.ASCII.GetBytes(response);
            stream.Write(bytes, 0, bytes.Length);
            return HttpStatus == 101;
        }

        /// <summary>Waits for the script to finish and rethrows its failure.</summary>
        public void Join()
        {
            if (!thread.Join(10000)) throw new TimeoutException("the server script did not finish");
            if (Error != null) throw new Exception("server script failed: " + Error.Message, Error);
        }

        public void Dispose()
        {
            listener.Stop();
        }
    }

    /// <summary>One accepted WebSocket connection, seen from the server.</summary>
    internal sealed class LoopbackConnection
    {
        readonly NetworkStream stream;

        /// <summary>The client's close code, once <see cref="ReadText"/> returned null.</summary>
        public int ClientCloseCode = -1;

        internal LoopbackConnection(NetworkStream stream)
        {
            this.stream = stream;
        }

        /// <summary>The next text message (fragments joined), or null when the client closed.</summary>
        public string ReadText()
        {
            var message = new MemoryStream();
            while (true)
            {
                int b0 = ReadByte(), b1 = ReadByte();
                bool fin = (b0 & 0x80) != 0;
                int opcode = b0 & 0x0F;
                long length = b1 & 0x7F;
                if (length == 126) length = (ReadByte() << 8) | ReadByte();
                else if (length == 127)
                {
                    length = 0;
                    for (int i = 0; i < 8; i++) length = (length << 8) + ReadByte();
                }
                if ((b1 & 0x80) == 0) throw new IOException("client frames must be masked");
                byte[] mask = ReadBytes(4);
                byte[] payload = ReadBytes((int)length);
                for (int i = 0; i < payload.Length; i++) payload[i] ^= mask[i % 4];
                if (opcode == 8)
                {
                    ClientCloseCode = payload.Length >= 2 ? (payload[0] << 8) | payload[1] : 1005;
                    return null;
                }
                if (opcode == 9)
                {
                    WriteFrame(0x8A, payload, 0, payload.Length);   // pong
                    continue;
                }
                if (opcode == 10) continue;
                message.Write(payload, 0, payload.Length);
                if (fin) return Encoding.UTF8.GetString(message.ToArray());
            }
        }

        /// <summary>Sends a text message split into <paramref name="fragments"/> frames.</summary>
        public void SendText(string text, int fragments = 1)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(text);
            int size = (bytes.Length + fragments - 1) / fragments;
            int sent = 0;
            for (int f = 0; f < fragments; f++)
            {
                int n = Math.Min(size, bytes.Length - sent);
                bool last = f == fragments - 1;
                int opcode = f == 0 ? 1 : 0;   // text, then continuations
                WriteFrame((last ? 0x80 : 0) | opcode, bytes, sent, n);
                sent += n;
            }
        }

        public void SendBinary(byte[] bytes)
        {
            WriteFrame(0x82, bytes, 0, bytes.Length);
        }

        /// <summary>Sends a close frame and waits for the client's answer.</summary>
        public void Close(int code, string reason)
        {
            byte[] text = Encoding.UTF8.GetBytes(reason);
            var payload = new byte[2 + text.Length];
            payload[0] = (byte)(code >> 8);
            payload[1] = (byte)code;
            Array.Copy(text, 0, payload, 2, text.Length);
            WriteFrame(0x88, payload, 0, payload.Length);
            try
            {
                while (ReadText() != null) { }
            }
            catch (IOException)
            {
                // The client may drop the TCP connection instead of answering.
            }
        }

        /// <summary>Ends the TCP connection with no close frame (WebSocket code 1006 for the client).</summary>
        public void Drop()
        {
            stream.Close();
        }

        void WriteFrame(int b0, byte[] payload, int offset, int count)
        {
            var header = new List<byte>();
            header.Add((byte)b0);
            if (count < 126) header.Add((byte)count);
            else if (count < 65536)
            {
                header.Add(126);
                header.Add((byte)(count >> 8));
                header.Add((byte)count);
            }
            else
            {
                header.Add(127);
                for (int i = 7; i >= 0; i--) header.Add((byte)((long)count >> (8 * i)));
            }
            byte[] h = header.ToArray();
            stream.Write(h, 0, h.Length);
            stream.Write(payload, offset, count);
            stream.Flush();
        }

        int ReadByte()
        {
            int b = stream.ReadByte();
            if (b < 0) throw new IOException("connection closed");
            return b;
        }

        byte[] ReadBytes(int n)
        {
            var buffer = new byte[n];
            int got = 0;
            while (got < n)
            {
                int r = stream.Read(buffer, got, n - got);
                if (r <= 0) throw new IOException("connection closed");
                got += r;
            }
            return buffer;
        }
    }
}
