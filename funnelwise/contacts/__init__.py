"""Contacts, companies, typed properties, identity and import/export."""
