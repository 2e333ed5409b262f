"""ndoo: an open-source implementation of England's National Data Opt-out."""

__version__ = "0.1.0"
