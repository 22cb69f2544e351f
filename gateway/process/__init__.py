"""The process and its configuration: the command, uvicorn and its workers, the settings and profiles
file it reads, and the service it holds for its whole life (profiles, reloads)."""
