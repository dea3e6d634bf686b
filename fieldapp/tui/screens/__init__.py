"""The app's screens, one a module: first run, unlock and lock, Today, residents, a resident's
file, the form, and the supervisor's team view, conflicts and quarantine."""
