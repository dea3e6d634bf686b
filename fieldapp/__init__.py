"""fieldapp — offline-first, encrypted case records for community social workers."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fieldapp")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
