# Stand-in for python:3.11-slim: Debian's Python 3.11 with venv, `python` on the PATH.
FROM deepchat-test/debian:bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv python-is-python3 \
 && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/*
