namespace Ibeat
{
    /// <summary>
    /// Proto names of the enum values, indexed by their number: proto3 JSON sends enums by name.
    /// Kept next to <see cref="SkeletonLayout"/> and friends in number order; a test checks that
    /// every C# enum value has its name here.
    /// </summary>
    internal static class WireNames
    {
        internal static readonly string[] SkeletonLayout =
        {
            "SKELETON_LAYOUT_UNSPECIFIED", "SKELETON_LAYOUT_COCO17", "SKELETON_LAYOUT_BLAZEPOSE33",
            "SKELETON_LAYOUT_BODY25", "SKELETON_LAYOUT_COCO17_3D", "SKELETON_LAYOUT_HUMANOID",
            "SKELETON_LAYOUT_TRACKED_POINTS", "SKELETON_LAYOUT_HEAD_HANDS",
        };

        internal static readonly string[] CoordinateSpace =
        {
            "COORDINATE_SPACE_UNSPECIFIED", "COORDINATE_SPACE_PIXELS", "COORDINATE_SPACE_NORMALIZED",
            "COORDINATE_SPACE_METERS", "COORDINATE_SPACE_CENTIMETERS",
        };

        internal static readonly string[] Handedness =
        {
            "HANDEDNESS_UNSPECIFIED", "HANDEDNESS_RIGHT", "HANDEDNESS_LEFT",
        };

        internal static readonly string[] UpAxis =
        {
            "UP_AXIS_UNSPECIFIED", "UP_AXIS_Y", "UP_AXIS_Z",
        };

        internal static readonly string[] DrumMode =
        {
            "DRUM_MODE_UNSPECIFIED", "DRUM_MODE_POLY", "DRUM_MODE_MONO",
        };

        internal static readonly string[] SourceState =
        {
            "SOURCE_STATE_UNSPECIFIED", "SOURCE_STATE_STARTING", "SOURCE_STATE_TRACKING",
            "SOURCE_STATE_NO_PERSON", "SOURCE_STATE_ENDED", "SOURCE_STATE_FAILED",
        };

        /// <summary>gRPC status code names (the prefix of a WebSocket close reason), by code.</summary>
        internal static readonly string[] StatusCode =
        {
            "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
            "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
            "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
            "UNAUTHENTICATED",
        };

        /// <summary>The name of value <paramref name="number"/>, or null for a number the table lacks
        /// (proto3 enums are open: such a value is then sent as its number).</summary>
        internal static string NameOf(string[] names, int number)
        {
            return number >= 0 && number < names.Length ? names[number] : null;
        }
    }
}
