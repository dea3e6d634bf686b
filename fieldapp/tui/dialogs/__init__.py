"""Modal dialogs: a line of text, a choice, discard or keep, help, export, a need's status and a
conflict's resolution."""
