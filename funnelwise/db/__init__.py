"""Database: engine, declarative base, portable column types and migrations."""
