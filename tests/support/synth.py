"""The synthetic video generator, for tests and benchmarks: it lives in `agentos.media.synth`
(the seed makes its demo media with it); this module only re-exports it."""

from agentos.media.synth import SceneKind, SceneSpec, hsv_to_rgb, make_test_video, standard_scenes

__all__ = ["SceneKind", "SceneSpec", "hsv_to_rgb", "make_test_video", "standard_scenes"]
