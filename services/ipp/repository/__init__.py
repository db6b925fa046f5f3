"""SQL for the IPP endpoint's own schema: the IPP jobs."""

from __future__ import annotations

from services.ipp.repository.jobs import IppRepository

__all__ = ["IppRepository"]
