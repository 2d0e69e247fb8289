"""smartborders: an open implementation of the EU smart-borders systems (EES, ETIAS, interoperability)."""

__version__ = "0.1.0"
