"""Fake upstream servers that speak the providers' HTTP wire protocols on loopback, byte for byte."""
