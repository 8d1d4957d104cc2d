"""`db reset-and-seed`: the recovery procedure and the data it generates."""

from agentos.services.seed.recovery import clean_files, is_empty, reset_and_seed

__all__ = ["clean_files", "is_empty", "reset_and_seed"]
