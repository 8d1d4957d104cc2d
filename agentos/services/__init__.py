"""The service core: one module per domain, no front-end or Celery imports."""
