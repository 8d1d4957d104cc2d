"""The one door for front ends: LocalBackend (calls services) or HttpBackend (httpx)."""
