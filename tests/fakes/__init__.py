"""Local fake servers standing in for outside APIs (Telegram Bot API, later Zalo) in end-to-end tests."""
