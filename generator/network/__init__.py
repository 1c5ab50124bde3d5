"""Stage 2: VGG16 itself: its weights (and their fingerprint), the views the methods optimize, the device."""
