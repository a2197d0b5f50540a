"""E-commerce: the product catalogue and orders, fed by the Segment e-commerce events."""
