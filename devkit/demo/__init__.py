"""Sample data for the demo and the tests: realistic, messy agency uploads."""
