"""Raw formats to validated canonical tables: schemas, readers, cleaning, quality flags, the
market calendar and the synthetic sample."""
