extends RefCounted
## The WebSocket under an [IbeatStream] in Godot 4: a WebSocketPeer, polled from the
## client's _process, and Godot 4's JSON parser. (The add-on's Godot 3 tests run the same
## stream over a WebSocketClient adapter with these methods.)

var _ws := WebSocketPeer.new()


## Starts connecting to [param url] with extra handshake [param headers]
## ("Authorization: Bearer ..."). Returns an Error (OK = 0).
func open(url: String, headers: Array) -> int:
	_ws.handshake_headers = PackedStringArray(headers)
	return _ws.connect_to_url(url)


func poll() -> void:
	_ws.poll()


## 0 connecting, 1 open, 2 closing, 3 closed (WebSocketPeer.State).
func get_state() -> int:
	return _ws.get_ready_state()


## The text messages that arrived since the last call.
func receive() -> Array:
	var out := []
	while _ws.get_available_packet_count() > 0:
		out.append(_ws.get_packet().get_string_from_utf8())
	return out


func send_text(text: String) -> int:
	return _ws.send_text(text)


## Bytes queued to go out [bytes].
func buffered_amount() -> int:
	if _ws.has_method("get_current_outbound_buffered_amount"):
		return _ws.get_current_outbound_buffered_amount()
	return 0


func close(code: int, reason: String) -> void:
	_ws.close(code, reason)


## The close code the server sent (-1: the connection ended without a close frame).
func get_close_code() -> int:
	return _ws.get_close_code()


func get_close_reason() -> String:
	return _ws.get_close_reason()


## A Dictionary, or null for text that is not JSON.
func parse_json(text: String):
	return JSON.parse_string(text)
