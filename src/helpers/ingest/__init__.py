"""Raw formats to validated canonical tables."""
