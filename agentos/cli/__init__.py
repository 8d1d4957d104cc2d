"""The `agentos` command line. It talks only to `agentos.client`."""
