"""EES Art. 21 fall-back at the crossing point: record locally when the central system cannot be reached,
upload later, idempotently by client id (nothing lost, nothing doubled, conflicts reported)."""

from smartborders.fallback.client import FallbackClient, FlushReport, Receipt, Rejected
from smartborders.fallback.queue import Queue

__all__ = ["FallbackClient", "FlushReport", "Queue", "Receipt", "Rejected"]
