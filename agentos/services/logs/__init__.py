"""Structured logs: every process's records carry the trace id, job and actor of the work
they belong to (`services.context`), go to stderr (JSON, or readable on a terminal) and,
through a bounded queue and a writer thread, to the `log_records` store that
`logs.search` reads.

    setup.configure(runtime, process="server")   at a process's boundary
    search.find / export / purge                 the SystemLogs actions
"""
