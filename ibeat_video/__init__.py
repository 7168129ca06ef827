"""Camera and video front-end: pose estimation and capture feeding the engine.

An adapter at the edge (paper 3.4: a producer thread for capture and pose, a
consumer for the networks). :mod:`ibeat_video.pose` turns images into COCO-17
keypoints with MediaPipe's PoseLandmarker and the bundled models;
:mod:`ibeat_video.capture` reads a camera or a video file and hands over the
newest posed frame; :mod:`ibeat_video.video_session` drives
:class:`ibeat_core.session.Session` with it. ``ibeat_core`` stays pure.
"""
