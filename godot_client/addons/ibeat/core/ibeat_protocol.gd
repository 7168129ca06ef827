class_name IbeatProtocol
## The ibeat.v1 messages in protobuf's canonical JSON: building what a client sends,
## reading what the server sends, and the WebSocket close code of a status.
##
## Engine-neutral (Godot 3 and 4). Messages are Dictionaries: [method config_message],
## [method frame_message] and [method end_message] build a ClientMessage for
## [method IbeatJson.encode]; [method decode_server_message] turns a parsed ServerMessage into
## one event Dictionary with snake_case keys, 64-bit integers as int, and a hit's joint
## position as a Vector3. Protocol, units and clocks: protos/README.md in the ibeat repository.

## SessionConfig.layout. 2D layouts send [x, y, confidence] per joint, 3D ones
## [x, y, z, confidence].
enum Layout {
	COCO17 = 1,
	BLAZEPOSE33 = 2,
	BODY25 = 3,
	COCO17_3D = 4,
	HUMANOID = 5,
	TRACKED_POINTS = 6,
	HEAD_HANDS = 7,
}

## SessionConfig.coordinate_space.
enum CoordinateSpace { PIXELS = 1, NORMALIZED = 2, METERS = 3, CENTIMETERS = 4 }

## gRPC status codes, as the server ends a stream (close code 4000 + the code).
enum Status {
	OK,
	CANCELLED,
	UNKNOWN,
	INVALID_ARGUMENT,
	DEADLINE_EXCEEDED,
	NOT_FOUND,
	ALREADY_EXISTS,
	PERMISSION_DENIED,
	RESOURCE_EXHAUSTED,
	FAILED_PRECONDITION,
	ABORTED,
	OUT_OF_RANGE,
	UNIMPLEMENTED,
	INTERNAL,
	UNAVAILABLE,
	DATA_LOSS,
	UNAUTHENTICATED,
}

const SESSION_PATH = "/ibeat.v1.Ibeat/Session"
const SUBSCRIBE_PATH = "/ibeat.v1.Ibeat/Subscribe"
const LAYOUT_NAMES = {
	1: "SKELETON_LAYOUT_COCO17",
	2: "SKELETON_LAYOUT_BLAZEPOSE33",
	3: "SKELETON_LAYOUT_BODY25",
	4: "SKELETON_LAYOUT_COCO17_3D",
	5: "SKELETON_LAYOUT_HUMANOID",
	6: "SKELETON_LAYOUT_TRACKED_POINTS",
	7: "SKELETON_LAYOUT_HEAD_HANDS",
}
## Joints per frame of each layout.
const LAYOUT_JOINTS = {1: 17, 2: 33, 3: 25, 4: 17, 5: 19, 6: 10, 7: 3}
const COORDINATE_SPACE_NAMES = {
	1: "COORDINATE_SPACE_PIXELS",
	2: "COORDINATE_SPACE_NORMALIZED",
	3: "COORDINATE_SPACE_METERS",
	4: "COORDINATE_SPACE_CENTIMETERS",
}
const STATUS_NAMES = [
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
	"UNAUTHENTICATED",
]
## DrumHit.drum_class -> name (ServerInfo.drum_classes); `ibeat kit` writes NAME.wav for each.
const DRUM_CLASSES = [
	"kick", "snare", "closed_hihat", "open_hihat", "low_tom", "mid_tom", "high_tom", "crash",
	"ride",
]
## DrumHit.joint -> name: the COCO-17 joint that drove a hit.
const COCO_JOINTS = [
	"nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
	"left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
	"left_knee", "right_knee", "left_ankle", "right_ankle",
]
## Close code of a status: this + the status code (WebSocket's private range).
const CLOSE_CODE_BASE = 4000
const NORMAL_CLOSURE = 1000


static func is_3d(layout: int) -> bool:
	return layout >= Layout.COCO17_3D


static func values_per_joint(layout: int) -> int:
	return 4 if is_3d(layout) else 3


