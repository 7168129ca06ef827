from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SkeletonLayout(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SKELETON_LAYOUT_UNSPECIFIED: _ClassVar[SkeletonLayout]
    SKELETON_LAYOUT_COCO17: _ClassVar[SkeletonLayout]
    SKELETON_LAYOUT_BLAZEPOSE33: _ClassVar[SkeletonLayout]
    SKELETON_LAYOUT_BODY25: _ClassVar[SkeletonLayout]
    SKELETON_LAYOUT_COCO17_3D: _ClassVar[SkeletonLayout]
    SKELETON_LAYOUT_HUMANOID: _ClassVar[SkeletonLayout]
    SKELETON_LAYOUT_TRACKED_POINTS: _ClassVar[SkeletonLayout]
    SKELETON_LAYOUT_HEAD_HANDS: _ClassVar[SkeletonLayout]

class CoordinateSpace(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COORDINATE_SPACE_UNSPECIFIED: _ClassVar[CoordinateSpace]
    COORDINATE_SPACE_PIXELS: _ClassVar[CoordinateSpace]
    COORDINATE_SPACE_NORMALIZED: _ClassVar[CoordinateSpace]
    COORDINATE_SPACE_METERS: _ClassVar[CoordinateSpace]
    COORDINATE_SPACE_CENTIMETERS: _ClassVar[CoordinateSpace]

class Handedness(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HANDEDNESS_UNSPECIFIED: _ClassVar[Handedness]
    HANDEDNESS_RIGHT: _ClassVar[Handedness]
    HANDEDNESS_LEFT: _ClassVar[Handedness]

class UpAxis(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UP_AXIS_UNSPECIFIED: _ClassVar[UpAxis]
    UP_AXIS_Y: _ClassVar[UpAxis]
    UP_AXIS_Z: _ClassVar[UpAxis]

class DrumMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DRUM_MODE_UNSPECIFIED: _ClassVar[DrumMode]
    DRUM_MODE_POLY: _ClassVar[DrumMode]
    DRUM_MODE_MONO: _ClassVar[DrumMode]

class SourceState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SOURCE_STATE_UNSPECIFIED: _ClassVar[SourceState]
    SOURCE_STATE_STARTING: _ClassVar[SourceState]
    SOURCE_STATE_TRACKING: _ClassVar[SourceState]
    SOURCE_STATE_NO_PERSON: _ClassVar[SourceState]
    SOURCE_STATE_ENDED: _ClassVar[SourceState]
    SOURCE_STATE_FAILED: _ClassVar[SourceState]
SKELETON_LAYOUT_UNSPECIFIED: SkeletonLayout
SKELETON_LAYOUT_COCO17: SkeletonLayout
SKELETON_LAYOUT_BLAZEPOSE33: SkeletonLayout
SKELETON_LAYOUT_BODY25: SkeletonLayout
SKELETON_LAYOUT_COCO17_3D: SkeletonLayout
SKELETON_LAYOUT_HUMANOID: SkeletonLayout
SKELETON_LAYOUT_TRACKED_POINTS: SkeletonLayout
SKELETON_LAYOUT_HEAD_HANDS: SkeletonLayout
COORDINATE_SPACE_UNSPECIFIED: CoordinateSpace
COORDINATE_SPACE_PIXELS: CoordinateSpace
COORDINATE_SPACE_NORMALIZED: CoordinateSpace
COORDINATE_SPACE_METERS: CoordinateSpace
COORDINATE_SPACE_CENTIMETERS: CoordinateSpace
HANDEDNESS_UNSPECIFIED: Handedness
HANDEDNESS_RIGHT: Handedness
HANDEDNESS_LEFT: Handedness
UP_AXIS_UNSPECIFIED: UpAxis
UP_AXIS_Y: UpAxis
UP_AXIS_Z: UpAxis
DRUM_MODE_UNSPECIFIED: DrumMode
DRUM_MODE_POLY: DrumMode
DRUM_MODE_MONO: DrumMode
SOURCE_STATE_UNSPECIFIED: SourceState
SOURCE_STATE_STARTING: SourceState
SOURCE_STATE_TRACKING: SourceState
SOURCE_STATE_NO_PERSON: SourceState
SOURCE_STATE_ENDED: SourceState
SOURCE_STATE_FAILED: SourceState

class ClientMessage(_message.Message):
    __slots__ = ("config", "frame", "end")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    FRAME_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    config: SessionConfig
    frame: PoseFrame
    end: EndOfStream
    def __init__(self, config: _Optional[_Union[SessionConfig, _Mapping]] = ..., frame: _Optional[_Union[PoseFrame, _Mapping]] = ..., end: _Optional[_Union[EndOfStream, _Mapping]] = ...) -> None: ...

class EndOfStream(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SessionConfig(_message.Message):
    __slots__ = ("layout", "coordinate_space", "nominal_fps", "mode", "genre", "seed", "density", "temperature", "genre_strength", "lead_time_us", "handedness", "up_axis")
    LAYOUT_FIELD_NUMBER: _ClassVar[int]
    COORDINATE_SPACE_FIELD_NUMBER: _ClassVar[int]
    NOMINAL_FPS_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    GENRE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    DENSITY_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    GENRE_STRENGTH_FIELD_NUMBER: _ClassVar[int]
    LEAD_TIME_US_FIELD_NUMBER: _ClassVar[int]
    HANDEDNESS_FIELD_NUMBER: _ClassVar[int]
    UP_AXIS_FIELD_NUMBER: _ClassVar[int]
    layout: SkeletonLayout
    coordinate_space: CoordinateSpace
    nominal_fps: float
    mode: DrumMode
    genre: str
    seed: int
    density: float
    temperature: float
    genre_strength: float
    lead_time_us: int
    handedness: Handedness
    up_axis: UpAxis
    def __init__(self, layout: _Optional[_Union[SkeletonLayout, str]] = ..., coordinate_space: _Optional[_Union[CoordinateSpace, str]] = ..., nominal_fps: _Optional[float] = ..., mode: _Optional[_Union[DrumMode, str]] = ..., genre: _Optional[str] = ..., seed: _Optional[int] = ..., density: _Optional[float] = ..., temperature: _Optional[float] = ..., genre_strength: _Optional[float] = ..., lead_time_us: _Optional[int] = ..., handedness: _Optional[_Union[Handedness, str]] = ..., up_axis: _Optional[_Union[UpAxis, str]] = ...) -> None: ...

class PoseFrame(_message.Message):
    __slots__ = ("timestamp_us", "keypoints", "frame_id")
    TIMESTAMP_US_FIELD_NUMBER: _ClassVar[int]
    KEYPOINTS_FIELD_NUMBER: _ClassVar[int]
    FRAME_ID_FIELD_NUMBER: _ClassVar[int]
    timestamp_us: int
    keypoints: _containers.RepeatedScalarFieldContainer[float]
    frame_id: int
    def __init__(self, timestamp_us: _Optional[int] = ..., keypoints: _Optional[_Iterable[float]] = ..., frame_id: _Optional[int] = ...) -> None: ...

class ServerMessage(_message.Message):
    __slots__ = ("accepted", "beat", "hits", "stats", "restarted", "source", "source_status")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    BEAT_FIELD_NUMBER: _ClassVar[int]
    HITS_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    RESTARTED_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_STATUS_FIELD_NUMBER: _ClassVar[int]
    accepted: SessionAccepted
    beat: BeatEvent
    hits: DrumHits
    stats: SessionStats
    restarted: StreamRestarted
    source: SourceInfo
    source_status: SourceStatus
    def __init__(self, accepted: _Optional[_Union[SessionAccepted, _Mapping]] = ..., beat: _Optional[_Union[BeatEvent, _Mapping]] = ..., hits: _Optional[_Union[DrumHits, _Mapping]] = ..., stats: _Optional[_Union[SessionStats, _Mapping]] = ..., restarted: _Optional[_Union[StreamRestarted, _Mapping]] = ..., source: _Optional[_Union[SourceInfo, _Mapping]] = ..., source_status: _Optional[_Union[SourceStatus, _Mapping]] = ...) -> None: ...

class SessionAccepted(_message.Message):
    __slots__ = ("session_id", "model_versions", "internal_rate_hz", "joints_expected", "values_per_joint", "lead_time_us", "genre", "mode", "max_gap_us", "stats_interval_us")
    class ModelVersionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    INTERNAL_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    JOINTS_EXPECTED_FIELD_NUMBER: _ClassVar[int]
    VALUES_PER_JOINT_FIELD_NUMBER: _ClassVar[int]
    LEAD_TIME_US_FIELD_NUMBER: _ClassVar[int]
    GENRE_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    MAX_GAP_US_FIELD_NUMBER: _ClassVar[int]
    STATS_INTERVAL_US_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    model_versions: _containers.ScalarMap[str, str]
    internal_rate_hz: float
    joints_expected: int
    values_per_joint: int
    lead_time_us: int
    genre: str
    mode: str
    max_gap_us: int
    stats_interval_us: int
    def __init__(self, session_id: _Optional[str] = ..., model_versions: _Optional[_Mapping[str, str]] = ..., internal_rate_hz: _Optional[float] = ..., joints_expected: _Optional[int] = ..., values_per_joint: _Optional[int] = ..., lead_time_us: _Optional[int] = ..., genre: _Optional[str] = ..., mode: _Optional[str] = ..., max_gap_us: _Optional[int] = ..., stats_interval_us: _Optional[int] = ...) -> None: ...

class BeatEvent(_message.Message):
    __slots__ = ("time_us", "tempo_bpm", "confidence", "index", "feel", "emitted_us", "frame_id", "beat_in_bar", "beats_per_bar")
    TIME_US_FIELD_NUMBER: _ClassVar[int]
    TEMPO_BPM_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    FEEL_FIELD_NUMBER: _ClassVar[int]
    EMITTED_US_FIELD_NUMBER: _ClassVar[int]
    FRAME_ID_FIELD_NUMBER: _ClassVar[int]
    BEAT_IN_BAR_FIELD_NUMBER: _ClassVar[int]
    BEATS_PER_BAR_FIELD_NUMBER: _ClassVar[int]
    time_us: int
    tempo_bpm: float
    confidence: float
    index: int
    feel: str
    emitted_us: int
    frame_id: int
    beat_in_bar: int
    beats_per_bar: int
    def __init__(self, time_us: _Optional[int] = ..., tempo_bpm: _Optional[float] = ..., confidence: _Optional[float] = ..., index: _Optional[int] = ..., feel: _Optional[str] = ..., emitted_us: _Optional[int] = ..., frame_id: _Optional[int] = ..., beat_in_bar: _Optional[int] = ..., beats_per_bar: _Optional[int] = ...) -> None: ...

class DrumHit(_message.Message):
    __slots__ = ("time_us", "drum_class", "drum", "gm_pitch", "velocity", "beat_index", "step", "joint", "joint_x", "joint_y", "joint_z", "layout_joint")
    TIME_US_FIELD_NUMBER: _ClassVar[int]
    DRUM_CLASS_FIELD_NUMBER: _ClassVar[int]
    DRUM_FIELD_NUMBER: _ClassVar[int]
    GM_PITCH_FIELD_NUMBER: _ClassVar[int]
    VELOCITY_FIELD_NUMBER: _ClassVar[int]
    BEAT_INDEX_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    JOINT_FIELD_NUMBER: _ClassVar[int]
    JOINT_X_FIELD_NUMBER: _ClassVar[int]
    JOINT_Y_FIELD_NUMBER: _ClassVar[int]
    JOINT_Z_FIELD_NUMBER: _ClassVar[int]
    LAYOUT_JOINT_FIELD_NUMBER: _ClassVar[int]
    time_us: int
    drum_class: int
    drum: str
    gm_pitch: int
    velocity: int
    beat_index: int
    step: int
    joint: int
    joint_x: float
    joint_y: float
    joint_z: float
    layout_joint: int
    def __init__(self, time_us: _Optional[int] = ..., drum_class: _Optional[int] = ..., drum: _Optional[str] = ..., gm_pitch: _Optional[int] = ..., velocity: _Optional[int] = ..., beat_index: _Optional[int] = ..., step: _Optional[int] = ..., joint: _Optional[int] = ..., joint_x: _Optional[float] = ..., joint_y: _Optional[float] = ..., joint_z: _Optional[float] = ..., layout_joint: _Optional[int] = ...) -> None: ...

class DrumHits(_message.Message):
    __slots__ = ("beat_index", "emitted_us", "frame_id", "hits")
    BEAT_INDEX_FIELD_NUMBER: _ClassVar[int]
    EMITTED_US_FIELD_NUMBER: _ClassVar[int]
    FRAME_ID_FIELD_NUMBER: _ClassVar[int]
    HITS_FIELD_NUMBER: _ClassVar[int]
    beat_index: int
    emitted_us: int
    frame_id: int
    hits: _containers.RepeatedCompositeFieldContainer[DrumHit]
    def __init__(self, beat_index: _Optional[int] = ..., emitted_us: _Optional[int] = ..., frame_id: _Optional[int] = ..., hits: _Optional[_Iterable[_Union[DrumHit, _Mapping]]] = ...) -> None: ...

class SessionStats(_message.Message):
    __slots__ = ("frames_received", "frames_processed", "frames_dropped", "events_dropped", "stats_dropped", "latency_p50_us", "latency_p99_us", "latency_max_us", "stream_time_us", "last_frame_id", "restarts", "final", "server_time_us", "source_time_us", "hits_dropped_late")
    FRAMES_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    FRAMES_PROCESSED_FIELD_NUMBER: _ClassVar[int]
    FRAMES_DROPPED_FIELD_NUMBER: _ClassVar[int]
    EVENTS_DROPPED_FIELD_NUMBER: _ClassVar[int]
    STATS_DROPPED_FIELD_NUMBER: _ClassVar[int]
    LATENCY_P50_US_FIELD_NUMBER: _ClassVar[int]
    LATENCY_P99_US_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MAX_US_FIELD_NUMBER: _ClassVar[int]
    STREAM_TIME_US_FIELD_NUMBER: _ClassVar[int]
    LAST_FRAME_ID_FIELD_NUMBER: _ClassVar[int]
    RESTARTS_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    SERVER_TIME_US_FIELD_NUMBER: _ClassVar[int]
    SOURCE_TIME_US_FIELD_NUMBER: _ClassVar[int]
    HITS_DROPPED_LATE_FIELD_NUMBER: _ClassVar[int]
    frames_received: int
    frames_processed: int
    frames_dropped: int
    events_dropped: int
    stats_dropped: int
    latency_p50_us: int
    latency_p99_us: int
    latency_max_us: int
    stream_time_us: int
    last_frame_id: int
    restarts: int
    final: bool
    server_time_us: int
    source_time_us: int
    hits_dropped_late: int
    def __init__(self, frames_received: _Optional[int] = ..., frames_processed: _Optional[int] = ..., frames_dropped: _Optional[int] = ..., events_dropped: _Optional[int] = ..., stats_dropped: _Optional[int] = ..., latency_p50_us: _Optional[int] = ..., latency_p99_us: _Optional[int] = ..., latency_max_us: _Optional[int] = ..., stream_time_us: _Optional[int] = ..., last_frame_id: _Optional[int] = ..., restarts: _Optional[int] = ..., final: _Optional[bool] = ..., server_time_us: _Optional[int] = ..., source_time_us: _Optional[int] = ..., hits_dropped_late: _Optional[int] = ...) -> None: ...

class StreamRestarted(_message.Message):
    __slots__ = ("time_us", "gap_us", "reason")
    TIME_US_FIELD_NUMBER: _ClassVar[int]
    GAP_US_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    time_us: int
    gap_us: int
    reason: str
    def __init__(self, time_us: _Optional[int] = ..., gap_us: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class GetInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SubscribeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SourceInfo(_message.Message):
    __slots__ = ("listener_id", "description", "is_live", "loop", "fps", "width", "height", "duration_us", "pose_model", "session", "seed", "server_time_us", "source_time_us", "listeners")
    LISTENER_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    IS_LIVE_FIELD_NUMBER: _ClassVar[int]
    LOOP_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    DURATION_US_FIELD_NUMBER: _ClassVar[int]
    POSE_MODEL_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    SERVER_TIME_US_FIELD_NUMBER: _ClassVar[int]
    SOURCE_TIME_US_FIELD_NUMBER: _ClassVar[int]
    LISTENERS_FIELD_NUMBER: _ClassVar[int]
    listener_id: str
    description: str
    is_live: bool
    loop: bool
    fps: float
    width: int
    height: int
    duration_us: int
    pose_model: str
    session: SessionAccepted
    seed: int
    server_time_us: int
    source_time_us: int
    listeners: int
    def __init__(self, listener_id: _Optional[str] = ..., description: _Optional[str] = ..., is_live: _Optional[bool] = ..., loop: _Optional[bool] = ..., fps: _Optional[float] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., duration_us: _Optional[int] = ..., pose_model: _Optional[str] = ..., session: _Optional[_Union[SessionAccepted, _Mapping]] = ..., seed: _Optional[int] = ..., server_time_us: _Optional[int] = ..., source_time_us: _Optional[int] = ..., listeners: _Optional[int] = ...) -> None: ...

class SourceStatus(_message.Message):
    __slots__ = ("state", "message", "time_us", "server_time_us")
    STATE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TIME_US_FIELD_NUMBER: _ClassVar[int]
    SERVER_TIME_US_FIELD_NUMBER: _ClassVar[int]
    state: SourceState
    message: str
    time_us: int
    server_time_us: int
    def __init__(self, state: _Optional[_Union[SourceState, str]] = ..., message: _Optional[str] = ..., time_us: _Optional[int] = ..., server_time_us: _Optional[int] = ...) -> None: ...

class ServerInfo(_message.Message):
    __slots__ = ("server_version", "protocol", "model_versions", "internal_rate_hz", "genres", "drum_classes", "gm_pitches", "active_sessions", "max_sessions", "max_message_bytes", "max_gap_us", "default_lead_time_us", "source", "listeners", "max_listeners", "layouts", "config_timeout_us", "idle_timeout_us", "max_sessions_per_peer", "loop_lag_us")
    class ModelVersionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SERVER_VERSION_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    INTERNAL_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    GENRES_FIELD_NUMBER: _ClassVar[int]
    DRUM_CLASSES_FIELD_NUMBER: _ClassVar[int]
    GM_PITCHES_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    MAX_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_GAP_US_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_LEAD_TIME_US_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    LISTENERS_FIELD_NUMBER: _ClassVar[int]
    MAX_LISTENERS_FIELD_NUMBER: _ClassVar[int]
    LAYOUTS_FIELD_NUMBER: _ClassVar[int]
    CONFIG_TIMEOUT_US_FIELD_NUMBER: _ClassVar[int]
    IDLE_TIMEOUT_US_FIELD_NUMBER: _ClassVar[int]
    MAX_SESSIONS_PER_PEER_FIELD_NUMBER: _ClassVar[int]
    LOOP_LAG_US_FIELD_NUMBER: _ClassVar[int]
    server_version: str
    protocol: str
    model_versions: _containers.ScalarMap[str, str]
    internal_rate_hz: float
    genres: _containers.RepeatedScalarFieldContainer[str]
    drum_classes: _containers.RepeatedScalarFieldContainer[str]
    gm_pitches: _containers.RepeatedScalarFieldContainer[int]
    active_sessions: int
    max_sessions: int
    max_message_bytes: int
    max_gap_us: int
    default_lead_time_us: int
    source: str
    listeners: int
    max_listeners: int
    layouts: _containers.RepeatedCompositeFieldContainer[LayoutInfo]
    config_timeout_us: int
    idle_timeout_us: int
    max_sessions_per_peer: int
    loop_lag_us: int
    def __init__(self, server_version: _Optional[str] = ..., protocol: _Optional[str] = ..., model_versions: _Optional[_Mapping[str, str]] = ..., internal_rate_hz: _Optional[float] = ..., genres: _Optional[_Iterable[str]] = ..., drum_classes: _Optional[_Iterable[str]] = ..., gm_pitches: _Optional[_Iterable[int]] = ..., active_sessions: _Optional[int] = ..., max_sessions: _Optional[int] = ..., max_message_bytes: _Optional[int] = ..., max_gap_us: _Optional[int] = ..., default_lead_time_us: _Optional[int] = ..., source: _Optional[str] = ..., listeners: _Optional[int] = ..., max_listeners: _Optional[int] = ..., layouts: _Optional[_Iterable[_Union[LayoutInfo, _Mapping]]] = ..., config_timeout_us: _Optional[int] = ..., idle_timeout_us: _Optional[int] = ..., max_sessions_per_peer: _Optional[int] = ..., loop_lag_us: _Optional[int] = ...) -> None: ...

class LayoutInfo(_message.Message):
    __slots__ = ("layout", "name", "is_3d", "values_per_joint", "joints")
    LAYOUT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    IS_3D_FIELD_NUMBER: _ClassVar[int]
    VALUES_PER_JOINT_FIELD_NUMBER: _ClassVar[int]
    JOINTS_FIELD_NUMBER: _ClassVar[int]
    layout: SkeletonLayout
    name: str
    is_3d: bool
    values_per_joint: int
    joints: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, layout: _Optional[_Union[SkeletonLayout, str]] = ..., name: _Optional[str] = ..., is_3d: _Optional[bool] = ..., values_per_joint: _Optional[int] = ..., joints: _Optional[_Iterable[str]] = ...) -> None: ...
