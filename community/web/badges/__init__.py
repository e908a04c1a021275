"""The badges pages: the catalogue, one badge's holders, and the manage page for manual badges."""
