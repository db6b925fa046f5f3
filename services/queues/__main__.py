"""``python -m services.queues``."""

from services.queues.app import SPEC
from shared.service import main

if __name__ == "__main__":
    main(SPEC)
