"""Paper pack: the reference-auditor study of Cywiński et al. 2025 on local secret-keeping organisms."""
