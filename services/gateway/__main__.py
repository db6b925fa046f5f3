"""``python -m services.gateway``."""

from services.gateway.app import SPEC
from shared.service import main

if __name__ == "__main__":
    main(SPEC)
