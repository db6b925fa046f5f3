"""Registry command handlers: load, decide, save and emit in one transaction."""

from services.registry.handlers.printers import create_tenant, register_printer, update_printer
from services.registry.handlers.virtual_printers import (
    create_virtual_printer,
    update_virtual_printer,
)

__all__ = [
    "create_tenant",
    "create_virtual_printer",
    "register_printer",
    "update_printer",
    "update_virtual_printer",
]
