"""``python -m services.edge``: run the edge until SIGTERM."""

from services.edge.app import main

main()
