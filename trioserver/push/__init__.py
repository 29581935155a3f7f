"""Push rules (pure): the server-default rules and their evaluation."""
