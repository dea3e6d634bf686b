"""Ops, the hybrid logical clock, merge, and (later) bundles and transports.

Nothing here imports a UI toolkit.
"""
