"""``python -m services.consumables``."""

from services.consumables.app import SPEC
from shared.service import main

if __name__ == "__main__":
    main(SPEC)
