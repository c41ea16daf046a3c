"""The setup wizard's pages."""
