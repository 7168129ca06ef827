using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;

namespace Ibeat.Tests
{
    /// <summary>The WebSocket transport against a scripted loopback server (no ibeat server needed).</summary>
    [TestFixture]
    public class WebSocketTransportTests
    {
        const int TimeoutMs = 10000;

        static IbeatStatus Receive(WebSocketTransport t, List<ServerMessage> into, CancellationToken ct)
        {
            Task<IbeatStatus> task = t.ReceiveAsync(delegate (ServerMessage m) { lock (into) into.Add(m); }, ct);
            Assert.IsTrue(task.Wait(TimeoutMs), "ReceiveAsync did not end");
            return task.Result;
        }

        [Test]
        public void SessionEndsOk()
        {
            var received = new List<string>();
            int clientClose = 0;
            using (var server = new LoopbackWebSocketServer(delegate (LoopbackConnection c)
            {
                received.Add(c.ReadText());   // config
                // The accepted message in three fragments: the client must join them.
                c.SendText(@"{""accepted"":{""sessionId"":""s1"",""leadTimeUs"":""100000""}}", 3);
                received.Add(c.ReadText());   // frame
                received.Add(c.ReadText());   // frame
                received.Add(c.ReadText());   // end
                c.SendText(@"{""beat"":{""timeUs"":""1100000"",""index"":""0""}}");
                c.SendText(@"{""stats"":{""framesReceived"":""2"",""final"":true}}");
                c.Close(1000, "");
                clientClose = c.ClientCloseCode;
            }))
            using (var t = new WebSocketTransport(server.BaseUri, "tok"))
            {
                var config = new SessionConfig { Layout = SkeletonLayout.HeadHands, Handedness = Handedness.Left };
                Assert.IsTrue(t.OpenSessionAsync(config, CancellationToken.None).Wait(TimeoutMs));
                Assert.IsTrue(t.IsOpen);
                var frame = new PoseFrame { TimestampUs = 1000000, Keypoints = new float[12], FrameId = 1 };
                Task first = t.SendFrameAsync(frame, CancellationToken.None);
                // Reusing the frame at once is allowed: it was encoded already.
                frame.TimestampUs = 1011111;
                frame.FrameId = 2;
                Task second = t.SendFrameAsync(frame, CancellationToken.None);
                Assert.IsTrue(Task.WaitAll(new[] { first, second }, TimeoutMs));
                Assert.IsTrue(t.EndAsync(CancellationToken.None).Wait(TimeoutMs));

                var messages = new List<ServerMessage>();
                IbeatStatus status = Receive(t, messages, CancellationToken.None);
                server.Join();

                Assert.IsTrue(status.IsOk, status.ToString());
                Assert.AreEqual(3, messages.Count);
                Assert.AreEqual("s1", messages[0].Accepted.SessionId);
                Assert.AreEqual(1100000L, messages[1].Beat.TimeUs);
                Assert.IsTrue(messages[2].Stats.Final);

                Assert.AreEqual("/ibeat.v1.Ibeat/Session", server.RequestPath);
                Assert.AreEqual("Bearer tok", server.Authorization);
                Assert.AreEqual(IbeatJson.EncodeConfig(config), received[0]);
                StringAssert.Contains(@"""timestampUs"":""1000000""", received[1]);
                StringAssert.Contains(@"""frameId"":""1""", received[1]);
                StringAssert.Contains(@"""timestampUs"":""1011111""", received[2]);
                Assert.AreEqual(@"{""end"":{}}", received[3]);
                Assert.AreEqual(1000, clientClose, "the client answers the close handshake");
                Assert.IsFalse(t.IsOpen);
                // Frames after the end are dropped quietly.
                Assert.IsTrue(t.SendFrameAsync(frame, CancellationToken.None).Wait(TimeoutMs));
            }
        }

