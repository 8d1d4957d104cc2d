"""The HTTP front end: FastAPI app factory, thin routes, the only HTTP error mapping."""
