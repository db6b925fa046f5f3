"""Counters: device counter readings, usage per job and per period, quotas."""
