"""Where bundles go: the interface (``base``), a folder (``folder``: USB stick, shared
drive, and the test fake) and S3-compatible object storage (``s3``: the team hub).

Nothing is imported here: the worker's app reads a stick without loading the S3 code.
"""
