class_name IbeatSkeletonSource
extends IbeatPoseSource
## Streams a Skeleton3D's bones as SKELETON_LAYOUT_HUMANOID: 19 bones (Hips .. RightHand) in
## world metres, Godot's frame.
##
## A skeleton imported with Godot's humanoid bone map ([code]SkeletonProfileHumanoid[/code])
## has the bone names as they are; a Mixamo rig needs [member bone_naming] = Mixamo (and its
## prefix, "mixamorig_" once imported); any other rig lists its 19 bones in
## [member bone_names]. A bone the rig lacks goes with confidence 0.

const Skeleton = preload("core/ibeat_skeleton.gd")

## The skeleton to read.
@export var skeleton: Skeleton3D
## Which names the 19 bones have.
@export_enum("Godot humanoid", "Mixamo") var bone_naming := 0
## Put before each name ("mixamorig_" for an imported Mixamo rig).
@export var bone_prefix := ""
## 19 bone names in IbeatSkeleton.HUMANOID_BONES order; overrides the two settings above.
@export var bone_names: PackedStringArray = PackedStringArray()

var _ids := PackedInt32Array()
var _resolved_for: Skeleton3D = null


func get_layout() -> int:
	return Protocol.Layout.HUMANOID


func get_keypoints() -> Array:
	var positions := get_bone_positions()
	if positions.is_empty():
		return []
	return Skeleton.pack_3d(positions)


## The 19 bones' world positions (null for a bone the rig lacks); empty without a skeleton.
func get_bone_positions() -> Array:
	if skeleton == null or not skeleton.is_inside_tree():
		return []
	if _resolved_for != skeleton:
		resolve_bones()
	var world := skeleton.global_transform
	var out := []
	for id in _ids:
		out.append(null if id < 0 else world * skeleton.get_bone_global_pose(id).origin)
	return out


## Looks the 19 bones up again (after changing the skeleton or the names). Returns how many
## were found.
func resolve_bones() -> int:
	var names: Array = Array(bone_names) if bone_names.size() == 19 else (
		Skeleton.MIXAMO_BONES if bone_naming == 1 else Skeleton.HUMANOID_BONES)
	var prefix := bone_prefix if bone_names.size() != 19 else ""
	_ids = PackedInt32Array()
	var found := 0
	for n in names:
		var id := skeleton.find_bone(prefix + str(n)) if skeleton != null else -1
		_ids.append(id)
		if id >= 0:
			found += 1
	_resolved_for = skeleton
	if found == 0 and skeleton != null:
		push_warning("IbeatSkeletonSource: none of the 19 humanoid bones is in %s; set "
			% skeleton.name + "bone_naming, bone_prefix or bone_names")
	return found
