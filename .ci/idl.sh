#!/bin/sh
# Checks the protobuf IDL: protoc accepts every file, Python stubs generate and import, and
# every service, RPC, message, field and enum value has a doc comment.
# Needs: protoc (Debian protobuf-compiler) and python3; installs the pinned Python peers.
set -eu
cd "$(dirname "$0")/.."
python3 -m pip install --quiet -r Tests/python/requirements.txt
inc="-I proto"
[ -f /usr/include/google/protobuf/timestamp.proto ] && inc="$inc -I /usr/include"
# shellcheck disable=SC2046,SC2086
protoc $inc --include_source_info --descriptor_set_out=/dev/null $(find proto/weft -name '*.proto' | sort)
python3 -m pytest -q Tests/python
