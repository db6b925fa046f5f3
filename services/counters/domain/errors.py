"""Counters domain errors, each with a stable code."""

from __future__ import annotations

from dataclasses import dataclass

from shared.errors import NotFound


@dataclass
class QuotaNotFound(NotFound):
    code: str = "quota-not-found"
