"""Every table of the data model; importing this package registers them on `Base.metadata`."""

from agentos.db.models import listing  # noqa: F401  (the list indexes)
from agentos.db.models.agents import Agent, Worker
from agentos.db.models.jobs import Clip, Job, ProcessingStep, Upload, UploadChunk
from agentos.db.models.rollups import JobProgressMark, JobStatusDelta, JobStatusRollup
from agentos.db.models.system import (
    AuditChainHead,
    AuditRecord,
    Backup,
    BusMessage,
    IdempotencyRecord,
    LogRecord,
    MetricsSnapshot,
    RuntimeSetting,
    RuntimeSettingChange,
    SystemEvent,
)
from agentos.db.models.users import ApiKey, IpAllowEntry, Lockout, RefreshToken, User

__all__ = [
    "Agent",
    "ApiKey",
    "AuditChainHead",
    "AuditRecord",
    "Backup",
    "BusMessage",
    "Clip",
    "IdempotencyRecord",
    "IpAllowEntry",
    "Job",
    "JobProgressMark",
    "JobStatusDelta",
    "JobStatusRollup",
    "Lockout",
    "LogRecord",
    "MetricsSnapshot",
    "ProcessingStep",
    "RefreshToken",
    "RuntimeSetting",
    "RuntimeSettingChange",
    "SystemEvent",
    "Upload",
    "UploadChunk",
    "User",
    "Worker",
]
