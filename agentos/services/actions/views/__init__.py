"""One module per admin view; each declares its actions with `registry.action`."""
