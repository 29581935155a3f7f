"""What clients see of rooms, shared by the client API and sync: tokens, the
client event format, history visibility. Pure: no I/O."""
