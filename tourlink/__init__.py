"""tourlink: data-exchange middleware of the national tourism regulatory service platform."""

from tourlink.memory import configure_polars

configure_polars()  # before anything imports polars: its allocator reads the setting once (tourlink/memory.py)

__version__ = "0.1.0"
