"""redis remediation actions (land in the next commits)."""
