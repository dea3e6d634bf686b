"""The Textual app: screens, dialogs, commands. The only package that imports textual."""
