"""The HTTP API: one FastAPI app, one router per audience, problem+json errors."""
