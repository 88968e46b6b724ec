"""BMv2 JSON back end of the embedded compiler."""
