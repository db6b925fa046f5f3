"""Consumables: supply levels reported by devices, rules by region and model, supply orders."""