## Joints per frame of [param layout] (0 for an unknown one).
static func joint_count(layout: int) -> int:
	return int(LAYOUT_JOINTS.get(layout, 0))


## A ClientMessage with the config. [param settings] keys (all optional, the server's
## default when left out): [code]layout[/code] (a [enum Layout] value, default COCO17),
## [code]coordinate_space[/code] ([enum CoordinateSpace]; default METERS for a 3D layout,
## PIXELS for 2D), [code]nominal_fps[/code] [Hz], [code]mode[/code] ("poly" or "mono"),
## [code]genre[/code], [code]seed[/code], [code]density[/code], [code]temperature[/code],
## [code]genre_strength[/code], [code]lead_time_us[/code] [us]. A 3D layout is sent in
## Godot's frame: right-handed, y up, metres (HANDEDNESS_RIGHT, UP_AXIS_Y), unless
## [code]handedness[/code] ("left") or [code]up_axis[/code] ("z") say otherwise.
static func config_message(settings: Dictionary) -> Dictionary:
	var layout := int(settings.get("layout", Layout.COCO17))
	var c := {"layout": LAYOUT_NAMES.get(layout, str(layout))}
	var default_space: int = CoordinateSpace.METERS if is_3d(layout) else CoordinateSpace.PIXELS
	var space := int(settings.get("coordinate_space", default_space))
	c["coordinateSpace"] = COORDINATE_SPACE_NAMES.get(space, str(space))
	if is_3d(layout):
		var left := str(settings.get("handedness", "right")).to_lower() == "left"
		c["handedness"] = "HANDEDNESS_LEFT" if left else "HANDEDNESS_RIGHT"
		var z_up := str(settings.get("up_axis", "y")).to_lower() == "z"
		c["upAxis"] = "UP_AXIS_Z" if z_up else "UP_AXIS_Y"
	if settings.has("nominal_fps") and float(settings["nominal_fps"]) > 0.0:
		c["nominalFps"] = float(settings["nominal_fps"])
	var mode := str(settings.get("mode", "poly")).to_lower()
	c["mode"] = "DRUM_MODE_MONO" if mode == "mono" else "DRUM_MODE_POLY"
	var genre := str(settings.get("genre", ""))
	c["genre"] = genre if genre != "" else "any"
	if settings.has("seed"):
		c["seed"] = str(int(settings["seed"]))
	for key in ["density", "temperature", "genre_strength"]:
		if settings.has(key):
			c[_camel(key)] = float(settings[key])
	if settings.has("lead_time_us"):
		c["leadTimeUs"] = str(int(settings["lead_time_us"]))
	return {"config": c}


## A ClientMessage with one PoseFrame: [param timestamp_us] on the client's clock (strictly
## increasing), [param keypoints] flat (values_per_joint per joint), [param frame_id] echoed
## on the events the frame produces.
static func frame_message(timestamp_us: int, keypoints, frame_id: int) -> Dictionary:
	return {
		"frame": {
			"timestampUs": str(timestamp_us), "keypoints": keypoints, "frameId": str(frame_id)
		}
	}


## The ClientMessage that ends a Session: the server answers the final stats and closes
## with 1000.
static func end_message() -> Dictionary:
	return {"end": {}}


## One parsed ServerMessage (a Dictionary from the engine's JSON parser) as an event:
## [code]{"kind": "accepted" | "beat" | "hits" | "stats" | "restarted" | "source" |
## "source_status" | "unknown", ...}[/code] with the message's fields in snake_case (see the
## add-on's README for each).
static func decode_server_message(message) -> Dictionary:
	var out := {"kind": "unknown"}
	if typeof(message) != TYPE_DICTIONARY:
		return out
	if message.has("accepted"):
		out = decode_accepted(message["accepted"])
	elif message.has("beat"):
		out = _decode_beat(message["beat"])
	elif message.has("hits"):
		out = _decode_hits(message["hits"])
	elif message.has("stats"):
		out = _decode_stats(message["stats"])
	elif message.has("restarted"):
		var r: Dictionary = message["restarted"]
		out = {
			"kind": "restarted", "time_us": _int(r, "timeUs"), "gap_us": _int(r, "gapUs"),
			"reason": str(r.get("reason", "")),
		}
	elif message.has("source"):
		out = _decode_source(message["source"])
	elif message.has("sourceStatus"):
		var s: Dictionary = message["sourceStatus"]
		var state := str(s.get("state", "SOURCE_STATE_UNSPECIFIED"))
		out = {
			"kind": "source_status", "state": state.replace("SOURCE_STATE_", ""),
			"message": str(s.get("message", "")), "has_time": s.has("timeUs"),
			"time_us": _int(s, "timeUs"), "server_time_us": _int(s, "serverTimeUs"),
		}
	return out


