"""``python -m services.ipp``."""

from services.ipp.app import SPEC
from shared.service import main

if __name__ == "__main__":
    main(SPEC)
