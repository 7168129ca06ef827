using System;

namespace Ibeat
{
    /// <summary>
    /// How long to wait before reconnecting: exponential backoff with jitter, so a restarted server
    /// is not hit by every client at the same instant.
    /// </summary>
    /// <remarks>
    /// Attempt n (from 0) waits a random time in (b (1 - jitter), b] with b = min(max, initial *
    /// factor^n): the jitter only shortens the wait, so the cap holds. <see cref="Reset"/> after a
    /// stream worked (e.g. on SessionAccepted).
    /// </remarks>
    public sealed class ReconnectPolicy
    {
        readonly double initialSeconds;
        readonly double maxSeconds;
        readonly double factor;
        readonly double jitter;
        readonly Random random;
        int attempts;

        /// <param name="initialSeconds">First wait [s, &gt; 0].</param>
        /// <param name="maxSeconds">Longest wait [s, &gt;= initialSeconds].</param>
        /// <param name="factor">Growth per attempt [dimensionless, &gt;= 1].</param>
        /// <param name="jitter">Fraction of the wait drawn at random [0..1).</param>
        /// <param name="seed">Random seed; 0 draws one from the time, so clients differ (tests pass
        /// another value to get the same waits every run).</param>
        public ReconnectPolicy(double initialSeconds = 0.5, double maxSeconds = 10, double factor = 2, double jitter = 0.2, int seed = 0)
        {
            if (!(initialSeconds > 0)) throw new ArgumentOutOfRangeException("initialSeconds");
            if (!(maxSeconds >= initialSeconds)) throw new ArgumentOutOfRangeException("maxSeconds");
            if (!(factor >= 1)) throw new ArgumentOutOfRangeException("factor");
            if (!(jitter >= 0 && jitter < 1)) throw new ArgumentOutOfRangeException("jitter");
            this.initialSeconds = initialSeconds;
            this.maxSeconds = maxSeconds;
            this.factor = factor;
            this.jitter = jitter;
            random = seed != 0 ? new Random(seed) : new Random();
        }

        /// <summary>Waits handed out since the last <see cref="Reset"/> [count].</summary>
        public int Attempts { get { return attempts; } }

        /// <summary>The wait before the next attempt [s]; counts one attempt.</summary>
        public double NextDelaySeconds()
        {
            // Math.Pow overflows to infinity after enough attempts; Min then gives the cap.
            double baseDelay = Math.Min(maxSeconds, initialSeconds * Math.Pow(factor, attempts));
            if (attempts < int.MaxValue) attempts++;
            return baseDelay * (1.0 - jitter * random.NextDouble());
        }

        /// <summary>Back to the first, shortest wait.</summary>
        public void Reset()
        {
            attempts = 0;
        }

        /// <summary>
        /// Whether a stream that ended with <paramref name="status"/> is worth reopening: the server
        /// was unreachable, busy, or failed in passing (UNAVAILABLE, RESOURCE_EXHAUSTED, UNKNOWN,
        /// DEADLINE_EXCEEDED, ABORTED; and INTERNAL "RST_STREAM": a proxy such as Envoy resets a
        /// stream whose server died, which gRPC reports so). A request the server refused
        /// (INVALID_ARGUMENT, FAILED_PRECONDITION, UNAUTHENTICATED, PERMISSION_DENIED, ...) fails the
        /// same way again, and OK or CANCELLED is an end someone chose.
        /// </summary>
        public static bool IsRetryable(IbeatStatus status)
        {
            switch (status.Code)
            {
                case IbeatStatusCode.Unavailable:
                case IbeatStatusCode.ResourceExhausted:
                case IbeatStatusCode.Unknown:
                case IbeatStatusCode.DeadlineExceeded:
                case IbeatStatusCode.Aborted:
                    return true;
                case IbeatStatusCode.Internal:
                    return status.Detail.Contains("RST_STREAM");
                default:
                    return false;
            }
        }
    }
}
