class_name IbeatClient
extends Node
## One stream to an ibeat server over WebSocket: sends the body of [member pose_source] each
## frame and receives beats and drum hits for it, ahead of their time (Session), or listens
## to the server's own camera or video (Subscribe).
##
## Each frame ([method _process], at [member process_priority] 100 so that animation has
## moved the bones): reads the audio clock ([member audio_clock]), polls the socket, emits
## [signal beat] and [signal hit] for what arrived and queues the hits in
## [member scheduler], then sends the pose stamped with [code]Time.get_ticks_usec()[/code],
## the stream clock every time on the wire is in. An [IbeatDrumKit] plays the queued hits.
## Errors: the server's status and reason ([member last_status], [member status_text],
## [signal status_changed], pushed as a warning); UNAVAILABLE, RESOURCE_EXHAUSTED and the
## like are retried with backoff, INVALID_ARGUMENT, FAILED_PRECONDITION and the like are not
## (the same request would fail again).

## Each beat as it arrives: [code]time_us[/code] (stream clock), [code]tempo_bpm[/code],
## [code]index[/code], [code]beat_in_bar[/code], ... (see the add-on's README).
signal beat(event: Dictionary)
## Each hit as it arrives, ahead of its time: [code]time_us[/code] (stream clock),
## [code]drum[/code], [code]drum_class[/code], [code]velocity[/code], [code]joint[/code]
## (COCO-17), [code]layout_joint[/code], [code]position[/code] (the joint, world metres for a
## 3D layout), ...
signal hit(event: Dictionary)
## Every server message, decoded (accepted, beat, hits, stats, restarted, source,
## source_status).
signal message_received(event: Dictionary)
## Status lines: connected, accepted, closed with a status, the source's state.
signal status_changed(text: String)

enum StreamKind { SESSION, SUBSCRIBE }

const Stream = preload("core/ibeat_stream.gd")
const AudioClock = preload("core/ibeat_audio_clock.gd")
const HitScheduler = preload("core/ibeat_hit_scheduler.gd")
const Protocol = preload("core/ibeat_protocol.gd")
const Socket = preload("ibeat_websocket.gd")

@export_group("Server")
## ibeat-server --ws-port: ws://HOST:PORT (the stream's path is added).
@export var server_url := "ws://localhost:8765"
## The token of a server started with --auth-token-file (sent as
## "Authorization: Bearer <token>" on the upgrade request); empty for none.
@export var auth_token := ""
## Session: send this body. Subscribe: listen to the server's own camera or video.
@export var stream_kind: StreamKind = StreamKind.SESSION
## Connect in _ready (else call start()).
@export var connect_on_ready := true

@export_group("Session")
## The body sent each frame.
@export var pose_source: IbeatPoseSource
## any, rock, funk, hiphop, jazz, latin, afrocuban, punk, neworleans, soul.
@export var genre := "any"
## poly: a pattern on a 16th grid per beat; mono: the paper's one note per beat.
@export_enum("poly", "mono") var mode := "poly"
## Same seed + same motion = same drums.
@export var drum_seed := 0
## How long before its play time the server sends a hit [ms]. Longer survives more network
## jitter; shorter reacts faster.
@export_range(20, 1000) var lead_time_ms := 100
## Pose frames sent per second at most [Hz]; 0 = every frame.
@export_range(0.0, 240.0) var send_rate_hz := 60.0

@export_group("Reconnect")
@export var reconnect := true
@export_range(0.05, 10.0) var reconnect_initial_s := 0.5
@export_range(0.1, 120.0) var reconnect_max_s := 10.0

@export_group("Audio")
## A hit due sooner than this after the next mix is dropped, never played late [s].
@export_range(0.0, 0.05) var min_lead_s := 0.005
## Start each hit early by AudioServer.get_output_latency(), so it is heard on time.
@export var compensate_output_latency := true

## Stream clock -> audio clock, read from the AudioServer each frame.
var audio_clock = AudioClock.new()
## Hits waiting for the [IbeatDrumKit]; counts those dropped late.
var scheduler = HitScheduler.new(0.005)
## The latest status line.
var status_text := "idle"
## True when hits carry world positions (a 3D layout of this body).
var hits_carry_world_positions := false

var _stream = Stream.new()
var _last_sent_us := -1
var _latency_s := 0.0
var _latency_read_us := -10000000


func _ready() -> void:
	process_priority = 100
	if connect_on_ready and not Engine.is_editor_hint():
		start()


