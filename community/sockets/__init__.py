"""Socket.IO handlers: connect and join/leave rooms; no business logic."""
