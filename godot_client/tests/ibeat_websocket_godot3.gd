extends Reference
## Godot 3's stand-in for addons/ibeat/ibeat_websocket.gd: the same methods over a
## WebSocketClient and Godot 3's JSON parser, so the add-on's engine-neutral core
## (addons/ibeat/core/) runs unchanged in headless Godot 3 (godot3-server) for the tests.

var _ws = WebSocketClient.new()
var _state := 0
var _close_code := -1
var _close_reason := ""
var _texts := []


func open(url: String, headers: Array) -> int:
	_ws.connect("connection_established", self, "_on_established")
	_ws.connect("connection_error", self, "_on_error")
	_ws.connect("connection_closed", self, "_on_closed")
	_ws.connect("server_close_request", self, "_on_close_request")
	_ws.connect("data_received", self, "_on_data")
	return _ws.connect_to_url(url, PoolStringArray(), false, PoolStringArray(headers))


func poll() -> void:
	if _state != 3:
		_ws.poll()


func get_state() -> int:
	return _state


func receive() -> Array:
	var out := _texts
	_texts = []
	return out


func send_text(text: String) -> int:
	if _state != 1:
		return 1
	return _ws.get_peer(1).put_packet(text.to_utf8())


func buffered_amount() -> int:
	return 0


func close(code: int, reason: String) -> void:
	if _state == 1:
		_ws.disconnect_from_host(code, reason)
	_state = 3


func get_close_code() -> int:
	return _close_code


func get_close_reason() -> String:
	return _close_reason


func parse_json(text: String):
	var r = JSON.parse(text)
	if r.error != OK:
		return null
	return r.result


func _on_established(_protocol: String) -> void:
	_ws.get_peer(1).set_write_mode(WebSocketPeer.WRITE_MODE_TEXT)
	_state = 1


func _on_error() -> void:
	_state = 3


func _on_close_request(code: int, reason: String) -> void:
	_close_code = code
	_close_reason = reason


func _on_closed(_was_clean: bool) -> void:
	_state = 3


func _on_data() -> void:
	var peer = _ws.get_peer(1)
	while peer.get_available_packet_count() > 0:
		_texts.append(peer.get_packet().get_string_from_utf8())
