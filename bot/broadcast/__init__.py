"""Announcements: subscribers, broadcasts and their deliveries, the scheduler and the rate-limited senders."""
