class_name IbeatDemoDance
## The demo's dancer as numbers: the 19 humanoid joints (IbeatSkeleton.HUMANOID_BONES order)
## of a body bouncing at [member bpm], in Godot's frame (right-handed, y up, metres), facing
## +z. The body dips on every beat and each hand strikes down on alternate beats, stopping
## sharply there, the way a dancer's limbs mark a beat.
##
## Engine-neutral (Godot 3 and 4): the demo scene poses a Skeleton3D with it, and the
## add-on's Godot 3 test streams it to a real server to check that it draws drums.

## Rest pose [m]; the dancer's left is +x.
const REST = [
	Vector3(0.0, 0.95, 0.0),  # Hips
	Vector3(0.1, 0.9, 0.0),  # LeftUpperLeg
	Vector3(-0.1, 0.9, 0.0),  # RightUpperLeg
	Vector3(0.11, 0.5, 0.02),  # LeftLowerLeg
	Vector3(-0.11, 0.5, 0.02),  # RightLowerLeg
	Vector3(0.12, 0.08, 0.0),  # LeftFoot
	Vector3(-0.12, 0.08, 0.0),  # RightFoot
	Vector3(0.0, 1.1, 0.0),  # Spine
	Vector3(0.0, 1.3, 0.0),  # Chest
	Vector3(0.0, 1.5, 0.0),  # Neck
	Vector3(0.0, 1.65, 0.0),  # Head
	Vector3(0.07, 1.45, 0.0),  # LeftShoulder
	Vector3(-0.07, 1.45, 0.0),  # RightShoulder
	Vector3(0.19, 1.43, 0.0),  # LeftUpperArm
	Vector3(-0.19, 1.43, 0.0),  # RightUpperArm
	Vector3(0.26, 1.16, 0.06),  # LeftLowerArm
	Vector3(-0.26, 1.16, 0.06),  # RightLowerArm
	Vector3(0.28, 0.95, 0.18),  # LeftHand
	Vector3(-0.28, 0.95, 0.18),  # RightHand
]

## Tempo of the dance [beats per minute].
var bpm := 110.0
## How far the body dips on a beat [m].
var bounce := 0.08
## How far a hand travels in a strike [m].
var strike := 0.4


## The 19 joint positions at dance time [param t] [s].
func pose(t: float) -> Array:
	var beats := t * bpm / 60.0
	# |sin| has a cusp at every whole beat: the body is lowest and turns sharply on the beat.
	var lift: float = abs(sin(PI * beats))
	var dip := -bounce * (1.0 - lift)
	# Each hand's cusp falls on every other beat: the left on even beats, the right on odd.
	var left: float = strike * abs(sin(0.5 * PI * beats))
	var right: float = strike * abs(cos(0.5 * PI * beats))
	var sway := 0.04 * sin(PI * beats)
	var out := []
	for i in range(REST.size()):
		var p: Vector3 = REST[i]
		var feet := i == 5 or i == 6
		var knees := i == 3 or i == 4
		if not feet:
			p.y += 0.5 * dip if knees else dip
		if not feet and not knees:
			p.x += sway
		if knees:
			p.z += 0.6 * (1.0 - lift) * bounce
		if i == 10:
			p.z += 0.04 * (1.0 - lift)  # a nod on the beat
		if i == 17:
			p += Vector3(0.0, left, 0.3 * left)
		elif i == 15:
			p += Vector3(0.0, 0.5 * left, 0.15 * left)
		elif i == 18:
			p += Vector3(0.0, right, 0.3 * right)
		elif i == 16:
			p += Vector3(0.0, 0.5 * right, 0.15 * right)
		out.append(p)
	return out
