"""Browser tests of the web console and the offline docs pages (Playwright + Chromium)."""
