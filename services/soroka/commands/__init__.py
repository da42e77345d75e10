"""Small `soroka` sub-commands that belong to no service (config, db)."""
