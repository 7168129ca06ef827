class_name IbeatSkeleton
## Joint positions packed into a PoseFrame's keypoints, and the joint maps between layouts.
##
## Engine-neutral (Godot 3 and 4). Positions are Vector3 in Godot's frame (right-handed,
## y up, metres); a joint that is missing (null, or a NaN/infinite coordinate) goes as
## (0, 0, 0) with confidence 0: the server refuses NaN, and confidence 0 says the joint is
## unknown.

## SKELETON_LAYOUT_HUMANOID's 19 joints in wire order (Unity's HumanBodyBones 0..18). The
## names are Godot's [code]SkeletonProfileHumanoid[/code] bone names too, so a Skeleton3D
## imported with the humanoid bone map has them as they are.
const HUMANOID_BONES = [
	"Hips", "LeftUpperLeg", "RightUpperLeg", "LeftLowerLeg", "RightLowerLeg", "LeftFoot",
	"RightFoot", "Spine", "Chest", "Neck", "Head", "LeftShoulder", "RightShoulder",
	"LeftUpperArm", "RightUpperArm", "LeftLowerArm", "RightLowerArm", "LeftHand", "RightHand",
]
## The same 19 joints in a Mixamo rig (add its prefix, "mixamorig_" once imported).
const MIXAMO_BONES = [
	"Hips", "LeftUpLeg", "RightUpLeg", "LeftLeg", "RightLeg", "LeftFoot", "RightFoot", "Spine",
	"Spine1", "Neck", "Head", "LeftShoulder", "RightShoulder", "LeftArm", "RightArm",
	"LeftForeArm", "RightForeArm", "LeftHand", "RightHand",
]
## SKELETON_LAYOUT_HEAD_HANDS's joints.
const HEAD_HANDS = ["head", "left_hand", "right_hand"]
## SKELETON_LAYOUT_TRACKED_POINTS's joints.
const TRACKED_POINTS = [
	"head", "left_hand", "right_hand", "hips", "left_elbow", "right_elbow", "left_knee",
	"right_knee", "left_foot", "right_foot",
]
## The humanoid joint (0..18) standing for each COCO-17 joint (DrumHit.joint), as the
## server maps them: the face points are the Head, shoulder = UpperArm, elbow = LowerArm,
## wrist = Hand, hip = UpperLeg, knee = LowerLeg, ankle = Foot.
const HUMANOID_FROM_COCO = [10, 10, 10, 10, 10, 13, 14, 15, 16, 17, 18, 1, 2, 3, 4, 5, 6]


## Flat [x, y, z, c] per joint of a 3D layout from [param positions] (one Vector3 or null
## per joint, in the layout's order). Returns the keypoints (4 values a joint).
static func pack_3d(positions: Array) -> Array:
	var out := []
	for p in positions:
		if p != null and typeof(p) == TYPE_VECTOR3 and _finite(p.x) and _finite(p.y) \
				and _finite(p.z):
			out.append(p.x)
			out.append(p.y)
			out.append(p.z)
			out.append(1.0)
		else:
			out.append(0.0)
			out.append(0.0)
			out.append(0.0)
			out.append(0.0)
	return out


## Flat [x, y, c] per joint of a 2D layout from [param points] (one Vector2 or null per
## joint; pixels or normalised image coordinates, y down). Returns 3 values a joint.
static func pack_2d(points: Array) -> Array:
	var out := []
	for p in points:
		if p != null and typeof(p) == TYPE_VECTOR2 and _finite(p.x) and _finite(p.y):
			out.append(p.x)
			out.append(p.y)
			out.append(1.0)
		else:
			out.append(0.0)
			out.append(0.0)
			out.append(0.0)
	return out


## The humanoid joint (0..18) for a hit's COCO-17 [param coco_joint], -1 if out of range.
static func humanoid_from_coco(coco_joint: int) -> int:
	if coco_joint < 0 or coco_joint >= HUMANOID_FROM_COCO.size():
		return -1
	return HUMANOID_FROM_COCO[coco_joint]


static func _finite(v: float) -> bool:
	return not (is_nan(v) or is_inf(v))
