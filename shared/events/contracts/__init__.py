"""Event contracts that more than one service reads: the published language of the
platform. Each module names the owning service; only that service publishes them."""
