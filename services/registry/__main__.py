"""``python -m services.registry``."""

from services.registry.app import SPEC
from shared.service import main

if __name__ == "__main__":
    main(SPEC)
