"""Sync between devices: cards and enrolment, bundles, the outbox, transports, merge, hub.

Nothing here imports a UI toolkit.
"""
