namespace Ibeat
{
    /// <summary>A hit ready to schedule: what to play and when, on the audio clock.</summary>
    public struct ScheduledHit
    {
        public DrumHit Hit;
        /// <summary>When to play it [s, audio clock: AudioSettings.dspTime], for AudioSource.PlayScheduled.</summary>
        public double DspTime;
    }
}
