using System;

namespace Ibeat
{
    /// <summary>
    /// A message that is not valid ibeat JSON: malformed JSON, a value of the wrong type or out
    /// of range, or an enum name this client does not know. The transports turn it into an
    /// <see cref="IbeatStatusCode.Internal"/> end of stream.
    /// </summary>
    public sealed class IbeatProtocolException : Exception
    {
        public IbeatProtocolException(string message) : base(message) { }

        public IbeatProtocolException(string message, Exception inner) : base(message, inner) { }
    }
}
