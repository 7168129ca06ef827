extends Reference
## An in-memory socket with the adapter's methods, driven by tests/test_core.gd: the test
## sets what the "server" does (state, texts, close code) and reads what was sent.

var url := ""
var headers := []
var state := 0
var sent := []
var incoming := []
var close_code := -1
var close_reason := ""
var buffered := 0
var open_error := 0
var closed_by_client := false


func open(to_url: String, with_headers: Array) -> int:
	url = to_url
	headers = with_headers
	return open_error


func poll() -> void:
	pass


func get_state() -> int:
	return state


func receive() -> Array:
	var out := incoming
	incoming = []
	return out


func send_text(text: String) -> int:
	sent.append(text)
	return 0


func buffered_amount() -> int:
	return buffered


func close(code: int, reason: String) -> void:
	closed_by_client = true
	close_code = code
	close_reason = reason
	state = 3


func get_close_code() -> int:
	return close_code


func get_close_reason() -> String:
	return close_reason


func parse_json(text: String):
	var r = JSON.parse(text)
	if r.error != OK:
		return null
	return r.result
