using System;

namespace Ibeat
{
    /// <summary>
    /// Maps the stream clock (the clock of <see cref="PoseFrame.TimestampUs"/>, in which every hit
    /// time comes back) onto the audio clock (Unity's <c>AudioSettings.dspTime</c>), so a hit can
    /// be scheduled sample-accurately with <c>AudioSource.PlayScheduled</c>.
    /// </summary>
    /// <remarks>
    /// The two clocks run at slightly different rates (the audio clock follows the sound card's
    /// crystal, tens of ppm off) and the audio clock advances in buffer-sized steps, so one reading
    /// is both noisy and soon stale. The map is a least-squares line dspTime = a + b * streamTime
    /// over the last <c>window</c> readings, each taken once per frame with both clocks read
    /// together. Not thread-safe: feed and query it from one thread (Unity's main thread).
    /// dspTime reads the start of the audio buffer being mixed, so the fitted line sits about
    /// half a buffer below the true audio time; that constant part is the same for every hit.
    /// </remarks>
    public sealed class ClockMap
    {
        /// <summary>Largest rate difference believed [dimensionless, 0.01 = 1 %]. Real clocks differ
        /// by ppm; a steeper fit comes from too few noisy readings and is clamped.</summary>
        public const double MaxDrift = 0.01;

        readonly double[] streamSeconds;
        readonly double[] dspSeconds;
        int count;
        int next;

        // The fit: dsp = meanDsp + slope * (stream - meanStream). Centring on the means keeps the
        // arithmetic exact enough when stream time is large (e.g. Unix time in seconds).
        double slope = 1.0;
        double meanStream;
        double meanDsp;
        double residualRms;
        bool ready;

        /// <param name="window">Readings kept [count, &gt;= 2]; 120 is 2 s at 60 fps. More smooths
        /// the audio clock's steps better but follows a changing drift more slowly.</param>
        public ClockMap(int window = 120)
        {
            if (window < 2) throw new ArgumentOutOfRangeException("window", "a line needs at least 2 readings");
            streamSeconds = new double[window];
            dspSeconds = new double[window];
        }

        /// <summary>True once two readings at different stream times are in: <see cref="ToDsp"/> works.</summary>
        public bool Ready { get { return ready; } }

        /// <summary>Readings in the window [count].</summary>
        public int Count { get { return count; } }

        /// <summary>Audio clock rate relative to the stream clock, minus 1 [dimensionless; 20e-6 = 20 ppm fast].</summary>
        public double Drift { get { return slope - 1.0; } }

        /// <summary>RMS distance of the readings from the fitted line [s]: the jitter of the readings.</summary>
        public double ResidualSeconds { get { return residualRms; } }

        /// <summary>Adds one reading of both clocks taken at the same moment.</summary>
        /// <param name="streamSeconds">Stream clock [s] (a frame's TimestampUs / 1e6, read just now).</param>
        /// <param name="dspSeconds">Audio clock [s] (AudioSettings.dspTime, read at the same moment).</param>
        public void AddSample(double streamSeconds, double dspSeconds)
        {
            if (double.IsNaN(streamSeconds) || double.IsInfinity(streamSeconds) ||
                double.IsNaN(dspSeconds) || double.IsInfinity(dspSeconds))
                throw new ArgumentException("clock readings must be finite");
            this.streamSeconds[next] = streamSeconds;
            this.dspSeconds[next] = dspSeconds;
            next = (next + 1) % this.streamSeconds.Length;
            if (count < this.streamSeconds.Length) count++;
            Fit();
        }

        /// <summary>The audio clock time [s] of stream time <paramref name="streamSeconds"/> [s].</summary>
        /// <exception cref="InvalidOperationException">Before <see cref="Ready"/>.</exception>
        public double ToDsp(double streamSeconds)
        {
            if (!ready) throw new InvalidOperationException("ClockMap needs two readings before it can map times");
            return meanDsp + slope * (streamSeconds - meanStream);
        }

        /// <summary>Forgets every reading (a new stream, a new clock, an audio device change).</summary>
        public void Reset()
        {
            count = 0;
            next = 0;
            slope = 1.0;
            meanStream = 0;
            meanDsp = 0;
            residualRms = 0;
            ready = false;
        }

        // O(window) per reading: 120 multiply-adds a frame is cheaper than keeping running sums
        // numerically honest over hours.
        void Fit()
        {
            // Work relative to the newest reading so the sums stay small.
            int newest = (next - 1 + streamSeconds.Length) % streamSeconds.Length;
            double refStream = streamSeconds[newest];
            double refDsp = dspSeconds[newest];
            double sumX = 0, sumY = 0;
            for (int i = 0; i < count; i++)
            {
                sumX += streamSeconds[i] - refStream;
                sumY += dspSeconds[i] - refDsp;
            }
            double mx = sumX / count, my = sumY / count;
            double sxx = 0, sxy = 0;
            for (int i = 0; i < count; i++)
            {
                double dx = streamSeconds[i] - refStream - mx;
                double dy = dspSeconds[i] - refDsp - my;
                sxx += dx * dx;
                sxy += dx * dy;
            }
            meanStream = refStream + mx;
            meanDsp = refDsp + my;
            if (count < 2 || sxx <= 0)
            {
                // One reading, or all at the same stream time: no rate yet, keep the last one.
                ready = ready && count >= 2;
                return;
            }
            double b = sxy / sxx;
            if (b < 1.0 - MaxDrift) b = 1.0 - MaxDrift;
            if (b > 1.0 + MaxDrift) b = 1.0 + MaxDrift;
            slope = b;
            double sse = 0;
            for (int i = 0; i < count; i++)
            {
                double dx = streamSeconds[i] - refStream - mx;
                double dy = dspSeconds[i] - refDsp - my;
                double e = dy - slope * dx;
                sse += e * e;
            }
            residualRms = Math.Sqrt(sse / count);
            ready = true;
        }
    }
}
