"""The IPP endpoint's HTTP side: ``POST /ipp/print/{printer_id}`` (application/ipp)."""
