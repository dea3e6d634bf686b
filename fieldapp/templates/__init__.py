"""The built-in interview and checklist templates, one TOML file each (read by
:mod:`fieldapp.services.templates`)."""
