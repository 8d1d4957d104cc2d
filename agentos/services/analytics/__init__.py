"""Analytics: the seed's monitoring figures (`figures`) and their upkeep (`upkeep`:
recompute, export, snapshot, endpoint counters reset)."""

from agentos.services.analytics.figures import (
    HTTP_PREFIX,
    MINUTE_TTL_S,
    bucket_field,
    endpoint_metrics,
    histogram_quantile,
    http_key,
    job_metrics,
    metrics,
    minute_field,
)

__all__ = [
    "HTTP_PREFIX",
    "MINUTE_TTL_S",
    "bucket_field",
    "endpoint_metrics",
    "histogram_quantile",
    "http_key",
    "job_metrics",
    "metrics",
    "minute_field",
]
