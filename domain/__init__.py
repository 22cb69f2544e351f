"""The provider-neutral chat domain: what a conversation is, and the events a reply is made of.

Both `gateway/` (front doors, policy, memory) and `providers/` (adapters) speak these types and
nothing else to each other; this package imports neither.
"""
