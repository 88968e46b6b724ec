"""Control plane: a P4Runtime controller that turns scheduler decisions into table entries."""
