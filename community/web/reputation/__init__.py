"""Leaderboards and reputation history pages."""