func _exit_tree() -> void:
	stop()


## Opens the stream (again), reading the settings above now.
func start() -> void:
	stop()
	scheduler.min_lead_s = min_lead_s
	_stream.socket_script = Socket
	_stream.url = server_url
	_stream.auth_token = auth_token
	_stream.subscribe = stream_kind == StreamKind.SUBSCRIBE
	_stream.reconnect = reconnect
	_stream.policy.initial_s = reconnect_initial_s
	_stream.policy.max_s = maxf(reconnect_initial_s, reconnect_max_s)
	hits_carry_world_positions = false
	if not _stream.subscribe:
		if pose_source == null:
			_on_status("ibeat: no pose source: set IbeatClient.pose_source, or use Subscribe", true)
			return
		var layout := pose_source.get_layout()
		hits_carry_world_positions = pose_source.carries_world_positions()
		var settings := {
			"layout": layout, "coordinate_space": pose_source.get_coordinate_space(),
			"genre": genre if genre != "" else "any", "mode": mode, "seed": drum_seed,
			"lead_time_us": lead_time_ms * 1000,
		}
		if send_rate_hz > 0.0:
			settings["nominal_fps"] = minf(send_rate_hz, 1000.0)
		_stream.settings = settings
	_last_sent_us = -1
	_stream.start(Time.get_ticks_usec())
	_dispatch(_stream.update(Time.get_ticks_usec()))


## Closes the stream; the server frees the session. Hits already started still play.
func stop() -> void:
	if _stream.state != Stream.State.IDLE:
		_stream.stop()
		_dispatch(_stream.update(Time.get_ticks_usec()))
	scheduler.clear()


## Ends a Session cleanly: the server sends its final stats and closes (status OK).
func end_session() -> void:
	_stream.end_stream()


func is_stream_open() -> bool:
	return _stream.is_open()


## How the last stream ended: {"code", "name", "message"} (empty while none has).
func get_last_status() -> Dictionary:
	return _stream.last_status


## The SessionAccepted of this stream (its session id, lead time, genre, ...).
func get_accepted() -> Dictionary:
	return _stream.accepted


func get_last_beat() -> Dictionary:
	return _stream.last_beat


## The latest SessionStats (frames received and processed, latency p50/p99 [us], ...).
func get_last_stats() -> Dictionary:
	return _stream.last_stats


## Subscribe: what the server films (SourceInfo) and its state (SourceStatus).
func get_source() -> Dictionary:
	return _stream.source_info


func get_source_status() -> Dictionary:
	return _stream.source_status


func get_frames_sent() -> int:
	return _stream.frames_sent


func get_hits_received() -> int:
	return _stream.hits_received


func _process(_delta: float) -> void:
	var now := Time.get_ticks_usec()
	_read_audio_clock(now)
	_dispatch(_stream.update(now))
	_send_pose(now)


func _read_audio_clock(now: int) -> void:
	# The output latency is asked once a second (some drivers take a lock for it).
	if now - _latency_read_us > 1000000:
		_latency_read_us = now
		_latency_s = AudioServer.get_output_latency() if compensate_output_latency else 0.0
	audio_clock.sample(now, AudioServer.get_time_since_last_mix(),
		AudioServer.get_time_to_next_mix(), _latency_s)


func _send_pose(now: int) -> void:
	if _stream.subscribe or not _stream.is_open() or pose_source == null:
		return
	# Three quarters of the period apart at least, so frame-time jitter skips no frame.
	if send_rate_hz > 0.0 and _last_sent_us >= 0 \
			and now - _last_sent_us < int(0.75e6 / send_rate_hz):
		return
	var keypoints := pose_source.get_keypoints()
	if keypoints.is_empty():
		return
	if _stream.send_frame(now, keypoints):
		_last_sent_us = now


func _dispatch(events: Array) -> void:
	for e in events:
		if e["type"] == "status":
			_on_status(e["text"], e["warning"])
			continue
		var m: Dictionary = e["message"]
		var kind: String = m["kind"]
		if kind == "beat":
			beat.emit(m)
		elif kind == "hits":
			for h in m["hits"]:
				scheduler.add(h)
				hit.emit(h)
		message_received.emit(m)


func _on_status(text: String, warning: bool) -> void:
	status_text = text
	if warning:
		push_warning(text)
	else:
		print(text)
	status_changed.emit(text)
