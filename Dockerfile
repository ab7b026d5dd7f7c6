# GhostPanel image: the one executable on an empty base. Builds offline (no registry, no base image):
#   npm run build && scripts/docker-context.sh   # dist/ghostpanel + the glibc files it needs -> dist/image/
#   docker build -t ghostpanel .                 # .dockerignore sends only dist/image/ as the context
# Run it the way Portainer is run:
#   docker run -d --name ghostpanel --restart=always -p 9443:9443 \
#     -v /var/run/docker.sock:/var/run/docker.sock -v ghostpanel-data:/data ghostpanel
# then open https://HOST:9443 (self-signed certificate, kept in the volume; its fingerprint is in the log).
FROM scratch
COPY dist/image/ /
# NODE_USE_SYSTEM_CA: trust /etc/ssl/certs/ca-certificates.crt (mount your own over it for a private
# registry's CA), not only the roots compiled into Bun.
ENV PATH=/usr/local/bin \
    TMPDIR=/tmp \
    NODE_USE_SYSTEM_CA=1 \
    GHOSTPANEL_DATA=/data \
    GHOSTPANEL_LISTEN=0.0.0.0:9443 \
    GHOSTPANEL_TLS=auto
VOLUME ["/data"]
WORKDIR /data
EXPOSE 9443/tcp
LABEL org.opencontainers.image.title="GhostPanel" \
      org.opencontainers.image.description="A container-management panel that ships as one executable." \
      org.opencontainers.image.licenses="MIT"
ENTRYPOINT ["/usr/local/bin/ghostpanel"]
CMD ["serve"]
