# Stand-in for node:20-slim: Debian's Node.js and npm (only `npm ci` of the widget runs in it).
FROM deepchat-test/debian:bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/*
