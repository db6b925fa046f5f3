"""``python -m services.counters``."""

from services.counters.app import SPEC
from shared.service import main

if __name__ == "__main__":
    main(SPEC)
