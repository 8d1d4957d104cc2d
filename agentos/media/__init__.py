"""The real video work behind the agents (PyAV): ingest, probe, scenes, clips, thumbnails;
and `synth`, synthetic videos with known cuts (the seed's demo media, tests, benchmarks).

Every stage is a pure function over paths: no database, no services. Long stages take a
`should_stop` callable (checked at least every quarter second of work; True raises
MediaCancelled) and an optional `on_progress(fraction)` callback.
"""

from agentos.media._common import MediaCancelled

__all__ = ["MediaCancelled"]
