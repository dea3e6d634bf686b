"""What the screens of an open vault are given through their constructor: the
workspace (every use case they call), the hub's state for the status line, and the
app's events. No screen imports the app."""

from __future__ import annotations

from dataclasses import dataclass

from fieldapp.services.syncing import HubView
from fieldapp.services.workspace import Workspace
from fieldapp.tui.messages import Broadcast


@dataclass(frozen=True)
class Context:
    """One per open vault; screens pass it on to the screens they open."""

    workspace: Workspace
    hub: HubView  # live: the app updates it after every hub attempt
    events: Broadcast
    supervisor: bool = False
