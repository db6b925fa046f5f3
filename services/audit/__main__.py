"""``python -m services.audit``."""

from services.audit.app import SPEC
from shared.service import main

if __name__ == "__main__":
    main(SPEC)
