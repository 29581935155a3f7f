"""The roomserver: the one place where room state is computed and stored."""
