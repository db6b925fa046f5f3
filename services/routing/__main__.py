"""``python -m services.routing``."""

from services.routing.app import SPEC
from shared.service import main

if __name__ == "__main__":
    main(SPEC)
