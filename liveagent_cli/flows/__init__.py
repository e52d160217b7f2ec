"""Flows: the steps and loops built from the client, the state store and the output object."""
