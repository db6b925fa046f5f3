"""``python -m services.portal``."""

from services.portal.app import SPEC
from shared.service import main

if __name__ == "__main__":
    main(SPEC)
