using System;
using System.Collections.Generic;
using System.Threading;

namespace Ibeat
{
    /// <summary>
    /// Hits waiting to be played: the receive thread adds them as they arrive (about the lead time
    /// early), the main thread takes the ones falling within the next few frames and schedules them
    /// on the audio clock.
    /// </summary>
    /// <remarks>
    /// Late policy: a hit whose play time on the audio clock is earlier than
    /// <c>dspNow + minLeadSeconds</c> can no longer be scheduled exactly (the audio thread has
    /// already mixed that far), so it is dropped and counted in <see cref="Dropped"/>, never played
    /// late: a late drum sounds worse than a missing one.
    /// </remarks>
    public sealed class HitScheduler
    {
        readonly ClockMap clock;
        readonly double minLeadSeconds;
        readonly int capacity;
        readonly object gate = new object();
        // Kept in play-time order (hits mostly arrive in order, so insertion is O(1) in practice).
        readonly List<DrumHit> pending;
        int dropped;
        int scheduled;

        /// <param name="clock">Maps hit times (stream clock) to the audio clock; read in TakeDue only.</param>
        /// <param name="minLeadSeconds">Least time before its play time a hit can still be scheduled
        /// exactly [s]; about one audio buffer.</param>
        /// <param name="capacity">Most hits held [count]; past it the earliest is dropped (a caller
        /// that stopped taking hits must not grow memory without bound).</param>
        public HitScheduler(ClockMap clock, double minLeadSeconds = 0.005, int capacity = 256)
        {
            if (clock == null) throw new ArgumentNullException("clock");
            if (minLeadSeconds < 0) throw new ArgumentOutOfRangeException("minLeadSeconds");
            if (capacity < 1) throw new ArgumentOutOfRangeException("capacity");
            this.clock = clock;
            this.minLeadSeconds = minLeadSeconds;
            this.capacity = capacity;
            pending = new List<DrumHit>(capacity);
        }

        /// <summary>Hits dropped so far: late, or pushed out by <c>capacity</c> [count].</summary>
        public int Dropped { get { return Volatile.Read(ref dropped); } }

        /// <summary>Hits handed out by <see cref="TakeDue"/> so far [count].</summary>
        public int Scheduled { get { return Volatile.Read(ref scheduled); } }

        /// <summary>Hits waiting [count].</summary>
        public int Pending { get { lock (gate) return pending.Count; } }

        /// <summary>Adds a hit from the server. Thread-safe: call it from the receive thread.</summary>
        public void Add(DrumHit hit)
        {
            if (hit == null) throw new ArgumentNullException("hit");
            lock (gate)
            {
                if (pending.Count >= capacity)
                {
                    // The earliest is the one most likely late already.
                    pending.RemoveAt(0);
                    dropped++;
                }
                // After any hit at the same time, so equal times keep their arrival order.
                int i = pending.Count;
                while (i > 0 && pending[i - 1].TimeUs > hit.TimeUs) i--;
                pending.Insert(i, hit);
            }
        }

        /// <summary>Adds every hit of a DrumHits message.</summary>
        public void AddAll(DrumHits hits)
        {
            if (hits == null || hits.Hits == null) return;
            for (int i = 0; i < hits.Hits.Count; i++) Add(hits.Hits[i]);
        }

        /// <summary>
        /// Moves the hits to play before <c>dspNow + horizonSeconds</c> into
        /// <paramref name="output"/> (in play-time order) and drops the late ones. Nothing happens
        /// before the clock map is <see cref="ClockMap.Ready"/>: hits wait.
        /// </summary>
        /// <param name="dspNow">The audio clock now [s] (AudioSettings.dspTime).</param>
        /// <param name="horizonSeconds">How far ahead to schedule [s]: at least one frame, so each
        /// hit is scheduled once early enough; more commits earlier to a time the clock fit may
        /// still refine.</param>
        /// <param name="output">Receives the hits; appended to, not cleared.</param>
        /// <returns>Number of hits appended.</returns>
        public int TakeDue(double dspNow, double horizonSeconds, List<ScheduledHit> output)
        {
            if (output == null) throw new ArgumentNullException("output");
            if (!clock.Ready) return 0;
            int added = 0;
            lock (gate)
            {
                int taken = 0;
                double earliestExact = dspNow + minLeadSeconds;
                double horizon = dspNow + horizonSeconds;
                for (; taken < pending.Count; taken++)
                {
                    DrumHit hit = pending[taken];
                    double dspTime = clock.ToDsp(hit.TimeUs * 1e-6);
                    if (dspTime < earliestExact)
                    {
                        dropped++;
                        continue;
                    }
                    // The map is increasing, so every later hit is beyond the horizon too.
                    if (dspTime >= horizon) break;
                    var s = new ScheduledHit();
                    s.Hit = hit;
                    s.DspTime = dspTime;
                    output.Add(s);
                    scheduled++;
                    added++;
                }
                pending.RemoveRange(0, taken);
            }
            return added;
        }

        /// <summary>Forgets the waiting hits (the stream ended or restarted); the counts stay.</summary>
        public void Clear()
        {
            lock (gate) pending.Clear();
        }
    }
}
