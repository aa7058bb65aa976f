"""Interoperability of nno with a real Better Auth server."""
