"""Small shared pieces below the database layer: the clock, blocking-call runners."""
