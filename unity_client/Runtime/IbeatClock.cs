using System.Diagnostics;

namespace Ibeat.Unity
{
    /// <summary>
    /// The one monotonic client clock every pose frame is stamped with, in integer microseconds
    /// since the first use (a <see cref="Stopwatch"/>, so it never jumps with the wall clock).
    /// Every time the server returns for a <c>Session</c> stream (beats, hits) is in this clock.
    /// </summary>
    public static class IbeatClock
    {
        static readonly long s_Origin = Stopwatch.GetTimestamp();

        /// <summary>Now [us, client clock].</summary>
        public static long NowUs
        {
            get
            {
                long ticks = Stopwatch.GetTimestamp() - s_Origin;
                long hz = Stopwatch.Frequency;
                return ticks / hz * 1000000L + ticks % hz * 1000000L / hz;
            }
        }

        /// <summary>Now [s, client clock], as <see cref="ClockMap"/> takes it.</summary>
        public static double NowSeconds => NowUs * 1e-6;
    }
}
