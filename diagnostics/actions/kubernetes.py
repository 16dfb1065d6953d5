"""kubernetes remediation actions (land in the next commits)."""