## SessionAccepted (also inside a SourceInfo).
static func decode_accepted(a) -> Dictionary:
	if typeof(a) != TYPE_DICTIONARY:
		a = {}
	var versions := {}
	var raw = a.get("modelVersions", {})
	if typeof(raw) == TYPE_DICTIONARY:
		versions = raw
	return {
		"kind": "accepted",
		"session_id": str(a.get("sessionId", "")),
		"model_versions": versions,
		"internal_rate_hz": _float(a, "internalRateHz"),
		"joints_expected": _int(a, "jointsExpected"),
		"values_per_joint": _int(a, "valuesPerJoint"),
		"lead_time_us": _int(a, "leadTimeUs"),
		"genre": str(a.get("genre", "")),
		"mode": str(a.get("mode", "")),
		"max_gap_us": _int(a, "maxGapUs"),
		"stats_interval_us": _int(a, "statsIntervalUs"),
	}


static func _decode_beat(b: Dictionary) -> Dictionary:
	return {
		"kind": "beat",
		"time_us": _int(b, "timeUs"),
		"tempo_bpm": _float(b, "tempoBpm"),
		"confidence": _float(b, "confidence"),
		"index": _int(b, "index"),
		"feel": str(b.get("feel", "")),
		"emitted_us": _int(b, "emittedUs"),
		"frame_id": _int(b, "frameId"),
		"beat_in_bar": _int(b, "beatInBar"),
		"beats_per_bar": _int(b, "beatsPerBar"),
	}


static func _decode_hits(h: Dictionary) -> Dictionary:
	var frame_id := _int(h, "frameId")
	var emitted := _int(h, "emittedUs")
	var hits := []
	for x in h.get("hits", []):
		if typeof(x) != TYPE_DICTIONARY:
			continue
		var drum_class := _int(x, "drumClass")
		var name := str(x.get("drum", ""))
		if name == "" and drum_class >= 0 and drum_class < DRUM_CLASSES.size():
			name = DRUM_CLASSES[drum_class]
		hits.append({
			"time_us": _int(x, "timeUs"),
			"drum_class": drum_class,
			"drum": name,
			"gm_pitch": _int(x, "gmPitch"),
			"velocity": _int(x, "velocity"),
			"beat_index": _int(x, "beatIndex"),
			"step": _int(x, "step"),
			"joint": _int(x, "joint"),
			"layout_joint": _int(x, "layoutJoint"),
			"position": Vector3(_float(x, "jointX"), _float(x, "jointY"), _float(x, "jointZ")),
			"frame_id": frame_id,
			"emitted_us": emitted,
		})
	return {
		"kind": "hits", "beat_index": _int(h, "beatIndex"), "emitted_us": emitted,
		"frame_id": frame_id, "hits": hits,
	}


static func _decode_stats(s: Dictionary) -> Dictionary:
	var out := {"kind": "stats", "final": bool(s.get("final", false))}
	for key in [
		"framesReceived", "framesProcessed", "framesDropped", "eventsDropped", "statsDropped",
		"latencyP50Us", "latencyP99Us", "latencyMaxUs", "streamTimeUs", "lastFrameId",
		"restarts", "hitsDroppedLate", "serverTimeUs", "sourceTimeUs",
	]:
		out[_snake(key)] = _int(s, key)
	out["has_source_time"] = s.has("sourceTimeUs")
	return out


