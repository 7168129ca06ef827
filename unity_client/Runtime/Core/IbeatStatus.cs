namespace Ibeat
{
    /// <summary>gRPC status codes, with the same numbers as <c>Grpc.Core.StatusCode</c>, so both
    /// transports report a stream's end the same way.</summary>
    public enum IbeatStatusCode
    {
        OK = 0,
        Cancelled = 1,
        Unknown = 2,
        InvalidArgument = 3,
        DeadlineExceeded = 4,
        NotFound = 5,
        AlreadyExists = 6,
        PermissionDenied = 7,
        ResourceExhausted = 8,
        FailedPrecondition = 9,
        Aborted = 10,
        OutOfRange = 11,
        Unimplemented = 12,
        Internal = 13,
        Unavailable = 14,
        DataLoss = 15,
        Unauthenticated = 16,
    }

    /// <summary>How a stream ended: a status code and a human-readable detail.</summary>
    public struct IbeatStatus
    {
        /// <summary>First WebSocket close code of the ibeat range: close code = this + status code.</summary>
        public const int CloseCodeBase = 4000;

        /// <summary>WebSocket close code of a normal end (RFC 6455).</summary>
        public const int NormalClosure = 1000;

        public IbeatStatusCode Code;
        /// <summary>Why, for people (the server's message without the status name); may be empty.</summary>
        public string Detail;

        public IbeatStatus(IbeatStatusCode code, string detail)
        {
            Code = code;
            Detail = detail ?? "";
        }

        /// <summary>True for a clean end.</summary>
        public bool IsOk { get { return Code == IbeatStatusCode.OK; } }

        /// <summary>The gRPC name of the code ("INVALID_ARGUMENT"), or its number if unknown.</summary>
        public string CodeName
        {
            get
            {
                string name = WireNames.NameOf(WireNames.StatusCode, (int)Code);
                return name ?? ((int)Code).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        /// <summary>"OK", or "NAME: detail" as the server writes its close reasons.</summary>
        public override string ToString()
        {
            return string.IsNullOrEmpty(Detail) ? CodeName : CodeName + ": " + Detail;
        }

        /// <summary>
        /// The status a WebSocket close frame stands for: 1000 is OK; 4000 + N is gRPC status N
        /// with the reason "NAME: message" (the detail is the message); anything else (1006
        /// abnormal closure, 1001 going away, 1011 server error, ...) means the connection was
        /// lost: UNAVAILABLE, which a client may retry.
        /// </summary>
        /// <param name="closeCode">The close frame's status code (1005 when it had none).</param>
        /// <param name="reason">The close frame's reason; may be null.</param>
        public static IbeatStatus FromWebSocketClose(int closeCode, string reason)
        {
            reason = reason ?? "";
            if (closeCode == NormalClosure)
                return new IbeatStatus(IbeatStatusCode.OK, reason);
            if (closeCode >= CloseCodeBase && closeCode < CloseCodeBase + 1000)
            {
                int number = closeCode - CloseCodeBase;
                // A code past the table (a newer server's) still ends the stream: UNKNOWN, as gRPC does.
                IbeatStatusCode code = number < WireNames.StatusCode.Length ? (IbeatStatusCode)number : IbeatStatusCode.Unknown;
                return new IbeatStatus(code, StripStatusName(reason));
            }
            string detail = "connection closed (WebSocket close code " +
                closeCode.ToString(System.Globalization.CultureInfo.InvariantCulture) + ")";
            if (reason.Length > 0) detail += ": " + reason;
            return new IbeatStatus(IbeatStatusCode.Unavailable, detail);
        }

        // The server writes "INVALID_ARGUMENT: frame 3 has 50 values"; the name is already in Code.
        static string StripStatusName(string reason)
        {
            int colon = reason.IndexOf(": ", System.StringComparison.Ordinal);
            if (colon <= 0) return reason;
            string prefix = reason.Substring(0, colon);
            for (int i = 0; i < WireNames.StatusCode.Length; i++)
            {
                if (WireNames.StatusCode[i] == prefix) return reason.Substring(colon + 2);
            }
            return reason;
        }
    }
}
