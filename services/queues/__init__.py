"""The queues service: documents, print jobs and each printer's queue."""
