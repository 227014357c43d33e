"""The guarded inference function, the private API in front of it, and the SigV4 signing a
client uses to call it."""