        [Test]
        public void FramesSentWithoutWaitingArriveInOrder()
        {
            const int count = 300;
            var timestamps = new List<long>();
            using (var server = new LoopbackWebSocketServer(delegate (LoopbackConnection c)
            {
                c.ReadText();   // config
                for (int i = 0; i < count; i++)
                    timestamps.Add(IbeatJson.DecodePoseFrame(BareFrame(c.ReadText())).TimestampUs);
                c.ReadText();   // end
                c.Close(1000, "");
            }))
            using (var t = new WebSocketTransport(server.BaseUri))
            {
                Assert.IsTrue(t.OpenSessionAsync(new SessionConfig(), CancellationToken.None).Wait(TimeoutMs));
                var frame = new PoseFrame { Keypoints = new float[51] };
                var sends = new List<Task>();
                for (int i = 0; i < count; i++)
                {
                    frame.TimestampUs = 1000 + i;
                    frame.Keypoints[0] = i;
                    sends.Add(t.SendFrameAsync(frame, CancellationToken.None));
                }
                sends.Add(t.EndAsync(CancellationToken.None));
                Assert.IsTrue(Task.WaitAll(sends.ToArray(), TimeoutMs));
                Assert.AreEqual(0, t.SendsInFlight);
                IbeatStatus status = Receive(t, new List<ServerMessage>(), CancellationToken.None);
                server.Join();
                Assert.IsTrue(status.IsOk, status.ToString());
                Assert.AreEqual(count, timestamps.Count);
                for (int i = 0; i < count; i++) Assert.AreEqual(1000L + i, timestamps[i]);
            }
        }

        static string BareFrame(string message)
        {
            const string prefix = "{\"frame\":";
            Assert.IsTrue(message.StartsWith(prefix), message);
            return message.Substring(prefix.Length, message.Length - prefix.Length - 1);
        }

        [Test]
        public void ServerErrorCloseGivesItsStatus()
        {
            using (var server = new LoopbackWebSocketServer(delegate (LoopbackConnection c)
            {
                c.ReadText();
                c.Close(4003, "INVALID_ARGUMENT: unknown genre 'polka'");
            }))
            using (var t = new WebSocketTransport(server.BaseUri))
            {
                Assert.IsTrue(t.OpenSessionAsync(new SessionConfig { Genre = "polka" }, CancellationToken.None).Wait(TimeoutMs));
                IbeatStatus status = Receive(t, new List<ServerMessage>(), CancellationToken.None);
                server.Join();
                Assert.AreEqual(IbeatStatusCode.InvalidArgument, status.Code);
                Assert.AreEqual("unknown genre 'polka'", status.Detail);
                Assert.IsNull(server.Authorization, "no token, no header");
                Assert.IsFalse(ReconnectPolicy.IsRetryable(status));
            }
        }

