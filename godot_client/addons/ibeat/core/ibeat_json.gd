class_name IbeatJson
## JSON text of the messages a client sends, written the same on Godot 3 and 4.
##
## Engine-neutral: runs unchanged on Godot 3 (the CI's headless test) and Godot 4. The
## engines' own writers differ (Godot 3's [code]to_json[/code] keeps 6 significant digits), so
## numbers are written here: integers as they are, floats with 9 significant digits, enough
## to give back the exact 32-bit float a Vector3 holds. Reading JSON stays with the engine
## ([code]JSON.parse_string[/code] in Godot 4), behind the WebSocket adapter.

# typeof() of a float: TYPE_REAL in Godot 3, TYPE_FLOAT in Godot 4, 3 in both.
const _TYPE_FLOAT = 3


## [param value] as JSON text: Dictionary (String keys), Array or packed array, String,
## bool, int, float (finite; NaN and infinities are written as 0, which the server would
## refuse as a value anyway), or null.
static func encode(value) -> String:
	var t := typeof(value)
	var out := ""
	if t == TYPE_NIL:
		out = "null"
	elif t == TYPE_BOOL:
		out = "true" if value else "false"
	elif t == TYPE_INT:
		out = str(value)
	elif t == _TYPE_FLOAT:
		out = number(value)
	elif t == TYPE_STRING:
		out = quote(value)
	elif t == TYPE_DICTIONARY:
		var parts := []
		for key in value:
			parts.append(quote(str(key)) + ":" + encode(value[key]))
		out = "{" + _join(parts) + "}"
	else:
		# Array and the packed arrays (their type constants differ between 3 and 4).
		var items := []
		for item in value:
			items.append(encode(item))
		out = "[" + _join(items) + "]"
	return out


## A float as a JSON number: 9 significant digits, plain decimal notation when short,
## an exponent otherwise ("0.05", "1.2345", "60", "6e-12", "6e20"). Exactly 0 is "0".
static func number(v: float) -> String:
	if is_nan(v) or is_inf(v) or v == 0.0:
		return "0"
	var negative := v < 0.0
	var a: float = -v if negative else v
	var e := int(floor(log(a) / log(10.0)))
	var m := int(round(a * pow(10.0, 8 - e)))
	# log() may put e one off near a power of ten: bring m back to 9 digits.
	if m >= 1000000000:
		e += 1
		m = int(round(a * pow(10.0, 8 - e)))
	elif m < 100000000:
		e -= 1
		m = int(round(a * pow(10.0, 8 - e)))
	var exponent := e - 8
	while m % 10 == 0:
		m = m / 10
		exponent += 1
	var digits := str(m)
	var text := ""
	if exponent >= 0 and exponent <= 6:
		text = digits
		for _i in range(exponent):
			text += "0"
	elif exponent < 0 and digits.length() + exponent > -4:
		var point := digits.length() + exponent
		if point > 0:
			text = digits.substr(0, point) + "." + digits.substr(point, -exponent)
		else:
			text = "0."
			for _i in range(-point):
				text += "0"
			text += digits
	else:
		text = digits + "e" + str(exponent)
	return ("-" + text) if negative else text


## [param s] as a JSON string literal.
static func quote(s: String) -> String:
	var out := s.replace("\\", "\\\\").replace("\"", "\\\"")
	out = out.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
	return "\"" + out + "\""


static func _join(parts: Array) -> String:
	var out := ""
	for i in range(parts.size()):
		if i > 0:
			out += ","
		out += parts[i]
	return out
