namespace Ibeat
{
    /// <summary>
    /// How a Session stream is set up: the first message a client sends (proto <c>SessionConfig</c>).
    /// Fields left at their default are not sent and take the server default given on each field.
    /// A Unity client streaming world positions sends <see cref="SkeletonLayout.Humanoid"/> (or
    /// <see cref="SkeletonLayout.HeadHands"/>), <see cref="Ibeat.CoordinateSpace.Meters"/>,
    /// <see cref="Ibeat.Handedness.Left"/> and <see cref="Ibeat.UpAxis.Y"/>.
    /// </summary>
    public sealed class SessionConfig
    {
        /// <summary>Joint layout of the frames to come (default COCO17).</summary>
        public SkeletonLayout Layout;
        /// <summary>Units of the keypoints; 3D layouts default to metres.</summary>
        public CoordinateSpace CoordinateSpace;
        /// <summary>Nominal frame rate of the frames to come [Hz], informational, in (0, 1000].</summary>
        public float? NominalFps;
        /// <summary>Drum generator (default poly).</summary>
        public DrumMode Mode;
        /// <summary>Feel: "any" (default), "rock", "funk", "hiphop", "jazz", "latin", "afrocuban",
        /// "punk", "neworleans", "soul". Null or empty sends nothing.</summary>
        public string Genre;
        /// <summary>Drum sampling seed [dimensionless, &gt;= 0]; same seed + same frames = same drums.</summary>
        public long Seed;
        /// <summary>Logit bias of the hit probabilities [dimensionless]: &gt; 0 more hits (server default 0).</summary>
        public float? Density;
        /// <summary>Sampling temperature [dimensionless, &gt;= 0]; 0 = no randomness (server default 1).</summary>
        public float? Temperature;
        /// <summary>How strongly the genre is asked for [dimensionless, &gt;= 0] (server default 4).</summary>
        public float? GenreStrength;
        /// <summary>How long before its play time a hit is sent, at least [us, in (0, 2 s]] (server default 100000).</summary>
        public long? LeadTimeUs;
        /// <summary>Handedness of a 3D frame; Unity is <see cref="Ibeat.Handedness.Left"/>.</summary>
        public Handedness Handedness;
        /// <summary>Vertical axis of a 3D frame; Unity is <see cref="Ibeat.UpAxis.Y"/>.</summary>
        public UpAxis UpAxis;
    }
}
