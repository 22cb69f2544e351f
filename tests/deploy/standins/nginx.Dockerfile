# Stand-in for nginx:1.27-alpine. The upstream `resolve` parameter that docker-compose.yml's nginx.conf
# relies on needs nginx 1.27.3 or newer; Debian 12 has 1.22, so nginx comes from Debian's next release
# line. wget is there for the compose health check, as busybox's is in the Alpine image.
FROM deepchat-test/debian:bookworm
RUN sed 's/ bookworm / forky /' /etc/apt/sources.list > /etc/apt/sources.list.d/forky.list \
 && printf 'Package: *\nPin: release n=forky\nPin-Priority: 100\n' > /etc/apt/preferences.d/forky \
 && apt-get -o Acquire::Check-Valid-Until=false update \
 && apt-get install -y --no-install-recommends -t forky nginx wget \
 && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* \
 && ln -sf /dev/stderr /var/log/nginx/error.log
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
