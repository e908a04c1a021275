"""The only code that talks to the outside: email, the outbox relay, the real-time broadcaster."""
