"""AgentOS: the operator control plane for a media-processing job platform."""

__version__ = "0.1.0"
