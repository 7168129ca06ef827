class_name IbeatStream
## One Session or Subscribe stream to an ibeat server over a WebSocket: connects, sends the
## config and the frames, reads the server's messages, and reconnects with backoff.
##
## Engine-neutral (Godot 3 and 4): the socket is an adapter script ([member socket_script])
## with [code]open(url, headers) -> int[/code], [code]poll()[/code], [code]get_state()[/code]
## (0 connecting, 1 open, 2 closing, 3 closed), [code]receive() -> Array[/code] of texts,
## [code]send_text(text) -> int[/code], [code]buffered_amount() -> int[/code],
## [code]close(code, reason)[/code], [code]get_close_code()[/code],
## [code]get_close_reason()[/code] and [code]parse_json(text)[/code]. Godot 4's is
## [code]ibeat_websocket.gd[/code] (WebSocketPeer); the add-on's tests run this same file on
## Godot 3 with a WebSocketClient adapter. Nothing here reads a clock: the caller passes the
## stream clock ([code]Time.get_ticks_usec()[/code]) to [method update] and
## [method send_frame].
##
## [method update] returns what happened as events: [code]{"type": "message", "message":
## decoded}[/code] for each server message ([method IbeatProtocol.decode_server_message]; a
## Subscribe stream's times already mapped onto the client clock) and [code]{"type":
## "status", "text": String, "warning": bool}[/code] for each status line.

enum State { IDLE, CONNECTING, OPEN, WAITING, ENDED }

const Json = preload("ibeat_json.gd")
const Protocol = preload("ibeat_protocol.gd")
const ReconnectPolicy = preload("ibeat_reconnect_policy.gd")
const SourceClock = preload("ibeat_source_clock.gd")

const SOCKET_CONNECTING = 0
const SOCKET_OPEN = 1
const SOCKET_CLOSED = 3

## The engine's WebSocket adapter (a script; one instance per attempt).
var socket_script = null
## ibeat-server --ws-port: ws://HOST:PORT (the stream's path is added).
var url := "ws://localhost:8765"
## A token of a server started with --auth-token-file ("" for none).
var auth_token := ""
## true: listen to the server's own camera or video (Subscribe); false: send a pose.
var subscribe := false
## The Session's settings ([method IbeatProtocol.config_message]).
var settings := {}
## Reopen a stream that failed in a way that may pass (UNAVAILABLE, RESOURCE_EXHAUSTED, ...).
var reconnect := true
## Give up an attempt that has not opened after this long [s].
var connect_timeout_s := 10.0
## Skip a frame while more than this is still waiting to go out [bytes].
var max_buffered_bytes := 65536
var policy = ReconnectPolicy.new()

var state: int = State.IDLE
## The latest status line.
var status_text := "idle"
## How the last stream ended: {"code", "name", "message"} (empty while none has).
var last_status := {}
var accepted := {}
var last_beat := {}
var last_stats := {}
var source_info := {}
var source_status := {}
var frames_sent := 0
## Frames not sent because the socket was still busy with earlier ones [count].
var frames_skipped := 0
var beats_received := 0
var hits_received := 0
## Subscribe hits that came before any clock reading, so could not be placed [count].
var hits_unplaced := 0
## Attempts to connect since start() [count].
var attempts := 0

var _socket = null
var _full_url := ""
var _opened_at_us := 0
var _retry_at_us := 0
var _was_open := false
var _got_message := false
var _ending := false
var _last_frame_us := 0
var _has_frame := false
var _next_frame_id := 0
var _events := []
var _source_clock = SourceClock.new()


## Opens the stream (again) with the settings above.
func start(now_us: int) -> void:
	stop()
	policy.reset()
	attempts = 0
	last_status = {}
	_full_url = url.strip_edges()
	while _full_url.ends_with("/"):
		_full_url = _full_url.substr(0, _full_url.length() - 1)
	_full_url += Protocol.SUBSCRIBE_PATH if subscribe else Protocol.SESSION_PATH
	_open(now_us)


## Closes the stream; the server frees the session.
func stop() -> void:
	if _socket != null:
		_socket.close(Protocol.NORMAL_CLOSURE, "")
		_socket = null
	if state != State.IDLE:
		_status("ibeat: disconnected", false)
	state = State.IDLE


## Ends a Session: the server answers the final stats and closes (OK).
func end_stream() -> void:
	if state == State.OPEN and not subscribe and not _ending:
		_socket.send_text(Json.encode(Protocol.end_message()))
		_ending = true


func is_open() -> bool:
	return state == State.OPEN


## Polls the socket, reads what arrived, handles a close and the retry timer. Call once per
## frame with the stream clock now [us]. Returns the events (see the class description).
func update(now_us: int) -> Array:
	if state == State.CONNECTING or state == State.OPEN:
		_poll(now_us)
	elif state == State.WAITING and now_us >= _retry_at_us:
		_open(now_us)
	var out := _events
	_events = []
	return out


## Sends one pose frame stamped [param timestamp_us] (client clock, made strictly
## increasing) with [param keypoints] (flat, values_per_joint per joint) and [param frame_id]
## (-1: the next number). Returns false when it was not sent: no open Session, or the socket
## still busy (counted in [member frames_skipped]).
func send_frame(timestamp_us: int, keypoints, frame_id: int = -1) -> bool:
	if state != State.OPEN or subscribe or _ending:
		return false
	if _socket.buffered_amount() > max_buffered_bytes:
		frames_skipped += 1
		return false
	var t := timestamp_us
	if _has_frame and t <= _last_frame_us:
		t = _last_frame_us + 1
	var id := frame_id if frame_id >= 0 else _next_frame_id
	var text := Json.encode(Protocol.frame_message(t, keypoints, id))
	if _socket.send_text(text) != 0:
		return false
	_has_frame = true
	_last_frame_us = t
	_next_frame_id = id + 1
	frames_sent += 1
	return true


