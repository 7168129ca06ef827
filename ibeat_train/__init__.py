"""ibeat_train: training and export of ibeat's networks (needs torch; never imported when serving)."""
