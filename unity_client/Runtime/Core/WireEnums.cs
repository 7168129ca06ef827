namespace Ibeat
{
    // The enums of protos/ibeat/v1/ibeat.proto, with the same numbers. On the wire they travel as
    // their proto names (SKELETON_LAYOUT_HUMANOID, ...); WireNames holds that mapping.

    /// <summary>Joint layout of a <see cref="PoseFrame"/> (proto <c>SkeletonLayout</c>).
    /// 2D layouts send [x, y, confidence] per joint, 3D layouts [x, y, z, confidence].</summary>
    public enum SkeletonLayout
    {
        /// <summary>Treated as <see cref="Coco17"/> by the server.</summary>
        Unspecified = 0,
        /// <summary>2D, 17 COCO joints (nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles).</summary>
        Coco17 = 1,
        /// <summary>2D, 33 MediaPipe BlazePose landmarks.</summary>
        BlazePose33 = 2,
        /// <summary>2D, 25 OpenPose BODY_25 joints.</summary>
        Body25 = 3,
        /// <summary>3D, the 17 COCO joints.</summary>
        Coco17_3D = 4,
        /// <summary>3D, Unity HumanBodyBones 0..18 (Hips .. RightHand) in enum order.</summary>
        Humanoid = 5,
        /// <summary>3D, head, hands, hips, elbows, knees, feet (OpenXR-style trackers).</summary>
        TrackedPoints = 6,
        /// <summary>3D, head, left hand, right hand (a headset and two controllers).</summary>
        HeadHands = 7,
    }

    /// <summary>Units of the keypoint coordinates (proto <c>CoordinateSpace</c>). 3D layouts need
    /// <see cref="Meters"/> or <see cref="Centimeters"/>; Unity uses metres.</summary>
    public enum CoordinateSpace
    {
        Unspecified = 0,
        /// <summary>Image pixels (2D only).</summary>
        Pixels = 1,
        /// <summary>Image coordinates in [0, 1] (2D only).</summary>
        Normalized = 2,
        /// <summary>Metres (Unity world units).</summary>
        Meters = 3,
        /// <summary>Centimetres (Unreal, mocap files).</summary>
        Centimeters = 4,
    }

    /// <summary>Handedness of a 3D frame (proto <c>Handedness</c>); Unity is <see cref="Left"/>.</summary>
    public enum Handedness
    {
        /// <summary>Treated as <see cref="Right"/> by the server.</summary>
        Unspecified = 0,
        Right = 1,
        Left = 2,
    }

    /// <summary>Vertical axis of a 3D frame (proto <c>UpAxis</c>); Unity is <see cref="Y"/>.</summary>
    public enum UpAxis
    {
        /// <summary>Treated as <see cref="Y"/> by the server.</summary>
        Unspecified = 0,
        Y = 1,
        Z = 2,
    }

    /// <summary>Drum generator (proto <c>DrumMode</c>).</summary>
    public enum DrumMode
    {
        /// <summary>Treated as <see cref="Poly"/> by the server.</summary>
        Unspecified = 0,
        /// <summary>A polyphonic pattern on a 16th grid per beat.</summary>
        Poly = 1,
        /// <summary>At most one note per beat.</summary>
        Mono = 2,
    }

    /// <summary>Why a Subscribe source is (not) producing hits (proto <c>SourceState</c>).</summary>
    public enum SourceState
    {
        Unspecified = 0,
        /// <summary>Opened, no frame through the engine yet.</summary>
        Starting = 1,
        /// <summary>A person is followed: beats and hits come.</summary>
        Tracking = 2,
        /// <summary>Frames arrive but nobody is in them: no hits.</summary>
        NoPerson = 3,
        /// <summary>The video ended: final stats, then OK.</summary>
        Ended = 4,
        /// <summary>The camera was lost or a read failed: final stats, then UNAVAILABLE.</summary>
        Failed = 5,
    }
}
