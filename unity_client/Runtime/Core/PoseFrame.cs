namespace Ibeat
{
    /// <summary>
    /// One skeleton sample (proto <c>PoseFrame</c>). Reuse one instance and one keypoint array per
    /// stream: the transports encode the frame before their send call returns, so the caller may
    /// overwrite it for the next frame at once.
    /// </summary>
    public sealed class PoseFrame
    {
        /// <summary>Capture time of the pose [us, the client's monotonic clock]; strictly increasing.
        /// Every time the server sends back is in this same clock.</summary>
        public long TimestampUs;

        /// <summary>Flat [x, y, c] per joint of a 2D layout or [x, y, z, c] per joint of a 3D one,
        /// in the config's units and frame; c = confidence [0..1]. A joint not tracked goes with
        /// c = 0 and finite coordinates (the server rejects NaN and infinities).</summary>
        public float[] Keypoints;

        /// <summary>How many values of <see cref="Keypoints"/> to send; 0 sends the whole array.
        /// Lets one big buffer serve several layouts.</summary>
        public int KeypointCount;

        /// <summary>The client's id for the frame [opaque]; echoed on the events it produced.</summary>
        public ulong FrameId;

        /// <summary>Number of keypoint values that will be sent.</summary>
        public int ValueCount
        {
            get
            {
                if (Keypoints == null) return 0;
                if (KeypointCount <= 0 || KeypointCount > Keypoints.Length) return Keypoints.Length;
                return KeypointCount;
            }
        }
    }
}
