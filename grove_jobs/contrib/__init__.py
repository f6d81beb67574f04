"""Optional integrations that plug into grove-jobs the way a team's own package does."""
