# doppel in a container image: a Rust build stage, then Debian 12 (bookworm) slim with the
# PostgreSQL 15 client programs (pg_dump, pg_restore, psql) doppel runs for PostgreSQL
# targets and SQL dumps. doppel refuses a source server newer than its pg_dump, so this image
# serves PostgreSQL servers 10 to 15; see docs/install.md for newer ones.
#
#   docker build -t doppel .
#   docker run --rm -v "$PWD:/work" -e DOPPEL_KEY doppel run --rules rules/shop.toml \
#     --from fixtures/shop/data --to out/shop
#
# The build context is only what .dockerignore lets through (the sources, Cargo files, LICENSE).

ARG RUST_VERSION=1.89

FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
# pg_query (the SQL parser of the dump source) builds with bindgen, which needs libclang.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libclang-dev \
 && rm -rf /var/lib/apt/lists/*
COPY Cargo.toml Cargo.lock README.md LICENSE ./
COPY src ./src
COPY benches ./benches
RUN cargo install --locked --path . --root /out

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client-15 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /home/doppel --shell /usr/sbin/nologin doppel
COPY --from=build /out/bin/doppel /usr/local/bin/doppel
COPY --from=build /src/LICENSE /usr/share/doc/doppel/LICENSE
ENV PATH="/usr/lib/postgresql/15/bin:${PATH}"
USER doppel
WORKDIR /work
ENTRYPOINT ["doppel"]
CMD ["--help"]