func _open(now_us: int) -> void:
	attempts += 1
	_was_open = false
	_got_message = false
	_ending = false
	_has_frame = false
	_source_clock.reset()
	_socket = socket_script.new()
	var headers := []
	if auth_token != "":
		headers.append("Authorization: Bearer " + auth_token)
	var err: int = _socket.open(_full_url, headers)
	_opened_at_us = now_us
	state = State.CONNECTING
	if err != 0:
		_socket = null
		_closed(now_us, Protocol.status(
			Protocol.Status.UNAVAILABLE, "cannot connect to %s (error %d)" % [_full_url, err]))


func _poll(now_us: int) -> void:
	_socket.poll()
	var s: int = _socket.get_state()
	if s == SOCKET_OPEN and not _was_open:
		_was_open = true
		state = State.OPEN
		_status("ibeat: connected to %s" % _full_url, false)
		if not subscribe:
			_socket.send_text(Json.encode(Protocol.config_message(settings)))
	# Read everything that arrived, also what came just before a close.
	for text in _socket.receive():
		_on_text(text, now_us)
		if _socket == null:
			return
	if s == SOCKET_CLOSED:
		var code: int = _socket.get_close_code()
		var reason: String = _socket.get_close_reason()
		_socket = null
		if not _was_open:
			_closed(now_us, Protocol.status(
				Protocol.Status.UNAVAILABLE, "cannot connect to %s" % _full_url))
		else:
			_closed(now_us, Protocol.status_from_close(code, reason))
	elif s == SOCKET_CONNECTING and now_us - _opened_at_us > int(connect_timeout_s * 1e6):
		_socket.close(Protocol.NORMAL_CLOSURE, "")
		_socket = null
		_closed(now_us, Protocol.status(
			Protocol.Status.UNAVAILABLE,
			"no answer from %s in %.0f s" % [_full_url, connect_timeout_s]))


func _on_text(text: String, now_us: int) -> void:
	var parsed = _socket.parse_json(text)
	if typeof(parsed) != TYPE_DICTIONARY:
		_socket.close(Protocol.NORMAL_CLOSURE, "")
		_socket = null
		_closed(now_us, Protocol.status(Protocol.Status.INTERNAL, "the server sent no JSON object"))
		return
	var m := Protocol.decode_server_message(parsed)
	_got_message = true
	var kind: String = m["kind"]
	if kind == "accepted":
		accepted = m
		policy.reset()
		_status("ibeat: session %s accepted (lead %d ms, genre %s, %s)" % [
			m["session_id"], int(m["lead_time_us"] / 1000), m["genre"], m["mode"]], false)
	elif kind == "beat":
		if subscribe:
			if not _source_clock.has_offset():
				return
			m["time_us"] = int(m["time_us"]) + _source_clock.offset_us()
			m["emitted_us"] = int(m["emitted_us"]) + _source_clock.offset_us()
		beats_received += 1
		last_beat = m
	elif kind == "hits":
		if subscribe:
			if not _source_clock.has_offset():
				hits_unplaced += m["hits"].size()
				return
			var offset: int = _source_clock.offset_us()
			for h in m["hits"]:
				h["time_us"] = int(h["time_us"]) + offset
		hits_received += m["hits"].size()
	elif kind == "stats":
		last_stats = m
		if subscribe and m["has_source_time"]:
			_source_clock.add_reading(now_us, m["source_time_us"])
	elif kind == "source":
		source_info = m
		if m["has_source_time"]:
			_source_clock.add_reading(now_us, m["source_time_us"])
		_status("ibeat: listening to %s" % m["description"], false)
	elif kind == "source_status":
		source_status = m
		_status("ibeat: source %s: %s" % [m["state"], m["message"]], false)
	elif kind == "restarted":
		if subscribe:
			_source_clock.reset()
		_status("ibeat: stream restarted (%s)" % m["reason"], false)
	_events.append({"type": "message", "message": m})


func _closed(now_us: int, status: Dictionary) -> void:
	last_status = status
	if _got_message:
		policy.reset()
	var code: int = status["code"]
	if code == Protocol.Status.OK:
		state = State.ENDED
		_status("ibeat: the server ended the stream (OK)", false)
		return
	var retry := reconnect and Protocol.is_retryable(code)
	var next := " Not retrying: fix the cause, then start again."
	if retry:
		var delay := float(policy.next_delay_s())
		_retry_at_us = now_us + int(delay * 1e6)
		state = State.WAITING
		next = " Retrying in %.1f s." % delay
	else:
		state = State.ENDED
	var text := Protocol.status_text(status)
	if code == Protocol.Status.UNAVAILABLE and not _got_message:
		_status("ibeat: no ibeat server at %s (%s). Start one with " % [url, text]
			+ "`ibeat-server --port 50051 --ws-port 8765`; a server started with "
			+ "--auth-token-file also refuses a missing or wrong token this way." + next, true)
	else:
		_status("ibeat: the server closed the stream: %s.%s" % [text, next], true)


func _status(text: String, warning: bool) -> void:
	status_text = text
	_events.append({"type": "status", "text": text, "warning": warning})
