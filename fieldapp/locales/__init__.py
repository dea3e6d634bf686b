"""The message catalogues, one TOML file a language (``zh_CN.toml``, ``en.toml``)."""
