"""A small declarative HTTP framework for vendor APIs: auth, pagination with guards, retries, decoding.

Each module does one job; `connectors.erp` composes them per dialect.
"""
