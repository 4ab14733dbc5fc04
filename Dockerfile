# The DeployTag deploy image: a slim Node base, helm, `deploytag` and every `deploytag-<name>` bin
# on PATH, and each original script at /scripts/<its file name> (/scripts/deploy.sh, a sourceable
# /scripts/set_env.sh, …), so existing CI configs keep working. It runs as the non-root `node`
# user of the Node image.
#
#   docker build -t deploytag .
#
# Build arguments (see packages/cli/README.md, "The deploy image"):
#   NODE_IMAGE   the base: any image with node >= 20.19 on PATH, /bin/sh, and a `node` user
#   HELM_FROM    download: helm HELM_VERSION from get.helm.sh, checked against its pinned sha256
#                context:  the helm binary at prebuilt/helm in the build context (offline builds)
#   APP_FROM     source:   npm ci and the build of this repository, in the image build
#                context:  the folder prebuilt/app in the build context, made beforehand with
#                          `node docker/assemble-app.mjs . prebuilt/app` on a built checkout
#   OS_PACKAGES  Debian packages added with apt-get (git and ssh for CI checkouts); "" adds none
# Only the stages the chosen modes need are built.

ARG NODE_IMAGE=node:20.20.2-bookworm-slim
ARG HELM_FROM=download
ARG APP_FROM=source

# ---- helm ---------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS helm-download
ARG HELM_VERSION=v3.22.0
# From https://get.helm.sh/helm-${HELM_VERSION}-linux-<arch>.tar.gz.sha256sum; pinned here so that
# a changed archive fails the build. Change all three together.
ARG HELM_SHA256_AMD64=1e4ab49e429626cf6c6958d914248b78c9730803c2751b87627e171dc800e7bb
ARG HELM_SHA256_ARM64=f14e804dfee240f55525b667488fe9adca349e63e00c9af634c0beb1421ac310
ARG HELM_MIRROR=https://get.helm.sh
RUN set -eu; \
    case "$(uname -m)" in \
      x86_64) arch=amd64; sum="$HELM_SHA256_AMD64" ;; \
      aarch64 | arm64) arch=arm64; sum="$HELM_SHA256_ARM64" ;; \
      *) echo "no pinned helm checksum for $(uname -m)" >&2; exit 1 ;; \
    esac; \
    node -e 'fetch(process.argv[1]).then(async (r) => { if (!r.ok) throw new Error(`${r.url}: HTTP ${r.status}`); require("node:fs").writeFileSync(process.argv[2], Buffer.from(await r.arrayBuffer())); })' \
      "$HELM_MIRROR/helm-$HELM_VERSION-linux-$arch.tar.gz" /tmp/helm.tar.gz; \
    echo "$sum  /tmp/helm.tar.gz" | sha256sum -c -; \
    mkdir -p /tmp/helm /out; \
    tar -xzf /tmp/helm.tar.gz -C /tmp/helm "linux-$arch/helm"; \
    cp "/tmp/helm/linux-$arch/helm" /out/helm; \
    chmod 0755 /out/helm; \
    rm -rf /tmp/helm /tmp/helm.tar.gz

FROM scratch AS helm-context
COPY prebuilt/helm /out/helm

FROM helm-${HELM_FROM} AS helm

# ---- the application ----------------------------------------------------------------------------
# Only the package manifests, so that `npm ci` below is redone only when they change.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests \
 && find . -name node_modules -prune -o \( -name package.json -o -name package-lock.json -o -name .npmrc \) -type f -print \
    | tar -cf - -T - | tar -xf - -C /manifests

FROM ${NODE_IMAGE} AS app-source
ENV CI=true NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false
WORKDIR /src
COPY --from=manifests /manifests ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY . .
RUN npx nx run @deploytag/cli:build --output-style=stream-without-prefixes \
 && node docker/assemble-app.mjs /src /rootfs/opt/deploytag --prefix /opt/deploytag \
 && cp -R /rootfs/opt/deploytag/scripts /rootfs/scripts

FROM scratch AS app-context
COPY prebuilt/app /rootfs/opt/deploytag
COPY prebuilt/app/scripts /rootfs/scripts

FROM app-${APP_FROM} AS app

# ---- the deploy image ---------------------------------------------------------------------------
FROM ${NODE_IMAGE}
ARG OS_PACKAGES="git openssh-client ca-certificates"
RUN if [ -n "$OS_PACKAGES" ]; then \
      apt-get update \
      && apt-get install -y --no-install-recommends $OS_PACKAGES \
      && rm -rf /var/lib/apt/lists/*; \
    fi
COPY --from=helm /out/helm /usr/local/bin/helm
# /opt/deploytag (bin/, node_modules/) and /scripts, in one layer.
COPY --from=app /rootfs/ /
ENV PATH=/opt/deploytag/bin:$PATH \
    NODE_ENV=production
LABEL org.opencontainers.image.title="deploytag" \
      org.opencontainers.image.description="Deploy a service per git branch to Kubernetes: deploytag, helm, /scripts/<original script>" \
      org.opencontainers.image.licenses="MIT"
USER node
WORKDIR /home/node
CMD ["deploytag", "--help"]
