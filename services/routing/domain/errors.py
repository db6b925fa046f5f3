"""Routing's domain errors, each with a stable code."""

from __future__ import annotations

from dataclasses import dataclass

from shared.errors import NotFound


@dataclass
class PrinterNotFound(NotFound):
    code: str = "printer-not-found"


@dataclass
class JobNotFound(NotFound):
    code: str = "job-not-found"


@dataclass
class PrintPolicyNotFound(NotFound):
    code: str = "print-policy-not-found"