static func _decode_source(s: Dictionary) -> Dictionary:
	return {
		"kind": "source",
		"listener_id": str(s.get("listenerId", "")),
		"description": str(s.get("description", "")),
		"is_live": bool(s.get("isLive", false)),
		"loop": bool(s.get("loop", false)),
		"fps": _float(s, "fps"),
		"width": _int(s, "width"),
		"height": _int(s, "height"),
		"duration_us": _int(s, "durationUs"),
		"pose_model": str(s.get("poseModel", "")),
		"session": decode_accepted(s.get("session", {})),
		"seed": _int(s, "seed"),
		"server_time_us": _int(s, "serverTimeUs"),
		"has_source_time": s.has("sourceTimeUs"),
		"source_time_us": _int(s, "sourceTimeUs"),
		"listeners": _int(s, "listeners"),
	}


## The status a WebSocket close carries: [code]{"code": int, "name": String, "message":
## String}[/code]. 1000 is OK; 4000 + n is gRPC status n with the reason "NAME: message"
## (the name is taken off the message); anything else (1006: the connection broke, -1: never
## opened) is UNAVAILABLE.
static func status_from_close(close_code: int, reason: String) -> Dictionary:
	var code: int = Status.UNAVAILABLE
	var message := reason
	if close_code == NORMAL_CLOSURE:
		code = Status.OK
	elif close_code >= CLOSE_CODE_BASE and close_code < CLOSE_CODE_BASE + 1000:
		var n := close_code - CLOSE_CODE_BASE
		code = n if n < STATUS_NAMES.size() else Status.UNKNOWN
		var colon := reason.find(": ")
		if colon > 0 and STATUS_NAMES.has(reason.substr(0, colon)):
			message = reason.substr(colon + 2, reason.length() - colon - 2)
	else:
		message = "connection closed (WebSocket close code %d)" % close_code
		if reason != "":
			message += ": " + reason
	return status(code, message)


static func status(code: int, message: String) -> Dictionary:
	var name: String = STATUS_NAMES[code] if code >= 0 and code < STATUS_NAMES.size() else str(code)
	return {"code": code, "name": name, "message": message}


## "NAME: message", as the server writes it.
static func status_text(s: Dictionary) -> String:
	var message := str(s.get("message", ""))
	return str(s.get("name", "")) + (": " + message if message != "" else "")


## Whether a stream that ended with status [param code] is worth reopening: the server was
## unreachable, busy, or failed in passing. A request the server refused (INVALID_ARGUMENT,
## FAILED_PRECONDITION, UNAUTHENTICATED, ...) fails the same way again; OK and CANCELLED are
## ends someone chose.
static func is_retryable(code: int) -> bool:
	return code in [
		Status.UNAVAILABLE, Status.RESOURCE_EXHAUSTED, Status.UNKNOWN,
		Status.DEADLINE_EXCEEDED, Status.ABORTED,
	]


# JSON numbers arrive as floats; 64-bit integers as strings (proto3 JSON).
static func _int(d: Dictionary, key: String) -> int:
	var v = d.get(key, 0)
	if typeof(v) == TYPE_STRING:
		return int(v)
	if typeof(v) == TYPE_NIL:
		return 0
	return int(v)


static func _float(d: Dictionary, key: String) -> float:
	var v = d.get(key, 0.0)
	if typeof(v) == TYPE_STRING:
		return float(v)
	if typeof(v) == TYPE_NIL:
		return 0.0
	return float(v)


static func _camel(snake: String) -> String:
	var parts := snake.split("_")
	var out: String = parts[0]
	for i in range(1, parts.size()):
		out += parts[i].substr(0, 1).to_upper() + parts[i].substr(1, parts[i].length() - 1)
	return out


static func _snake(camel: String) -> String:
	var out := ""
	for i in range(camel.length()):
		var ch := camel.substr(i, 1)
		if ch != ch.to_lower():
			out += "_" + ch.to_lower()
		else:
			out += ch
	return out