        [Test]
        public void SubscribeWithABigMessage()
        {
            string description = new string('x', 100000);   // larger than the first receive buffer
            using (var server = new LoopbackWebSocketServer(delegate (LoopbackConnection c)
            {
                c.ReadText();   // the SubscribeRequest
                c.SendText(@"{""source"":{""description"":""" + description + @""",""fps"":30}}", 7);
                c.SendText(@"{""sourceStatus"":{""state"":""SOURCE_STATE_ENDED""}}");
                c.Close(1000, "");
            }))
            using (var t = new WebSocketTransport(new Uri("http://127.0.0.1:" + server.Port + "/")))
            {
                Assert.IsTrue(t.OpenSubscribeAsync(CancellationToken.None).Wait(TimeoutMs));
                var messages = new List<ServerMessage>();
                IbeatStatus status = Receive(t, messages, CancellationToken.None);
                server.Join();
                Assert.IsTrue(status.IsOk, status.ToString());
                Assert.AreEqual("/ibeat.v1.Ibeat/Subscribe", server.RequestPath);
                Assert.AreEqual(2, messages.Count);
                Assert.AreEqual(description, messages[0].Source.Description);
                Assert.AreEqual(SourceState.Ended, messages[1].SourceStatus.State);
            }
        }

        [Test]
        public void DroppedConnectionIsUnavailable()
        {
            using (var server = new LoopbackWebSocketServer(delegate (LoopbackConnection c)
            {
                c.ReadText();
                c.SendText(@"{""accepted"":{}}");
                c.Drop();
            }))
            using (var t = new WebSocketTransport(server.BaseUri))
            {
                Assert.IsTrue(t.OpenSessionAsync(new SessionConfig(), CancellationToken.None).Wait(TimeoutMs));
                var messages = new List<ServerMessage>();
                IbeatStatus status = Receive(t, messages, CancellationToken.None);
                server.Join();
                Assert.AreEqual(IbeatStatusCode.Unavailable, status.Code, status.ToString());
                Assert.AreEqual(1, messages.Count);
                Assert.IsTrue(ReconnectPolicy.IsRetryable(status));
            }
        }

        [Test]
        public void UnreachableServerIsUnavailable()
        {
            using (var t = new WebSocketTransport(new Uri("ws://127.0.0.1:" + LoopbackWebSocketServer.UnusedPort())))
            {
                Assert.IsTrue(t.OpenSessionAsync(new SessionConfig(), CancellationToken.None).Wait(TimeoutMs), "open never throws for the network");
                Assert.IsFalse(t.IsOpen);
                Assert.IsTrue(t.SendFrameAsync(new PoseFrame(), CancellationToken.None).Wait(TimeoutMs), "frames are dropped");
                IbeatStatus status = Receive(t, new List<ServerMessage>(), CancellationToken.None);
                Assert.AreEqual(IbeatStatusCode.Unavailable, status.Code);
                StringAssert.Contains("cannot connect to ws://127.0.0.1:", status.Detail);
                Assert.Throws<InvalidOperationException>(delegate { t.OpenSessionAsync(new SessionConfig(), CancellationToken.None).Wait(); },
                    "a transport carries one stream");
            }
        }

        [Test]
        public void RefusedUpgradeIsUnavailable()
        {
            using (var server = new LoopbackWebSocketServer(delegate (LoopbackConnection c) { }))
            using (var t = new WebSocketTransport(server.BaseUri))
            {
                server.HttpStatus = 404;
                Assert.IsTrue(t.OpenSessionAsync(new SessionConfig(), CancellationToken.None).Wait(TimeoutMs));
                IbeatStatus status = Receive(t, new List<ServerMessage>(), CancellationToken.None);
                server.Join();
                Assert.AreEqual(IbeatStatusCode.Unavailable, status.Code);
            }
        }

        [Test]
        public void UnreadableMessageIsInternal()
        {
            using (var server = new LoopbackWebSocketServer(delegate (LoopbackConnection c)
            {
                c.ReadText();
                c.SendText(@"{""beat"":{""timeUs"":""soon""}}");
                try { c.ReadText(); } catch (System.IO.IOException) { }
            }))
            using (var t = new WebSocketTransport(server.BaseUri))
            {
                Assert.IsTrue(t.OpenSessionAsync(new SessionConfig(), CancellationToken.None).Wait(TimeoutMs));
                IbeatStatus status = Receive(t, new List<ServerMessage>(), CancellationToken.None);
                server.Join();
                Assert.AreEqual(IbeatStatusCode.Internal, status.Code);
                StringAssert.Contains("soon", status.Detail);
            }
        }

        [Test]
        public void BinaryMessageIsInternal()
        {
            using (var server = new LoopbackWebSocketServer(delegate (LoopbackConnection c)
            {
                c.ReadText();
                c.SendBinary(new byte[] { 1, 2, 3 });
                try { c.ReadText(); } catch (System.IO.IOException) { }
            }))
            using (var t = new WebSocketTransport(server.BaseUri))
            {
                Assert.IsTrue(t.OpenSessionAsync(new SessionConfig(), CancellationToken.None).Wait(TimeoutMs));
                IbeatStatus status = Receive(t, new List<ServerMessage>(), CancellationToken.None);
                server.Join();
                Assert.AreEqual(IbeatStatusCode.Internal, status.Code);
            }
        }

        [Test]
        public void CancellingTheReceiveIsCancelled()
        {
            var release = new ManualResetEvent(false);
            using (var server = new LoopbackWebSocketServer(delegate (LoopbackConnection c)
            {
                c.ReadText();
                release.WaitOne(TimeoutMs);
            }))
            using (var t = new WebSocketTransport(server.BaseUri))
            using (var cts = new CancellationTokenSource())
            {
                Assert.IsTrue(t.OpenSessionAsync(new SessionConfig(), CancellationToken.None).Wait(TimeoutMs));
                cts.CancelAfter(200);
                IbeatStatus status = Receive(t, new List<ServerMessage>(), cts.Token);
                release.Set();
                server.Join();
                Assert.AreEqual(IbeatStatusCode.Cancelled, status.Code);
                Assert.IsFalse(ReconnectPolicy.IsRetryable(status));
            }
        }

        [Test]
        public void AddressesAreChecked()
        {
            Assert.Throws<ArgumentException>(delegate { new WebSocketTransport(new Uri("ftp://example.com")); });
            var t = new WebSocketTransport(new Uri("wss://example.com:8765/prefix/"));
            Assert.AreEqual("wss://example.com:8765/prefix/ibeat.v1.Ibeat/Session", t.StreamUri(WebSocketTransport.SessionPath).ToString());
            t.Dispose();
            t.Dispose();   // twice is fine
            Assert.Throws<ObjectDisposedException>(delegate { t.OpenSubscribeAsync(CancellationToken.None).Wait(); });
        }
    }
}
