"""registry: tenants, printers and their capabilities, virtual printers, connectors."""
