"""``python -m services.notifications``."""

from services.notifications.app import SPEC
from shared.service import main

if __name__ == "__main__":
    main(SPEC)
