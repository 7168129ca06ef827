using System;
using System.Collections.Generic;

namespace Ibeat.Unity
{
    /// <summary>Makes one <see cref="IIbeatTransport"/> (one stream) for a server address.</summary>
    public interface IIbeatTransportFactory
    {
        /// <summary>Registry key: <see cref="IbeatTransports.WebSocket"/>, <see cref="IbeatTransports.Grpc"/>, or your own.</summary>
        string Name { get; }

        /// <summary>A new, unopened transport to <paramref name="server"/> (ws://host:port, http://host:port),
        /// sending <paramref name="token"/> as <c>authorization: Bearer</c> when it is not empty.</summary>
        IIbeatTransport Create(Uri server, string token);
    }

    /// <summary>
    /// The transports <see cref="IbeatClient"/> can use, by name. WebSocket is built in; the optional
    /// <c>Ibeat.Grpc</c> assembly registers <c>"grpc"</c> at start-up
    /// (<c>[RuntimeInitializeOnLoadMethod]</c>), so this assembly never references it.
    /// </summary>
    public static class IbeatTransports
    {
        public const string WebSocket = "websocket";
        public const string Grpc = "grpc";

        static readonly Dictionary<string, IIbeatTransportFactory> s_Factories =
            new Dictionary<string, IIbeatTransportFactory>(StringComparer.Ordinal);

        static IbeatTransports()
        {
            Register(new WebSocketTransportFactory());
        }

        /// <summary>Adds or replaces the factory registered under <c>factory.Name</c>.</summary>
        public static void Register(IIbeatTransportFactory factory)
        {
            if (factory == null) throw new ArgumentNullException(nameof(factory));
            lock (s_Factories) s_Factories[factory.Name] = factory;
        }

        public static bool TryGet(string name, out IIbeatTransportFactory factory)
        {
            lock (s_Factories) return s_Factories.TryGetValue(name, out factory);
        }

        sealed class WebSocketTransportFactory : IIbeatTransportFactory
        {
            public string Name => WebSocket;
            public IIbeatTransport Create(Uri server, string token) => new WebSocketTransport(server, token);
        }
    }
}
