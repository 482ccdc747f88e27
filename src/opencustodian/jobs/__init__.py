"""Background work: notification delivery with retries and grant-expiry sweeps (Huey)."""
