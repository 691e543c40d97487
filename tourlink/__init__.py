"""tourlink: data-exchange middleware of the national tourism regulatory service platform."""

__version__ = "0.1.0"
